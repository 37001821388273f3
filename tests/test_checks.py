"""Checks graded on recorded observations, in milliseconds: no sandbox, no training.

The observations are the real lines the sandboxed harness wrote for the submissions of
`fixtures/submissions.RECORDED` (the reference solutions, the template, the bundled examples, the
faulty variants, some hostile submissions), recorded by `fixtures/record_observations.py` into
`fixtures/observations/`. Each test feeds them through `grader.pipeline.model_evidence` and
`grade_model`, or through the whole pipeline after the sandbox (`grade_execution`), and asserts
each check's status, points and message. Every verdict every check can return is reached here
(`test_every_verdict_of_every_check_is_reached` keeps it so); the few that no submission can
produce (defensive branches) are reached with a recorded observation with one field changed.

The end-to-end tests through the real sandbox (tests/test_forkserver.py) compare live gradings of
recorded submissions with these replays, so a harness that changes what it observes shows there;
`test_the_recorded_observations_are_current` says when the recording must be made again.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import test_digits_cnn
from conftest import (
    ASSIGNMENT_DIR,
    MODEL_IDS,
    assert_full_marks,
    checks_by_id,
    model_checks,
    replayed,
    statuses,
)
from fixtures import recorded
from fixtures.submissions import RECORDED, SYNTAX_CELL, broken_mlpc, loop_line

from grader.checks import registry
from grader.checks.base import ModelContext, ModelEvidence
from grader.checks.library.parameter_count import ParameterCount
from grader.checks.registry import (
    check_names,
    grade_model,
    max_score,
    spec_problems,
)
from grader.evaluate.evaluator import Evaluator
from grader.evaluate.observations import Observations, read_observations
from grader.i18n import CATALOGUE, Messages
from grader.pipeline import _skipped_names, model_evidence, parse_assignment
from grader.protocol import wire
from grader.protocol.wire import (
    ClassInfo,
    Construct,
    ModelObservation,
    Parameter,
    TensorInfo,
)
from grader.result import ModelOutcome, Verification
from grader.spec import AssignmentError, LoadedAssignment, load_assignment
from grader.spec.datasets import splits_for

SPEC_TEXT = (ASSIGNMENT_DIR / "assignment.toml").read_text(encoding="utf-8")
EN = Messages("en", load_assignment("iris_basics").messages)  # the catalogue, under iris_basics' own texts
LIBRARY = Path(registry.__file__).resolve().parent / "library"
FORWARD_DEPENDENT = ("structure", "forward_shape", "output_range", "grad_flow", "project_shape",
                     "test_mse", "test_accuracy")


# ---- grading one model from recorded observations ---------------------------------------------------------
def grade_recorded(name: str, model_id: str, change: Callable[[Observations], None] | None = None,
                   assignment: LoadedAssignment | None = None,
                   facts: Callable[[ModelEvidence], ModelEvidence] | None = None) -> ModelOutcome:
    """One model of a recorded submission graded by its checks: the recorded lines read back
    (`read_observations`), `change`d if asked, handed to `model_evidence` (the trusted evaluation's
    recorded answers) and, the `facts` so computed changed if asked, to `grade_model`."""
    assignment = assignment or recorded.assignment_named(recorded.manifest()["submissions"][name]["assignment"])
    observations = recorded.observations(name)
    if change is not None:
        change(observations)
    spec = assignment.spec
    model = next(m for m in spec.models if m.id == model_id)
    splits = assignment.splits()
    evidence = model_evidence(observations, recorded.submission(name), model_id, _skipped_names(observations),
                              assignment, splits[model_id], recorded.recorded_evaluator())
    if facts is not None:
        evidence = facts(evidence)
    return grade_model(assignment, model, splits[model_id], evidence, Messages("en", assignment.messages))


def check_of(outcome: ModelOutcome, check_id: str):
    return next(c for c in outcome.checks if c.id == check_id)


# ---- the recording is current ------------------------------------------------------------------------------
def test_the_recorded_observations_are_current():
    """The recording was made from today's submissions, specs and wire: else regenerate it."""
    manifest = recorded.manifest()
    regenerate = f"; regenerate them with `{recorded.REGENERATE}`"
    assert manifest["wire_version"] == wire.VERSION, (
        f"tests/fixtures/observations were recorded with wire version {manifest['wire_version']}, "
        f"the wire is now version {wire.VERSION}{regenerate}")
    assert sorted(manifest["submissions"]) == sorted(RECORDED), f"the recorded submissions are not RECORDED's{regenerate}"
    stale = []
    for name, entry in manifest["submissions"].items():
        if hashlib.sha256(RECORDED[name].content()).hexdigest() != entry["sha256"]:
            stale.append(f"{name}: the submission changed")
        if recorded.assignment_named(entry["assignment"]).spec_sha256 != entry["spec_sha256"]:
            stale.append(f"{name}: the assignment spec {entry['assignment']} changed")
    assert stale == [], f"stale recordings ({'; '.join(stale)}){regenerate}"
    assert manifest["trusted_code_sha256"] == recorded.trusted_code_sha256(), (
        f"the trusted evaluation's code ({', '.join(recorded.TRUSTED_CODE)}) changed since its answers were"
        f" recorded{regenerate}")
    wanted = {key for entry in manifest["submissions"].values() for key in entry["evaluations"]}
    assert wanted <= set(recorded.recorded_answers()), f"answers missing from {recorded.EVALUATIONS.name}{regenerate}"


def _without_timings(answer: dict) -> dict:
    """An evaluation's answer but for how long each seed's training took."""
    if "training" not in answer:
        return answer
    runs = [{key: value for key, value in run.items() if key != "seconds"} for run in answer["training"]["runs"]]
    return {**answer, "training": {**answer["training"], "runs": runs}}


def _differences(live: object, kept: object, path: str = "") -> list[str]:
    """Where two answers differ: anything but a float exactly, floats to a relative 1e-4. Training
    is bit-for-bit the same run to run on one machine (tests/test_seed_training.py), not across CPUs: MKL picks its
    kernels by the processor, and the recording may come from an Intel machine and this run from an
    AMD one (the last digits of a loss moved, on every seed alike)."""
    if isinstance(live, float) and isinstance(kept, float):
        return [] if math.isclose(live, kept, rel_tol=1e-4, abs_tol=1e-7) else [f"{path}: {live!r} != {kept!r}"]
    if isinstance(live, dict) and isinstance(kept, dict):
        if set(live) != set(kept):
            return [f"{path}: keys {sorted(live)} != {sorted(kept)}"]
        return [found for key in live for found in _differences(live[key], kept[key], f"{path}.{key}")]
    if isinstance(live, list) and isinstance(kept, list):
        if len(live) != len(kept):
            return [f"{path}: {len(live)} items != {len(kept)}"]
        return [found for index, pair in enumerate(zip(live, kept)) for found in _differences(*pair, f"{path}[{index}]")]
    return [] if live == kept else [f"{path}: {live!r} != {kept!r}"]


