"""The facts about a captured model, computed by trusted code on the model rebuilt from its graph.

For a model the harness captured, nothing it observed decides anything: this module computes the
same facts the harness would (`ModelObservation`, `Training`, the wire's own types, so every check
reads them unchanged) from the rebuilt graph, with the data on this side: the forward pass on
batches of N and 1, the outputs on the probe points, gradient flow, the layers (read from the data
flow: an operation whose result does not reach the output, or that the input does not reach, is no
layer), the same for the model built with the probe's hidden size, `project`, and the recipe's
training under every seed with its test predictions. Probes and predictions run in eval mode
(dropout off, batch norm on its running statistics); training in train mode.

No student code runs here; the graph calls only allow-listed torch functions, and its sizes were
bounded on the meta device before it ran (`grader.evaluate.graph.check_sizes`).
"""

from __future__ import annotations

import hashlib
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.fx as fx

from grader.evaluate.graph import GraphError, Rebuilt, check_sizes, fresh_layer_state, rebuild, tensor_of
from grader.protocol import ops
from grader.protocol.wire import (
    Capture,
    CapturedModel,
    Construct,
    ModelObservation,
    Recipe,
    SeedTensors,
    Training,
    build,
    encode,
)
from grader.train.loop import OutOfBudget, SeedRun, fit
from grader.train.losses import Loss, ending_of, loss_for
from grader.train.stacked import Instance, NotStackable, fit_stacked, stackable, structure_key
from grader.train.values import finite_or_none, tensor_report


