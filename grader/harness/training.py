"""The grader's own training of a student's model: a fresh instance per seed of the recipe, trained
the same way for every student, and what each predicts afterwards. Nothing here judges.

Two paths give the same observations:

- One at a time: per seed, seed torch's generator, build the instance, train it. Every model can
  take this path; it is the reference.
- Together (the recipe's `train_seeds_together`, full batches of two seeds or more): every seed's
  instance is built exactly as above, then one loop trains them all. The student's `forward` runs
  once per epoch under `torch.func.vmap` over the seeds' stacked parameters (the same input batch
  for every seed); the loss is the sum of the seeds' MSEs, so each seed's gradients are its own.

The vectorised attempt is given up, and the seeds are trained one at a time from scratch, on any
exception (vmap refuses `.item()`, data-dependent control flow, random ops, `.data`...), on any
output or warning (the report shows what the one-at-a-time path printed), on any change to the
model's state other than its parameters (running statistics, a cache, a call counter, a registry of
instances), and when the vmapped forward and the instances' own disagree at the end: a model the
vectorised path may not reproduce gets exactly what the one-at-a-time path gives it.

Identity. Where it is taken, the together path is not bit-identical to the one at a time, and
cannot be made so with torch's CPU kernels: batched and single kernels round some elements
differently (`sigmoid` computes the last elements of a tensor by a scalar path that differs from its
vector path in the last bit now and then, and which elements those are depends on the tensor's
length; a one-output `linear` takes another matrix kernel batched). Only models without such ops
(linear layers of two outputs or more, relu) train to the same bits. Measured on the reference and
the faulty variants: test predictions move by about 1e-6; over seeds 0..29 a seed slow to settle
moved its metric by up to 3e-3 and a best-of-3 metric by up to 5e-4, and no score changed; with the
recipe's seeds 0-2 the metrics are equal to their 6 rounded decimals (tests/test_seed_training.py
holds scores and statuses equal). The optimizer is kept exact: it steps the instances' own
parameters, as the one-at-a-time path does, because the fused Adam kernel rounds differently on a
stacked tensor.

Speed (one CPU thread, a reference model): at three seeds the together loop takes about as long as
the seeds one at a time (0.28 s against 0.30 s), at ten seeds 0.39 s against 1.04 s; a forward doing
Python work of its own gains most, as that work runs once per epoch instead of once per seed.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.func import functional_call, vmap

from grader.harness.loader import ClassRecord
from grader.harness.protocol import describe_error, finite_or_none, tensor_report

REINIT_SEED_OFFSET = 7919  # the seed of the fresh parameters the trained ones are swapped for
# How far the vmapped forward may be from each instance's own at the end: far above the rounding of
# the batched kernels (~1e-7), far below a forward that did not use each seed's own parameters.
AGREEMENT_RTOL, AGREEMENT_ATOL = 1e-4, 1e-5
# Module attributes compared separately (parameters, buffers, submodules) or not state at all.
_MODULE_SLOTS = frozenset({"_parameters", "_buffers", "_modules", "_non_persistent_buffers_set"})
MAX_CAPTURED_ITEMS = 1000  # a longer container (a notebook's loss list) is compared by length only


@dataclass(frozen=True)
class Data:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor

    @classmethod
    def of(cls, model: dict[str, Any]) -> Data:
        return cls(*(torch.tensor(model[key], dtype=torch.float32) for key in ("train_x", "train_y", "test_x")))

    def private_copy(self) -> Data:
        """A forward that writes into its input must not spoil the data of the one-at-a-time path."""
        return Data(self.train_x.clone(), self.train_y.clone(), self.test_x)


class NotTogether(Exception):
    """The seeds of this model cannot be trained together; they are trained one at a time."""


def train_model(model: dict[str, Any], record: ClassRecord, deadline: float) -> list[dict[str, Any]]:
    """Train a fresh instance per seed under the assignment's recipe; report raw predictions."""
    data = Data.of(model)
    if not model["recipe"].get("train_seeds_together"):
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