def test_the_recorded_answers_are_what_the_evaluation_computes():
    """The reference graded again from its recorded captures by a real evaluation process: every
    answer is the recorded one (but for the seconds, and floats to the last digits a CPU may move),
    so the recording is a memo of what today's trusted code computes, not a stand-in for it."""
    from grader.pipeline import grade_execution

    class Live(Evaluator):
        answers: dict[str, dict] = {}

        def exchange(self, request: bytes, budget_s: float) -> dict:
            answer = super().exchange(request, budget_s)
            self.answers[hashlib.sha256(request).hexdigest()] = answer
            return answer

    with Live(workers=2) as live:  # two models at a time, as `grader check` evaluates them
        grade_execution(recorded.submission("solution_py"), recorded.assignment_named("iris_basics"),
                        recorded.execution("solution_py"), EN, 0.0, live)
    assert sorted(live.answers) == sorted(recorded.manifest()["submissions"]["solution_py"]["evaluations"])
    for key, answer in live.answers.items():
        assert _differences(_without_timings(answer), _without_timings(recorded.recorded_answers()[key])) == [], key


# The runs that did not finish (by index): killed for a hang (a fresh run goes on after the model),
# or ended by the submission itself. Every other run finishes, the first of a submission with a model
# that could not be captured too (a second run observes that model the old way).
UNFINISHED_RUNS = {"toplevel_hang": (0,), "os_exit": (0,), "infinite_loop": (0,), "slow_init": (0,),
                   "training_hang": (1,)}


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_run_reads_back_as_the_harness_wrote_it(name):
    """Every run started with this wire's version and every line decodes (the only malformed lines
    are those the hostile submission forged); the runs end as recorded."""
    entry = recorded.manifest()["submissions"][name]
    assert len(entry["runs"]) == RECORDED[name].runs
    for index, path in enumerate(recorded.run_files(name)):
        first = path.read_bytes().split(b"\n", 1)[0]
        if name == "toplevel_hang":  # killed while loading: it wrote "started", the load phase and its plan only
            assert [wire.decode_line(line).KIND for line in path.read_bytes().splitlines()] == ["started", "phase", "plan"]
        started = wire.decode_line(first)
        assert isinstance(started, wire.Started) and started.version == wire.VERSION, (
            f"{path.name} begins with {first[:80]!r}, not this wire version's `started`: regenerate with"
            f" `{recorded.REGENERATE}`")
        observations = read_observations(path)
        assert observations.started
        assert observations.malformed_lines == (5 if name == "nonfinite_lines" else 0)
        assert observations.finished == (index not in UNFINISHED_RUNS.get(name, ()))


# ---- whole submissions, graded from their recording (the faulty variants) ---------------------------------
def _assert_all_passed(result):
    assert result.status == "graded"
    assert result.score == result.max_score == 25
    assert {c.model for c in result.checks} == set(MODEL_IDS)
    failing = {c.id: (c.status, c.message) for c in result.checks if c.status != "passed" or c.score != c.max_score}
    assert not failing


@pytest.mark.parametrize("name", ["solution_py", "solution_ipynb", "taro_sequential", "colab_notebook"])
def test_full_marks(name):
    result = replayed(name).result
    _assert_all_passed(result)
    assert all(value is not None for value in result.metrics.values())
    assert result.incidents == []


@pytest.mark.parametrize("name", ["solution_py", "solution_ipynb"])
def test_every_seed_of_the_reference_reaches_full_credit(name):
    """The references score full marks on every seed of the recipe, not only on the best one."""
    graded = replayed(name)
    assignment = load_assignment("iris_basics")
    for model in assignment.spec.models:
        per_seed = graded.outcomes[model.id].per_seed
        assert len(per_seed) == len(assignment.spec.recipe_for(model).seeds) == 3
        for value in per_seed:
            assert value is not None
            if model.metric.kind == "mse":
                assert value <= model.metric.full_credit, (model.id, per_seed)
            else:
                assert value >= model.metric.full_credit, (model.id, per_seed)


def test_the_template_scores_nothing_on_forward_dependent_checks():
    template = replayed("template").result
    assert template.status == "graded"
    checks = checks_by_id(template)
    for model in MODEL_IDS:
        shape = checks[f"{model}.forward_shape"]
        assert shape.status == "error"
        assert "NotImplementedError" in shape.message
        assert checks[f"{model}.defined"].status == "passed"
    dependent = [c for c in template.checks if c.id.split(".", 1)[1] in FORWARD_DEPENDENT]
    assert dependent and all(c.score == 0 for c in dependent)
    assert all(value is None for value in template.metrics.values())
    assert template.score == sum(c.max_score for c in template.checks if c.id.endswith(".defined"))


def test_a_flattened_output_fails_forward_shape_and_skips_the_metric():
    result = replayed("faulty_a").result
    checks = model_checks(result, "mlr")
    assert (checks["forward_shape"].status, checks["forward_shape"].score) == ("failed", 0)
    assert (checks["forward_shape"].found, checks["forward_shape"].expected) == ("(75,)", "(75, 1)")
    assert "flattened" in checks["forward_shape"].message
    assert (checks["test_mse"].status, checks["test_mse"].score) == ("skipped", 0)
    assert result.metrics["mlr.test_mse"] is None
    assert checks["defined"].status == checks["grad_flow"].status == "passed"
    # A linear model that only flattens its output loses the shape point, not the structure point.
    assert checks["structure"].status == "passed" and "deviation ?" not in checks["structure"].message


def test_a_missing_sigmoid():
    result = replayed("faulty_a").result
    assert statuses(result, "lr") == {
        "defined": "passed", "capture": "passed", "structure": "failed", "forward_shape": "passed", "output_range": "failed",
        "grad_flow": "passed", "test_accuracy": "failed",
    }
    checks = model_checks(result, "lr")
    assert checks["structure"].message == EN.text("structure.missing_output_activation", activation="sigmoid")
    assert checks["structure"].hint == EN.hint("hint.output_activation_missing.classification", activation="sigmoid")
    assert (checks["structure"].expected, checks["structure"].found) == ("linear(4,3) → sigmoid", "linear(4,3)")
    assert "outside [0, 1]" in checks["output_range"].message and checks["output_range"].score == 0


def test_a_hidden_size_hard_coded_to_the_probe_width():
    result = replayed("faulty_a").result
    assert statuses(result, "mlpr") == {
        "defined": "passed", "capture": "passed", "structure": "failed", "forward_shape": "passed", "grad_flow": "passed", "test_mse": "passed",
    }
    structure = model_checks(result, "mlpr")["structure"]
    assert structure.score == 0
    assert (structure.expected, structure.found) == ("linear(3,3) → sigmoid → linear(3,1)", "linear(3,5) → sigmoid → linear(5,1)")
    assert structure.message == EN.text("structure.hidden_ignored", width=5, hidden=3)
    assert "n_hidden" in structure.hint


def test_a_detached_layer_fails_grad_flow():
    result = replayed("faulty_a").result
    assert statuses(result, "mlpc") == {
        "defined": "passed", "capture": "passed", "structure": "passed", "forward_shape": "passed",
        "output_range": "passed", "grad_flow": "failed", "test_accuracy": "passed",
    }
    flow = model_checks(result, "mlpc")["grad_flow"]
    assert "l1.weight" in flow.message and "l2.weight" not in flow.message
    assert (flow.found, flow.expected) == ("2/4", "4/4")


def test_a_missing_project():
    result = replayed("faulty_a").result
    assert statuses(result, "ae") == {
        "defined": "passed", "capture": "passed", "structure": "passed", "forward_shape": "passed",
        "grad_flow": "passed", "project_shape": "failed", "test_mse": "passed",
    }
    checks = model_checks(result, "ae")
    assert checks["defined"].found == "AE"
    assert checks["project_shape"].message == EN.text("project.missing", method="project")
    assert checks["project_shape"].score == 0


