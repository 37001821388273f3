"""Record the layers a forward pass goes through, whatever the attribute names.

A `TorchFunctionMode` sees every torch call: `nn.Linear` (which calls `F.linear`), `x @ W`,
`nn.Sigmoid`, `torch.sigmoid` and `x.sigmoid()` all show up, inside `nn.Sequential` or not.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from grader.protocol import ops

ACTIVATIONS = {
    "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "special_expit": "sigmoid", "expit": "sigmoid",
    "relu": "relu", "relu_": "relu", "tanh": "tanh", "tanh_": "tanh",
    "softmax": "softmax", "log_softmax": "log_softmax", "leaky_relu": "leaky_relu", "elu": "elu",
    "gelu": "gelu", "silu": "silu", "softplus": "softplus", "hardtanh": "hardtanh",
}
# Layers that are not activations, named as the trusted side names them in a captured graph.
OTHER_LAYERS = {"dropout": "dropout", "batch_norm": "batchnorm", "layer_norm": "layernorm"}
MATMULS = {"matmul", "mm", "__matmul__"}
# Convolutions and pooling, by the function torch calls, and the layer whose token they make (an
# embedding's too, `embedding(num,dim)`).
CONVOLUTIONS = {"conv1d": "Conv1d", "conv2d": "Conv2d"}
POOLS = {"max_pool1d": "MaxPool1d", "max_pool2d": "MaxPool2d", "avg_pool1d": "AvgPool1d", "avg_pool2d": "AvgPool2d"}
MAX_OPS = 200


class LayerRecorder(TorchFunctionMode):
    def __init__(self) -> None:
        super().__init__()
        self.layers: list[str] = []

    def __torch_function__(self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        if len(self.layers) < MAX_OPS:
            token = _layer_token(getattr(func, "__name__", ""), args, kwargs)
            if token:
                self.layers.append(token)
        return func(*args, **kwargs)


def _layer_token(name: str, args: tuple, kwargs: dict) -> str | None:
    if name == "linear" and len(args) >= 2 and _is_matrix(args[1]):
        out_features, in_features = args[1].shape
        return f"linear({in_features},{out_features})"
    if name in MATMULS and len(args) >= 2 and _is_matrix(args[1]) and args[1].requires_grad:
        rows, cols = args[1].shape
        return f"linear({rows},{cols})"
    if name == "addmm" and len(args) >= 3 and _is_matrix(args[2]):
        rows, cols = args[2].shape
        return f"linear({rows},{cols})"
    if name in CONVOLUTIONS and len(args) >= 2 and isinstance(args[1], torch.Tensor) and args[1].dim() >= 3:
        weight = args[1]
        sizes = {"in_channels": weight.shape[1] * _arg(args, {}, 6, "groups", 1), "out_channels": weight.shape[0],
                 "kernel_size": tuple(weight.shape[2:]), "stride": _arg(args, {}, 3, "stride", 1),
                 "padding": _arg(args, {}, 4, "padding", 0)}
        return ops.layer_token(ops.LAYERS[CONVOLUTIONS[name]], sizes.__getitem__)
    if name == "embedding" and len(args) >= 2 and _is_matrix(args[1]):
        sizes = {"num_embeddings": args[1].shape[0], "embedding_dim": args[1].shape[1]}
        return ops.layer_token(ops.LAYERS["Embedding"], sizes.__getitem__)
    if name in POOLS and len(args) >= 2:
        kernel = args[1]
        sizes = {"kernel_size": kernel, "stride": _arg(args, kwargs, 2, "stride", None) or kernel,
                 "padding": _arg(args, kwargs, 3, "padding", 0)}
        return ops.layer_token(ops.LAYERS[POOLS[name]], sizes.__getitem__)
    return ACTIVATIONS.get(name) or OTHER_LAYERS.get(name)


def _arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    """An argument of a torch call, given by position or by name."""
    return args[index] if len(args) > index else kwargs.get(name, default)


def _is_matrix(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dim() == 2


def record_layers(model: torch.nn.Module, inputs: torch.Tensor) -> tuple[list[str], Any]:
    recorder = LayerRecorder()
    with recorder:
        output = model(inputs)
    return recorder.layers, output
