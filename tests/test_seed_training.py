"""Training the seeds together or one at a time gives the same observations, to the last bit.

Each submission is graded end to end twice, with the recipe's `train_seeds_together` on and off,
and everything the sandbox observed (loss histories, predictions, codes, errors) and the results
(scores, statuses, messages, metrics) are compared exactly. Models with state of their own (running
statistics, a call counter, dropout, `.item()`) train together; a model whose seeds would share
state (printing, a registry of instances, Python's random generator, a class attribute, a shared
layer) must take the one-at-a-time path, say why, and get exactly its score.

The harness's training is the point here (the old way, for models that cannot be captured: the spec
turns the capture off), not the way into the sandbox: every run of this module is
forked from one fork server (warm, as a batch grades; cold where this machine has none), and the
reference module stands for the reference notebook (the same classes; their loading is
tests/test_forkserver.py's).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from conftest import (
    SOLUTION_PY,
    model_checks,
    not_captured,
    solution_class_sources,
    substitute,
    write_module,
)
from fixtures.submissions import (
    AE_NO_PROJECT,
    AUTOENCODER,
    LOOP_PRELUDE,
    LR_FORWARD_RAISES,
    LR_NO_SIGMOID,
    MLPC_DETACHED,
    MLPR_HIDDEN_5,
    MLPR_LOOP_GLOBAL,
    MLR_FLATTENED,
    MLR_SQUARED,
)

from grader.evaluate.execute import execute
from grader.evaluate.observations import Observations
from grader.i18n import Messages
from grader.intake.submission import read_submission
from grader.pipeline import grade_execution
from grader.result import Result
from grader.sandbox import forkserver
from grader.spec import LoadedAssignment


# ---- models with state of their own: trained together, bit for bit as one at a time ---------------
def _stateful_classes() -> dict[str, str]:
    sources = solution_class_sources()
    new_layer = "self.l2 = torch.nn.Linear(n_hidden, n_output)"
    return {
        # .item() and data-dependent Python (the factor is always 1).
        "MLR": substitute(sources["MLR"], [("return self.l1(x)", "return self.l1(x) * float(self.l1.weight.abs().max().item() >= 0)")]),
        # Dropout draws from torch's generator: each seed must draw what it draws one at a time.
        "LR": substitute(sources["LR"], [("h2 = torch.sigmoid(h1)", "h2 = torch.sigmoid(torch.nn.functional.dropout(h1, 0.1))")]),
        # Running statistics change in training.
        "MLPR": substitute(sources["MLPR"], [(new_layer, new_layer + "\n        self.norm = torch.nn.BatchNorm1d(n_hidden)"),
                                             ("h2 = torch.sigmoid(h1)", "h2 = torch.sigmoid(self.norm(h1))")]),
        # Counts its calls in an attribute of its own.
        "MLPC": substitute(sources["MLPC"], [(new_layer, new_layer + "\n        self.calls = 0"),
                                             ("h1 = self.l1(x)", "self.calls += 1\n        h1 = self.l1(x)")]),
    }


# ---- models whose seeds would share state: one at a time after all ---------------------------------
def _shared_state_classes() -> dict[str, str]:
    sources = solution_class_sources()
    new_layer = "self.l2 = torch.nn.Linear(n_hidden, n_output)"
    return {
        # Draws from Python's generator (the factor is always 1).
        "MLR": substitute(sources["MLR"], [("return self.l1(x)", "return self.l1(x) * (1 + 0 * random.random())")]),
        # Prints on every call.
        "LR": substitute(sources["LR"], [("h1 = self.l1(x)", "print('LR forward on', x.shape)\n        h1 = self.l1(x)")]),
        # Counts its calls in a class attribute.
        "MLPR": substitute(sources["MLPR"], [("h1 = self.l1(x)", "type(self).calls = getattr(type(self), 'calls', 0) + 1\n        h1 = self.l1(x)")]),
        # Every instance's first layer is one module-level layer.
        "MLPC": substitute(sources["MLPC"], [("self.l1 = torch.nn.Linear(n_input, n_hidden)", "self.l1 = SHARED_LAYER")]),
        # Registers its encoder in a global list and uses the last one: one at a time that is the
        # instance's own; built all at once it would be the last seed's for every seed.
        "AE": substitute(sources["AE"], [(new_layer, new_layer + "\n        ENCODERS.append(self.l1)"),
                                         ("h3 = self.l2(h2)", "h3 = self.l2(torch.sigmoid(ENCODERS[-1](x)))")]),
    }


SHARED_STATE_PRELUDE = "import random\nENCODERS = []\nSHARED_LAYER = torch.nn.Linear(4, 3)"
# Why each model above falls back (a fragment of the recorded reason).
FALLBACK_REASONS = {
    "mlr": "Python's or NumPy's random generator",
    "lr": "printed",
    "mlpr": "a class attribute or a global",
    "mlpc": "share a layer",
    "ae": "a class attribute or a global",
}


# ---- grading both ways -------------------------------------------------------------------------
def with_seed_training(assignment: LoadedAssignment, together: bool, **recipe_changes) -> LoadedAssignment:
    spec = assignment.spec

    def switched(recipe):
        return recipe.model_copy(update={"train_seeds_together": together, **recipe_changes})

    models = [m.model_copy(update={"recipe": switched(m.recipe)}) if m.recipe else m for m in spec.models]
    return assignment.model_copy(update={"spec": spec.model_copy(update={"recipe": switched(spec.recipe), "models": models})})


def grade_observed(path: Path, assignment: LoadedAssignment, server: forkserver.ForkServer) -> tuple[Result, Observations]:
    """`grade_file`'s two steps, keeping what the sandbox observed (which path each run took)."""
    submission = read_submission(path)
    execution = execute(submission, assignment, fork_server=server)
    graded = grade_execution(submission, assignment, execution, Messages("en", assignment.messages), time.perf_counter())
    return graded.result, execution.observations


