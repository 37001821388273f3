"""The grader's own training of a student's model: a fresh instance per seed of the recipe, trained
the same way for every student, and what each predicts afterwards. Nothing here judges.

Two paths give the same observations, to the last bit:

- One at a time: per seed, seed torch's generator, build the instance, train it, report it. Every
  model can take this path; it is the reference.
- Together (the recipe's `train_seeds_together`, two seeds or more): every seed's instance is built
  exactly as above, then one loop trains them all, step by step: each seed's forward and loss run
  on its own instance, its own batch (its own shuffling generator) and its own state of torch's
  random generator (swapped in and out around its forward, so dropout draws what it draws one at a
  time); one backward pass over every seed's loss and one optimizer step over every instance's
  parameters then do what each seed's own would (autograd gives each loss the gradient 1, the
  optimizers update each tensor on its own). The per-call costs of autograd and of the optimizer
  are paid once per step instead of once per seed.

Every operation on a seed's tensors is the one the one-at-a-time path does, in the same order, so
the results are bit-identical (tests/test_seed_training.py compares them exactly). What could still
tell the two apart is state the seeds share, so the attempt is given up, and the seeds are trained
one at a time from scratch, on any exception, on any output or warning (the report shows what the
one-at-a-time path printed, in its order), when two instances share a layer, parameter or buffer,
when building or training changes a class attribute, a global of the forward's module, Python's or
NumPy's random generator, or torch's grad mode or default dtype (a registry of instances, a call
counter), and when the training data was written into.

Speed (one CPU thread, the reference models, 3 seeds x 500 full-batch epochs): about 0.25-0.3 s
per model together against 0.35-0.45 s one at a time.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch

from grader.harness.emit import describe_error
from grader.harness.loader import ClassRecord
from grader.protocol.wire import ModelJob, Recipe
from grader.train.loop import OutOfBudget, SeedRun, fit
from grader.train.values import finite_or_none, tensor_report

REINIT_SEED_OFFSET = 7919  # the seed of the fresh parameters the trained ones are swapped for
MAX_CAPTURED_ITEMS = 1000  # a longer container (a notebook's loss list) is compared by length only


@dataclass(frozen=True)
class Data:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor

    @classmethod
    def of(cls, model: ModelJob) -> Data:
        inputs = getattr(torch, model.input_dtype)
        return cls(torch.tensor(model.train_x, dtype=inputs), torch.tensor(model.train_y, dtype=torch.float32),
                   torch.tensor(model.test_x, dtype=inputs))


class NotTogether(Exception):
    """The seeds of this model cannot be trained together; they are trained one at a time."""


def train_model(model: ModelJob, record: ClassRecord, deadline: float) -> list[dict[str, Any]]:
    """Train a fresh instance per seed under the assignment's recipe; report raw predictions."""
    data = Data.of(model)
    if not model.recipe.train_seeds_together:
        return _train_each(record.cls, model, data, deadline)
    started = time.perf_counter()
    outcome = _train_together(record.cls, model, data, deadline)
    if isinstance(outcome, list):
        return outcome
    attempt_s = time.perf_counter() - started
    runs = _train_each(record.cls, model, data, deadline)
    for run in runs:
        # The failed attempt was training time too: each run carries its share of it.
        run["seconds"] = round(run.get("seconds", 0.0) + attempt_s / len(runs), 3)
        run.update(together=False, fallback=outcome)
    return runs


# ---- one at a time ---------------------------------------------------------------------------------
def _train_each(cls: type, model: ModelJob, data: Data, deadline: float) -> list[dict[str, Any]]:
    runs = []
    for seed in model.recipe.seeds:
        if time.monotonic() > deadline:
            runs.append({"seed": seed, "error": {"type": "Budget", "message": "training time budget used up", "frames": []}})
            continue
        started = time.perf_counter()
        run = _run(seed, lambda: _train_one(cls, model, seed, data))
        run["seconds"] = round(time.perf_counter() - started, 3)
        runs.append(run)
    return runs