def test_a_non_affine_mlr():
    checks = model_checks(replayed("faulty_b").result, "mlr")
    assert (checks["structure"].status, checks["structure"].score) == ("failed", 0)
    assert "not a linear (affine) function" in checks["structure"].message
    assert checks["forward_shape"].status == checks["grad_flow"].status == "passed"


def test_a_forward_that_raises():
    result = replayed("faulty_b").result
    # Tracing it raised too: it is observed the old way (unverified), which is where its error shows.
    assert statuses(result, "lr") == {
        "defined": "passed", "capture": "failed", "structure": "skipped", "forward_shape": "error",
        "output_range": "skipped", "grad_flow": "skipped", "test_accuracy": "skipped",
    }
    assert result.unverified == ["lr"]
    checks = model_checks(result, "lr")
    assert "RuntimeError" in checks["forward_shape"].message
    assert "forward is broken on purpose" in checks["forward_shape"].message
    assert sum(c.score for name, c in checks.items() if name != "defined") == 0


def test_a_name_set_only_in_a_skipped_loop():
    result = replayed("faulty_b").result
    assert statuses(result, "mlpr") == {
        "defined": "error", "capture": "skipped", "structure": "skipped", "forward_shape": "skipped", "grad_flow": "skipped", "test_mse": "skipped",
    }
    defined = model_checks(result, "mlpr")["defined"]
    assert defined.score == 0 and "NameError" in defined.message
    # A module is one cell; the line is that of the `for` statement binding SCALE.
    assert EN.text("error.skipped_name", name="SCALE", cell=1, line=loop_line()) in defined.message


def test_the_models_without_a_fault_keep_full_marks():
    assert_full_marks(replayed("faulty_b").result, ["mlpc", "ae"])
    assert model_checks(replayed("faulty_b").result, "ae")["defined"].found == "AutoEncoder"
    assert_full_marks(replayed("faulty_c").result, ["mlr", "lr"])


def test_a_hidden_size_hard_coded_to_the_assignment_width():
    result = replayed("faulty_c").result
    assert statuses(result, "mlpr") == {
        "defined": "passed", "capture": "passed", "structure": "failed", "forward_shape": "passed", "grad_flow": "passed", "test_mse": "passed",
    }
    structure = model_checks(result, "mlpr")["structure"]
    assert structure.score == 0
    assert "n_hidden=5" in structure.message and "hidden layer" in structure.message
    assert structure.found == "linear(3,3) → sigmoid → linear(3,1)"
    assert structure.expected == "linear(3,5) → sigmoid → linear(5,1)"


def test_a_missing_class():
    result = replayed("faulty_c").result
    checks = model_checks(result, "mlpc")
    assert checks["defined"].status == "failed"
    assert checks["defined"].message.startswith(EN.text("defined.missing", names="MLPC", reasons=""))
    others = {name: c.status for name, c in checks.items() if name != "defined"}
    assert others and set(others.values()) == {"skipped"}
    assert sum(c.score for c in checks.values()) == 0
    assert result.metrics["mlpc.test_accuracy"] is None


def test_a_constructor_that_raises():
    result = replayed("faulty_c").result
    assert statuses(result, "ae") == {
        "defined": "error", "capture": "skipped", "structure": "skipped", "forward_shape": "skipped", "grad_flow": "skipped",
        "project_shape": "skipped", "test_mse": "skipped",
    }
    defined = model_checks(result, "ae")["defined"]
    assert "ValueError" in defined.message and "no autoencoder today" in defined.message
    assert "AE(4, 2, 4)" in defined.message


def test_a_syntax_error_loses_only_its_cell():
    result = replayed("syntax_notebook").result
    assert result.status == "graded"
    checks = model_checks(result, "mlpc")
    assert checks["defined"].status == "failed"
    assert f"Cell {SYNTAX_CELL} has a syntax error at line {broken_mlpc()[1]}" in checks["defined"].message
    assert {c.status for name, c in checks.items() if name != "defined"} == {"skipped"}
    assert_full_marks(result, ["mlr", "lr", "mlpr", "ae"])
    assert result.score == result.max_score - sum(c.max_score for c in checks.values())


def test_the_lesson_autoencoder_is_a_redefined_mlpr():
    checks = checks_by_id(replayed("colab_notebook").result)
    assert (checks["ae.defined"].status, checks["ae.defined"].found) == ("passed", "MLPR")
    assert "project" in checks["ae.defined"].message
    # The first MLPR still plays the MLP regressor.
    assert checks["mlpr.structure"].found == "linear(3,3) → sigmoid → linear(3,1)"
    defined = checks_by_id(replayed("solution_ipynb").result)["ae.defined"]
    assert (defined.status, defined.found) == ("passed", "MLPR")


def test_what_definitions_mode_skipped_is_in_the_result():
    colab = replayed("colab_notebook").result
    assert [(s.cell, s.text.split("\n")[0]) for s in colab.skipped][:1] == [(3, "drive.mount('/content/drive')")]
    assert any(s.text.startswith("for epoch in range(5)") for s in colab.skipped)


def test_the_examples_lose_their_own_points_only():
    jiro = replayed("jiro_mistakes").result
    assert (jiro.score, jiro.max_score) == (13.6, 25.0)
    assert statuses(jiro, "mlr")["forward_shape"] == "failed"  # squeezed
    assert statuses(jiro, "lr")["structure"] == "failed"  # no sigmoid
    assert statuses(jiro, "mlpr")["structure"] == "failed"  # n_hidden ignored
    assert statuses(jiro, "mlpc")["grad_flow"] == "failed"  # detached
    assert model_checks(jiro, "ae")["defined"].status == "failed"  # no autoencoder at all
    hanako = replayed("hanako_lesson").result
    assert (hanako.score, hanako.max_score) == (23.5, 25.0)
    assert {c.id for c in hanako.checks if c.status != "passed"} == {"mlpc.structure", "mlpc.output_range"}


