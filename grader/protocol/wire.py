"""The wire between the sandboxed harness and the trusted side, declared once for both.

Standard library only: the harness imports this module inside the sandbox, next to the student's
code, and the grader imports it to read what came back. Two directions:

- the **job** (`Job`), written by the grader as one JSON file: what to run and observe;
- the **observations**, written by the harness as JSON lines, one `Line` subclass per kind
  (`{"kind": "model", ...}`), streamed and flushed one at a time so that what was observed before a
  hang or a crash still arrives.

Every observation line is untrusted: the student's code shares the harness's process and can write
to the same file. `decode_line` is strict: a known `kind`, no unknown key, every type as declared,
every list within its bound (a longer one refuses the line), strings cut to their bound, and numbers
finite (NaN, Infinity, a float that overflows to inf such as `1e400`, an integer beyond 64 bits are
refused while parsing, before anything holds them: the harness writes NaN and inf as `null`). A
line that does not fit raises `WireError`; the reader counts it and drops it. None of this stops a
well-formed forged line; what makes forging pointless is decided on the trusted side (labels that
never enter the sandbox; see the README's "The trust boundary").

`VERSION` is written into every job and into the harness's `started` line; a reader refuses a run
of another version.
"""

from __future__ import annotations

import dataclasses
import json
import math
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

VERSION = 5  # 2: the `capture` line; 3: eval-mode graphs, tuple outputs, `missing_package`, no-argument builds;
# 4: input shapes, arguments by keyword; 5: learning-rate schedules, gradient clipping, class weights

JOB_FILE = "job.json"
OBSERVATIONS_FILE = "observations.jsonl"
# Inside a child of the fork server: its private working folder, and the submission's other files
# (helpers a zip brought), read-only.
FORK_CHILD_WORK = "/tmp"
FORK_CHILD_FILES = "/tmp/files"

MAX_OBSERVATION_BYTES = 32 * 1024 * 1024  # of one run's observations file; the rest is not read
# Integers the harness writes (cells, lines, seeds, shapes, pids) fit in 64 bits; a longer one is
# refused on its digits, before Python builds it.
MAX_INT_DIGITS = 19
# The longest a run's training can claim: far above any timeout, low enough that the sum over 50
# seeds of every model stays finite.
MAX_RUN_SECONDS = 7 * 24 * 3600
MAX_TENSOR_DEPTH = 8
MAX_TEXT = 2000  # characters of a message, a name, a statement; longer ones are cut
# A captured model: nodes per graph, layers, tensors, and the numbers its tensors hold in all (over
# every seed: 2 million floats are 10.7 MB of base64, within one run's observations file).
MAX_GRAPH_NODES = 1000
MAX_GRAPH_LAYERS = 300
MAX_GRAPH_TENSORS = 400
MAX_CAPTURE_ELEMENTS = 2_000_000
MAX_GRAPH_ARG_DEPTH = 4
MAX_GRAPH_ARG_ITEMS = 64
MAX_GRAPH_ARG_TEXT = 64

T = TypeVar("T")


class WireError(ValueError):
    """A job or an observation line that does not fit the schema (for a line: a forged one)."""


@dataclass(frozen=True)
class Bound:
    """A field's bound, in `Annotated[...]`: `max_len` for a list or dict (longer: refused) or a
    string (longer: cut); `low` / `high` for a number (outside: refused)."""

    max_len: int | None = None
    low: float | None = None
    high: float | None = None


class NestedNumbers:
    """Marks a field holding a tensor's values: nested lists of finite numbers or None, at most
    MAX_TENSOR_DEPTH deep (a string such as "inf" would become one in numpy)."""


class GraphArgs:
    """Marks a field holding the arguments of a captured graph's node: numbers (finite), booleans,
    None, short strings, `{"node": name}` (another node's value), `{"dtype": name}`, `{"slice":
    [start, stop, step]}`, `{"ellipsis": true}`, `{"float": "nan" | "inf" | "-inf"}` (a student's
    `x * float("nan")`), lists of these and `{"tuple": [...]}` (indexing
    tells the two apart), at most MAX_GRAPH_ARG_DEPTH deep
    and MAX_GRAPH_ARG_ITEMS items in all. What each means is the trusted side's to decide."""