def _run(seed: int, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    run: dict[str, Any] = {"seed": seed}
    try:
        run.update(action())
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        run["error"] = describe_error(exc)
    return run


def _train_one(cls: type, model: ModelJob, seed: int, data: Data) -> dict[str, Any]:
    built = SeedRun.build(lambda: model.construct(cls, model.args), seed)
    # No deadline of its own: the grader's phase budget stops a seed that runs too long.
    (losses,) = fit([built], model.recipe, data.train_x, data.train_y, deadline=math.inf)
    return _report(cls, model, seed, built.instance, losses, data.test_x)


def _report(cls: type, model: ModelJob, seed: int, instance: torch.nn.Module, losses: list[float],
            test_x: torch.Tensor) -> dict[str, Any]:
    """What a trained instance predicts in eval mode, its code (`project`), and its predictions with
    fresh parameters."""
    instance.eval()
    with torch.no_grad():
        predictions = instance(test_x)
        result: dict[str, Any] = {"loss_history": finite_or_none(losses), "predictions": tensor_report(predictions)}
        project = model.project_method
        if project and callable(getattr(instance, project, None)):
            result["code"] = tensor_report(getattr(instance, project)(test_x))
    # The same trained instance with its parameters reset to a fresh initialisation (another seed):
    # predictions that do not change, or that still score, did not come from the parameters (a
    # model that looks the answers up in the public data set). The trusted side judges.
    try:
        torch.manual_seed(seed + REINIT_SEED_OFFSET)
        fresh = model.construct(cls, model.args)
        with torch.no_grad():
            for mine, other in zip(instance.parameters(), fresh.parameters()):
                if mine.shape == other.shape:
                    mine.copy_(other)
            result["reinit_predictions"] = tensor_report(instance(test_x))
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        result["reinit_error"] = describe_error(exc)
    return result


# ---- together --------------------------------------------------------------------------------------
def _train_together(cls: type, model: ModelJob, data: Data, deadline: float) -> list[dict[str, Any]] | str:
    """The runs of every seed trained together, or why they must be trained one at a time."""
    recipe = model.recipe
    seeds = recipe.seeds
    if len(seeds) < 2:
        return "one seed"
    if time.monotonic() > deadline:
        return "time budget used up"
    started = time.perf_counter()
    try:
        # Any output or warning ends the attempt: the student sees what the one-at-a-time path
        # prints. Warnings are shown afresh inside, so that the fallback shows them again.
        with _watched_output() as output, warnings.catch_warnings():
            shared = _SharedState.of(cls)
            seeds_state = [SeedRun.build(lambda: model.construct(cls, model.args), seed) for seed in seeds]
            shared.require_unchanged(cls)
            histories = _fit_together(seeds_state, recipe, data, deadline)
            shared.require_unchanged(cls)
        if output.written:
            raise NotTogether("it printed or warned")
    except BaseException as exc:  # noqa: BLE001 - whatever failed, the one-at-a-time path decides
        return f"{type(exc).__name__}: {describe_error(exc)['message'][:200]}"
    runs = []
    for seed, history in zip(seeds_state, histories):
        torch.set_rng_state(seed.rng_state)  # where the seed's own training left torch's generator
        runs.append(_run(seed.seed, functools.partial(_report, cls, model, seed.seed, seed.instance, history, data.test_x)))
    share = round((time.perf_counter() - started) / len(runs), 3)
    for run in runs:
        run.update(seconds=share, together=True)
    return runs


def _fit_together(seeds: list[SeedRun], recipe: Recipe, data: Data, deadline: float) -> list[list[float]]:
    """Train every seed's instance in one loop (`grader.train.loop.fit`), unless they share state."""
    members = [{id(member) for member in (*seed.instance.modules(), *seed.instance.parameters(),
                                          *seed.instance.buffers())} for seed in seeds]
    if len(set().union(*members)) != sum(len(own) for own in members):
        raise NotTogether("two seeds' instances share a layer, a parameter or a buffer")
    data_versions = (data.train_x._version, data.train_y._version)

    def unwritten() -> None:
        if (data.train_x._version, data.train_y._version) != data_versions:
            raise NotTogether("the training data was written into")

    try:
        return fit(seeds, recipe, data.train_x, data.train_y, deadline, after_epoch=unwritten)
    except OutOfBudget as exc:
        raise NotTogether(str(exc)) from None


@dataclass(frozen=True)
class _SharedState:
    """What every seed's instance shares with the others, remembered to see that nothing changed it:
    its classes' attributes, its forward's globals, and the process's generators and torch modes."""

    classes_and_globals: Any
    python_random: object
    numpy_random: object
    torch_modes: tuple[bool, torch.dtype]

    @classmethod
    def of(cls, model_class: type) -> _SharedState:
        return cls(_capture(_classes_and_globals(model_class), copy_tensors=False), random.getstate(),
                   _numpy_random_state(), _torch_modes())

    def require_unchanged(self, model_class: type) -> None:
        if not _same(_classes_and_globals(model_class), self.classes_and_globals):
            raise NotTogether("building or training changed a class attribute or a global")
        if random.getstate() != self.python_random or not _same(_numpy_random_state(), self.numpy_random):
            raise NotTogether("building or training drew from Python's or NumPy's random generator")
        if _torch_modes() != self.torch_modes:
            raise NotTogether("building or training changed torch's grad mode or default dtype")


def _classes_and_globals(cls: type) -> dict[str, Any]:
    """What every instance of `cls` shares: its classes' attributes and its forward's globals."""
    state: dict[str, Any] = {
        klass.__qualname__: dict(vars(klass)) for klass in cls.__mro__
        if klass.__module__ != "builtins" and not klass.__module__.startswith("torch")
    }
    forward_globals = getattr(getattr(cls, "forward", None), "__globals__", {})
    # Python itself notes there which warnings were shown.
    state["globals"] = {key: value for key, value in forward_globals.items() if key != "__warningregistry__"}
    return state


def _numpy_random_state() -> object:
    """NumPy's global generator state, where the student imported NumPy (the grader does not need it)."""
    numpy = sys.modules.get("numpy")
    return numpy.random.get_state(legacy=False) if numpy is not None else None


def _torch_modes() -> tuple[bool, torch.dtype]:
    return torch.is_grad_enabled(), torch.get_default_dtype()


@dataclass(frozen=True)
class _Mark:
    """State remembered without a copy (shared state can be large): the same object, not written
    in place (a tensor's version counter) and not grown or shrunk (a container's length)."""

    value: Any
    version: int

    @staticmethod
    def version_of(value: Any) -> int:
        return value._version if isinstance(value, torch.Tensor) else len(value)


def _capture(value: Any, copy_tensors: bool = True, depth: int = 0) -> Any:
    """A copy to compare with later: tensors copied (or marked, without `copy_tensors`), containers
    copied three levels down and up to MAX_CAPTURED_ITEMS long (marked beyond), other objects kept."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone() if copy_tensors else _Mark(value, value._version)
    if not isinstance(value, (list, tuple, Mapping)):
        return value
    if depth >= 3 or len(value) > MAX_CAPTURED_ITEMS:
        return _Mark(value, len(value))
    if isinstance(value, Mapping):
        return {key: _capture(item, copy_tensors, depth + 1) for key, item in value.items()}
    return [_capture(item, copy_tensors, depth + 1) for item in value]


def _same(a: Any, b: Any) -> bool:
    """Equal as state: tensors and arrays by value, containers item by item, anything else by `is`
    or `==`. `b` may be a capture of `a`'s past."""
    if isinstance(b, _Mark):
        return a is b.value and _Mark.version_of(a) == b.version
    if a is b:
        return True
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype
                and a.shape == b.shape and torch.equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an object that cannot say (an array's ambiguous truth): compared below
        pass
    try:
        import numpy
        return bool(numpy.array_equal(a, b))
    except Exception:  # noqa: BLE001 - an object that cannot say: not the same
        return False


class _Output:
    """Stands in for stdout and stderr: keeps nothing, and ends the attempt at the first text (a
    forward that swallows the exception is still caught by `written`)."""

    def __init__(self) -> None:
        self.written = False

    def write(self, text: str) -> int:
        if text:
            self.written = True
            raise NotTogether("it printed or warned")
        return 0

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


@contextlib.contextmanager
def _watched_output() -> Any:
    watcher = _Output()
    with contextlib.redirect_stdout(watcher), contextlib.redirect_stderr(watcher):
        yield watcher
