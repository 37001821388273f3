"""The losses a recipe may train with, by the name its spec gives (`[recipe] loss`).

Each takes the model's output and the split's targets, as the data set makes them: measured values,
or one-hot rows for a class target (which cross-entropy reads as class probabilities, and NLL as
the index of the one). The class losses need a class target: the spec (`CLASS_LOSSES`) refuses
one on values when it loads.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

import torch
import torch.nn.functional as F

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _nll(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.nll_loss(output, target.argmax(dim=1))  # the output is log-probabilities (log_softmax)


LOSSES: MappingProxyType[str, Loss] = MappingProxyType({
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "cross_entropy": F.cross_entropy,  # on logits; a one-hot target is a class's probability 1
    "bce": F.binary_cross_entropy,  # on probabilities in [0, 1]
    "bce_with_logits": F.binary_cross_entropy_with_logits,
    "nll": _nll,
})