def make_optimizer(recipe: dict[str, Any], parameters: list[torch.nn.Parameter]) -> torch.optim.Optimizer:
    if recipe["optimizer"] == "sgd":
        return torch.optim.SGD(parameters, lr=recipe["lr"])
    # The fused Adam kernel computes the same update about 25% faster on these tiny models; it
    # refuses some parameter kinds, and then the plain one does the job.
    try:
        return torch.optim.Adam(parameters, lr=recipe["lr"], fused=True)
    except (RuntimeError, ValueError, TypeError):
        return torch.optim.Adam(parameters, lr=recipe["lr"])


# ---- one at a time ---------------------------------------------------------------------------------
def _train_each(cls: type, model: dict[str, Any], data: Data, deadline: float) -> list[dict[str, Any]]:
    runs = []
    for seed in model["recipe"]["seeds"]:
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


def _train_one(cls: type, model: dict[str, Any], seed: int, data: Data) -> dict[str, Any]:
    recipe = model["recipe"]
    torch.manual_seed(seed)
    instance = cls(*model["args"])
    optimizer = make_optimizer(recipe, list(instance.parameters()))
    loss_function = torch.nn.MSELoss()
    shuffler = torch.Generator().manual_seed(seed)
    train_x, train_y = data.train_x, data.train_y
    n, batch_size = len(train_x), recipe["batch_size"]
    losses = []
    for _ in range(recipe["epochs"]):
        order = torch.arange(n) if batch_size >= n else torch.randperm(n, generator=shuffler)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            optimizer.zero_grad()
            loss = loss_function(instance(train_x[batch]), train_y[batch])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / n)
    return _report(cls, model, seed, instance, losses, data.test_x)


def _report(cls: type, model: dict[str, Any], seed: int, instance: torch.nn.Module, losses: list[float],
            test_x: torch.Tensor) -> dict[str, Any]:
    """What a trained instance predicts, its code (`project`), and its predictions with fresh parameters."""
    with torch.no_grad():
        predictions = instance(test_x)
        result: dict[str, Any] = {"loss_history": finite_or_none(losses), "predictions": tensor_report(predictions)}
        project = model.get("project_method")
        if project and callable(getattr(instance, project, None)):
            result["code"] = tensor_report(getattr(instance, project)(test_x))
    # The same trained instance with its parameters reset to a fresh initialisation (another seed):
    # predictions that do not change, or that still score, did not come from the parameters (a
    # model that looks the answers up in the public data set). The trusted side judges.
    try:
        torch.manual_seed(seed + REINIT_SEED_OFFSET)
        fresh = cls(*model["args"])
        with torch.no_grad():
            for mine, other in zip(instance.parameters(), fresh.parameters()):
                if mine.shape == other.shape:
                    mine.copy_(other)
            result["reinit_predictions"] = tensor_report(instance(test_x))
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        result["reinit_error"] = describe_error(exc)
    return result


# ---- together --------------------------------------------------------------------------------------
def _train_together(cls: type, model: dict[str, Any], data: Data, deadline: float) -> list[dict[str, Any]] | str:
    """The runs of every seed trained together, or why they must be trained one at a time."""
    recipe = model["recipe"]
    seeds = recipe["seeds"]
    if len(seeds) < 2:
        return "one seed"
    if recipe["batch_size"] < len(data.train_x):
        return "mini-batches (each seed shuffles its own order)"
    if time.monotonic() > deadline:
        return "time budget used up"
    started = time.perf_counter()
    try:
        # Any output or warning ends the attempt: the student sees what the one-at-a-time path
        # prints. Warnings are shown afresh inside, so that the fallback shows them again.
        with _watched_output() as output, warnings.catch_warnings():
            shared = _capture(_shared_state(cls), copy_tensors=False)
            instances = [_construct(cls, model["args"], seed) for seed in seeds]
            _require_shared_unchanged(cls, shared)
            histories = _fit_together(instances, recipe, data.private_copy(), deadline)
            _require_shared_unchanged(cls, shared)
        if output.written:
            raise NotTogether("it printed or warned")
    except BaseException as exc:  # noqa: BLE001 - whatever failed, the one-at-a-time path decides
        return f"{type(exc).__name__}: {describe_error(exc)['message'][:200]}"
    runs = [_run(seed, lambda: _report(cls, model, seed, instance, history, data.test_x))
            for seed, instance, history in zip(seeds, instances, histories)]
    share = round((time.perf_counter() - started) / len(runs), 3)
    for run in runs:
        run.update(seconds=share, together=True)
    return runs


