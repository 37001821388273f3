"""Stacked training (grader/train/stacked.py): an instance's numbers do not depend on the instances
trained beside it, and they give the scores and verdicts of training each model alone."""

from __future__ import annotations

import io
import json
import math

import pytest
import torch
import torch.fx as fx
from conftest import SOLUTION_PY, checks_by_id
from fixtures import recorded

import grader.evaluate.trusted
from grader.evaluate.evaluator import Evaluator, _evaluate_lines
from grader.i18n import Messages
from grader.pipeline import grade_execution
from grader.protocol.wire import Recipe
from grader.train.loop import SeedRun, fit
from grader.train.stacked import Instance, fit_stacked, padding, stackable, structure_key

SHAPES = {"MLR": (3, 1), "LR": (4, 3), "MLPR": (3, 4, 1), "MLPC": (4, 5, 3), "AE": (4, 2, 4)}


def solution_classes() -> dict[str, type[torch.nn.Module]]:
    namespace: dict[str, object] = {}
    exec(compile(SOLUTION_PY.read_text(encoding="utf-8"), str(SOLUTION_PY), "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in SHAPES}  # type: ignore[misc]


CLASSES = solution_classes()


def built(name: str, seed: int) -> fx.GraphModule:
    torch.manual_seed(seed)
    module = fx.symbolic_trace(CLASSES[name](*SHAPES[name]))
    module.train()
    return module


def data(name: str) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    n_input, n_output = SHAPES[name][0], SHAPES[name][-1]
    return torch.rand(75, n_input, generator=generator), torch.rand(75, n_output, generator=generator)


def recipe(**changes: object) -> Recipe:
    fields: dict = {"optimizer": "adam", "lr": 0.05, "epochs": 8, "batch_size": 75, "seeds": [0, 1, 2],
                    "train_seeds_together": True} | changes
    return Recipe(**fields)


def trained_in(name: str, seeds: list[int], position: int, plan: Recipe) -> tuple[list[torch.Tensor], list[float]]:
    """The parameters and loss history of the instance at `position` of a group of `seeds`."""
    instances = [Instance(built(name, seed), torch.Generator().manual_seed(seed)) for seed in seeds]
    x, y = data(name)
    histories = fit_stacked(instances, plan, x, y, math.inf)
    return [p.detach().clone() for p in instances[position].module.parameters()], histories[position]


@pytest.mark.parametrize("name", list(SHAPES))
@pytest.mark.parametrize("plan", [recipe(), recipe(batch_size=16), recipe(optimizer="sgd", lr=0.1, momentum=0.9,
                                                                            clip_norm=0.05, batch_size=32)],
                         ids=["full-batch", "mini-batch", "sgd-clipped"])
def test_an_instance_trains_to_the_same_bits_in_any_group_and_at_any_place(name, plan):
    alone = trained_in(name, [7], 0, plan)
    big = [*range(100, 250), 7] if plan.batch_size == 75 else [*range(100, 160), 7]  # a mini-batch costs more steps
    for seeds, position in (([7, 1, 2], 0), ([0, 1, 7], 2), ([*range(20, 40), 7, *range(40, 60)], 20),
                            (big, len(big) - 1)):
        parameters, history = trained_in(name, seeds, position, plan)
        assert history == alone[1], (seeds.index(7), len(seeds))
        assert all(torch.equal(a, b) for a, b in zip(parameters, alone[0])), (seeds.index(7), len(seeds))


@pytest.mark.parametrize("name", list(SHAPES))
def test_stacked_training_ends_where_training_alone_ends_within_a_tolerance(name):
    """The recipe's 500 epochs: a batched product sums in another order, and the difference grows
    over the epochs, but the loss ends within 1e-3 of its value (relative) and the parameters close."""
    plan = recipe(epochs=500)
    x, y = data(name)
    alone = [SeedRun.build(lambda: built(name, 0), 0)]
    alone_history = fit(alone, plan, x, y, math.inf)[0]
    stacked_history = trained_in(name, [0], 0, plan)[1]
    assert stacked_history[0] == pytest.approx(alone_history[0], rel=1e-6)
    assert stacked_history[-1] == pytest.approx(alone_history[-1], rel=1e-3)


def test_what_draws_random_numbers_or_keeps_running_statistics_trains_alone():
    dropout = fx.symbolic_trace(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1)))
    batch_norm = fx.symbolic_trace(torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8)))
    lstm = fx.symbolic_trace(torch.nn.Sequential(torch.nn.LSTM(4, 8)))
    assert not stackable(dropout) and not stackable(batch_norm) and not stackable(lstm)
    assert stackable(built("MLPC", 0))


def test_graphs_train_together_only_with_the_same_code_layers_and_shapes():
    assert structure_key(built("MLPC", 0)) == structure_key(built("MLPC", 1))
    torch.manual_seed(0)
    wider = fx.symbolic_trace(CLASSES["MLPC"](4, 6, 3))
    assert structure_key(wider) != structure_key(built("MLPC", 0))
    assert structure_key(built("MLPR", 0)) != structure_key(built("MLPC", 0))


def test_every_group_closes_with_copies_that_hold_the_scalar_tails():
    assert padding(40, 75, 75) == 1  # 75 rows of at least one number: 75 numbers, over the 64 of a tail
    assert padding(1, 75, 75) == 3  # four instances in all
    assert padding(40, 75, 16) == 6  # the last batch has 11 rows: six copies hold 66 of them


# ---- the scores of the recorded submissions, stacked and alone --------------------------------------
class InProcess(Evaluator):
    """The trusted evaluation's worker loop run in this process, on each request as it comes."""

    def exchange(self, request: bytes, budget_s: float) -> dict:
        answers = io.BytesIO()
        _evaluate_lines(io.BytesIO(request + b"\n"), answers)
        return json.loads(answers.getvalue())


# The lesson's reference, a bundled example with mistakes (a wrong size, a wrong ending among
# them), and a cross-entropy course assignment with its mistakes.
SCORED = ["solution_py", "jiro_mistakes", "wine_mistakes"]


@pytest.mark.parametrize("name", SCORED)
def test_stacked_training_gives_the_scores_and_verdicts_of_training_alone(name, monkeypatch):
    """Recorded submissions graded from their recorded captures: every check's status and points
    are those of each model trained alone (`fit`), and each metric within 1e-3 (relative) of its
    value there."""
    assignment = recorded.assignment_named(recorded.manifest()["submissions"][name]["assignment"])
    messages = Messages("en", assignment.messages)

    def graded() -> object:
        return grade_execution(recorded.submission(name), assignment, recorded.execution(name, assignment), messages,
                               0.0, InProcess()).result

    stacked = graded()
    monkeypatch.setattr(grader.evaluate.trusted, "stackable", lambda module: False)
    alone = graded()
    assert stacked.score == alone.score and stacked.max_score == alone.max_score
    assert {key: (c.status, c.score) for key, c in checks_by_id(stacked).items()} == \
        {key: (c.status, c.score) for key, c in checks_by_id(alone).items()}
    assert stacked.metrics.keys() == alone.metrics.keys()
    for key, value in alone.metrics.items():  # None: no value (the model did not train)
        assert stacked.metrics[key] == (value if value is None else pytest.approx(value, rel=1e-3, abs=1e-6)), key