# ---- every verdict of every check ---------------------------------------------------------------------------
# (recording, check id, status, score, expected, found, message)
CASES = [
    ('solution_py', 'mlr.defined', 'passed', 0.5, None, 'MLR',
     'Found class MLR (cell 1).'),
    ('solution_ipynb', 'ae.defined', 'passed', 0.5, None, 'MLPR',
     'Graded class MLPR (cell 99) as this model because it has the method(s) project.'),
    ('faulty_b', 'ae.defined', 'passed', 0.5, None, 'AutoEncoder',
     'Found class AutoEncoder (cell 1).'),
    ('faulty_c', 'mlpc.defined', 'failed', 0.0, 'MLPC', '—',
     'Class MLPC was not found.'),
    ('jiro_mistakes', 'ae.defined', 'failed', 0.0, 'AE / AutoEncoder / Autoencoder', '—',
     'Neither class AE / AutoEncoder / Autoencoder nor any torch.nn.Module class with the method(s) project was found.'),
    ('faulty_f', 'ae.defined', 'failed', 0.0, 'AE / AutoEncoder / Autoencoder', '—',
     "Neither class AE / AutoEncoder / Autoencoder nor any torch.nn.Module class with the method(s) project was found. The class definition in cell 1, line 43 raised: ValueError: invalid literal for int() with base 10: 'two' (cell 1, line 44)."),
    ('syntax_notebook', 'mlpc.defined', 'failed', 0.0, 'MLPC', '—',
     "Class MLPC was not found. Cell 7 has a syntax error at line 9, so that cell did not run (expected ':')."),
    ('faulty_c', 'ae.defined', 'error', 0.0, None, 'AE',
     'Could not build the model with AE(4, 2, 4): ValueError: no autoencoder today (cell 1, line 41)'),
    ('faulty_h', 'mlr.defined', 'failed', 0.0, 'MLR(3, 1)', 'MLR()',
     'Could not build the model with MLR(3, 1): TypeError: MLR.__init__() takes 1 positional argument but 3 were given; the assignment builds it as MLR(n_input, n_output). MLR() builds without arguments, so the other checks graded that model.'),
    ('faulty_i', 'ae.defined', 'error', 0.0, None, 'AE',
     'Could not build the model with AE(4, 2, 4): TypeError: AE.__init__() takes 3 positional arguments but 4 were given; the assignment builds it as AE(n_input, n_hidden, n_output).'),
    ('faulty_h', 'mlpc.defined', 'failed', 0.0, 'MLPC', '—',
     'Class MLPC was not found. The torch.nn.Module classes in the file: IrisNet(). IrisNet looks like this model (built as IrisNet(), it maps 4 inputs to 3 outputs): if it is, rename the class MLPC.'),
    ('faulty_b', 'mlpr.defined', 'error', 0.0, None, 'MLPR',
     "Could not build the model with MLPR(3, 3, 1): NameError: name 'SCALE' is not defined — 'SCALE' is set in cell 1, line 4, but definitions mode does not run that statement (training loops and computations are skipped). Pass the value as a constructor argument or define it as a constant. (cell 1, line 29)"),
    ('os_exit', 'mlpc.defined', 'error', 0.0, 'MLPC', '—',
     'Not graded: the run stopped before this model (MLPC) was reached; see what happened while running.'),
    ('slow_init', 'lr.defined', 'error', 0.0, None, 'LR',
     "Timeout in the construction of LR: building LR(4, 3) took longer than 4 s, the budget of each phase of a model, and was stopped. This model's other checks were not run."),
    ('toplevel_hang', 'mlr.defined', 'error', 0.0, 'MLR', '—',
     'Not graded: loading the submission (running its top-level code) took longer than 10 s and was stopped before this model was reached.'),
    ('infinite_loop', 'mlpc.defined', 'passed', 0.5, None, 'MLPC',
     'Found class MLPC (cell 1).'),
    ('solution_py', 'mlpc.structure', 'passed', 1.0, None, 'linear(4,3) → sigmoid → linear(3,3) → sigmoid',
     'The layers are as expected: linear(4,3) → sigmoid → linear(3,3) → sigmoid'),
    ('faulty_a', 'mlr.structure', 'passed', 1.0, None, 'linear(3,1)',
     'The layers are as expected: linear(3,1)'),
    ('faulty_a', 'lr.structure', 'failed', 0.0, 'linear(4,3) → sigmoid', 'linear(4,3)',
     "forward's output does not go through sigmoid; the assignment's layers end with it."),
    ('faulty_h', 'mlpr.structure', 'failed', 0.0, 'linear(3,3) → sigmoid → linear(3,1)', 'linear(3,3) → sigmoid → linear(3,1) → sigmoid',
     "forward passes its output through sigmoid after the last linear layer; the assignment's layers do not."),
    ('faulty_i', 'mlpr.structure', 'failed', 0.0, 'linear(3,3) → sigmoid → linear(3,1)', 'linear(3,3) → linear(3,1)',
     'There is no sigmoid between the linear layers.'),
    ('faulty_i', 'lr.structure', 'failed', 0.0, 'linear(4,3) → sigmoid', 'linear(4,3) → batchnorm → sigmoid',
     "forward uses layers the assignment's model does not have: batchnorm."),
    ('faulty_i', 'mlpc.structure', 'passed', 1.0, None, 'linear(4,3) → sigmoid → linear(3,3) → sigmoid',
     'The layers are as expected: linear(4,3) → sigmoid → linear(3,3) → sigmoid'),
    ('faulty_h', 'mlr.structure', 'passed', 1.0, None, 'linear(3,1)',
     'The layers are as expected: linear(3,1)'),
    ('faulty_a', 'mlpr.structure', 'failed', 0.0, 'linear(3,3) → sigmoid → linear(3,1)', 'linear(3,5) → sigmoid → linear(5,1)',
     "The hidden layer's size is fixed at 5; it does not follow the constructor argument n_hidden=3."),
    ('faulty_c', 'mlpr.structure', 'failed', 0.0, 'linear(3,5) → sigmoid → linear(5,1)', 'linear(3,3) → sigmoid → linear(3,1)',
     "The hidden layer's size does not follow the constructor argument (layers when rebuilt with n_hidden=5)."),
    ('faulty_e', 'mlpr.structure', 'error', 0.0, None, None,
     'Rebuilding the model with n_hidden=5 raised: AssertionError: only three hidden units (cell 1, line 26)'),
    ('faulty_b', 'mlr.structure', 'failed', 0.0, 'f(t·a + (1−t)·b) = t·f(a) + (1−t)·f(b)', '6.48',
     'The output is not a linear (affine) function of the input (deviation 6.48).'),
    ('faulty_d', 'mlr.structure', 'failed', 0.0, 'f(t·a + (1−t)·b) = t·f(a) + (1−t)·f(b)', '?',
     'The output is not a linear (affine) function of the input (deviation ?).'),
    ('faulty_f', 'mlr.structure', 'failed', 0.0, 'linear(3,1)', 'linear(3,2)',
     'The input/output sizes of the linear layers differ from what is expected.'),
    ('faulty_f', 'mlpr.structure', 'failed', 0.0, 'linear(3,3) → sigmoid → linear(3,1)', 'linear(3,3) → sigmoid → linear(3,3) → sigmoid → linear(3,1)',
     'The forward pass uses a different number of linear layers than expected.'),
    ('faulty_d', 'mlpr.structure', 'failed', 0.0, 'linear(3,3) → sigmoid → linear(3,1)', 'linear(3,3) → sigmoid → tanh → linear(3,1)',
     'The kind or position of the activation functions differs from what is expected.'),
    ('faulty_b', 'lr.structure', 'skipped', 0.0, None, None,
     'Not checked: forward did not run.'),
    ('infinite_loop', 'mlpc.structure', 'error', 0.0, None, None,
     "Timeout in the probes of MLPC: calling it on the test inputs (forward, output shapes, gradients) took longer than 4 s, the budget of each phase of a model, and was stopped. This model's other checks were not run."),
    ('faulty_c', 'mlpc.structure', 'skipped', 0.0, None, None,
     'Not checked: the class could not be used.'),
    ('slow_init', 'lr.structure', 'skipped', 0.0, None, None,
     'Not checked: this model ran out of time (see the timeout above).'),
    ('solution_py', 'lr.forward_shape', 'passed', 0.5, '(75, 3)', '(75, 3)',
     'The output shape is (75, 3), as expected.'),
    ('faulty_b', 'lr.forward_shape', 'error', 0.0, None, None,
     'forward raised an error: RuntimeError: forward is broken on purpose (cell 1, line 23)'),
    ('template', 'mlr.forward_shape', 'error', 0.0, None, None,
     'forward raised an error: NotImplementedError: TODO (cell 45, line 8)'),
    ('faulty_d', 'mlr.forward_shape', 'failed', 0.0, '(75, 1)', 'tuple: (75, 1), (75, 3)',
     'forward returned a tuple of 2 ((75, 1), (75, 3)); the assignment expects one tensor of shape (75, 1).'),
    ('faulty_h', 'ae.forward_shape', 'failed', 0.0, '(75, 4)', 'tuple: (75, 4), (75, 2)',
     'forward returned a tuple of 2 ((75, 4), (75, 2)); the assignment expects one tensor of shape (75, 4).'),
    ('faulty_i', 'lr.forward_shape', 'passed', 0.5, '(75, 3)', '(75, 3)',
     'The output shape is (75, 3), as expected.'),
    ('faulty_a', 'mlr.forward_shape', 'failed', 0.0, '(75, 1)', '(75,)',
     'The output shape was (75,); expected (75, 1) (the output was flattened to one dimension).'),
    ('faulty_f', 'lr.forward_shape', 'failed', 0.0, '(75, 3)', '(3, 75)',
     'The output shape was (3, 75); expected (75, 3).'),
    ('faulty_g', 'lr.forward_shape', 'error', 0.0, '(1, 3)', None,
     'forward raised on a batch of one sample: ValueError: a batch of one is too small (cell 1, line 20)'),
    ('faulty_d', 'lr.forward_shape', 'failed', 0.0, '(1, 3)', '(3,)',
     'For a batch of one sample the output shape was (3,); expected (1, 3).'),
    ('faulty_g', 'mlpr.forward_shape', 'failed', 0.0, 'float32', 'int64',
     'The output dtype was int64; return floating-point values (float32).'),
    ('solution_py', 'lr.output_range', 'passed', 0.5, '[0, 1]', '[3.7e-15, 1]',
     'Even for large inputs the outputs stay within [0, 1].'),
    ('faulty_a', 'lr.output_range', 'failed', 0.0, '[0, 1]', '[-33.2, 37.1]',
     'The outputs go outside [0, 1].'),
    ('faulty_e', 'mlpc.output_range', 'failed', 0.0, '[0, 1]', 'NaN / inf',
     'The outputs contain NaN or infinity.'),
    ('faulty_e', 'lr.output_range', 'error', 0.0, '[0, 1]', None,
     'forward raised an error: ValueError: input out of range (cell 1, line 19)'),
    ('faulty_b', 'lr.output_range', 'skipped', 0.0, '[0, 1]', None,
     'Not checked: forward did not run.'),
    ('solution_py', 'mlpc.grad_flow', 'passed', 0.5, '4/4', '4/4',
     'Gradients reach all 4 parameters.'),
    ('faulty_a', 'mlpc.grad_flow', 'failed', 0.0, '4/4', '2/4',
     'Some parameters get no gradient: l1.weight, l1.bias'),
    ('faulty_e', 'mlr.grad_flow', 'failed', 0.0, '≥ 1', '0',
     'The model has no trainable parameters.'),
    ('faulty_d', 'mlpc.grad_flow', 'error', 0.0, None, None,
     'Backpropagation (backward) raised: RuntimeError: no gradient today (cell 1, line 11)'),
    ('faulty_b', 'lr.grad_flow', 'skipped', 0.0, None, None,
     'Not checked: forward did not run.'),
    ('faulty_h', 'ae.grad_flow', 'skipped', 0.0, None, None,
     'Not checked: forward returned a tuple, not one tensor (see the output shape).'),
    ('solution_py', 'ae.project_shape', 'passed', 0.5, '(75, 2)', '(75, 2)',
     'project(x) has the shape (75, 2), as expected.'),
    ('faulty_a', 'ae.project_shape', 'failed', 0.0, '(75, 2)', '—',
     'There is no project method.'),
    ('faulty_d', 'ae.project_shape', 'error', 0.0, '(75, 2)', None,
     "project(x) raised: KeyError: 'no code today' (cell 1, line 62)"),
    ('faulty_e', 'ae.project_shape', 'failed', 0.0, '(75, 2)', '(75, 4)',
     'project(x) had the shape (75, 4); expected (75, 2).'),
    ('template', 'ae.project_shape', 'error', 0.0, '(75, 2)', None,
     'project(x) raised: NotImplementedError: TODO (cell 104, line 12)'),
    ('solution_py', 'mlr.test_mse', 'passed', 2.0, '≤ 0.06', '0.03709',
     'Test MSE is 0.03709, within the full-credit threshold 0.06 (best over 3 seeds).'),
    ('solution_py', 'lr.test_accuracy', 'passed', 2.0, '≥ 0.9', '0.9867',
     'Test accuracy is 0.9867, at or above the full-credit threshold 0.9 (best over 3 seeds).'),
    ('faulty_b', 'mlr.test_mse', 'failed', 1.93, '≤ 0.06', '0.06811',
     'Test MSE is 0.06811. Full credit needs 0.06 or less; 0.3 or more scores zero (partial credit).'),
    ('faulty_a', 'lr.test_accuracy', 'failed', 1.6, '≥ 0.9', '0.84',
     'Test accuracy is 0.84. Full credit needs 0.9 or more; 0.6 or less scores zero (partial credit).'),
    ('faulty_g', 'mlr.test_mse', 'failed', 0.0, '≤ 0.06', '0.6185',
     "Test MSE is 0.6185, but the model predicts the same value for every test sample (the observed-versus-predicted plot is a flat line); always predicting the training targets' mean scores 0.6185."),
    ('faulty_f', 'mlpc.test_accuracy', 'failed', 0.0, '≥ 0.9', '0.3333',
     'Test accuracy is 0.3333, but the model gives the same output for every test sample, so it predicts one class for all of them.'),
    ('faulty_h', 'mlpr.test_mse', 'failed', 0.0, '≤ 0.06', '0.4671',
     'Test MSE is 0.4671, at or above the zero-credit threshold 0.3.'),
    ('faulty_h', 'lr.test_accuracy', 'passed', 2.0, '≥ 0.9', '0.9067',
     'Test accuracy is 0.9067, at or above the full-credit threshold 0.9 (best over 3 seeds).'),
    ('faulty_i', 'mlpc.test_accuracy', 'passed', 2.0, '≥ 0.9', '0.96',
     'Test accuracy is 0.96, at or above the full-credit threshold 0.9 (best over 3 seeds).'),
    ('faulty_h', 'ae.test_mse', 'skipped', 0.0, None, None,
     'Not checked: forward returned a tuple, not one tensor (see the output shape).'),
    ('faulty_a', 'mlr.test_mse', 'skipped', 0.0, None, None,
     'The output shape is wrong, so the model was not evaluated on the test set.'),
    ('faulty_b', 'lr.test_accuracy', 'skipped', 0.0, None, None,
     'Not checked: forward did not run.'),
    ('training_hang', 'lr.test_accuracy', 'error', 0.0, None, None,
     "Timeout in the training of LR: the grader's training (1 seed(s) x 500 epochs) took longer than 4 s, the budget of each phase of a model, and was stopped. There is no test metric."),
    ('faulty_g', 'mlpc.test_accuracy', 'error', 0.0, None, None,
     'Training raised an error: RuntimeError: tired after 1500 rows (cell 1, line 44)'),
    ('faulty_e', 'mlpc.test_accuracy', 'error', 0.0, None, None,
     'Training raised an error: the predictions have the wrong shape or contain NaN / infinity'),
    ('faulty_d', 'ae.test_mse', 'error', 0.0, None, None,
     "Training raised an error: KeyError: 'no code today' (cell 1, line 62)"),
    ('lookup', 'mlr.test_mse', 'failed', 0.0, 'predictions computed from the parameters', '0.002924',
     "The predictions do not come from the model's parameters: with the trained parameters replaced by fresh random values the predictions stayed the same or still earned full credit (for example, the model looks the answers up). This metric scores zero."),
    ('lookup', 'lr.test_accuracy', 'failed', 0.0, 'predictions computed from the parameters', '1',
     "The predictions do not come from the model's parameters: with the trained parameters replaced by fresh random values the predictions stayed the same or still earned full credit (for example, the model looks the answers up). This metric scores zero."),
]


