"""What came back from the sandbox, validated: JSON lines -> typed, bounded observations.

Every line is untrusted (the student's code shares the harness's process and can write to the same
file), so each is parsed with a strict schema; a line that does not fit is counted and dropped.
The first line of each kind (per model) counts. None of this stops a forged line; what makes forging
pointless is that scores come from predictions checked against labels that never enter the sandbox.

Numbers are checked while the JSON is parsed, before anything stores them: the harness writes NaN and
inf as null (`grader.harness.protocol.finite_or_none`), so NaN, Infinity, a float that overflows to
inf (1e400) or an integer beyond 64 bits only comes from a forged line, and the line is malformed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from grader.sandbox import ProcessOutcome

MAX_OBSERVATION_BYTES = 32 * 1024 * 1024
# Integers the harness writes (cells, lines, seeds, shapes, pids) fit in 64 bits; a longer one is
# refused on its digits, before Python builds it.
MAX_INT_DIGITS = 19
# The longest a run's training can claim: far above any timeout, low enough that the sum over 50
# seeds of every model stays finite.
MAX_RUN_SECONDS = 7 * 24 * 3600
MAX_TENSOR_DEPTH = 8


class NonFiniteNumber(ValueError):
    """A number the harness never writes: the line is forged."""


def _parse_constant(name: str) -> float:
    raise NonFiniteNumber(name)  # NaN, Infinity, -Infinity


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(text[:40])
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise NonFiniteNumber(text[:40])
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise NonFiniteNumber(text)
    return value


def parse_line(raw: bytes) -> Any:
    """One JSON line, refusing any number a float64 or an int64 cannot hold."""
    return json.loads(raw, parse_constant=_parse_constant, parse_float=_parse_float, parse_int=_parse_int)


def _numeric_tree(value: Any) -> Any:
    """Tensor values: nested lists of numbers or None, no deeper than a shape may be. A string such as
    "inf" would become one in numpy, so anything else is refused."""
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, list):
            if depth >= MAX_TENSOR_DEPTH:
                raise ValueError("tensor values nested too deep")
            pending.extend((child, depth + 1) for child in item)
        elif item is not None and (isinstance(item, bool) or not isinstance(item, (int, float))):
            raise ValueError(f"tensor value of type {type(item).__name__}")
    return value


def _truncate(value: Any) -> Any:
    return value[:2000] if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_truncate)]


class _Obs(BaseModel):
    # allow_inf_nan=False: a lax float would take the strings "NaN" and "inf" that parsing let through.
    model_config = ConfigDict(extra="ignore", frozen=True, allow_inf_nan=False)


class Frame(_Obs):
    cell: int
    line: int


class ErrorInfo(_Obs):
    type: Text
    message: Text = ""
    frames: list[Frame] = Field(default_factory=list, max_length=20)
    name: Text | None = None


class Failed(_Obs):
    error: ErrorInfo


class TensorInfo(_Obs):
    type: Text
    shape: list[int] | None = Field(None, max_length=8)
    dtype: Text | None = None
    # Nested lists of float | None; shape-checked by the checks before use.
    values: Annotated[Any, AfterValidator(_numeric_tree)] = None


class ClassInfo(_Obs):
    name: Text
    cell: int
    line: int = 0
    methods: list[Text] = Field(default_factory=list, max_length=200)
    matched_by: Literal["name", "methods"] | None = None


class Skipped(_Obs):
    cell: int
    line: int
    text: Text
    names: list[Text] = Field(default_factory=list, max_length=50)


class CellProblem(_Obs):
    cell: int
    line: int
    error_type: Text
    message: Text
    text: Text = ""


class PlanLine(_Obs):
    kind: Literal["plan"]
    executed: int
    skipped: list[Skipped] = Field(default_factory=list, max_length=1000)
    problems: list[CellProblem] = Field(default_factory=list, max_length=200)


class ExecErrorLine(_Obs):
    kind: Literal["exec_error"]
    cell: int
    line: int
    statement: Text
    error: ErrorInfo


class ClassesLine(_Obs):
    kind: Literal["classes"]
    classes: list[ClassInfo] = Field(default_factory=list, max_length=200)


class Forward(_Obs):
    batch_n: TensorInfo
    batch_1: TensorInfo | None = None


class Construct(_Obs):
    ok: bool = True
    parameters: list[dict[str, Any]] = Field(default_factory=list, max_length=100)


class ModelLine(_Obs):
    kind: Literal["model"]
    model: Text
    class_: ClassInfo | None = Field(None, alias="class")
    construction: Construct | Failed | None = Field(None, alias="construct")
    forward: Forward | Failed | None = None
    forward_one: Failed | None = None
    layers: list[Text] | None = Field(None, max_length=200)
    probe: TensorInfo | Failed | None = None
    grad_flow: dict[str, bool] | Failed | None = None
    probe_hidden_args: list[int] | None = None
    hidden_probe: dict[str, list[Text]] | Failed | None = None
    project: TensorInfo | Failed | dict[str, bool] | None = None


class Run(_Obs):
    seed: int
    loss_history: list[float | None] | None = Field(None, max_length=100_000)
    predictions: TensorInfo | None = None
    code: TensorInfo | None = None
    reinit_predictions: TensorInfo | None = None  # the trained model with fresh parameters swapped in
    error: ErrorInfo | None = None
    seconds: float = Field(0.0, ge=0, le=MAX_RUN_SECONDS)  # trained together: an equal share of the seeds' time
    together: bool = False  # trained in one loop with the other seeds (the same numbers as one at a time)
    fallback: Text | None = None  # why the seeds were trained one at a time after all


class TrainingLine(_Obs):
    kind: Literal["training"]
    model: Text
    runs: list[Run] = Field(default_factory=list, max_length=50)


class StartedLine(_Obs):
    kind: Literal["started"]


class FinishedLine(_Obs):
    kind: Literal["finished"]


PHASES = ("load", "construct", "probes", "training")  # in the order the harness goes through them


class PhaseLine(_Obs):
    """The harness begins a phase: loading the submission (no model), or a model's construction,
    probes or training. The grader times each phase against its budget while the run goes."""

    kind: Literal["phase"]
    phase: Literal["load", "construct", "probes", "training"]
    model: Text | None = None
    class_: ClassInfo | None = Field(None, alias="class")


class CellErrorLine(_Obs):
    """Full mode: a notebook cell that raised while the kernel ran it."""

    kind: Literal["cell_error"]
    cell: int
    error: ErrorInfo


Line = Annotated[
    Union[PlanLine, ExecErrorLine, ClassesLine, ModelLine, TrainingLine, StartedLine, FinishedLine, CellErrorLine,
          PhaseLine],
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class PhaseTimeout:
    """A phase that ran past its budget and was stopped by the grader (never reported by the harness)."""

    phase: Literal["load", "construct", "probes", "training"]
    model: str | None  # None while loading
    budget_s: float
    class_name: str | None = None
    restarted: bool = False  # a fresh run went on with the models after this one


@dataclass
class Observations:
    process: ProcessOutcome | None = None
    started: bool = False
    finished: bool = False
    plan: PlanLine | None = None
    exec_errors: list[ExecErrorLine] = field(default_factory=list)
    cell_errors: list[CellErrorLine] = field(default_factory=list)
    classes: list[ClassInfo] = field(default_factory=list)
    models: dict[str, ModelLine] = field(default_factory=dict)
    training: dict[str, TrainingLine] = field(default_factory=dict)
    malformed_lines: int = 0
    truncated: bool = False
    phases: dict[str, PhaseLine] = field(default_factory=dict)  # per model, the first line of its construction
    timeouts: list[PhaseTimeout] = field(default_factory=list)  # set by the grader's execution, not by a line

    def add(self, line: Any) -> None:
        if isinstance(line, StartedLine):
            self.started = True
        elif isinstance(line, FinishedLine):
            self.finished = True
        elif isinstance(line, PlanLine):
            self.plan = self.plan or line
        elif isinstance(line, ExecErrorLine):
            self.exec_errors.append(line)
        elif isinstance(line, CellErrorLine):
            self.cell_errors.append(line)
        elif isinstance(line, ClassesLine):
            self.classes = self.classes or line.classes
        elif isinstance(line, ModelLine):
            self.models.setdefault(line.model, line)
        elif isinstance(line, TrainingLine):
            self.training.setdefault(line.model, line)
        elif isinstance(line, PhaseLine) and line.model is not None and line.phase == "construct":
            self.phases.setdefault(line.model, line)


def read_observations(path: Path, process: ProcessOutcome | None = None) -> Observations:
    observations = Observations(process=process)
    if not path.is_file():
        return observations
    adapter: TypeAdapter[Any] = TypeAdapter(Line)
    with path.open("rb") as handle:
        data = handle.read(MAX_OBSERVATION_BYTES + 1)
    if len(data) > MAX_OBSERVATION_BYTES:
        observations.truncated = True
        data = data[:MAX_OBSERVATION_BYTES]
    for raw in data.splitlines():
        try:
            observations.add(adapter.validate_python(parse_line(raw)))
        except (ValueError, ValidationError, RecursionError):
            observations.malformed_lines += 1
    return observations
