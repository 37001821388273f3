"""What a check is, and what it is handed: one small protocol for every check.

A check is a `Check` subclass in a module of `grader.checks.library`: its `name` (the check id
is `<model>.<name>`), where it falls in a model's order, its default points, which models it applies
to, and `grade(context) -> Verdict`. It reads the facts about the model from `context.evidence`
(today what the sandboxed harness observed; a captured graph evaluated on the trusted side is the
next source of the same facts) and says what it found; the registry turns the verdict into a
`CheckResult` with the points, the message and the hint of its catalogue key. A check never
formats points and never presents anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from grader.checks.checks_file import CheckFunctions
from grader.i18n import Messages
from grader.protocol import wire
from grader.protocol.wire import (
    CellProblem,
    ErrorInfo,
    ExecError,
    Forward,
    ModelObservation,
    PhaseLine,
    PhaseTimeout,
    Training,
)
from grader.result import CheckResult, ModelOutcome, Status, Verification
from grader.spec import ModelSpec, Recipe, Visibility
from grader.spec.datasets import Split


class ModelError(Exception):
    """The student's model could not be run on a check's inputs (its graph refused their shape, its
    forward raised, its training ran out of time)."""


class GraphRunner(Protocol):
    """A verified model's captured graph, run in the trusted evaluation process on the batches an
    instructor's check makes, under the recipe it is graded with (`recipe`). Raises ModelError."""

    @property
    def recipe(self) -> wire.Recipe: ...

    def outputs(self, inputs: list[np.ndarray], trained: bool, seed: int) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class ModelEvidence:
    """What is known of one model of one submission: facts, no verdicts."""

    observation: ModelObservation | None  # what the harness saw of it (None: not reached, or no class)
    training: Training | None  # the recipe's training, one run per seed
    construct_phase: PhaseLine | None  # the start of its construction (which class, before any probe)
    timeout: PhaseTimeout | None  # the phase the grader stopped for running past its budget
    run_finished: bool  # the run ended normally (a model it never reached may be fine)
    plan_problems: tuple[CellProblem, ...] = ()  # cells that could not be parsed
    class_errors: tuple[ExecError, ...] = ()  # top-level `class` statements that raised
    skipped_names: dict[str, tuple[int, int]] = field(default_factory=dict)  # names only skipped statements set
    verification: Verification | None = None  # computed on the captured graph, or not (None: never constructed)
    runner: GraphRunner | None = None  # a verified model's graph, run on an instructor's check's inputs


@dataclass(frozen=True)
class Verdict:
    """What a check found: its status, the catalogue key of its message and hint (filled with
    `params`, `expected` and `found`), the share of its points earned (default: all when passed,
    none otherwise), and `stop_rest`: the key the model's remaining checks are skipped with.
    `hint_key`: the entry whose hint is given instead, where what was found (the model's task, the
    layers) calls for another hint than the message's own. `text`, `hint` and `note`: an
    instructor's check's own texts (no catalogue key), and what only instructors see (a traceback)."""

    status: Status
    key: str
    params: dict[str, Any] = field(default_factory=dict)
    expected: str | None = None
    found: str | None = None
    fraction: float | None = None
    stop_rest: str | None = None
    hint_key: str | None = None
    text: str | None = None
    hint: str | None = None
    note: str = ""


@dataclass
class ModelContext:
    """What a check is handed: the model's spec and recipe, the data split (test labels stay on this
    side), the evidence, the results of the checks before it, and what the report will draw."""

    spec: ModelSpec
    recipe: Recipe
    split: Split
    messages: Messages
    evidence: ModelEvidence
    outcome: ModelOutcome
    results: dict[str, CheckResult] = field(default_factory=dict)  # by check name, in order
    functions: CheckFunctions = field(default_factory=CheckFunctions)  # the assignment's checks.py

    def passed(self, name: str) -> bool:
        return name in self.results and self.results[name].status == "passed"

    def options(self, name: str) -> dict[str, Any]:
        """The spec's options for the check `name` (`[models.checks.<name>]`)."""
        return dict(self.spec.checks.get(name, {}))

    def describe_error(self, error: ErrorInfo) -> str:
        """An exception of the student's code in one line, with the cell and line it points to, and
        the skipped statement that would have set a missing name."""
        where = ""
        if error.frames:
            frame = error.frames[-1]
            where = self.messages.text("where.cell", cell=frame.cell, line=frame.line)
        text = f"{error.type}: {error.message}".strip().rstrip(":")
        skipped = self.evidence.skipped_names.get(error.name or "") if error.type == "NameError" else None
        if skipped:
            text += " " + self.messages.text("error.skipped_name", name=error.name, cell=skipped[0], line=skipped[1])
        if _needs_a_gpu(error):
            text += " " + self.messages.text("error.cuda")
        return f"{text}{(' (' + where + ')') if where else ''}"


def _needs_a_gpu(error: ErrorInfo) -> bool:
    """The error of code that asked for CUDA (`.cuda()`, `device="cuda"`) on a machine without it."""
    return any(sign in error.message for sign in ("Torch not compiled with CUDA", "No CUDA GPUs", "NVIDIA driver"))


class Check:
    """The protocol of a check: subclass it in a module of `grader.checks.library`.

    `name`: the check id's second part and its catalogue entries (`check.<name>`, `idea.<name>`).
    `order`: its place among a model's checks (lower first): a check sees the results of those before.
    `default_points`: its points unless the spec's `points` table says otherwise (under `points_key`).
    `by_default`: graded for every model it applies to; otherwise only where the spec names it in
    `[models.checks]`.
    """

    name: str
    order: int
    default_points: float
    points_key: str = ""  # defaults to `name`
    by_default: bool = True

    def id_for(self, model: ModelSpec) -> str:
        """The name this check has for `model` (the test metric's is the metric's, `test_mse`)."""
        return self.name

    def applies_to(self, model: ModelSpec) -> bool:
        return self.by_default or self.name in model.checks

    def points_for(self, model: ModelSpec) -> float:
        return model.points.get(self.points_key or self.name, self.default_points)

    def visibility_for(self, model: ModelSpec) -> Visibility:
        return model.visibility.get(self.points_key or self.name, "visible")

    def title(self, messages: Messages) -> str | None:
        """Its name in the report where the catalogue has none (`check.<name>`): None for the library's."""
        return None

    def option_problems(self, options: dict[str, Any]) -> list[str]:
        """What is wrong with the spec's options for this check (none by default: it takes none)."""
        return [f"unknown option {key!r}" for key in options]

    def grade(self, context: ModelContext) -> Verdict:
        raise NotImplementedError


def other_than_a_tensor(observation: ModelObservation | None) -> Verdict | None:
    """The skip of a check that needs forward's output tensor, where forward ran and returned
    something else (`return out, z`): the reason is forward_shape's, said once there."""
    forward = observation.forward if observation is not None else None
    if not isinstance(forward, Forward) or forward.batch_n.type == "Tensor":
        return None
    return Verdict("skipped", "skipped.not_tensor", {"type": forward.batch_n.type})


def shape_text(shape: list[int] | tuple[int, ...] | None) -> str:
    """`(75, 3)`, `(75,)`, or `?`."""
    if shape is None:
        return "?"
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
