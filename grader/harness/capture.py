"""Capture a model as data: its methods as torch.fx graphs, its layers, its tensors per seed.

`torch.fx.symbolic_trace` runs each method once on a symbolic input and records the operations
the input flows through (about 2 ms a model once warm; `make_fx` and `torch.export` take 10 and 27:
fx is enough, since the trusted side rebuilds from layers and functions it knows, not from aten
kernels). The layers of the allow-list (`grader.protocol.ops.LAYERS`, exact classes: a student's
subclass of `nn.Linear` is traced into like any module of the student's) stay whole; every other
node must be a function or tensor method of the allow-list. Anything else (Python control flow on a
tensor's value, `.item()`, numpy, a custom autograd function) stops the capture, and the model is
trained here the old way, marked unverified by the trusted side.

Nothing here is trusted: the student's code runs in this process and could write any capture line.
The trusted side validates the graph, re-initialises its standard layers and computes every fact
and score itself (`grader.evaluate.graph`).
"""

from __future__ import annotations

import base64
import math
import sys
from dataclasses import dataclass
from typing import Any

import torch
import torch.fx as fx
from torch.fx.node import _get_qualified_name

from grader.harness.emit import describe_error, innermost_cell_line
from grader.protocol import ops
from grader.protocol.wire import EVAL_METHOD_SUFFIX, MAX_CAPTURE_ELEMENTS, MAX_GRAPH_NODES, ModelJob

LAYER_CLASSES = {getattr(torch.nn, name): name for name in ops.LAYERS}
DTYPES = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64", torch.bool: "bool"}


class NotCaptured(Exception):
    def __init__(self, reason: str, detail: str, cell: int = 0, line: int = 0) -> None:
        super().__init__(detail)
        self.failure = {"reason": reason, "detail": detail[:500], "cell": cell, "line": line}


