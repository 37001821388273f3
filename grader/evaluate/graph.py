"""A captured model, validated and rebuilt by trusted code only.

What came over the wire is data (`grader.protocol.wire.CapturedModel`): node names, the names of
layers, functions and methods, constructor arguments, tensors as bytes. Each name is looked up in
the allow-list (`grader.protocol.ops`) and mapped to the one torch callable or layer class it
means; nothing is imported or evaluated by name beyond that. Before anything runs on real data, the
graph is run once on the meta device (shapes only, no memory): every intermediate result must stay
within `MAX_ELEMENTS` for the largest batch the grader feeds it. The standard layers are then built
afresh under the seed (PyTorch's default initialisation, as `Class(*args)` after
`torch.manual_seed(seed)` gives for layers built in that order); plain parameters and buffers keep
the values the capture sent.
"""

from __future__ import annotations

import base64
import builtins
import functools
import operator
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx as fx

from grader.protocol import ops
from grader.protocol.wire import EVAL_METHOD_SUFFIX, CapturedMethod, CapturedModel, GraphNode, LayerRecord, TensorData

MAX_ELEMENTS = 5_000_000  # of any one intermediate tensor, for the largest batch the grader runs
NUMPY_DTYPES = {"float32": "<f4", "float64": "<f8", "int64": "<i8", "bool": "|b1"}
ROOT = "inner"  # the capture names the student's instance `inner` (the harness's wrapper module)


class GraphError(Exception):
    """A captured model that does not validate: `where` is (cell, line) of the student's code, when known."""

    def __init__(self, message: str, where: tuple[int, int] = (0, 0)) -> None:
        super().__init__(message)
        self.where = where


def _function(name: str) -> Callable[..., Any]:
    """The callable an allow-listed function name means (qualified as torch.fx names it)."""
    if name not in ops.FUNCTIONS:
        raise GraphError(f"the function {name} is not allowed")
    if name == "getattr":
        return builtins.getattr
    if name.startswith("_operator."):
        function: Callable[..., Any] = getattr(operator, name.removeprefix("_operator."))
        return function
    value: Any = torch
    for part in name.split(".")[1:]:
        value = getattr(value, part)
    return typing.cast(Callable[..., Any], value)


def _value(arg: Any, env: dict[str, Any], where: tuple[int, int]) -> Any:
    """A node argument (wire form) as the value it stands for."""
    if isinstance(arg, list):
        return [_value(item, env, where) for item in arg]
    if not isinstance(arg, dict):
        return arg
    ((form, content),) = arg.items()
    if form == "node":
        if content not in env:
            raise GraphError(f"an argument refers to {content!r}, which is not an earlier node", where)
        return env[content]
    if form == "tuple":
        return tuple(_value(item, env, where) for item in content)
    if form == "slice":
        return slice(*content)
    if form == "float":
        return float(content)  # "nan", "inf" or "-inf": the wire allows no other
    if form == "dtype":
        if content not in ops.DTYPES:
            raise GraphError(f"the dtype {content} is not allowed", where)
        return getattr(torch, content)
    return Ellipsis


def tensor_of(data: TensorData) -> torch.Tensor:
    count = int(np.prod(data.shape)) if data.shape else 1
    if data.data is None:
        raise GraphError(f"{data.path}: no values")
    raw = base64.b64decode(data.data, validate=True)
    array = np.frombuffer(raw, dtype=NUMPY_DTYPES[data.dtype])
    if array.size != count:
        raise GraphError(f"{data.path}: {array.size} values for the shape {tuple(data.shape)}")
    if data.dtype.startswith("float") and not np.isfinite(array).all():
        raise GraphError(f"{data.path}: a value that is not finite")
    return torch.from_numpy(array.copy().reshape(data.shape))


def _tensor_on(data: TensorData, device: str) -> torch.Tensor:
    """The tensor's values, or on the meta device an empty tensor of its shape (no values needed)."""
    if device == "meta":
        return torch.empty(data.shape, dtype=getattr(torch, data.dtype), device="meta")
    return tensor_of(data)


def _layer(record: LayerRecord, device: str) -> torch.nn.Module:
    kind = ops.LAYERS.get(record.kind)
    if kind is None:
        raise GraphError(f"the layer {record.kind} is not allowed")
    if set(record.config) != set(kind.fields):
        raise GraphError(f"{record.path}: the arguments of {record.kind} are {sorted(kind.fields)}")
    config = {key: _value(value, {}, (0, 0)) for key, value in record.config.items()}
    try:
        with torch.device(device):
            layer: torch.nn.Module = getattr(torch.nn, record.kind)(**config)
            return layer
    except Exception as exc:
        raise GraphError(f"{record.path}: {record.kind}(...) cannot be built: {exc}") from None