@pytest.mark.parametrize(("name", "check_id", "status", "score", "expected", "found", "message"), CASES,
                         ids=[f"{case[0]}-{case[1]}" for case in CASES])
def test_each_check_on_recorded_observations(name, check_id, status, score, expected, found, message):
    check = check_of(grade_recorded(name, check_id.split(".")[0]), check_id)
    assert (check.status, check.score, check.expected, check.found, check.message) == (
        status, score, expected, found, message)
    points = {"defined": 0.5, "structure": 1.0, "output_range": 0.5, "grad_flow": 0.5, "project_shape": 0.5}
    if check_id.split(".")[1] in points:
        assert check.max_score == points[check_id.split(".")[1]]


# ---- verdicts no real submission reaches (defensive branches), on a recording with one field changed -------
def _replace_model(**fields) -> Callable[[ModelEvidence], ModelEvidence]:
    def change(evidence: ModelEvidence) -> ModelEvidence:
        return dataclasses.replace(evidence, observation=dataclasses.replace(evidence.observation, **fields))
    return change


def _drop_training(evidence: ModelEvidence) -> ModelEvidence:
    return dataclasses.replace(evidence, training=None)


def _replace_runs(change_run: Callable[[int, wire.Run], wire.Run]) -> Callable[[ModelEvidence], ModelEvidence]:
    def change(evidence: ModelEvidence) -> ModelEvidence:
        line = evidence.training
        return dataclasses.replace(evidence, training=dataclasses.replace(
            line, runs=[change_run(index, run) for index, run in enumerate(line.runs)]))
    return change