Text = Annotated[str, Bound(max_len=MAX_TEXT)]
Values = Annotated[object, NestedNumbers()]
Args = Annotated[object, GraphArgs()]
Phase = Literal["load", "construct", "probes", "training"]
PHASES: tuple[Phase, ...] = ("load", "construct", "probes", "training")  # the order the harness goes through
MODEL_PHASES: tuple[Phase, ...] = ("construct", "probes", "training")


def _key(name: str) -> dict[str, str]:
    """Field metadata: the JSON key when it is a Python keyword (`class`)."""
    return {"key": name}


# ---- the job -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipe:
    """How the harness trains a model the old way (inside the sandbox)."""

    optimizer: Literal["adam", "adamw", "sgd"]
    lr: float
    epochs: int
    batch_size: int
    seeds: list[int]
    train_seeds_together: bool
    loss: Literal["mse", "mae", "cross_entropy", "bce", "bce_with_logits", "nll"] = "mse"
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: Literal["none", "step", "cosine"] = "none"  # the learning rate over the epochs
    step_epochs: int = 30  # "step": the rate is multiplied by `gamma` every this many epochs
    gamma: float = 0.1
    clip_norm: float | None = None  # each seed's gradients scaled to at most this norm before each step
    class_weights: list[float] | None = None  # cross_entropy's and nll's weight of each class


@dataclass(frozen=True)
class CodeCell:
    number: int  # the cell's 1-based position among all the notebook's cells
    source: str


@dataclass(frozen=True)
class ModelJob:
    id: str
    class_names: list[str]
    match_methods: list[str]  # a class with all of these methods plays the model whatever its name
    args: list[int]
    hidden_arg: int | None  # the constructor argument the grader changes to see the layers follow
    probe_hidden: int
    project_method: str | None
    recipe: Recipe
    budget_s: float  # training gives up on its own within this (the grader's phase budget)
    capture: bool  # send the model as a graph (the trusted side trains it) instead of training it here
    # Rows of inputs of `input_shape` each (nested lists), and targets.
    train_x: Values
    train_y: Values
    test_x: Values
    probe_x: Values
    input_shape: list[int]
    output_width: int
    # The constructor is called with `args` by these names (`Class(n_channels=8)`), or positionally.
    keyword_names: list[str] | None = None
    # The inputs are indices an embedding reads (int64 tensors); None: values (float32).
    indices: bool | None = None

    @property
    def input_dtype(self) -> str:
        return "int64" if self.indices else "float32"

    def construct(self, cls: Callable[..., Any], args: list[int]) -> Any:
        """`cls` called with `args` as the spec says: by keyword where it names them, else in order."""
        if self.keyword_names is not None and len(args) == len(self.keyword_names):
            return cls(**dict(zip(self.keyword_names, args)))
        return cls(*args)


@dataclass(frozen=True)
class Job:
    version: int
    mode: Literal["definitions", "full"]
    kind: Literal["notebook", "module"]
    cells: list[CodeCell]
    files_dir: str
    models: list[ModelJob]
    observe: list[str]  # the ids of the models still to observe (a run after a hang skips the first)


# ---- observations: the pieces ---------------------------------------------------------------------
@dataclass(frozen=True)
class Frame:
    cell: int
    line: int


@dataclass(frozen=True)
class ErrorInfo:
    """An exception of the student's code, with only the frames of the student's own cells."""

    type: Text
    message: Text = ""
    frames: Annotated[list[Frame], Bound(max_len=20)] = field(default_factory=list)
    name: Text | None = None  # a NameError's name


@dataclass(frozen=True)
class Failed:
    error: ErrorInfo