@dataclass(frozen=True)
class ModelData:
    """What one model is run on: the training rows, the test inputs and the probe points (trusted side)."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    probe_x: torch.Tensor

    @classmethod
    def of(cls, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, probe_x: np.ndarray,
           input_dtype: str = "float32") -> ModelData:
        """`input_dtype`: "int64" for a model that reads indices (an embedding's), whose inputs are
        whole numbers."""
        # Through lists, as the job carries them to the harness: the same float32 rounding.
        train_x_, train_y_, test_x_, probe_x_ = (torch.tensor(np.asarray(a).tolist(), dtype=torch.float32)
                                                 for a in (train_x, train_y, test_x, probe_x))
        if input_dtype == "int64":
            train_x_, test_x_, probe_x_ = (x.to(torch.int64) for x in (train_x_, test_x_, probe_x_))
        return cls(train_x_, train_y_, test_x_, probe_x_)


@dataclass(frozen=True)
class Evaluated:
    observation: ModelObservation
    training: Training
    student_init: bool  # the student's initial values of the standard layers differ from PyTorch's defaults
    seed_independent: tuple[str, ...]  # plain parameters whose initial values do not change with the seed
    suspicious: str  # a tensor that may carry answers (too large, or holding rows of the data), or ""


@dataclass(frozen=True)
class ModelRequest:
    """One captured model to evaluate, on what it is evaluated with, and the seconds its training may take."""

    capture: Capture
    claimed: ModelObservation | None
    recipe: Recipe
    data: ModelData
    budget_s: float
    keep_student_init: bool = False
    max_constant: int = 256


def evaluate(capture: Capture, claimed: ModelObservation | None, recipe: Recipe, data: ModelData,
             deadline: float, keep_student_init: bool = False, max_constant: int = 256) -> Evaluated:
    """Every fact of one captured model. Raises GraphError when the capture does not validate."""
    (answer,) = evaluate_together([ModelRequest(capture, claimed, recipe, data, deadline - time.monotonic(),
                                                keep_student_init, max_constant)])
    if isinstance(answer, Exception):
        raise answer
    return answer


def evaluate_together(requests: list[ModelRequest]) -> list[Evaluated | Exception]:
    """Every fact of each captured model, in order; the models of one structure, recipe, data and
    loss (a class's same model) trained together, stacked, which gives each the numbers it gets
    alone (`grader.train.stacked`). A request whose capture does not validate (GraphError) or whose
    rebuilt graph fails is answered with its exception and costs the others nothing."""
    answers: list[Evaluated | Exception] = []
    # Torch's warnings about the model (a target broadcast to an output of the wrong shape) would reach
    # the grader's terminal; the checks say what is wrong with the shapes.
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared: list[_Prepared | Exception] = []
        for request in requests:
            try:
                prepared.append(_prepared(request))
            except Exception as exc:  # noqa: BLE001 - the request's own answer
                prepared.append(exc)
        trainings = _trained([item for item in prepared if isinstance(item, _Prepared)])
        for item in prepared:
            if isinstance(item, Exception):
                answers.append(item)
                continue
            graph, request = item.graph, item.request
            try:
                answers.append(Evaluated(item.observation, trainings[id(item)], _student_init(graph),
                                         _seed_independent(graph),
                                         suspicious_tensor(graph, request.data, request.max_constant,
                                                           request.keep_student_init)))
            except Exception as exc:  # noqa: BLE001 - the request's own answer
                answers.append(exc)
    return answers


@dataclass
class _Prepared:
    """A request whose graph validated: its observation, its loss and its seeds' instances, built."""

    request: ModelRequest
    graph: CapturedModel
    observation: ModelObservation
    loss: Loss
    loss_name: tuple[object, ...]  # what tells one loss from another: (name, ending, class weights)
    seeds: list[SeedRun]
    built: dict[int, Rebuilt]


def _prepared(request: ModelRequest) -> _Prepared:
    capture, data, recipe = request.capture, request.data, request.recipe
    graph = capture.graph
    if graph is None or not graph.seeds:
        raise GraphError("no graph")
    if [s.seed for s in graph.seeds] != list(recipe.seeds):
        raise GraphError("the capture's seeds are not the recipe's")
    batch = max(len(data.train_x), len(data.test_x), len(data.probe_x))
    check_sizes(graph, graph.seeds[0].tensors, [(batch, *data.test_x.shape[1:]), (1, *data.test_x.shape[1:])],
                data.test_x.dtype)
    hidden_probe = None
    if capture.hidden_probe is not None:
        hidden_probe = check_sizes(capture.hidden_probe, capture.hidden_probe.shapes, [(4, *data.test_x.shape[1:])],
                                   data.test_x.dtype)
    observation = _observe(capture, claimed=request.claimed, graph=graph, hidden_probe=hidden_probe, data=data,
                           keep_student_init=request.keep_student_init)
    ending = ending_of(observation.layers or [])
    loss = loss_for(recipe.loss, ending, recipe.class_weights)
    built: dict[int, Rebuilt] = {}

    def construct_for(seed: int) -> Any:
        def construct() -> torch.nn.Module:
            built[seed] = _built(graph, seed, request.keep_student_init)
            forward = built[seed].methods["forward"]
            forward.train()
            return forward
        return construct

    seeds = [SeedRun.build(construct_for(seed), seed) for seed in recipe.seeds]
    return _Prepared(request, graph, observation, loss, (recipe.loss, ending, tuple(recipe.class_weights or ())),
                     seeds, built)


def suspicious_tensor(graph: CapturedModel, data: ModelData, max_numbers: int, layers_too: bool) -> str:
    """The first tensor the grader does not initialise itself (constants, buffers, plain parameters:
    more than `max_numbers` numbers, or a row of the data set's inputs; with the student's init also
    the layers': a row of the data): a lookup table built from torch operations alone would need one."""
    layer_paths = {layer.path for layer in graph.layers}
    rows = torch.cat([data.train_x, data.test_x]).to(torch.float64)
    rows = rows.reshape(len(rows), -1)  # an image or a sequence as its numbers
    width = rows.shape[1]
    for data_tensor in [*graph.constants, *graph.seeds[0].tensors]:
        in_layer = data_tensor.path.rpartition(".")[0] in layer_paths
        if in_layer and not layers_too:
            continue
        value = tensor_of(data_tensor)
        if value.numel() > max_numbers and not in_layer:  # a layer's own size is its architecture
            return f"{data_tensor.path} holds {value.numel()} numbers (at most {max_numbers})"
        if width and value.is_floating_point() and value.numel() % width == 0 and value.numel():
            candidates = value.to(torch.float64).reshape(-1, width)
            close = (candidates[:, None, :] - rows[None, :, :]).abs().amax(dim=2) < 1e-6
            if bool(close.any()):
                return f"{data_tensor.path} holds rows of the data set"
    return ""


MAX_CHECK_INPUTS = 16  # batches one request of an instructor's check may run the model on


def run_inputs(capture: Capture, recipe: Recipe, data: ModelData, inputs: list[torch.Tensor], trained: bool,
               seed: int, deadline: float, keep_student_init: bool = False) -> list[Any]:
    """The rebuilt model's outputs on batches an instructor's check made (eval mode, as predictions
    are made): built under `seed`, and first trained under the recipe when `trained`. Each output
    as nested lists; raises GraphError when the graph does not validate for these inputs' shapes,
    ValueError when forward returns no tensor."""
    graph = capture.graph
    if graph is None or not graph.seeds:
        raise GraphError("no graph")
    if not 1 <= len(inputs) <= MAX_CHECK_INPUTS:
        raise ValueError(f"give 1 to {MAX_CHECK_INPUTS} batches of inputs, not {len(inputs)}")
    inputs = [batch.to(data.test_x.dtype) for batch in inputs]  # an embedding's indices, as its data's
    check_sizes(graph, graph.seeds[0].tensors, [tuple(batch.shape) for batch in inputs], data.test_x.dtype)
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built: list[Rebuilt] = []

        def construct() -> torch.nn.Module:
            built.append(_built(graph, seed, keep_student_init))
            forward = built[-1].methods["forward"]
            forward.train()
            return forward

        run = SeedRun.build(construct, seed)
        if trained:
            train_seeds([run], recipe, data, deadline, loss_for(recipe.loss, class_weights=recipe.class_weights))
        forward = built[-1].methods[built[-1].in_eval_mode("forward")]
        forward.eval()
        outputs = []
        for batch in inputs:
            output = _no_grad(forward, batch)
            if not isinstance(output, torch.Tensor):
                raise ValueError(f"forward returned {type(output).__name__}, not a tensor")
            outputs.append(output.double().tolist())
    return outputs


# ---- building ----------------------------------------------------------------------------------------
def _seed_tensors(graph: CapturedModel, seed: int) -> SeedTensors:
    return next((s for s in graph.seeds if s.seed == seed), graph.seeds[0])


def _built(graph: CapturedModel, seed: int, keep_student_init: bool) -> Rebuilt:
    """The model as `torch.manual_seed(seed); Class(*args)` builds it: the standard layers draw
    their initial values from the seeded generator, in registration order."""
    torch.manual_seed(seed)
    return rebuild(graph, _seed_tensors(graph, seed).tensors, keep_layer_values=keep_student_init)


def _student_init(graph: CapturedModel) -> bool:
    """Whether any standard layer's captured initial values differ from the defaults under the same seed."""
    for seed in graph.seeds:
        torch.manual_seed(seed.seed)
        fresh = fresh_layer_state(graph)
        for data in seed.tensors:
            if data.path in fresh and not torch.equal(fresh[data.path], tensor_of(data)):
                return True
    return False


def _seed_independent(graph: CapturedModel) -> tuple[str, ...]:
    """Plain parameters (outside the standard layers) that hold the same non-constant values under
    every seed: a pretrained answer, not an initialisation."""
    if len(graph.seeds) < 2:
        return ()
    layer_paths = {layer.path for layer in graph.layers}
    found = []
    for index, data in enumerate(graph.seeds[0].tensors):
        if data.role != "parameter" or data.path.rpartition(".")[0] in layer_paths:
            continue
        first = tensor_of(data)
        same = all(torch.equal(first, tensor_of(seed.tensors[index])) for seed in graph.seeds[1:]
                   if index < len(seed.tensors))
        if same and first.numel() > 1 and not bool((first == first.flatten()[0]).all()):
            found.append(data.path)
    return tuple(found)


# ---- the probes ----------------------------------------------------------------------------------------
def _observe(capture: Capture, claimed: ModelObservation | None, graph: CapturedModel,
             hidden_probe: Rebuilt | None, data: ModelData, keep_student_init: bool) -> ModelObservation:
    """The facts the harness's probes would give, from the rebuilt graph (seed 0's instance, as the
    harness builds it)."""
    fields: dict[str, Any] = {"model": capture.model, "class": _claimed_class(claimed)}
    model = _built(graph, 0, keep_student_init)
    fields["construct"] = {"ok": True, "parameters": [{"name": n, "shape": list(p.shape)}
                                                      for n, p in model.parameters_named()][:50]}
    if claimed is not None and isinstance(claimed.construction, Construct) and claimed.construction.without_arguments:
        # The harness built it as `Class()` (it refused the spec's arguments): a claim that only costs points.
        fields["construct"]["without_arguments"] = encode(claimed.construction.without_arguments)
    key = model.in_eval_mode("forward")
    forward = model.methods[key]
    forward.eval()
    output = _attempt(fields, "forward", model, key, lambda: _no_grad(forward, data.test_x))
    if output is not None:
        fields["layers"] = structure_tokens(forward, _shapes(model))
        fields["forward"] = {"batch_n": tensor_report(output)}
        one = _attempt(fields, "forward_one", model, key, lambda: _no_grad(forward, data.test_x[:1]))
        if one is not None:
            fields["forward"]["batch_1"] = {k: v for k, v in tensor_report(one).items() if k != "values"}
        probe = _attempt(fields, "probe", model, key, lambda: _no_grad(forward, data.probe_x))
        if probe is not None:
            fields["probe"] = tensor_report(probe)
        flow = _attempt(fields, "grad_flow", model, "forward",
                        lambda: _grad_flow(_built(graph, 0, keep_student_init), data.test_x))
        if flow is not None:
            fields["grad_flow"] = flow
    if capture.hidden_probe is not None and hidden_probe is not None:
        fields["probe_hidden_args"] = list(capture.hidden_probe.args)
        shapes = {t.path: tuple(t.shape) for t in capture.hidden_probe.shapes}
        fields["hidden_probe"] = {"layers": structure_tokens(hidden_probe.methods[hidden_probe.in_eval_mode("forward")], shapes)}
    elif capture.hidden_probe_failed is not None:  # the structure check needs only the error
        fields["hidden_probe"] = encode(capture.hidden_probe_failed)
    project = claimed.project if claimed is not None else None
    if "project" in model.methods:
        key = model.in_eval_mode("project")
        method = model.methods[key]
        method.eval()
        code = _attempt(fields, "project", model, key, lambda: _no_grad(method, data.test_x))
        if code is not None:
            fields["project"] = {k: v for k, v in tensor_report(code).items() if k != "values"}
    elif project is not None:
        fields["project"] = {"missing": True}
    return build(ModelObservation, fields)


def _claimed_class(claimed: ModelObservation | None) -> Any:
    """The class the harness says plays the model (its name and cell: for the report, not for a score)."""
    if claimed is None or claimed.class_ is None:
        return None
    return encode(claimed.class_)


def _attempt(fields: dict[str, Any], key: str, model: Rebuilt, method: str, action: Any) -> Any:
    """Run one probe on the rebuilt model: an error is the model's own (a shape that does not fit),
    recorded with the student's cell and line of the operation that raised."""
    try:
        return action()
    except GraphError:
        raise
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds on a model's wrong shapes
        cell, line = _where_failed(exc, model, method)
        frames = [{"cell": cell, "line": line}] if cell else []
        fields[key] = {"error": {"type": type(exc).__name__, "message": str(exc)[:2000], "frames": frames}}
        return None


def _where_failed(exc: BaseException, model: Rebuilt, method: str) -> tuple[int, int]:
    """The student's line of the graph's node that raised (fx's interpreter notes the node)."""
    module = model.methods[method]
    for frame in reversed(_frames(exc)):
        for node in module.graph.nodes:
            if frame.strip().startswith(f"{node.name} = "):  # the generated code's line of that node
                return model.where[method].get(node.name, (0, 0))
    return (0, 0)


def _frames(exc: BaseException) -> list[str]:
    return [line for frame in traceback.format_tb(exc.__traceback__) for line in frame.splitlines()]


def _no_grad(function: Any, inputs: torch.Tensor) -> Any:
    with torch.no_grad():
        return function(inputs)


def _grad_flow(model: Rebuilt, inputs: torch.Tensor) -> dict[str, bool]:
    """Which parameters get a gradient from one backward pass (train mode, as the training runs)."""
    forward = model.methods["forward"]
    forward.train()
    output = forward(inputs)
    parameters = model.parameters_named()
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return {name: False for name, _ in parameters}
    output.float().sum().backward()
    return {name: bool(p.grad is not None and torch.count_nonzero(p.grad).item() > 0) for name, p in parameters}


# ---- structure from the data flow --------------------------------------------------------------------
def _shapes(model: Rebuilt) -> dict[str, tuple[int, ...]]:
    return {f"{name}": tuple(t.shape) for name, t in model.instance.state_dict().items()}


def structure_tokens(module: fx.GraphModule, shapes: dict[str, tuple[int, ...]]) -> list[str]:
    """The layers the input flows through to the output, in order: `linear(in,out)` for a linear
    layer (a Linear, `F.linear`, or a matrix product with a 2-D parameter), the activation's name
    for an activation. `shapes`: the instance's tensors by path (`l1.weight`)."""
    nodes = list(module.graph.nodes)
    from_input: set[fx.Node] = set()
    for node in nodes:
        if node.op == "placeholder" or any(arg in from_input for arg in node.all_input_nodes):
            from_input.add(node)
    to_output: set[fx.Node] = set()
    for node in reversed(nodes):
        if node.op == "output" or any(user in to_output for user in node.users):
            to_output.add(node)
    tokens = []
    for node in nodes:
        if node in from_input and node in to_output:
            token = _token(module, node, shapes)
            if token:
                tokens.append(token)
    return tokens[:200]


def _token(module: fx.GraphModule, node: fx.Node, shapes: dict[str, tuple[int, ...]]) -> str | None:
    if node.op == "call_module":
        layer = module.get_submodule(str(node.target))
        kind = ops.LAYERS.get(type(layer).__name__)
        return ops.layer_token(kind, lambda field: getattr(layer, field)) if kind is not None else None
    if node.op == "call_method":
        return ops.METHODS.get(str(node.target))
    if node.op != "call_function":
        return None
    name = fx.node._get_qualified_name(node.target)  # type: ignore[arg-type]
    weight = _weight_shape(node, 1, shapes)
    if name == "torch._C._nn.linear" and weight is not None:
        return f"linear({weight[1]},{weight[0]})"
    if name in ops.MATMULS and weight is not None:
        return f"linear({weight[0]},{weight[1]})"
    token = ops.FUNCTIONS.get(name) if name != "torch._C._nn.linear" else None
    kernel = node.kwargs.get("kernel_size", node.args[1] if len(node.args) > 1 else None)
    if name in ops.POOLING_FUNCTIONS and isinstance(kernel, int):
        return f"{token}({kernel})"  # `F.max_pool2d(x, 2)`: the size a pattern may ask for
    return token


def _weight_shape(node: fx.Node, index: int, shapes: dict[str, tuple[int, ...]]) -> tuple[int, ...] | None:
    """The shape of a 2-D parameter read straight into argument `index` of `node` (`x @ self.W`)."""
    source = node.args[index] if len(node.args) > index else None
    if not isinstance(source, fx.Node):
        return None
    if source.op != "get_attr" or not str(source.target).startswith("inner."):
        return None
    shape = shapes.get(str(source.target).removeprefix("inner."))
    return shape if shape is not None and len(shape) == 2 else None


# ---- training ------------------------------------------------------------------------------------------
def _trained(items: list[_Prepared]) -> dict[int, Training]:
    """Each item's `Training` (by `id`): the items that train alike (`_together_key`) trained in one
    stacked loop, the others one by one, then each seed's test predictions and `project` code."""
    groups: dict[object, list[_Prepared]] = {}
    for item in items:
        groups.setdefault(_together_key(item), []).append(item)
    trainings: dict[int, Training] = {}
    for group in groups.values():
        started = time.perf_counter()
        histories = _histories(group)
        share = round((time.perf_counter() - started) / sum(len(item.seeds) for item in group), 3)
        for item, outcome in zip(group, histories):
            trainings[id(item)] = _training(item, outcome, share)
    return trainings


def _together_key(item: _Prepared) -> object:
    """What items trained together share: a stackable graph's structure, the recipe, the data and
    the loss. An item whose graph does not stack has a key of its own."""
    forward = item.seeds[0].instance
    if not isinstance(forward, fx.GraphModule) or not stackable(forward):
        return id(item)
    data = item.request.data
    rows = hashlib.sha256()
    for tensor in (data.train_x, data.train_y):
        rows.update(str((tuple(tensor.shape), tensor.dtype)).encode() + tensor.numpy().tobytes())
    return (structure_key(forward), repr(item.request.recipe), rows.hexdigest(), item.loss_name)


def _histories(group: list[_Prepared]) -> list[list[list[float]] | Exception]:
    """Each item's seeds' loss histories, or what stopped its training. A group of several trains
    stacked until one shared deadline (each item's budget adds to it); where its operations do not
    batch, each item trains on its own, as a group of one does, with its own budget from its start."""
    if len(group) > 1:
        deadline = time.monotonic() + sum(item.request.budget_s for item in group)
        first = group[0]
        instances = [Instance(seed.instance, seed.shuffler) for item in group for seed in item.seeds]
        try:
            flat = fit_stacked(instances, first.request.recipe, first.request.data.train_x,
                               first.request.data.train_y, deadline, first.loss)
        except NotStackable:
            pass
        except Exception as exc:  # noqa: BLE001 - OutOfBudget, or the graph's own error: every item's
            return [exc for _ in group]
        else:
            histories: list[list[list[float]] | Exception] = []
            for item in group:
                histories.append(flat[:len(item.seeds)])
                flat = flat[len(item.seeds):]
            return histories
    outcomes: list[list[list[float]] | Exception] = []
    for item in group:
        try:
            outcomes.append(train_seeds(item.seeds, item.request.recipe, item.request.data,
                                        time.monotonic() + item.request.budget_s, item.loss))
        except Exception as exc:  # noqa: BLE001 - OutOfBudget, or the model's own error
            outcomes.append(exc)
    return outcomes


def _training(item: _Prepared, outcome: list[list[float]] | Exception, share: float) -> Training:
    model_id, seeds = item.request.capture.model, item.request.recipe.seeds
    if isinstance(outcome, OutOfBudget):
        return build(Training, {"model": model_id, "runs": [
            {"seed": seed, "error": {"type": "Budget", "message": "training time budget used up", "frames": []}}
            for seed in seeds]})
    if isinstance(outcome, Exception):  # the model's own error (shapes that do not fit the data)
        error = {"type": type(outcome).__name__, "message": str(outcome)[:2000], "frames": []}
        return build(Training, {"model": model_id, "runs": [{"seed": seed, "error": error} for seed in seeds]})
    runs = []
    for seed, history in zip(item.seeds, outcome):
        run: dict[str, Any] = {"seed": seed.seed, "loss_history": finite_or_none(history), "seconds": share,
                               "together": True}
        run.update(_predictions(item.built[seed.seed], item.request.data))
        runs.append(run)
    return build(Training, {"model": model_id, "runs": runs})


def train_seeds(seeds: list[SeedRun], recipe: Recipe, data: ModelData, deadline: float, loss: Loss) -> list[list[float]]:
    """Every seed's instance trained: stacked (`grader.train.stacked`, what a class's models of the
    same structure train with, so that alone and in a class a model gets the same numbers) where its
    graph's layers allow it, else by `grader.train.loop.fit`."""
    forward = seeds[0].instance
    if isinstance(forward, fx.GraphModule) and stackable(forward):
        try:
            return fit_stacked([Instance(seed.instance, seed.shuffler) for seed in seeds], recipe,
                               data.train_x, data.train_y, deadline, loss)
        except NotStackable:
            pass  # an operation without a batching rule: nothing trained yet
    return fit(seeds, recipe, data.train_x, data.train_y, deadline, loss_function=loss)


def _predictions(model: Rebuilt, data: ModelData) -> dict[str, Any]:
    result: dict[str, Any] = {}
    try:
        forward = model.methods[model.in_eval_mode("forward")]
        forward.eval()
        result["predictions"] = tensor_report(_no_grad(forward, data.test_x))
        if "project" in model.methods:
            project = model.methods[model.in_eval_mode("project")]
            project.eval()
            result["code"] = tensor_report(_no_grad(project, data.test_x))
        # No predictions with fresh parameters (the harness's test for a forward that looks answers
        # up): a rebuilt graph runs no student code, and a table it could look up in is a tensor
        # `suspicious_tensor` has seen.
    except Exception as exc:  # noqa: BLE001 - the model's own error
        result["error"] = {"type": type(exc).__name__, "message": str(exc)[:2000], "frames": []}
    return result