def fresh_layer_state(graph: CapturedModel) -> dict[str, torch.Tensor]:
    """The standard layers' tensors as building them afresh gives (seed torch first), by path
    (`l1.weight`), without a graph: to compare with the captured values, or to swap in."""
    state = {}
    for record in graph.layers:
        for name, value in _layer(record, "cpu").state_dict().items():
            state[f"{record.path}.{name}"] = value
    return state


def _set(root: torch.nn.Module, path: str, make: Callable[[torch.nn.Module, str], None]) -> None:
    """Walk (creating plain containers) to the owner of `path` and let `make` set its last part."""
    *owners, name = path.split(".")
    module = root
    for part in owners:
        if not (part.isidentifier() or part.isdigit()):
            raise GraphError(f"{path}: not a path a module can have")
        child = module._modules.get(part)
        if child is None:
            if hasattr(module, part):
                raise GraphError(f"{path}: {part} is not a module")
            child = torch.nn.Module()
            module.add_module(part, child)
        module = child
    # A Sequential's layers are named by position ("0", "1"): a name is an identifier or a number.
    if not (name.isidentifier() or name.isdigit()) or name in module._modules or hasattr(type(module), name):
        raise GraphError(f"{path}: not a name a tensor can have here")
    make(module, name)


@dataclass
class Rebuilt:
    """A captured model made executable: its layers and tensors in `root`, a GraphModule per method."""

    root: torch.nn.Module
    methods: dict[str, fx.GraphModule]
    layer_paths: list[str]  # the standard layers, in registration order
    where: dict[str, dict[str, tuple[int, int]]]  # per method, per node: the student's cell and line

    @property
    def instance(self) -> torch.nn.Module:
        return self.root.get_submodule(ROOT)

    def in_eval_mode(self, method: str) -> str:
        """The key of the graph that runs `method` in eval mode: its eval-mode trace, where the
        capture sent one (a method that reads `self.training`), else its only one."""
        key = f"{method}{EVAL_METHOD_SUFFIX}"
        return key if key in self.methods else method

    def parameters_named(self) -> list[tuple[str, torch.nn.Parameter]]:
        """As the student's instance names them (`l1.weight`)."""
        return list(self.instance.named_parameters())


def _add_module(owner: torch.nn.Module, name: str, module: torch.nn.Module) -> None:
    owner.add_module(name, module)


def _add_parameter(owner: torch.nn.Module, name: str, value: torch.Tensor, requires_grad: bool) -> None:
    owner.register_parameter(name, torch.nn.Parameter(value, requires_grad=requires_grad))


def _add_buffer(owner: torch.nn.Module, name: str, value: torch.Tensor, persistent: bool) -> None:
    owner.register_buffer(name, value, persistent=persistent)


def rebuild(graph: CapturedModel, tensors: list[TensorData], device: str = "cpu",
            keep_layer_values: bool = False) -> Rebuilt:
    """`graph` as modules: its standard layers built afresh (seed torch first: they draw their
    initial values in registration order), `tensors` (a seed's, or only shapes on the meta device)
    put where they belong, a GraphModule per method. `keep_layer_values`: the layers take the
    captured values too (the spec's `init = "student"`)."""
    root = torch.nn.Module()
    container = torch.nn.Module()
    root.add_module(ROOT, container)
    layers: dict[str, torch.nn.Module] = {}
    for record in graph.layers:
        if record.path in layers or not record.path:
            raise GraphError(f"the layer path {record.path!r} twice or empty")
        layer = _layer(record, device)
        _set(container, record.path, functools.partial(_add_module, module=layer))
        layers[record.path] = layer
    for data in tensors:
        owner = data.path.rpartition(".")[0]
        value = _tensor_on(data, device)
        if owner in layers:
            _layer_tensor(layers[owner], data, value, keep_layer_values or device == "meta")
        elif data.role == "parameter":
            _set(container, data.path, functools.partial(_add_parameter, value=value, requires_grad=data.requires_grad))
        elif data.role == "buffer":
            _set(container, data.path, functools.partial(_add_buffer, value=value, persistent=True))
        else:
            raise GraphError(f"{data.path}: a constant among the instance's tensors")
    _require_layer_state(layers, tensors)
    for constant in graph.constants:
        value = _tensor_on(constant, device)
        _set(root, constant.path, functools.partial(_add_buffer, value=value, persistent=False))
    methods = {}
    where = {}
    for method in graph.methods:
        methods[method.method], where[method.method] = _graph_module(root, method, set(f"{ROOT}.{p}" for p in layers))
    return Rebuilt(root, methods, [record.path for record in graph.layers], where)