def grade_both(path: Path, assignment: LoadedAssignment, server: forkserver.ForkServer,
               **recipe_changes) -> dict[bool, tuple[Result, Observations]]:
    return {together: grade_observed(path, with_seed_training(assignment, together, **recipe_changes), server)
            for together in (True, False)}


def observed_runs(observations: Observations) -> dict[str, list[dict]]:
    """What each seed's training gave, without how it was trained (the path taken, its time)."""
    return {model: [dataclasses.replace(run, seconds=0.0, together=False, fallback=None) for run in line.runs]
            for model, line in observations.training.items()}


def assert_identical(both: dict[bool, tuple[Result, Observations]]) -> None:
    (together, together_seen), (alone, alone_seen) = both[True], both[False]
    assert together.status == alone.status == "graded"
    assert observed_runs(together_seen) == observed_runs(alone_seen)
    assert together.metrics == alone.metrics
    assert together.checks == alone.checks
    assert (together.score, together.stdout, together.stderr) == (alone.score, alone.stdout, alone.stderr)


def paths(observations: Observations) -> dict[str, set[bool]]:
    """Per model, whether its runs were trained together."""
    return {model: {run.together for run in line.runs} for model, line in observations.training.items()}


def fallbacks(observations: Observations) -> dict[str, set[str]]:
    """Per model, why its runs were trained one at a time (for a failure's message)."""
    return {model: {run.fallback for run in line.runs if run.fallback} for model, line in observations.training.items()}


# ---- graded once per module --------------------------------------------------------------------
# Bit for bit is bit for bit after any number of epochs: 200 of the recipe's 500 keep every
# comparison for two fifths of the training.
EPOCHS = 200


@pytest.fixture(scope="module")
def assignment(assignment):
    """iris_basics graded the old way (the harness's training is what this module tests), EPOCHS long."""
    sandboxed = not_captured(assignment)
    spec = sandboxed.spec
    return sandboxed.model_copy(update={"spec": spec.model_copy(update={
        "recipe": spec.recipe.model_copy(update={"epochs": EPOCHS})})})


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("seed_training")


@pytest.fixture(scope="module")
def server():
    """One fork server for the module's runs (where none can run, it says why and each run is cold)."""
    with forkserver.ForkServer() as started:
        yield started


@pytest.fixture(scope="module")
def solution_py(assignment, server):
    return grade_both(SOLUTION_PY, assignment, server)


@pytest.fixture(scope="module")
def faulty_a(work, assignment, server):
    return grade_both(write_module(work, "faulty_a.py", {
        "MLR": MLR_FLATTENED, "LR": LR_NO_SIGMOID, "MLPR": MLPR_HIDDEN_5, "MLPC": MLPC_DETACHED, "AE": AE_NO_PROJECT,
    }), assignment, server)


@pytest.fixture(scope="module")
def faulty_b(work, assignment, server):
    return grade_both(write_module(work, "faulty_b.py", {
        "MLR": MLR_SQUARED, "LR": LR_FORWARD_RAISES, "MLPR": MLPR_LOOP_GLOBAL, "AE": AUTOENCODER,
    }, prelude=LOOP_PRELUDE), assignment, server)


@pytest.fixture(scope="module")
def stateful(work, assignment, server):
    return grade_both(write_module(work, "stateful.py", _stateful_classes()), assignment, server)


@pytest.fixture(scope="module")
def shared_state(work, assignment, server):
    return grade_both(write_module(work, "shared_state.py", _shared_state_classes(), prelude=SHARED_STATE_PRELUDE),
                      assignment, server)