def _construct(cls: type, args: list[int], seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)  # as the one-at-a-time path does: the same initial parameters
    return cls(*args)


def _fit_together(instances: list[torch.nn.Module], recipe: dict[str, Any], data: Data,
                  deadline: float) -> list[list[float]]:
    """Train every instance's own parameters in one vmapped loop; each seed's loss history.

    The forward runs on the first instance with each seed's parameters and buffers swapped in
    (`functional_call`), so the instances may differ in nothing else, and training may change
    nothing else.
    """
    shell = instances[0]
    _require_alike(instances)
    names = [name for name, _ in shell.named_parameters()]
    keys = names + [name for name, _ in shell.named_buffers()]
    leaves = [[p for _, p in instance.named_parameters()] for instance in instances]
    buffers = _stacked([[b for _, b in instance.named_buffers()] for instance in instances])
    state, members, initial_buffers = _capture(_plain_state(shell)), _members(shell), _capture(buffers)
    data_versions = (data.train_x._version, data.train_y._version)

    def require_only_parameters_changed() -> None:
        if not (_same(_plain_state(shell), state) and _members(shell) == members and _same(buffers, initial_buffers)):
            raise NotTogether("training changed the model's state beyond its parameters")
        if (data.train_x._version, data.train_y._version) != data_versions:
            raise NotTogether("the forward wrote into its input")

    # One optimizer over the instances' own parameters: the fused kernel steps each tensor as the
    # one-at-a-time path does (on a stacked tensor it rounds some elements differently).
    optimizer = make_optimizer(recipe, [p for seed_leaves in leaves for p in seed_leaves])
    loss_function = torch.nn.MSELoss()

    def forward(*tensors: torch.Tensor) -> Any:
        # Flat tensors rather than dicts, and no untying (nothing is tied): each costs vmap and
        # functional_call time on every epoch.
        return functional_call(shell, dict(zip(keys, tensors)), (data.train_x,), tie_weights=False)

    losses_of = vmap(lambda *tensors: loss_function(forward(*tensors), data.train_y))
    histories: list[list[float]] = [[] for _ in instances]
    started = time.monotonic()
    for epoch in range(recipe["epochs"]):
        optimizer.zero_grad()
        losses = losses_of(*_stacked(leaves), *buffers)
        losses.sum().backward()  # d(sum)/d(seed's loss) is exactly 1: each seed's gradients are its own
        optimizer.step()
        # A full batch: the one-at-a-time path's `loss * n / n` is the loss itself, exactly.
        for history, value in zip(histories, losses.detach().tolist()):
            history.append(value)
        _require_budget(started, epoch + 1, recipe["epochs"], deadline)
        if epoch == 0:
            require_only_parameters_changed()  # most stateful forwards show it at once: no time lost
    require_only_parameters_changed()
    with torch.no_grad():
        _require_agreement(instances, vmap(forward)(*_stacked(leaves), *buffers), data.train_x)
    return histories


def _stacked(per_seed: list[list[torch.Tensor]]) -> list[torch.Tensor]:
    """The seeds' tensors, position by position, stacked along a new first dimension (differentiable)."""
    return [torch.stack(tensors) for tensors in zip(*per_seed)]


