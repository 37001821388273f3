"""Observe one model: which class plays it, its layers, shapes and gradients (the grader's own
training and its predictions: `grader.harness.training`). Nothing here judges; the trusted side does.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

import torch

from grader.harness.emit import describe_error
from grader.harness.loader import ClassRecord
from grader.harness.trace import record_layers
from grader.protocol.wire import ModelJob
from grader.train.values import tensor_report


def choose_classes(models: list[ModelJob], records: list[ClassRecord]) -> dict[str, tuple[ClassRecord, str] | None]:
    """Match each model to a class, by name or by behaviour (its methods).

    Models matched by methods go first and claim their class, so that the lesson's redefined
    `MLPR` with `project` is the autoencoder while the first `MLPR` stays the MLP regressor. A
    claimed class is still used for a second model when nothing else fits.
    """
    chosen: dict[str, tuple[ClassRecord, str] | None] = {}
    claimed: set[int] = set()
    for model in sorted(models, key=lambda m: not m.match_methods):
        ranked = []
        for order, record in enumerate(records):
            by_name = record.name in model.class_names
            has_methods = bool(model.match_methods) and all(
                callable(getattr(record.cls, method, None)) for method in model.match_methods
            )
            if by_name and (has_methods or not model.match_methods):
                rank, how = 0, "name"
            elif has_methods:
                rank, how = 1, "methods"
            elif by_name:
                rank, how = 2, "name"
            else:
                continue
            # Prefer unclaimed classes, then the better rank, then the latest definition.
            ranked.append(((id(record.cls) in claimed, rank, -order), record, how))
        if ranked:
            _, record, how = min(ranked, key=lambda item: item[0])
            claimed.add(id(record.cls))
            chosen[model.id] = (record, how)
        else:
            chosen[model.id] = None
    return chosen


def _attempt(observation: dict[str, Any], key: str, action: Any) -> Any:
    """Run one probe; its error is recorded under `key` and the other probes go on."""
    try:
        return action()
    except BaseException as exc:  # noqa: BLE001 - the student's code may raise anything
        observation[key] = {"error": describe_error(exc)}
        return None


def observe_model(model: ModelJob, choice: tuple[ClassRecord, str] | None,
                  on_probes: Callable[[], None] = lambda: None) -> dict[str, Any]:
    """The model's observation, as the fields of a `ModelObservation`. `on_probes` is called once the
    constructor has returned a module, before the first probe."""
    observation: dict[str, Any] = {"model": model.id}
    if choice is None:
        observation["class"] = None
        return observation
    record, how = choice
    observation["class"] = {**record.describe(), "matched_by": how}
    cls, args = record.cls, model.args
    test_x = torch.tensor(model.test_x, dtype=getattr(torch, model.input_dtype))
    probe_x = torch.tensor(model.probe_x, dtype=getattr(torch, model.input_dtype))

    def construct(arguments: list[int]) -> torch.nn.Module:
        torch.manual_seed(0)
        instance = model.construct(cls, arguments)
        if not isinstance(instance, torch.nn.Module):
            raise TypeError(f"{record.name}(...) is not a torch.nn.Module")
        return instance

    instance = _attempt(observation, "construct", lambda: construct(args))
    built: dict[str, Any] = {"ok": True}
    refused = observation.get("construct", {}).get("error", {}).get("type") == "TypeError"
    if instance is None and refused and takes_no_arguments(cls):
        # Hard-coded sizes (`def __init__(self)`): graded as built; the defined check says why it fails.
        instance = _attempt({}, "construct", lambda: construct([]))
        if instance is not None:
            built["without_arguments"] = observation.pop("construct")["error"]
            args = []
    if instance is None:
        return observation
    observation["construct"] = {**built, "parameters": [
        {"name": name, "shape": list(p.shape)} for name, p in instance.named_parameters()
    ][:50]}

    if model.capture:
        # The trusted side probes the captured graph on the data, which this job does not carry.
        if model.project_method and not callable(getattr(instance, model.project_method, None)):
            observation["project"] = {"missing": True}
        return observation
    on_probes()
    # Shapes, ranges and outputs in eval mode (dropout off, batch norm on its running statistics:
    # a batch of one fits), as the trusted side probes a captured graph; gradients in train mode.
    traced = _attempt(observation, "forward", lambda: record_layers(_in_eval_mode(instance), test_x))
    if traced is not None:
        layers, output = traced
        observation["layers"] = layers
        observation["forward"] = {"batch_n": tensor_report(output)}
        one = _attempt(observation, "forward_one", lambda: instance(test_x[:1]))
        if one is not None:
            observation["forward"]["batch_1"] = {k: v for k, v in tensor_report(one).items() if k != "values"}
        probe = _attempt(observation, "probe", lambda: _no_grad(instance, probe_x))
        if probe is not None:
            observation["probe"] = tensor_report(probe)
        flow = _attempt(observation, "grad_flow", lambda: _grad_flow(construct(args), test_x))
        if flow is not None:  # else _attempt recorded the error: a backward pass that raised is not "no parameters"
            observation["grad_flow"] = flow

    hidden_arg = model.hidden_arg
    if hidden_arg is not None and args:
        other_args = list(args)
        other_args[hidden_arg] = model.probe_hidden
        observation["probe_hidden_args"] = other_args
        traced = _attempt(observation, "hidden_probe",
                          lambda: record_layers(_in_eval_mode(construct(other_args)), test_x[:4]))
        if traced is not None:
            observation["hidden_probe"] = {"layers": traced[0]}

    project = model.project_method
    if project:
        method = getattr(instance, project, None)  # in eval mode since the forward probe
        if not callable(method):
            observation["project"] = {"missing": True}
        else:
            code = _attempt(observation, "project", lambda: _no_grad(method, test_x))
            if code is not None:
                observation["project"] = {k: v for k, v in tensor_report(code).items() if k != "values"}
    return observation


def takes_no_arguments(cls: type) -> bool:
    """Whether the constructor can be called without arguments (`def __init__(self)`)."""
    try:
        inspect.signature(cls).bind()
    except (TypeError, ValueError):
        return False
    return True


def as_built(model: ModelJob, observation: dict[str, Any]) -> ModelJob:
    """The model's job as its class was built: without arguments (and no hidden size to vary)
    where only that built it."""
    if "without_arguments" not in observation.get("construct", {}):
        return model
    return dataclasses.replace(model, args=[], hidden_arg=None)


def candidates(model: ModelJob, records: list[ClassRecord], chosen: set[int]) -> list[dict[str, Any]]:
    """For a model no class plays: each class no model is played by, built with the model's
    arguments or else none, and whether it maps the model's input width to its output width (on
    zeros: the job of a captured model carries no data)."""
    found = []
    for record in [r for r in records if id(r.cls) not in chosen][:10]:
        described: dict[str, Any] = {"name": record.name, "signature": record.signature()}
        for arguments in (model.args, []):
            try:
                torch.manual_seed(0)
                instance = model.construct(record.cls, arguments)
                with torch.no_grad():
                    output = instance.eval()(torch.zeros(2, *model.input_shape))
            except BaseException:  # noqa: BLE001 - the student's code may raise anything: not this way
                continue
            described["built_with"] = list(arguments)
            described["fits"] = isinstance(output, torch.Tensor) and list(output.shape) == [2, model.output_width]
            break
        found.append(described)
    return found


def _in_eval_mode(instance: torch.nn.Module) -> torch.nn.Module:
    instance.eval()
    return instance


def _no_grad(function: Any, inputs: torch.Tensor) -> Any:
    with torch.no_grad():
        return function(inputs)


def _grad_flow(instance: torch.nn.Module, inputs: torch.Tensor) -> dict[str, bool]:
    output = instance(inputs)
    if not isinstance(output, torch.Tensor) or not output.requires_grad:
        return {name: False for name, _ in instance.named_parameters()}
    output.float().sum().backward()
    return {
        name: bool(p.grad is not None and torch.count_nonzero(p.grad).item() > 0)
        for name, p in instance.named_parameters()
    }