@dataclass(frozen=True)
class TensorInfo:
    """A value a forward pass returned: its type, and for a tensor its shape, dtype and (not too
    large) its values; shape-checked by the checks before use."""

    type: Text
    shape: Annotated[list[int], Bound(max_len=8)] | None = None
    dtype: Text | None = None
    values: Values = None
    length: Annotated[int, Bound(low=0)] | None = None  # a tuple's or list's (`return out, z`)
    item_shapes: Annotated[list[Annotated[list[int], Bound(max_len=8)] | None], Bound(max_len=8)] | None = None


@dataclass(frozen=True)
class ClassInfo:
    name: Text
    cell: int
    line: int = 0
    methods: Annotated[list[Text], Bound(max_len=200)] = field(default_factory=list)
    matched_by: Literal["name", "methods"] | None = None
    signature: Text = ""  # the constructor's parameters as a call takes them: `(n_input, n_output)`


@dataclass(frozen=True)
class Skipped:
    """A statement definitions mode did not run, and the names it would have set."""

    cell: int
    line: int
    text: Text
    names: Annotated[list[Text], Bound(max_len=50)] = field(default_factory=list)


@dataclass(frozen=True)
class CellProblem:
    """A cell that could not be parsed (a syntax error): it loses only itself."""

    cell: int
    line: int
    error_type: Text
    message: Text
    text: Text = ""


@dataclass(frozen=True)
class Parameter:
    name: Text
    shape: Annotated[list[int], Bound(max_len=8)]


@dataclass(frozen=True)
class Construct:
    ok: bool = True
    parameters: Annotated[list[Parameter], Bound(max_len=100)] = field(default_factory=list)
    # Set where `Class(*args)` raised and `Class()` built the module the model is graded as.
    without_arguments: ErrorInfo | None = None


@dataclass(frozen=True)
class Candidate:
    """A model class that no model is named after, as it looked when built for a model not found:
    with the spec's arguments, else with none (`built_with`), and whether its output fits."""

    name: Text
    signature: Text = ""
    built_with: Annotated[list[int], Bound(max_len=20)] | None = None  # None: it did not build
    fits: bool = False  # input and output widths are the model's


@dataclass(frozen=True)
class Forward:
    batch_n: TensorInfo
    batch_1: TensorInfo | None = None


@dataclass(frozen=True)
class Layers:
    layers: Annotated[list[Text], Bound(max_len=200)]


@dataclass(frozen=True)
class Missing:
    """The model has no such method (e.g. the autoencoder's `project`)."""

    missing: bool = True


@dataclass(frozen=True)
class Run:
    """One seed of the recipe's training, and what the trained instance predicted."""

    seed: int
    loss_history: Annotated[list[float | None], Bound(max_len=100_000)] | None = None
    predictions: TensorInfo | None = None
    code: TensorInfo | None = None
    reinit_predictions: TensorInfo | None = None  # the trained model with fresh parameters swapped in
    reinit_error: ErrorInfo | None = None
    error: ErrorInfo | None = None
    seconds: Annotated[float, Bound(low=0, high=MAX_RUN_SECONDS)] = 0.0  # trained together: an equal share
    together: bool = False  # trained in one loop with the other seeds (the same numbers as one at a time)
    fallback: Text | None = None  # why the seeds were trained one at a time after all


# ---- observations: the lines ----------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One observation line; `KIND` is its `"kind"` on the wire."""

    KIND: ClassVar[str] = ""


@dataclass(frozen=True)
class Started(Line):
    """Written before any student code runs: without it, the sandbox or the harness failed."""

    KIND: ClassVar[str] = "started"
    version: int
    pid: int = 0


@dataclass(frozen=True)
class Finished(Line):
    KIND: ClassVar[str] = "finished"
    seconds: float = 0.0


@dataclass(frozen=True)
class PhaseLine(Line):
    """The harness begins a phase: loading the submission (no model), or a model's construction,
    probes or training. The grader times each phase against its budget while the run goes."""

    KIND: ClassVar[str] = "phase"
    phase: Phase
    model: Text | None = None
    class_: ClassInfo | None = field(default=None, metadata=_key("class"))