# ---- the references ----------------------------------------------------------------------------
def test_reference_trains_together_bit_for_bit(solution_py, server):
    both = solution_py
    assert_identical(both)
    if forkserver.unavailable_reason(server.isolation) is None:
        assert server.broken is None and server.runs_started >= 2
    result, observations = both[True]
    # Its full marks after the recipe's 500 epochs: tests/test_capture.py (the same numbers as the graph's).
    assert {c.status for c in result.checks if not c.id.split(".")[1].startswith("test_")} == {"passed"}
    assert all(value is not None for value in result.metrics.values())
    assert paths(observations) == {model: {True} for model in ("mlr", "lr", "mlpr", "mlpc", "ae")}, fallbacks(observations)
    assert all(run.fallback is None and run.seconds > 0 for line in observations.training.values() for run in line.runs)
    alone = both[False][1]
    assert paths(alone) == {model: {False} for model in ("mlr", "lr", "mlpr", "mlpc", "ae")}
    assert all(run.fallback is None for line in alone.training.values() for run in line.runs)


def test_together_runs_share_the_time_of_their_model(solution_py):
    result, observations = solution_py[True]
    for line in observations.training.values():
        assert len({run.seconds for run in line.runs}) == 1
    assert result.training_s > 0


def test_mini_batches_train_together_bit_for_bit(assignment, server):
    # Each seed shuffles with its own generator, as one at a time: 3 batches of 25 per epoch.
    both = grade_both(SOLUTION_PY, assignment, server, batch_size=25, epochs=120)
    assert_identical(both)
    assert paths(both[True][1]) == {model: {True} for model in ("mlr", "lr", "mlpr", "mlpc", "ae")}
    histories = [run.loss_history for run in both[True][1].training["mlpc"].runs]
    assert len(histories[0]) == 120 and histories[0] != histories[1]


# ---- faulty variants -----------------------------------------------------------------------------
def test_faulty_variants_are_observed_bit_for_bit(faulty_a, faulty_b):
    assert_identical(faulty_a)
    assert_identical(faulty_b)


def test_a_warning_in_training_falls_back_and_is_shown_once(faulty_a):
    # The flattened MLR output makes MSELoss warn about broadcasting: the attempt together is
    # dropped, and the student sees the warning as one at a time.
    observations = faulty_a[True][1]
    assert paths(observations) == {"mlr": {False}, "lr": {True}, "mlpr": {True}, "mlpc": {True}, "ae": {True}}
    assert "printed or warned" in observations.training["mlr"].runs[0].fallback
    together, alone = faulty_a[True][0], faulty_a[False][0]
    assert together.stderr == alone.stderr
    assert together.stderr.count("Using a target size") == 1


def test_runs_that_raise_fall_back_with_the_same_errors(faulty_b):
    together, alone = faulty_b[True][1], faulty_b[False][1]
    assert paths(together) == {"mlr": {True}, "lr": {False}, "mlpc": {True}, "ae": {True}}  # MLPR is never built
    raised = together.training["lr"].runs
    assert all("forward is broken on purpose" in run.fallback for run in raised)
    assert [run.error for run in raised] == [run.error for run in alone.training["lr"].runs]
    assert all(run.error is not None and run.error.type == "RuntimeError" for run in raised)


# ---- state of their own, state shared ----------------------------------------------------------------
def test_models_with_state_of_their_own_train_together_bit_for_bit(stateful):
    assert_identical(stateful)
    observations = stateful[True][1]
    assert paths(observations) == {model: {True} for model in ("mlr", "lr", "mlpr", "mlpc", "ae")}, fallbacks(observations)
    result = stateful[True][0]
    # MLPR's batch norm takes a batch of one: its shapes are probed in eval mode, as its predictions.
    assert model_checks(result, "mlpr")["forward_shape"].status == "passed"
    for model, metric in (("mlr", "test_mse"), ("lr", "test_accuracy"), ("mlpc", "test_accuracy")):
        assert model_checks(result, model)[metric].status == "passed", (model, model_checks(result, model)[metric].message)


def test_models_whose_seeds_share_state_fall_back_and_keep_their_observations(shared_state):
    assert_identical(shared_state)
    observations = shared_state[True][1]
    assert paths(observations) == {model: {False} for model in FALLBACK_REASONS}
    for model, fragment in FALLBACK_REASONS.items():
        for run in observations.training[model].runs:
            assert run.fallback and fragment in run.fallback, (model, run.fallback)
            assert run.error is None and run.predictions is not None


def test_what_the_student_printed_is_what_one_at_a_time_printed(shared_state):
    together, alone = shared_state[True][0], shared_state[False][0]
    assert together.stdout == alone.stdout
    assert together.stdout.count("LR forward on") > 3 * EPOCHS  # every epoch of every seed, once