class ConstructFailed(NotCaptured):
    """The student's constructor raised: with the error, as a probe reports one."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__("construct", _error_text(exc), *_where(exc))
        self.error = describe_error(exc)


class _Tracer(fx.Tracer):
    """Keeps the allow-list's layers whole and records where in the student's cells each node was made
    (by walking the Python stack: fx's own `record_stack_traces` imports about 1,200 modules, 5 s,
    on its first use)."""

    def is_leaf_module(self, m: torch.nn.Module, module_qualified_name: str) -> bool:
        return type(m) in LAYER_CLASSES

    def create_node(self, *args: Any, **kwargs: Any) -> fx.Node:
        node = super().create_node(*args, **kwargs)
        node.meta["cell_line"] = innermost_cell_line(sys._getframe(1))
        return node


class _Method(torch.nn.Module):
    """Calls one method of the instance, so that `project` is traced like `forward`."""

    def __init__(self, inner: torch.nn.Module, method: str) -> None:
        super().__init__()
        self.inner = inner
        self.method = method

    def forward(self, x: Any) -> Any:
        return getattr(self.inner, self.method)(x)


def capture_model(model: ModelJob, cls: type) -> dict[str, Any]:
    """The fields of a `Capture` line for the class playing `model`."""

    def construct(args: list[int]) -> torch.nn.Module:
        instance = model.construct(cls, args)
        if not isinstance(instance, torch.nn.Module):
            raise TypeError(f"{cls.__name__}(...) is not a torch.nn.Module")
        return instance

    methods = ["forward"] + ([model.project_method] if model.project_method else [])
    try:
        captured: dict[str, Any] = {"model": model.id,
                                    "graph": _capture_instance(model, construct, model.args, methods, with_seeds=True)}
        if model.hidden_arg is not None:
            other = list(model.args)
            other[model.hidden_arg] = model.probe_hidden
            try:
                captured["hidden_probe"] = _capture_instance(model, construct, other, ["forward"], with_seeds=False)
            except ConstructFailed as exc:  # a model that refuses other sizes: the structure check says so
                captured["hidden_probe_failed"] = {"error": exc.error}
    except NotCaptured as exc:
        return {"model": model.id, "failure": exc.failure}
    return captured


def _capture_instance(model: ModelJob, construct: Any, args: list[int], methods: list[str],
                      with_seeds: bool) -> dict[str, Any]:
    seeds = model.recipe.seeds if with_seeds else [0]
    instances = []
    for seed in seeds:
        torch.manual_seed(seed)
        try:
            instances.append(construct(args))
        except BaseException as exc:  # noqa: BLE001 - the student's constructor may raise anything
            raise ConstructFailed(exc) from None
    first = instances[0]
    captured = [m for m in methods if callable(getattr(first, m, None))]
    traced = {method: _trace(first, method) for method in captured}
    traced.update(_eval_traces(first, traced))
    layers = _layers(first)
    if any(_layers(other) != layers for other in instances[1:]):
        raise NotCaptured("seeds_differ", "the model's layers change with the seed")
    graph: dict[str, Any] = {
        "args": list(args),
        "layers": layers,
        "methods": [{"method": m, "nodes": _nodes(module)} for m, module in traced.items()],
        "constants": _constants(traced, first),
    }
    if with_seeds:
        total = sum(t.numel() for t in _state(first).values()) * len(instances)
        if total > MAX_CAPTURE_ELEMENTS:
            raise NotCaptured("too_large", f"{total} numbers in its parameters over the seeds")
        graph["seeds"] = [{"seed": seed, "tensors": _tensors(instance, with_data=True)}
                          for seed, instance in zip(seeds, instances)]
    else:
        graph["shapes"] = _tensors(first, with_data=False)
    return graph


def _eval_traces(instance: torch.nn.Module, traced: dict[str, _Traced]) -> dict[str, _Traced]:
    """Each method traced again in eval mode, where that gives another graph: fx writes the value
    of `self.training` into the graph (`F.dropout(x, training=self.training)`, `if self.training:`),
    and the trusted side trains in train mode but probes and predicts in eval mode."""
    try:
        instance.eval()
        again = {method: _trace(instance, method, tag=f"{method}_eval") for method in traced}
        instance.train()
    except NotCaptured:
        raise
    except BaseException as exc:  # noqa: BLE001 - `eval` and `train` may be the student's own
        raise NotCaptured("trace", _error_text(exc), *_where(exc)) from None
    return {f"{method}{EVAL_METHOD_SUFFIX}": module for method, module in again.items()
            if _nodes(module) != _nodes(traced[method])}


@dataclass(frozen=True)
class _Traced:
    """One method's graph, with the module tree it was traced from (where its get_attr nodes point:
    no GraphModule is made here, the trusted side makes its own)."""

    graph: fx.Graph
    root: torch.nn.Module


class _CustomFunction(Exception):
    """A custom autograd function was applied: fx would trace its forward and drop its backward."""


def _refuse_custom_function(cls: type, *args: Any, **kwargs: Any) -> Any:
    raise _CustomFunction(f"the custom autograd function {cls.__name__}")


def _trace(instance: torch.nn.Module, method: str, tag: str = "") -> _Traced:
    """`method`'s graph. The tensors fx makes while tracing (`torch.tensor([1.0, 2.0])`) are kept on
    the root as `_tensor_constant0`, ... for every method alike: they are renamed after the method
    (`tag`), so that two methods' constants never share a name."""
    tracer = _Tracer()
    root = _Method(instance, method)
    apply = torch.autograd.Function.__dict__["apply"]
    torch.autograd.Function.apply = classmethod(_refuse_custom_function)  # type: ignore[assignment]
    try:
        graph = tracer.trace(root)
    except _CustomFunction as exc:
        raise NotCaptured("unsupported", str(exc), *_where(exc)) from None
    except BaseException as exc:  # noqa: BLE001 - tracing runs the student's code
        raise NotCaptured("trace", _error_text(exc), *_where(exc)) from None
    finally:
        torch.autograd.Function.apply = apply  # type: ignore[method-assign]
    if len(graph.nodes) > MAX_GRAPH_NODES:
        raise NotCaptured("too_large", f"{len(graph.nodes)} operations in {method}")
    for node in graph.nodes:
        if node.op == "get_attr" and not str(node.target).startswith("inner."):
            renamed = f"{tag or method}_{node.target}"
            setattr(tracer.root, renamed, _resolve(tracer.root, str(node.target)))
            node.target = renamed
    return _Traced(graph, tracer.root)