@dataclass(frozen=True)
class Plan(Line):
    """What definitions mode runs of the submission, what it skips, and the cells it cannot parse."""

    KIND: ClassVar[str] = "plan"
    executed: int
    skipped: Annotated[list[Skipped], Bound(max_len=1000)] = field(default_factory=list)
    problems: Annotated[list[CellProblem], Bound(max_len=200)] = field(default_factory=list)


@dataclass(frozen=True)
class ExecError(Line):
    """A top-level statement of the submission that raised (it loses only itself)."""

    KIND: ClassVar[str] = "exec_error"
    cell: int
    line: int
    statement: Text  # its kind: "class", "def", "import", "assign", ...
    error: ErrorInfo


@dataclass(frozen=True)
class CellError(Line):
    """Full mode: a notebook cell that raised while the kernel ran it."""

    KIND: ClassVar[str] = "cell_error"
    cell: int
    error: ErrorInfo


@dataclass(frozen=True)
class MissingPackage(Line):
    """Full mode: the submission imported a package the sandbox does not have; a stand-in was bound."""

    KIND: ClassVar[str] = "missing_package"
    name: Text


@dataclass(frozen=True)
class HarnessError(Line):
    """Full mode: the harness's own last cell failed in the kernel."""

    KIND: ClassVar[str] = "harness_error"
    message: Text


@dataclass(frozen=True)
class Classes(Line):
    """Every model class the submission defined, in the order they appeared."""

    KIND: ClassVar[str] = "classes"
    classes: Annotated[list[ClassInfo], Bound(max_len=200)] = field(default_factory=list)


@dataclass(frozen=True)
class ModelObservation(Line):
    """What the harness saw of one model: the class playing it, its construction, its forward pass
    and layers, its outputs on the probe points, its gradients, the layers when built with another
    hidden size, its `project` method. An absent field was not reached (or not asked)."""

    KIND: ClassVar[str] = "model"
    model: Text
    class_: ClassInfo | None = field(default=None, metadata=_key("class"))
    construction: Failed | Construct | None = field(default=None, metadata=_key("construct"))
    forward: Failed | Forward | None = None
    forward_one: Failed | None = None
    layers: Annotated[list[Text], Bound(max_len=200)] | None = None
    probe: Failed | TensorInfo | None = None
    grad_flow: Failed | Annotated[dict[str, bool], Bound(max_len=100)] | None = None
    probe_hidden_args: Annotated[list[int], Bound(max_len=20)] | None = None
    hidden_probe: Failed | Layers | None = None
    project: Failed | Missing | TensorInfo | None = None
    candidates: Annotated[list[Candidate], Bound(max_len=20)] = field(default_factory=list)  # for a model not found


@dataclass(frozen=True)
class Training(Line):
    """The recipe's training of one model, one run per seed."""

    KIND: ClassVar[str] = "training"
    model: Text
    runs: Annotated[list[Run], Bound(max_len=50)] = field(default_factory=list)


# ---- a captured model: the model as data (the trusted side rebuilds and runs it) ----------------------
NodeOp = Literal["placeholder", "get_attr", "call_module", "call_function", "call_method", "output"]


@dataclass(frozen=True)
class GraphNode:
    """One operation of a captured method, as torch.fx names it: `target` is a layer's path
    (call_module), a parameter's, buffer's or constant's path (get_attr), a function's qualified
    name (call_function), a tensor method's name (call_method) or the input's name (placeholder).
    `cell` and `line` say where in the student's code it was called (0: not in a cell)."""

    name: Annotated[str, Bound(max_len=200)]
    op: NodeOp
    target: Annotated[str, Bound(max_len=200)]
    args: Annotated[list[Args], Bound(max_len=MAX_GRAPH_ARG_ITEMS)] = field(default_factory=list)
    kwargs: Annotated[dict[str, Args], Bound(max_len=MAX_GRAPH_ARG_ITEMS)] = field(default_factory=dict)
    cell: int = 0
    line: int = 0


# A method traced again in eval mode is sent under its name with this suffix (`forward:eval`), where
# its graph differs from the train-mode one (fx writes `self.training`'s value into the graph).
EVAL_METHOD_SUFFIX = ":eval"


