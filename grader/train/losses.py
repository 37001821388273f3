"""The losses a recipe may train with, by the name its spec gives (`[recipe] loss`).

Each takes the model's output and the split's targets, as the data set makes them: measured values,
or one-hot rows for a class target (which cross-entropy reads as class probabilities, and NLL as
the index of the one). The class losses need a class target: the spec (`CLASS_LOSSES`) refuses
one on values when it loads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import MappingProxyType

import torch
import torch.nn.functional as F

Loss = Callable[..., torch.Tensor]  # (output, target) -> the loss; `weight=` for the class losses


def _nll(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    return F.nll_loss(output, target.argmax(dim=1), weight=weight)  # the output is log-probabilities (log_softmax)


LOSSES: MappingProxyType[str, Loss] = MappingProxyType({
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "cross_entropy": F.cross_entropy,  # on logits; a one-hot target is a class's probability 1
    "bce": F.binary_cross_entropy,  # on probabilities in [0, 1]
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "nll": _nll,
})


def _cross_entropy_on_probabilities(output: torch.Tensor, target: torch.Tensor,
                                    weight: torch.Tensor | None = None) -> torch.Tensor:
    # What F.cross_entropy computes with class-probability targets: the weighted sum over the
    # classes, averaged over the rows.
    weighted = target if weight is None else target * weight
    return -(weighted * torch.log(output.clamp_min(1e-12))).sum(dim=1).mean()


def _nll_on_probabilities(output: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    return F.nll_loss(torch.log(output.clamp_min(1e-12)), target.argmax(dim=1), weight=weight)


# A model whose output is not what its loss takes (a softmax before cross-entropy) trains with the
# loss that takes what it gives and computes the same thing (cross-entropy on logits is the negative
# log of their softmax): its metric then measures the model, and only the structure check loses a
# point for the ending. By (loss, the activation forward ends with).
ADAPTED: MappingProxyType[tuple[str, str], Loss] = MappingProxyType({
    ("cross_entropy", "softmax"): _cross_entropy_on_probabilities,
    ("nll", "softmax"): _nll_on_probabilities,
    ("bce_with_logits", "sigmoid"): F.binary_cross_entropy,
})
ENDINGS = frozenset(ending for _, ending in ADAPTED)


def loss_for(name: str, ending: str | None = None, class_weights: list[float] | None = None) -> Loss:
    """The loss `name`, or the one that computes it on an output that ends with `ending`; with each
    class's weight where the recipe gives them (cross_entropy, nll)."""
    loss = ADAPTED.get((name, ending or ""), LOSSES[name])
    if class_weights is None:
        return loss
    weight = torch.tensor(class_weights, dtype=torch.float32)
    return functools.partial(loss, weight=weight)


def last_layer(layers: list[str]) -> str:
    """The kind of the last layer forward computes with (`sigmoid`, `linear`; dropout, identity and
    flatten compute nothing at prediction): "" for none."""
    return next((kind for kind in (token.split("(")[0] for token in reversed(layers))
                 if kind not in ("dropout", "identity", "flatten")), "")


def ending_of(layers: list[str]) -> str | None:
    """The activation forward ends with (after its last linear layer), where a loss adapts to it."""
    last = last_layer(layers)
    return last if last in ENDINGS else None