def _nodes(module: _Traced) -> list[dict[str, Any]]:
    nodes = []
    for node in module.graph.nodes:
        cell, line = node.meta.get("cell_line", (0, 0))
        if node.op == "call_function":
            target = _get_qualified_name(node.target)
            if target not in ops.FUNCTIONS:
                raise NotCaptured("not_allowed", f"calls {target}", cell, line)
        elif node.op == "call_method":
            target = str(node.target)
            if target not in ops.METHODS:
                raise NotCaptured("not_allowed", f"calls the tensor method .{target}()", cell, line)
        else:
            target = str(node.target)
        try:
            args = [_arg(a) for a in node.args]
            kwargs = {key: _arg(value) for key, value in node.kwargs.items()}
        except NotCaptured as exc:
            raise NotCaptured("unsupported", f"{exc}: an argument of {target}", cell, line) from None
        nodes.append({"name": node.name, "op": node.op, "target": target, "args": args, "kwargs": kwargs,
                      "cell": cell, "line": line})
    return nodes


def _arg(value: Any) -> Any:
    if isinstance(value, fx.Node):
        return {"node": value.name}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": str(value)}  # "nan", "inf", "-inf"
    if isinstance(value, list):
        return [_arg(item) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [_arg(item) for item in value]}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).replace("torch.", "")}
    if isinstance(value, slice):
        return {"slice": [_arg(value.start), _arg(value.stop), _arg(value.step)]}
    if value is Ellipsis:
        return {"ellipsis": True}
    raise NotCaptured("unsupported", f"a {type(value).__name__}")


def _layers(instance: torch.nn.Module) -> list[dict[str, Any]]:
    """Every allow-listed layer of the instance, in registration order, with its constructor arguments."""
    layers = []
    for path, module in instance.named_modules():
        kind = LAYER_CLASSES.get(type(module))
        if kind is None or not path:
            continue
        config = {}
        for name in ops.LAYERS[kind].fields:
            value = getattr(module, name, None)
            if isinstance(value, torch.Tensor) or (name == "bias" and value is None):
                value = value is not None  # a layer's `bias` attribute is its parameter, or None
            config[name] = _arg(value)
        layers.append({"path": path, "kind": kind, "config": config})
    return layers


def _state(instance: torch.nn.Module) -> dict[str, torch.Tensor]:
    return dict(instance.state_dict(keep_vars=True))


def _tensors(instance: torch.nn.Module, with_data: bool) -> list[dict[str, Any]]:
    parameters = {name for name, _ in instance.named_parameters()}
    return [_tensor(path, tensor, "parameter" if path in parameters else "buffer", with_data)
            for path, tensor in _state(instance).items()]


def _constants(traced: dict[str, _Traced], instance: torch.nn.Module) -> list[dict[str, Any]]:
    """Tensors a graph reads that are neither parameters nor buffers: made while tracing, or plain
    tensor attributes of the student's modules."""
    known = {f"inner.{path}" for path in _state(instance)}
    constants: dict[str, dict[str, Any]] = {}
    for module in traced.values():
        for node in module.graph.nodes:
            if node.op != "get_attr" or node.target in known or node.target in constants:
                continue
            value = _resolve(module.root, str(node.target))
            if not isinstance(value, torch.Tensor):
                raise NotCaptured("unsupported", f"reads {node.target}, which is not a tensor")
            constants[str(node.target)] = _tensor(str(node.target), value, "constant", with_data=True)
    return list(constants.values())


def _resolve(module: torch.nn.Module, path: str) -> Any:
    value: Any = module
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _tensor(path: str, tensor: torch.Tensor, role: str, with_data: bool) -> dict[str, Any]:
    dtype = DTYPES.get(tensor.dtype)
    if dtype is None:
        raise NotCaptured("unsupported", f"{path} holds {tensor.dtype}")
    data: dict[str, Any] = {"path": path, "shape": list(tensor.shape), "dtype": dtype, "role": role,
                            "requires_grad": bool(tensor.requires_grad)}
    if with_data:
        if tensor.numel() > MAX_CAPTURE_ELEMENTS:
            raise NotCaptured("too_large", f"{path} holds {tensor.numel()} numbers")
        array = tensor.detach().to("cpu").contiguous().numpy()
        data["data"] = base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode("ascii")
    return data


def _where(exc: BaseException) -> tuple[int, int]:
    frames = describe_error(exc)["frames"]
    return (frames[-1]["cell"], frames[-1]["line"]) if frames else (0, 0)


def _error_text(exc: BaseException) -> str:
    error = describe_error(exc)
    return f"{error['type']}: {error['message']}".strip().rstrip(":")


def warm_up() -> None:
    """Trace a tiny model once (the fork server does, so that no child pays for fx's first trace)."""
    _trace(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Sigmoid()), "forward")