def test_a_model_observed_without_a_forward_pass_has_its_forward_checks_skipped():
    outcome = grade_recorded("solution_py", "lr", facts=_replace_model(forward=None, layers=None, probe=None))
    assert {c.id: (c.status, c.message) for c in outcome.checks} == {
        "lr.defined": ("passed", "Found class LR (cell 1)."),
        "lr.capture": ("passed", EN.text("capture.verified")),
        "lr.structure": ("skipped", "Not checked: forward did not run."),
        "lr.forward_shape": ("skipped", "Not checked: forward did not run."),
        "lr.output_range": ("skipped", "Not checked: forward did not run."),
        "lr.grad_flow": ("skipped", "Not checked: forward did not run."),
        # Its training ran: the metric still needs a forward shape that passed.
        "lr.test_accuracy": ("skipped", "The output shape is wrong, so the model was not evaluated on the test set."),
    }


def test_a_forward_that_returns_neither_a_tensor_nor_a_tuple_is_named_by_its_type():
    outcome = grade_recorded("solution_py", "lr", facts=_replace_model(forward=wire.Forward(wire.TensorInfo(type="dict"))))
    shape = check_of(outcome, "lr.forward_shape")
    assert (shape.status, shape.found, shape.message) == ("failed", "dict", "forward returned a dict, not a tensor.")
    assert check_of(outcome, "lr.grad_flow").message == "Not checked: forward returned a dict, not one tensor (see the output shape)."


def test_an_accuracy_at_the_zero_credit_threshold_from_predictions_that_vary_scores_nothing():
    """The reference LR's predictions, each row's classes rotated by one: always the wrong class."""
    def rotate(index: int, run: wire.Run) -> wire.Run:
        values = np.roll(np.array(run.predictions.values), 1, axis=1).tolist()
        return dataclasses.replace(run, predictions=dataclasses.replace(run.predictions, values=values))
    metric = check_of(grade_recorded("solution_py", "lr", facts=_replace_runs(rotate)), "lr.test_accuracy")
    assert (metric.status, metric.score) == ("failed", 0.0)
    assert metric.message.startswith("Test accuracy is 0.") and "at or below the zero-credit threshold 0.6" in metric.message


def test_in_full_mode_the_error_of_a_cell_that_defines_classes_explains_a_class_not_found():
    """faulty_h's one cell, as if full mode had run it and it had raised at line 3 (the classes after
    that line would not exist): it defines IrisNet, which no model is named after."""
    def raised(lines) -> None:
        lines.cell_errors.append(wire.CellError(cell=1, error=wire.ErrorInfo(
            type="NameError", message="name 'pd' is not defined", frames=[wire.Frame(cell=1, line=3)])))
    mlpc = check_of(grade_recorded("faulty_h", "mlpc", raised), "mlpc.defined")
    assert ("Cell 1, which defines classes, raised at line 3: NameError: name 'pd' is not defined (cell 1, line 3)."
            " Its statements after the error did not run.") in mlpc.message


def test_a_probe_timeout_before_the_construction_said_which_class_is_a_construction_timeout():
    def change(observations: Observations) -> None:
        observations.phases.pop("mlpc")
    outcome = grade_recorded("infinite_loop", "mlpc", change)
    defined = check_of(outcome, "mlpc.defined")
    assert (defined.status, defined.found) == ("error", "MLPC")
    assert defined.message == ("Timeout in the construction of MLPC: building MLPC(4, 3, 3) took longer than 4 s, the"
                               " budget of each phase of a model, and was stopped. This model's other checks were not run.")
    assert {c.status for c in outcome.checks[1:]} == {"skipped"}


def test_a_model_whose_training_never_reported_has_no_metric():
    outcome = grade_recorded("solution_py", "mlpc", facts=_drop_training)
    metric = check_of(outcome, "mlpc.test_accuracy")
    assert (metric.status, metric.score, metric.message) == (
        "error", 0.0, "No training result came back (the run timed out or ended early).")
    assert outcome.metric_value is None
    assert [c.status for c in outcome.checks[:-1]] == ["passed"] * 6  # defined, capture and the probes


def test_a_seed_that_failed_counts_as_the_worst_value_and_the_best_of_the_others_is_kept():
    def fail_first(index: int, run: wire.Run) -> wire.Run:
        return dataclasses.replace(run, predictions=None, error=wire.ErrorInfo(type="RuntimeError", message="seed 0 broke")) \
            if index == 0 else run
    whole = grade_recorded("solution_py", "mlr")
    outcome = grade_recorded("solution_py", "mlr", facts=_replace_runs(fail_first))
    assert outcome.per_seed[0] is None and outcome.per_seed[1:] == whole.per_seed[1:]
    assert outcome.metric_value == round(min(whole.per_seed[1:]), 6)
    assert outcome.chosen_seed in (1, 2)
    metric = check_of(outcome, "mlr.test_mse")
    assert (metric.status, metric.score) == ("passed", 2.0)


def test_predictions_of_the_wrong_shape_are_never_scored():
    def flatten(index: int, run: wire.Run) -> wire.Run:
        predictions = run.predictions
        return dataclasses.replace(run, predictions=dataclasses.replace(
            predictions, shape=[75], values=[row[0] for row in predictions.values]))
    metric = check_of(grade_recorded("solution_py", "mlr", facts=_replace_runs(flatten)), "mlr.test_mse")
    assert (metric.status, metric.message) == (
        "error", "Training raised an error: the predictions have the wrong shape or contain NaN / infinity")


