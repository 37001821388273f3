"""What an instructor's check is written against: the `checks.py` beside an `assignment.toml`.

A check is a function of one argument that returns an `Outcome`; the spec declares it, with its
points, texts and the models it grades (README, "Checks of your own"):

    from grader.checks.api import CheckContext, Outcome

    def at_most_10k_parameters(model: CheckContext) -> Outcome:
        most = model.options.get("max", 10_000)
        verdict = Outcome.passed if model.parameter_count <= most else Outcome.failed
        return verdict(count=model.parameter_count, max=most)

A `CheckContext` is the model as the trusted side knows it: its layers in the order the input
flows through them and its parameters, both read from the captured graph the trusted side
rebuilt; the metric the grader measured; the data (test targets included: a check runs on the
trusted side, where they stay). `predict` runs the rebuilt graph on inputs the check makes, in the
trusted evaluation process (trained under the assignment's recipe first, or not); `train` trains
a module of the instructor's own (a baseline) under the same recipe. No student code runs where a
check runs: the student's model is its graph, as data. A check is graded only for a model whose
graph was captured and verified; for any other it is skipped, with that reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from grader.checks import metrics
from grader.checks.base import GraphRunner, ModelError
from grader.spec import Recipe

if TYPE_CHECKING:
    import torch

BASELINE_BUDGET_S = 300.0  # a baseline module's training (the instructor's own: this bounds a mistake)

__all__ = ["CheckContext", "Data", "ModelError", "Outcome", "Parameter"]  # ModelError: a check may catch it


@dataclass(frozen=True)
class Outcome:
    """What a check found. `params` fill the placeholders of the check's message (`{count}`);
    `expected` and `found` are shown beside it. Make one with `passed`, `failed` or `partial`; the
    check passes when it earns all its points."""

    fraction: float  # of the check's points earned
    params: Mapping[str, object] = field(default_factory=dict)
    expected: str | None = None
    found: str | None = None

    @classmethod
    def passed(cls, expected: str | None = None, found: str | None = None, **params: object) -> Outcome:
        return cls(1.0, params, expected, found)

    @classmethod
    def failed(cls, expected: str | None = None, found: str | None = None, **params: object) -> Outcome:
        return cls(0.0, params, expected, found)

    @classmethod
    def partial(cls, fraction: float, expected: str | None = None, found: str | None = None,
                **params: object) -> Outcome:
        """Part of the points: `fraction` between 0 and 1 (1 is a pass)."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"a partial outcome's fraction is between 0 and 1, not {fraction}")
        return cls(float(fraction), params, expected, found)


@dataclass(frozen=True)
class Parameter:
    name: str  # as the student's instance names it: `fc1.weight`
    shape: tuple[int, ...]

    @property
    def count(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class Data:
    """The model's data, as the grader trains and tests it (read-only arrays)."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    test_classes: np.ndarray  # each test row's class (an index into class_names)
    class_names: tuple[str, ...]


@dataclass(frozen=True)
class CheckContext:
    """One model of one submission, as an instructor's check sees it."""

    model: str  # the model's id in the spec (`mlpc`)
    task: Literal["classification", "regression", "reconstruction"]
    options: Mapping[str, Any]  # the declaration's `options`
    layers: tuple[str, ...]  # `linear(4,16)`, `relu`, `dropout`, ... in the order the input flows through them
    parameters: tuple[Parameter, ...]
    metric_name: str  # `test_accuracy`
    metric: float | None  # as the grader measured it (None: it could not be)
    data: Data
    recipe: Recipe
    graded_seed: int | None  # the seed whose training the metric comes from
    # Where one output that decides between two classes (`target = "class_index"`) turns to the second.
    decision_threshold: float | None
    _runner: GraphRunner = field(repr=False)

    @property
    def parameter_count(self) -> int:
        return sum(parameter.count for parameter in self.parameters)

    def predict(self, inputs: np.ndarray, *, trained: bool = True, seed: int | None = None) -> np.ndarray:
        """The model's outputs on `inputs` (a batch: rows of features), in eval mode: after the
        recipe's training (or as built, `trained=False`) under `seed` (default: the graded one).
        Raises `ModelError`."""
        return self.predict_many([inputs], trained=trained, seed=seed)[0]

    def predict_many(self, batches: Sequence[np.ndarray], *, trained: bool = True,
                     seed: int | None = None) -> list[np.ndarray]:
        """`predict` for several batches from one build (and one training) of the model."""
        chosen = seed if seed is not None else (self.graded_seed if self.graded_seed is not None else self.recipe.seeds[0])
        return self._runner.outputs([np.asarray(batch, dtype=np.float64) for batch in batches], trained, chosen)

    def train(self, make: Callable[[], torch.nn.Module], *, seed: int = 0) -> torch.nn.Module:
        """A module of the instructor's own (`make()` builds it, under `seed`), trained on the
        model's training rows under the assignment's recipe, returned in eval mode."""
        import torch

        from grader.train.loop import SeedRun, fit

        x = torch.tensor(self.data.train_x, dtype=torch.float32)
        y = torch.tensor(self.data.train_y, dtype=torch.float32)
        with torch.random.fork_rng(devices=[]):
            run = SeedRun.build(make, seed)
            fit([run], self._runner.recipe, x, y, deadline=time.monotonic() + BASELINE_BUDGET_S)
        run.instance.eval()
        return run.instance

    def outputs_of(self, module: torch.nn.Module, inputs: np.ndarray) -> np.ndarray:
        """A module's outputs on `inputs`, without gradients (a baseline's predictions)."""
        import torch

        with torch.no_grad():
            return np.asarray(module(torch.tensor(inputs, dtype=torch.float32)).double().numpy())

    def accuracy(self, outputs: np.ndarray, classes: np.ndarray | None = None) -> float:
        """The share of rows whose largest output is their class (default: the test classes); one
        output deciding between two classes is read at the model's decision threshold."""
        scores = metrics.class_scores(np.asarray(outputs), self.decision_threshold)
        return metrics.accuracy(scores, self.data.test_classes if classes is None else classes)

    def mse(self, outputs: np.ndarray, targets: np.ndarray | None = None) -> float:
        """The mean squared error against `targets` (default: the test targets)."""
        return metrics.mse(np.asarray(outputs), self.data.test_y if targets is None else targets)