def _require_alike(instances: list[torch.nn.Module]) -> None:
    layout, state = _layout(instances[0]), _plain_state(instances[0])
    if not all(dtype.is_floating_point for _, dtype, _ in layout["parameters"]):
        raise NotTogether("a parameter is not a floating-point tensor")
    if _has_tied_tensors(instances[0]):
        # functional_call's re-tying puts new parameter objects into the module afterwards.
        raise NotTogether("a parameter or buffer is reached under two names")
    for other in instances[1:]:
        if _layout(other) != layout:
            raise NotTogether("the seeds' instances have different parameters or buffers")
        if not _same(_plain_state(other), state):
            raise NotTogether("the seeds' instances differ in more than their parameters and buffers")


def _has_tied_tensors(module: torch.nn.Module) -> bool:
    every = [*module.named_parameters(remove_duplicate=False), *module.named_buffers(remove_duplicate=False)]
    return len(every) != len({id(tensor) for _, tensor in every})


def _layout(module: torch.nn.Module) -> dict[str, list[tuple[str, torch.dtype, tuple[int, ...]]]]:
    return {
        "parameters": [(name, p.dtype, tuple(p.shape)) for name, p in module.named_parameters()],
        "buffers": [(name, b.dtype, tuple(b.shape)) for name, b in module.named_buffers()],
    }


def _plain_state(module: torch.nn.Module) -> dict[str, Any]:
    """Every attribute of the module and its submodules but parameters, buffers and submodules (hooks too)."""
    state: dict[str, Any] = {}
    for path, sub in module.named_modules():
        state[f"{path}.__class__"] = type(sub)
        for key, value in vars(sub).items():
            if key not in _MODULE_SLOTS:
                state[f"{path}.{key}"] = value
    return state


def _members(module: torch.nn.Module) -> list[int]:
    """The parameters, buffers and submodules the module holds, by identity."""
    return [id(member) for member in (*module.parameters(), *module.buffers(), *module.modules())]


def _shared_state(cls: type) -> dict[str, Any]:
    """What every instance of `cls` shares: its classes' attributes and its forward's globals."""
    state: dict[str, Any] = {
        klass.__qualname__: dict(vars(klass)) for klass in cls.__mro__
        if klass.__module__ != "builtins" and not klass.__module__.startswith("torch")
    }
    forward_globals = getattr(getattr(cls, "forward", None), "__globals__", {})
    # Python itself notes there which warnings were shown.
    state["globals"] = {key: value for key, value in forward_globals.items() if key != "__warningregistry__"}
    return state


def _require_shared_unchanged(cls: type, shared: Any) -> None:
    """One at a time, each instance is built after the previous one trained: what the classes or
    the module's globals keep must not change (a registry of instances, a call counter)."""
    if not _same(_shared_state(cls), shared):
        raise NotTogether("building or training changed a class attribute or a global")


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
    """Equal as state: tensors by value, containers item by item, anything else by `is` or `==`.
    `b` may be a capture of `a`'s past."""
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
    except Exception:  # noqa: BLE001 - an object that cannot say: not the same
        return False


def _require_budget(started: float, done: int, epochs: int, deadline: float) -> None:
    """Give up as soon as the together run is projected to end after the deadline: one at a time,
    the seeds started before it would still be trained."""
    now = time.monotonic()
    if now + (now - started) / done * (epochs - done) > deadline:
        raise NotTogether("would pass the training time budget")


def _require_agreement(instances: list[torch.nn.Module], together: torch.Tensor, inputs: torch.Tensor) -> None:
    """The vmapped forward must be each instance's own forward (a forward that reaches a parameter
    other than through its module attribute would silently use the first seed's)."""
    for index, instance in enumerate(instances):
        if not torch.allclose(instance(inputs), together[index], rtol=AGREEMENT_RTOL, atol=AGREEMENT_ATOL,
                              equal_nan=True):
            raise NotTogether("the vmapped forward disagrees with the instances' own")


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
    with contextlib.redirect_stdout(watcher), contextlib.redirect_stderr(watcher):  # type: ignore[type-var]
        yield watcher
