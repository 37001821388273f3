"""What a captured model may be made of: the allow-list of layers, functions and tensor methods.

Declared once, as names, for both sides: the harness (inside the sandbox) names each node of a
captured graph with these names and knows before it sends a graph whether it can be verified; the
trusted side maps each name to the one callable or layer class it means (`grader.evaluate.ops`)
and rebuilds the model from those alone. Anything else (a custom autograd function, numpy, a call
into the student's own code that the tracer could not see through) makes a model unverified.

Standard library only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LayerKind:
    """A `torch.nn` layer the grader builds itself, from these constructor arguments only."""

    fields: tuple[str, ...]  # constructor arguments, read off the student's instance
    token: str  # its name in a structure pattern (`linear`, `conv2d`, `relu`, ...)
    # The fields its token shows, in order (`conv2d(1,8,...)`), then those shown by a short name
    # (`k=3`): what a structure pattern may ask of it.
    sizes: tuple[str, ...] = ()
    options: tuple[tuple[str, str], ...] = ()


# torch.nn layer class name -> what the trusted side rebuilds it from. A field holding a layer's
# size is what the structure check reads (`linear(in_features,out_features)`).
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode")
_CONV_SIZES = ("in_channels", "out_channels")
_CONV_OPTIONS = (("k", "kernel_size"), ("s", "stride"), ("p", "padding"))
_POOL_OPTIONS = (("s", "stride"), ("p", "padding"))
_RECURRENT_OPTIONS = (("layers", "num_layers"), ("bidirectional", "bidirectional"))
LAYERS: dict[str, LayerKind] = {
    "Linear": LayerKind(("in_features", "out_features", "bias"), "linear", ("in_features", "out_features")),
    "Bilinear": LayerKind(("in1_features", "in2_features", "out_features", "bias"), "bilinear",
                          ("in1_features", "in2_features", "out_features")),
    "Conv1d": LayerKind(_CONV, "conv1d", _CONV_SIZES, _CONV_OPTIONS),
    "Conv2d": LayerKind(_CONV, "conv2d", _CONV_SIZES, _CONV_OPTIONS),
    "MaxPool1d": LayerKind(("kernel_size", "stride", "padding", "dilation", "ceil_mode"), "maxpool1d",
                           ("kernel_size",), _POOL_OPTIONS),
    "MaxPool2d": LayerKind(("kernel_size", "stride", "padding", "dilation", "ceil_mode"), "maxpool2d",
                           ("kernel_size",), _POOL_OPTIONS),
    "AvgPool1d": LayerKind(("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"), "avgpool1d",
                           ("kernel_size",), _POOL_OPTIONS),
    "AvgPool2d": LayerKind(("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad"), "avgpool2d",
                           ("kernel_size",), _POOL_OPTIONS),
    "AdaptiveAvgPool1d": LayerKind(("output_size",), "adaptiveavgpool1d", ("output_size",)),
    "AdaptiveAvgPool2d": LayerKind(("output_size",), "adaptiveavgpool2d", ("output_size",)),
    "Flatten": LayerKind(("start_dim", "end_dim"), "flatten"),
    "Unflatten": LayerKind(("dim", "unflattened_size"), "unflatten"),
    "Dropout": LayerKind(("p",), "dropout"),
    "Dropout1d": LayerKind(("p",), "dropout"),
    "Dropout2d": LayerKind(("p",), "dropout"),
    "BatchNorm1d": LayerKind(("num_features", "eps", "momentum", "affine", "track_running_stats"), "batchnorm",
                             ("num_features",)),
    "BatchNorm2d": LayerKind(("num_features", "eps", "momentum", "affine", "track_running_stats"), "batchnorm",
                             ("num_features",)),
    "LayerNorm": LayerKind(("normalized_shape", "eps", "elementwise_affine"), "layernorm", ("normalized_shape",)),
    "Embedding": LayerKind(("num_embeddings", "embedding_dim", "padding_idx"), "embedding",
                           ("num_embeddings", "embedding_dim")),
    "RNN": LayerKind(("input_size", "hidden_size", "num_layers", "nonlinearity", "bias", "batch_first", "dropout",
                      "bidirectional"), "rnn", ("input_size", "hidden_size"), _RECURRENT_OPTIONS),
    "LSTM": LayerKind(("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional",
                       "proj_size"), "lstm", ("input_size", "hidden_size"), _RECURRENT_OPTIONS),
    "GRU": LayerKind(("input_size", "hidden_size", "num_layers", "bias", "batch_first", "dropout", "bidirectional"),
                     "gru", ("input_size", "hidden_size"), _RECURRENT_OPTIONS),
    "Identity": LayerKind((), "identity"),
    "ReLU": LayerKind((), "relu"),
    "ReLU6": LayerKind((), "relu6"),
    "LeakyReLU": LayerKind(("negative_slope",), "leaky_relu"),
    "ELU": LayerKind(("alpha",), "elu"),
    "GELU": LayerKind(("approximate",), "gelu"),
    "SiLU": LayerKind((), "silu"),
    "Sigmoid": LayerKind((), "sigmoid"),
    "Tanh": LayerKind((), "tanh"),
    "Softplus": LayerKind(("beta", "threshold"), "softplus"),
    "Softmax": LayerKind(("dim",), "softmax"),
    "LogSoftmax": LayerKind(("dim",), "log_softmax"),
    "Hardtanh": LayerKind(("min_val", "max_val"), "hardtanh"),
}


def layer_token(kind: LayerKind, value_of: Callable[[str], Any]) -> str:
    """A layer's name in the structure the checks read: its token with its sizes and options, as
    `value_of(field)` gives them (`conv2d(1,8,k=3,s=1,p=0)`, `linear(4,3)`, `relu`)."""
    parts = [size_text(value_of(name)) for name in kind.sizes]
    parts += [f"{short}={size_text(value_of(name))}" for short, name in kind.options]
    return f"{kind.token}({','.join(parts)})" if parts else kind.token


def size_text(value: Any) -> str:
    """`3` for 3 or (3, 3), `3x5` for (3, 5), `true` for True: one word a pattern can name."""
    if isinstance(value, (tuple, list)):
        items = [size_text(item) for item in value]
        return items[0] if items and len(set(items)) == 1 else "x".join(items)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

# Functions a graph may call, by their qualified names (as `torch.fx.node._get_qualified_name` gives
# them: `F.linear` is `torch._C._nn.linear`, `getattr` the builtin), and the structure
# token of those that are a layer kind of their own (an activation). `linear` and matmul-like calls
# whose weight is a parameter are read as linear layers by the trusted side (it sees the shapes).
FUNCTIONS: dict[str, str | None] = {
    # activations
    "torch.sigmoid": "sigmoid", "torch.nn.functional.sigmoid": "sigmoid", "torch._C._special.special_expit": "sigmoid",
    "torch.relu": "relu", "torch.nn.functional.relu": "relu", "torch.nn.functional.relu6": "relu6",
    "torch.tanh": "tanh", "torch.nn.functional.tanh": "tanh",
    "torch.softmax": "softmax", "torch.nn.functional.softmax": "softmax",
    "torch.log_softmax": "log_softmax", "torch.nn.functional.log_softmax": "log_softmax",
    "torch.nn.functional.leaky_relu": "leaky_relu", "torch.nn.functional.elu": "elu",
    "torch.nn.functional.gelu": "gelu", "torch.nn.functional.silu": "silu", "torch.nn.functional.softplus": "softplus",
    "torch.nn.functional.hardtanh": "hardtanh",
    # layers as functions
    "torch._C._nn.linear": "linear", "torch.nn.functional.dropout": "dropout",
    "torch.nn.functional.max_pool1d": "maxpool1d", "torch.nn.functional.max_pool2d": "maxpool2d",
    "torch.max_pool1d": "maxpool1d", "torch.max_pool2d": "maxpool2d",
    "torch.avg_pool1d": "avgpool1d", "torch._C._nn.avg_pool2d": "avgpool2d",
    "torch.nn.functional.adaptive_avg_pool1d": "adaptiveavgpool1d",
    "torch.nn.functional.adaptive_avg_pool2d": "adaptiveavgpool2d",
    "torch.flatten": "flatten",
    # arithmetic and tensor plumbing: no layer of their own
    "torch.matmul": None, "torch.mm": None, "torch.bmm": None, "torch.addmm": None, "torch.einsum": None,
    "torch.functional.einsum": None, "torch.add": None, "torch.sub": None, "torch.mul": None, "torch.div": None,
    "torch.exp": None, "torch.log": None, "torch.sqrt": None, "torch.abs": None, "torch.pow": None,
    "torch.clamp": None, "torch.clip": None, "torch.sum": None, "torch.mean": None, "torch.max": None,
    "torch.min": None, "torch.cat": None, "torch.stack": None, "torch.reshape": None, "torch.squeeze": None,
    "torch.unsqueeze": None, "torch.transpose": None, "torch.permute": None, "torch.t": None,
    "torch.amax": None, "torch.amin": None, "torch.argmax": None, "torch.argmin": None, "torch.round": None,
    "torch.floor": None, "torch.ceil": None, "torch.sign": None, "torch.square": None, "torch.rsqrt": None,
    "torch.reciprocal": None, "torch.neg": None, "torch.log1p": None, "torch.expm1": None, "torch.sin": None,
    "torch.cos": None, "torch.erf": None, "torch.where": None, "torch.std": None, "torch.var": None,
    "torch.prod": None, "torch.cumsum": None, "torch.split": None, "torch.chunk": None, "torch.clamp_min": None,
    "torch.clamp_max": None, "torch.nn.functional.normalize": None, "torch.nn.functional.pad": None,
    "_operator.add": None, "_operator.sub": None, "_operator.mul": None, "_operator.truediv": None,
    "_operator.matmul": None, "_operator.neg": None, "_operator.pow": None, "_operator.getitem": None,
    "_operator.floordiv": None, "_operator.mod": None, "_operator.gt": None, "_operator.ge": None,
    "_operator.lt": None, "_operator.le": None, "_operator.eq": None, "_operator.ne": None,
    "_operator.and_": None, "_operator.or_": None, "_operator.invert": None,
    "getattr": None,
    # new tensors of a given shape (bounded like any result, before anything runs)
    "torch.zeros": None, "torch.ones": None, "torch.zeros_like": None, "torch.ones_like": None,
    "torch.full": None, "torch.eye": None, "torch.arange": None,
}

# Tensor methods a graph may call (`x.view(...)`), with the token of those that are an activation.
METHODS: dict[str, str | None] = {
    "sigmoid": "sigmoid", "relu": "relu", "tanh": "tanh", "softmax": "softmax", "log_softmax": "log_softmax",
    "view": None, "reshape": None, "flatten": None, "squeeze": None, "unsqueeze": None, "permute": None,
    "transpose": None, "t": None, "contiguous": None, "size": None, "float": None, "matmul": None, "mm": None,
    "add": None, "sub": None, "mul": None, "div": None, "exp": None, "log": None, "clamp": None, "clip": None,
    "sum": None, "mean": None, "max": None, "min": None, "abs": None, "pow": None, "sqrt": None, "neg": None,
    "clone": None, "amax": None, "amin": None, "argmax": None, "argmin": None, "round": None, "floor": None,
    "ceil": None, "sign": None, "square": None, "rsqrt": None, "reciprocal": None, "log1p": None, "expm1": None,
    "double": None, "long": None, "int": None, "bool": None, "type_as": None, "expand": None, "expand_as": None,
    "repeat": None, "view_as": None, "reshape_as": None, "std": None, "var": None, "prod": None, "cumsum": None,
    "split": None, "chunk": None, "narrow": None, "clamp_min": None, "clamp_max": None, "masked_fill": None,
    "norm": None, "dim": None, "numel": None,
    "detach": None,  # cuts the gradient: the trusted side's gradient-flow check sees what it cuts
}

# The attributes `getattr` may read off a tensor in a graph (`x.shape[0]`).
TENSOR_ATTRIBUTES = frozenset({"shape", "T", "mT", "ndim", "dtype"})
DTYPES = frozenset({"float32", "float64", "int64", "bool"})

# Pooling as a function, whose second argument is the kernel's size (`F.max_pool2d(x, 2)`).
POOLING_FUNCTIONS = frozenset({"torch.nn.functional.max_pool1d", "torch.nn.functional.max_pool2d",
                               "torch.max_pool1d", "torch.max_pool2d", "torch.avg_pool1d", "torch._C._nn.avg_pool2d"})

# Functions whose second argument is a weight: with a 2-D parameter there, the call is a linear
# layer (`x @ self.W`, `torch.mm(x, self.W)`), as a student of the lesson may write one by hand.
MATMULS = frozenset({"torch.matmul", "torch.mm", "_operator.matmul"})