@dataclass(frozen=True)
class CapturedMethod:
    method: Annotated[str, Bound(max_len=200)]
    nodes: Annotated[list[GraphNode], Bound(max_len=MAX_GRAPH_NODES)]


@dataclass(frozen=True)
class LayerRecord:
    """A `torch.nn` layer of the allow-list (`grader.protocol.ops.LAYERS`), by its path in the
    instance and its constructor arguments, in the order the instance registered it."""

    path: Annotated[str, Bound(max_len=200)]
    kind: Annotated[str, Bound(max_len=40)]
    config: Annotated[dict[str, Args], Bound(max_len=20)] = field(default_factory=dict)


@dataclass(frozen=True)
class TensorData:
    """A parameter, buffer or constant: its path, shape, dtype, and its values as base64 of the
    little-endian bytes (absent where only the shape is sent)."""

    path: Annotated[str, Bound(max_len=200)]
    shape: Annotated[list[Annotated[int, Bound(low=0, high=MAX_CAPTURE_ELEMENTS)]], Bound(max_len=8)]
    dtype: Literal["float32", "float64", "int64", "bool"] = "float32"
    role: Literal["parameter", "buffer", "constant"] = "parameter"
    requires_grad: bool = True
    data: Annotated[str, Bound(max_len=4 * MAX_CAPTURE_ELEMENTS * 8 // 3 + 4)] | None = None


@dataclass(frozen=True)
class SeedTensors:
    """The instance's parameters and buffers right after `torch.manual_seed(seed); Class(*args)`."""

    seed: int
    tensors: Annotated[list[TensorData], Bound(max_len=MAX_GRAPH_TENSORS)]


@dataclass(frozen=True)
class CapturedModel:
    """One instance's graph: its layers, its methods' graphs, the constants they use, and (for the
    instances built with the spec's arguments) its tensors per seed; else their shapes only."""

    args: Annotated[list[int], Bound(max_len=20)]
    layers: Annotated[list[LayerRecord], Bound(max_len=MAX_GRAPH_LAYERS)]
    methods: Annotated[list[CapturedMethod], Bound(max_len=8)]
    constants: Annotated[list[TensorData], Bound(max_len=MAX_GRAPH_TENSORS)] = field(default_factory=list)
    seeds: Annotated[list[SeedTensors], Bound(max_len=50)] = field(default_factory=list)
    shapes: Annotated[list[TensorData], Bound(max_len=MAX_GRAPH_TENSORS)] = field(default_factory=list)


@dataclass(frozen=True)
class CaptureFailure:
    """Why a model could not be captured, in the harness's words (`reason`: a short code), and where."""

    reason: Literal["trace", "not_allowed", "seeds_differ", "too_large", "construct", "unsupported"]
    detail: Text = ""
    cell: int = 0
    line: int = 0


@dataclass(frozen=True)
class Capture(Line):
    """A model captured as data: the instance built with the spec's arguments (its tensors under
    every seed of the recipe) and, where the spec names a hidden-size argument, the one built with
    the probe's (its shapes only); or why it could not be."""

    KIND: ClassVar[str] = "capture"
    model: Text
    graph: CapturedModel | None = None
    hidden_probe: CapturedModel | None = None
    hidden_probe_failed: Failed | None = None  # the constructor raised with the probe's arguments
    failure: CaptureFailure | None = None


@dataclass(frozen=True)
class PhaseTimeout:
    """A phase the grader stopped for running past its budget: the grader's own record of a run,
    never a line (a line could be forged)."""

    phase: Phase
    model: str | None  # None while loading
    budget_s: float
    class_name: str | None = None
    restarted: bool = False  # a fresh run went on with the models after this one


LINE_KINDS: dict[str, type[Line]] = {
    kind.KIND: kind for kind in (Started, Finished, PhaseLine, Plan, ExecError, CellError, MissingPackage, HarnessError,
                                 Classes, ModelObservation, Training, Capture)
}


# ---- encoding ---------------------------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A dataclass of this module as JSON-ready data: JSON keys for fields (`class`), a line's `kind`
    first, and a None left out where None is the field's default (an absent observation)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data: dict[str, Any] = {"kind": value.KIND} if isinstance(value, Line) else {}
        for item in dataclasses.fields(value):
            content = getattr(value, item.name)
            if content is not None or item.default is not None:
                data[item.metadata.get("key", item.name)] = encode(content)
        return data
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def encode_line(line: Line) -> str:
    return json.dumps(encode(line), ensure_ascii=False, allow_nan=False)


# ---- decoding ---------------------------------------------------------------------------------------
def _parse_constant(name: str) -> float:
    raise WireError(f"not a finite number: {name}")  # NaN, Infinity, -Infinity


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise WireError(f"not a finite number: {text[:40]}")
    return value


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise WireError(f"an integer of {len(text)} digits")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise WireError("an integer beyond 64 bits")
    return value


def parse_json(raw: bytes | str) -> Any:
    """JSON, refusing any number a float64 or an int64 cannot hold."""
    try:
        return json.loads(raw, parse_constant=_parse_constant, parse_float=_parse_float, parse_int=_parse_int)
    except RecursionError:
        raise WireError("nested too deep") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None


def decode_line(raw: bytes | str) -> Line:
    """One observation line, validated; raises WireError when it does not fit."""
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise WireError("a line is a JSON object")
    kind = LINE_KINDS.get(data.pop("kind", None)) if isinstance(data.get("kind"), str) else None
    if kind is None:
        raise WireError("unknown kind")
    return decode(kind, data)


def decode(kind: type[T], data: Any) -> T:
    """`data` (parsed JSON) as a `kind` (a dataclass of this module), validated as the module says."""
    return typing.cast(T, _convert(kind, data, kind.__name__))


def build(kind: type[T], data: Any) -> T:
    """What the harness emits, checked against the schema (a bug of the harness shows in the tests)."""
    return decode(kind, encode(data))


@cache
def _fields(kind: type) -> tuple[tuple[str, str, Any, bool], ...]:
    """(attribute, JSON key, type, required) of each field of a dataclass of this module."""
    hints = typing.get_type_hints(kind, globalns=vars(sys.modules[__name__]), include_extras=True)
    return tuple(
        (item.name, item.metadata.get("key", item.name), hints[item.name],
         item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING)
        for item in dataclasses.fields(kind)
    )


def _convert(kind: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(kind)
    if origin is Annotated:
        base, *extras = typing.get_args(kind)
        for extra in extras:
            if isinstance(extra, NestedNumbers):
                return _nested_numbers(value, where)
            if isinstance(extra, GraphArgs):
                return _graph_args(value, where)
        return _bounded(_convert(base, value, where), extras, where)
    if origin in (Union, types.UnionType):
        return _union(typing.get_args(kind), value, where)
    if origin is Literal:
        if value not in typing.get_args(kind) or isinstance(value, bool) != any(
                isinstance(arm, bool) for arm in typing.get_args(kind)):
            raise WireError(f"{where}: {str(value)[:40]!r} is not one of {typing.get_args(kind)}")
        return value
    if origin is list:
        if not isinstance(value, list):
            raise WireError(f"{where}: a list is expected")
        (item,) = typing.get_args(kind)
        return [_convert(item, element, f"{where}[{index}]") for index, element in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise WireError(f"{where}: an object is expected")
        _, item = typing.get_args(kind)
        return {str(key): _convert(item, element, f"{where}.{key}") for key, element in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return _dataclass(kind, value, where)
    return _scalar(kind, value, where)


def _union(arms: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None:
        if type(None) in arms:
            return None
        raise WireError(f"{where}: a value is expected")
    problems = []
    for arm in arms:
        if arm is type(None):
            continue
        try:
            return _convert(arm, value, where)
        except WireError as exc:
            problems.append(str(exc))
    raise WireError(problems[0] if len(problems) == 1 else f"{where}: fits none of its kinds")


def _dataclass(kind: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise WireError(f"{where}: an object is expected")
    fields = _fields(kind)
    unknown = set(value) - {key for _, key, _, _ in fields}
    if unknown:
        raise WireError(f"{where}: unknown key {sorted(map(str, unknown))[0][:40]!r}")
    arguments = {}
    for attribute, key, hint, required in fields:
        if key in value:
            arguments[attribute] = _convert(hint, value[key], f"{where}.{key}")
        elif required:
            raise WireError(f"{where}: {key} is missing")
    return kind(**arguments)


SCALARS: dict[type, Callable[[Any], bool]] = {
    bool: lambda value: isinstance(value, bool),
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    float: lambda value: isinstance(value, (int, float)) and not isinstance(value, bool),
    str: lambda value: isinstance(value, str),
}


def _scalar(kind: Any, value: Any, where: str) -> Any:
    if kind is object:
        return value
    accepts = SCALARS.get(kind)
    if accepts is None:
        raise TypeError(f"{where}: the schema uses {kind!r}, which the wire cannot carry")
    if not accepts(value):
        raise WireError(f"{where}: a {kind.__name__} is expected")
    if kind is float:
        value = float(value)
        if not math.isfinite(value):  # an int too large for a float
            raise WireError(f"{where}: not a finite number")
    return value


def _bounded(value: Any, extras: list[Any], where: str) -> Any:
    for bound in extras:
        if not isinstance(bound, Bound):
            continue
        if bound.max_len is not None and isinstance(value, str):
            value = value[:bound.max_len]
        elif bound.max_len is not None and len(value) > bound.max_len:
            raise WireError(f"{where}: more than {bound.max_len} items")
        if bound.low is not None and value < bound.low or bound.high is not None and value > bound.high:
            raise WireError(f"{where}: outside [{bound.low}, {bound.high}]")
    return value


def _nested_numbers(value: Any, where: str) -> Any:
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, list):
            if depth >= MAX_TENSOR_DEPTH:
                raise WireError(f"{where}: nested too deep")
            pending.extend((child, depth + 1) for child in item)
        elif item is not None and (isinstance(item, bool) or not isinstance(item, (int, float))):
            raise WireError(f"{where}: a value of type {type(item).__name__}")
    return value


GRAPH_ARG_FORMS: dict[str, type[Any]] = {"node": str, "dtype": str, "slice": list, "tuple": list, "ellipsis": bool,
                                         "float": str}
NON_FINITE = ("nan", "inf", "-inf")  # the `{"float": ...}` form: a number JSON cannot hold


def _graph_args(value: Any, where: str) -> Any:
    """A node's argument as `GraphArgs` says; returned as it came (the trusted side interprets it)."""
    pending = [(value, 0)]
    items = 0
    while pending:
        item, depth = pending.pop()
        items += 1
        if items > MAX_GRAPH_ARG_ITEMS or depth > MAX_GRAPH_ARG_DEPTH:
            raise WireError(f"{where}: an argument too large or nested too deep")
        if item is None or isinstance(item, (bool, int, float)):
            continue  # finite and within 64 bits: parse_json has seen to it
        if isinstance(item, str):
            if len(item) > MAX_GRAPH_ARG_TEXT:
                raise WireError(f"{where}: a string argument longer than {MAX_GRAPH_ARG_TEXT}")
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict) and len(item) == 1:
            ((form, content),) = item.items()
            if form not in GRAPH_ARG_FORMS or not isinstance(content, GRAPH_ARG_FORMS[form]):
                raise WireError(f"{where}: an argument of unknown form {str(form)[:40]!r}")
            if form == "slice":
                if len(content) != 3 or any(p is not None and (isinstance(p, bool) or not isinstance(p, int))
                                            for p in content):
                    raise WireError(f"{where}: a slice is [start, stop, step] of integers or None")
            elif form == "tuple":
                pending.extend((child, depth + 1) for child in content)
            elif form == "float" and content not in NON_FINITE:
                raise WireError(f"{where}: a float argument is one of {', '.join(NON_FINITE)}")
            elif isinstance(content, str) and len(content) > MAX_TEXT:
                raise WireError(f"{where}: a name too long")
        else:
            raise WireError(f"{where}: an argument of type {type(item).__name__}")
    return value