def _layer_tensor(layer: torch.nn.Module, data: TensorData, value: torch.Tensor, keep: bool) -> None:
    name = data.path.rpartition(".")[2]
    own = dict(layer.named_parameters(recurse=False)) | dict(layer.named_buffers(recurse=False))
    if name not in own:
        raise GraphError(f"{data.path}: {type(layer).__name__} has no tensor {name}")
    if tuple(own[name].shape) != tuple(data.shape) or own[name].dtype != value.dtype:
        raise GraphError(f"{data.path}: shape {tuple(data.shape)} where {type(layer).__name__} has "
                         f"{tuple(own[name].shape)}")
    if keep and value.device.type != "meta":
        with torch.no_grad():
            own[name].copy_(value)
    own[name].requires_grad_(data.requires_grad and own[name].is_floating_point())


def _require_layer_state(layers: dict[str, torch.nn.Module], tensors: list[TensorData]) -> None:
    sent = {data.path for data in tensors}
    for path, layer in layers.items():
        for name, _ in [*layer.named_parameters(recurse=False), *layer.named_buffers(recurse=False)]:
            if f"{path}.{name}" not in sent:
                raise GraphError(f"{path}.{name}: the capture did not send it")


def _graph_module(root: torch.nn.Module, method: CapturedMethod,
                  layer_targets: set[str]) -> tuple[fx.GraphModule, dict[str, tuple[int, int]]]:
    graph = fx.Graph()
    env: dict[str, Any] = {}
    where: dict[str, tuple[int, int]] = {}  # by the rebuilt node's name (fx may name it afresh)
    ops_seen = [node.op for node in method.nodes]
    if ops_seen.count("placeholder") != 1 or ops_seen.count("output") != 1 or ops_seen[-1] != "output":
        raise GraphError(f"{method.method}: one input and one output, the output last")
    for node in method.nodes:
        at = (node.cell, node.line)
        if node.name in env:
            raise GraphError(f"the node name {node.name!r} twice", at)
        args = tuple(_value(a, env, at) for a in node.args)
        kwargs = {key: _value(v, env, at) for key, v in node.kwargs.items()}
        env[node.name] = made = _node(graph, root, node, args, kwargs, layer_targets, at)
        where[made.name] = at
    graph.lint()
    return fx.GraphModule(root, graph), where


def _node(graph: fx.Graph, root: torch.nn.Module, node: GraphNode, args: tuple[Any, ...], kwargs: dict[str, Any],
          layer_targets: set[str], at: tuple[int, int]) -> Any:
    if node.op == "placeholder":
        return graph.placeholder(node.target)
    if node.op == "output":
        if len(args) != 1 or kwargs:
            raise GraphError("the output takes one value", at)
        return graph.output(args[0])
    if node.op == "get_attr":
        try:
            value = root.get_submodule(node.target.rpartition(".")[0]) if "." in node.target else root
            found = getattr(value, node.target.rpartition(".")[2])
        except AttributeError:
            found = None
        if not isinstance(found, torch.Tensor):
            raise GraphError(f"reads {node.target}, which the capture did not send", at)
        return graph.get_attr(node.target)
    if node.op == "call_module":
        if node.target not in layer_targets:
            raise GraphError(f"calls {node.target}, which is not one of the captured layers", at)
        return graph.call_module(node.target, args, kwargs)
    if node.op == "call_method":
        if node.target not in ops.METHODS:
            raise GraphError(f"the tensor method .{node.target}() is not allowed", at)
        return graph.call_method(node.target, args, kwargs)
    function = _function(node.target)
    if function is builtins.getattr and (len(args) != 2 or args[1] not in ops.TENSOR_ATTRIBUTES):
        raise GraphError(f"getattr of {str(args[1:])[:40]}, which is not allowed", at)
    return graph.call_function(function, args, kwargs)


class _SizeWatch(fx.Interpreter):
    """Runs a graph on the meta device and refuses any intermediate result larger than MAX_ELEMENTS."""

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        for value in result if isinstance(result, (tuple, list)) else (result,):
            if isinstance(value, torch.Tensor) and value.numel() > MAX_ELEMENTS:
                raise GraphError(f"{n.name} would hold {value.numel()} numbers")
        return result


def check_sizes(graph: CapturedModel, tensors: list[TensorData], input_shapes: list[tuple[int, ...]],
                input_dtype: torch.dtype = torch.float32) -> Rebuilt:
    """Run every method on the meta device for each input shape (the model so built is returned: it
    has the shapes): raises GraphError when an intermediate result would be too large. An error of the model itself (shapes that do not fit)
    is left for the real run, which reports it as the model's."""
    meta = rebuild(graph, tensors, device="meta")
    for module in meta.methods.values():
        for shape in input_shapes:
            try:
                _SizeWatch(module).run(torch.empty(shape, dtype=input_dtype, device="meta"))
            except GraphError:
                raise
            except Exception:  # noqa: BLE001 - the model's own error shows in the real run
                pass
    return meta