def test_predictions_that_still_earn_full_credit_with_fresh_parameters_do_not_count():
    """The reference LR, with its "fresh parameters" predictions a hair off the trained ones: they
    did not come from the parameters."""
    def nudge(index: int, run: wire.Run) -> wire.Run:
        values = (np.array(run.predictions.values) * 0.999).tolist()
        return dataclasses.replace(run, reinit_predictions=dataclasses.replace(run.predictions, values=values))
    metric = check_of(grade_recorded("solution_py", "lr", facts=_replace_runs(nudge)), "lr.test_accuracy")
    assert (metric.status, metric.score, metric.found) == ("failed", 0.0, "0.9867")
    assert metric.message.startswith("The predictions do not come from the model's parameters")


@pytest.mark.parametrize("reinit", [None, "nan", "broken"])
def test_fresh_parameters_that_change_or_break_the_predictions_leave_the_metric_alone(reinit):
    def swap(index: int, run: wire.Run) -> wire.Run:
        other = {None: None, "nan": dataclasses.replace(run.predictions, values=[[None] * 3] * 75),
                 "broken": TensorInfo(type="tuple")}[reinit]
        return dataclasses.replace(run, reinit_predictions=other)
    metric = check_of(grade_recorded("solution_py", "lr", facts=_replace_runs(swap)), "lr.test_accuracy")
    assert (metric.status, metric.score) == ("passed", 2.0)


def test_the_parameter_count_of_a_model_without_a_construction_is_skipped():
    """Unreachable through the registry (a model that was not built stops at `defined`), so graded
    directly: the check itself says so instead of counting nothing."""
    assignment = parse_assignment(with_parameter_limit(30).encode(), ASSIGNMENT_DIR)
    mlpc = next(m for m in assignment.spec.models if m.id == "mlpc")
    observations = recorded.observations("faulty_c")
    evidence = model_evidence(observations, recorded.submission("faulty_c"), "mlpc", {}, assignment,
                              splits_for(assignment.spec)["mlpc"], recorded.recorded_evaluator())
    outcome = ModelOutcome(checks=[], metric_name="test_accuracy")
    context = ModelContext(mlpc, assignment.spec.recipe_for(mlpc), splits_for(assignment.spec)["mlpc"], EN, evidence,
                           outcome)
    verdict = ParameterCount().grade(context)
    assert (verdict.status, verdict.key) == ("skipped", "skipped.not_defined")


@pytest.mark.parametrize("limit", [27, 26])
def test_the_parameter_count_on_recorded_observations(limit):
    assignment = parse_assignment(with_parameter_limit(limit).encode(), ASSIGNMENT_DIR)
    check = check_of(grade_recorded("solution_py", "mlpc", assignment=assignment), "mlpc.parameter_count")
    status = "passed" if limit >= 27 else "failed"
    assert (check.status, check.score, check.found, check.expected) == (
        status, 0.5 if status == "passed" else 0.0, "27", f"≤ {limit}")
    within = "within" if status == "passed" else "over"
    assert check.message == f"The model has 27 parameters, {within} the limit of {limit}."


def test_the_median_over_the_seeds_is_a_value_a_seed_gave():
    """`aggregate = "median"` over the reference's three recorded seeds (the spec is iris_basics'
    with that one change): the middle value, and the message says so."""
    text = SPEC_TEXT.replace('aggregate = "best"', 'aggregate = "median"', 1)
    assert text != SPEC_TEXT
    assignment = parse_assignment(text.encode(), ASSIGNMENT_DIR)
    outcome = grade_recorded("solution_py", "mlpc", assignment=assignment)
    values = outcome.per_seed
    assert len(values) == 3 and outcome.metric_value == round(sorted(values)[1], 6)
    assert outcome.chosen_seed == [0, 1, 2][values.index(sorted(values)[1])]
    assert check_of(outcome, "mlpc.test_accuracy").message.endswith("(median over 3 seeds).")


# ---- every verdict is reached ---------------------------------------------------------------------------------
# The keys the library builds from a template, spelled out (a new template must be added here).
TEMPLATED_KEYS = {
    'f"parameter_count.{status}"': {"parameter_count.passed", "parameter_count.failed"},
    'f"{key}.{metric.kind}"': {f"metric.{grade}.{kind}" for grade in ("full", "partial", "zero", "constant")
                               for kind in ("mse", "accuracy")},
    'f"aggregate.{recipe.aggregate}"': {"aggregate.best", "aggregate.median"},
}
KEY = re.compile(r"[a-z_]+(\.[a-z_]+)+")


def catalogue_keys_in_the_library() -> set[str]:
    """Every catalogue key a check of the library can give or write into its message: each string
    constant of the library that is a key, and the keys of each template."""
    keys: set[str] = set()
    prefixes: set[str] = set()
    for path in sorted(LIBRARY.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Call) and (getattr(node.func, "id", None) == "Verdict" and len(node.args) > 1
                                               or getattr(node.func, "attr", None) == "text" and node.args):
                key = node.args[1] if getattr(node.func, "id", None) == "Verdict" else node.args[0]
                if isinstance(key, ast.JoinedStr):
                    text = ast.get_source_segment(source, key)
                    assert text in TEMPLATED_KEYS, f"{path.name}: spell out the keys of {text} in TEMPLATED_KEYS"
                    keys |= TEMPLATED_KEYS[text]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and KEY.fullmatch(node.value):
                (keys if node.value in CATALOGUE else prefixes).add(node.value)
    # The only dotted names that are not keys are the stems of `{key}.{metric.kind}`.
    assert prefixes == {"metric.full", "metric.partial", "metric.zero", "metric.constant"}, prefixes
    return keys


# ---- the capture check: how each model was graded ------------------------------------------------------
def graded_with_verification(verification: Verification | None, model_id: str = "mlr", require: bool = False,
                             name: str = "solution_py") -> ModelOutcome:
    """A recorded model graded with `verification` said of it (what the trusted side found)."""
    assignment = recorded.assignment_named("iris_basics")
    options = {"require": True} if require else {}
    models = [m.model_copy(update={"checks": {**m.checks, "capture": options}}) for m in assignment.spec.models]
    spec = assignment.spec.model_copy(update={"models": models})
    observations = recorded.observations(name)
    model = next(m for m in spec.models if m.id == model_id)
    facts = model_evidence(observations, recorded.submission(name), model_id, {}, assignment,
                           splits_for(spec)[model_id], recorded.recorded_evaluator())
    evidence = dataclasses.replace(facts, verification=verification)
    return grade_model(assignment.model_copy(update={"spec": spec}), model, splits_for(spec)[model_id], evidence, EN)


@pytest.mark.parametrize(("verification", "status", "message"), [
    (Verification("verified"), "passed", "Captured as a graph: the shapes, gradients, training and test scores"),
    (Verification("verified", student_init=True), "passed", "trained from PyTorch's default initialisation"),
    (None, "skipped", "The model could not be built, so no graph was captured."),
    (Verification("refused", "invalid_graph", "the function os.system is not allowed", 1, 7), "error",
     "The captured graph did not validate (the function os.system is not allowed) (cell 1, line 7)"),
    *((Verification("unverified", reason, "why", 2, 3), "failed", "(cell 2, line 3)")
      for reason in ("trace", "not_allowed", "construct", "unsupported")),
    (Verification("unverified", "too_large", "3000000 numbers"), "failed", "too large to be captured as a graph (3000000 numbers)"),
    (Verification("unverified", "seeds_differ"), "failed", "The model's layers change with the seed"),
    (Verification("unverified", "absent"), "failed", "The grader received no graph of this model"),
])
def test_the_capture_check_says_how_each_model_was_graded(verification, status, message):
    capture = check_of(graded_with_verification(verification), "mlr.capture")
    assert (capture.status, capture.score, capture.max_score) == (status, 0, 0)
    assert message in capture.message


def test_an_unverified_model_where_the_spec_requires_capture_scores_nothing_after_it():
    outcome = graded_with_verification(Verification("unverified", "trace", "TraceError"), require=True)
    after = [c for c in outcome.checks if c.id not in ("mlr.defined", "mlr.capture")]
    assert after and all(c.status == "skipped" and c.score == 0 for c in after)
    assert {c.message for c in after} == {"Not graded: this assignment grades only models that can be captured as a graph."}


def test_a_refused_graph_skips_the_rest_and_a_suspicious_constant_zeroes_the_metric():
    refused = graded_with_verification(Verification("refused", "invalid_graph", "bad"))
    assert {c.status for c in refused.checks if c.id not in ("mlr.defined", "mlr.capture")} == {"skipped"}
    suspicious = graded_with_verification(Verification("verified", suspicious="table holds rows of the data set"))
    metric = check_of(suspicious, "mlr.test_mse")
    assert (metric.status, metric.score) == ("failed", 0)
    assert metric.message == ("The graph's constant table holds rows of the data set; it may hold answers, so this"
                              " metric scores nothing.")


def test_every_verdict_of_every_check_is_reached(monkeypatch):
    """Grades the cases of this file again with a spy on the verdicts and on the texts they are made
    of: every catalogue key a check of the library can give is given at least once."""
    given: set[str] = set()
    result, text = registry._result, Messages.text

    def spy_result(spec, check, verdict, messages):
        given.add(verdict.key)
        return result(spec, check, verdict, messages)

    def spy_text(self, key, **params):
        given.add(key)
        return text(self, key, **params)

    monkeypatch.setattr(registry, "_result", spy_result)
    monkeypatch.setattr(Messages, "text", spy_text)
    for name, check_id, *_ in CASES:
        grade_recorded(name, check_id.split(".")[0])
    for test in (test_a_model_observed_without_a_forward_pass_has_its_forward_checks_skipped,
                 test_a_forward_that_returns_neither_a_tensor_nor_a_tuple_is_named_by_its_type,
                 test_in_full_mode_the_error_of_a_cell_that_defines_classes_explains_a_class_not_found,
                 test_an_accuracy_at_the_zero_credit_threshold_from_predictions_that_vary_scores_nothing,
                 test_a_probe_timeout_before_the_construction_said_which_class_is_a_construction_timeout,
                 test_a_model_whose_training_never_reported_has_no_metric,
                 test_the_median_over_the_seeds_is_a_value_a_seed_gave):
        test()
    for limit in (27, 26):
        test_the_parameter_count_on_recorded_observations(limit)
    for case in test_the_capture_check_says_how_each_model_was_graded.pytestmark[0].args[1]:
        test_the_capture_check_says_how_each_model_was_graded(*case)
    test_an_unverified_model_where_the_spec_requires_capture_scores_nothing_after_it()
    test_a_refused_graph_skips_the_rest_and_a_suspicious_constant_zeroes_the_metric()
    for name in ("digits_no_conv", "digits_softmax", "digits_fixed_channels"):  # a pattern's structure
        grade_recorded(name, "cnn")
    for case in test_digits_cnn.LAYER_CASES:
        test_digits_cnn.test_each_way_the_layers_differ_from_the_pattern_has_its_own_message(*case)
    library = catalogue_keys_in_the_library()
    assert library - given == set(), f"no test reaches these: {sorted(library - given)}"
    assert {"defined.passed", "metric.full.mse", "timeout.probes", "grad.raised", "aggregate.median"} <= library


# ---- the parameter count: graded where the spec asks --------------------------------------------------------
def with_parameter_limit(limit: object) -> str:
    """iris_basics with `checks = { parameter_count = { max = LIMIT } }` on MLPC."""
    return SPEC_TEXT.replace('id = "mlpc"\n', f'id = "mlpc"\nchecks = {{ parameter_count = {{ max = {limit} }} }}\n', 1)


def mlpc_evidence(shapes: list[list[int]]) -> ModelEvidence:
    observation = ModelObservation(
        model="mlpc", class_=ClassInfo(name="MLPC", cell=1, matched_by="name"),
        construction=Construct(parameters=[Parameter(name=f"p{i}", shape=shape) for i, shape in enumerate(shapes)]))
    return ModelEvidence(observation=observation, training=None, construct_phase=None, timeout=None, run_finished=True)


def test_the_parameter_count_is_graded_only_where_the_spec_asks(tmp_path):
    plain = load_assignment("iris_basics").spec
    asked = parse_assignment(with_parameter_limit(30).encode(), tmp_path).spec
    mlpc = next(m for m in asked.models if m.id == "mlpc")
    assert "parameter_count" not in check_names(plain, next(m for m in plain.models if m.id == "mlpc"))
    assert check_names(asked, mlpc) == ["defined", "capture", "structure", "forward_shape", "output_range", "grad_flow",
                                 "parameter_count", "test_accuracy"]
    assert max_score(asked) == max_score(plain) + 0.5


@pytest.mark.parametrize(("shapes", "status", "score", "count", "message"), [
    # MLPC(4, 3, 3): 3x4 + 3 + 3x3 + 3 = 27, exactly the limit.
    ([[3, 4], [3], [3, 3], [3]], "passed", 0.5, 27, "The model has 27 parameters, within the limit of 27."),
    # A hidden width of 5: 5x4 + 5 + 3x5 + 3 = 43.
    ([[5, 4], [5], [3, 5], [3]], "failed", 0.0, 43, "The model has 43 parameters, over the limit of 27."),
])
def test_the_parameter_count_passes_at_the_limit_and_fails_over_it(tmp_path, shapes, status, score, count, message):
    assignment = parse_assignment(with_parameter_limit(27).encode(), tmp_path)
    mlpc = next(m for m in assignment.spec.models if m.id == "mlpc")
    split = splits_for(assignment.spec)[mlpc.id]
    outcome = grade_model(assignment, mlpc, split, mlpc_evidence(shapes), Messages("en"))
    check = next(c for c in outcome.checks if c.id == "mlpc.parameter_count")
    assert (check.status, check.score, check.max_score, check.message) == (status, score, 0.5, message)
    assert (check.expected, check.found) == ("≤ 27", str(count))


@pytest.mark.parametrize(("change", "problem"), [
    (lambda text: text.replace("points = { forward_shape = 0.5 }", "points = { forward_shapes = 0.5 }"),
     "models.1.points.forward_shapes: no check is named 'forward_shapes'"),
    (lambda text: with_parameter_limit(30).replace("parameter_count", "parameter_counts"),
     "models.3.checks.parameter_counts: no check is named 'parameter_counts'"),
    (lambda text: with_parameter_limit('"many"'),
     "models.3.checks.parameter_count: takes one option, max = <a whole number of parameters, at least 1>"),
])
def test_a_spec_naming_a_check_no_check_has_is_refused_with_its_key(tmp_path, change, problem):
    text = change(SPEC_TEXT)
    assert any(found.startswith(problem) for found in spec_problems(load_spec(text, tmp_path)))
    with pytest.raises(AssignmentError, match="problem"):
        parse_assignment(text.encode(), tmp_path)


def load_spec(text: str, folder):
    from grader.spec import parse_assignment as parse_only

    return parse_only(text.encode(), folder).spec
