"""Training many instances of one graph in one loop: their parameters stacked, every operation
batched over them (`torch.func.vmap` of `functional_call`), one optimizer step for all.

The instances are the seeds of one captured model and, in a batch, the same model of other
submissions whose graphs have the same structure (`structure_key`). Each instance computes what it
would compute in any other group: its result never depends on which instances train beside it, nor
on where it sits among them, so a submission gets the same numbers alone and in a class. That holds
because of three things, each tested (tests/test_stacked_training.py):

- the rows of every batch are gathered per instance (`x[indices]`, shape [instances, rows, ...]),
  even where every instance reads the same rows: a batched matrix product then runs one product per
  instance, where a shared input would become one wide product whose column blocks fall
  differently for each position;
- the optimizers and losses are elementwise or per-instance reductions, which give each instance
  what it gives alone (Adam, AdamW and SGD update each number on its own), but for Adam's fused
  kernel, whose vectorized and scalar code round differently: stacked, Adam runs unfused;
- copies of the last instance close every group (`padding`): a vectorized kernel computes the last
  few numbers of a tensor with its scalar code (`exp` and `sigmoid` round differently there), and
  those numbers then belong to a copy whose result is thrown away.

What it does not give is the bits of `grader.train.loop.fit`, which runs each instance's own
unbatched operations: a batched product sums in another order (about 1e-6 after one step, 1e-3
after 500 epochs on the lesson's models). Scores and verdicts are the same; the test states the
tolerance. A graph with a layer outside `STACKABLE_LAYERS` (dropout draws random numbers, batch norm
updates buffers in place, recurrent and convolution kernels are not known to be position-independent)
is trained by `fit`, as is every model of a recipe that trains its seeds one at a time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import torch
import torch.fx as fx
from torch.func import functional_call, vmap

from grader.protocol.wire import Recipe
from grader.train.loop import epoch_batches, make_optimizer, make_schedule, require_budget
from grader.train.losses import Loss, loss_for

# Layers whose batched form is known to compute per instance what they compute alone (by module type).
STACKABLE_LAYERS = frozenset({
    "Linear", "Flatten", "Unflatten", "Identity", "ReLU", "ReLU6", "LeakyReLU", "ELU", "GELU", "SiLU", "Sigmoid",
    "Tanh", "Softplus", "Softmax", "LogSoftmax", "Hardtanh",
})
# Functions that draw random numbers or are not known to batch per instance.
UNSTACKABLE_FUNCTIONS = frozenset({"torch.nn.functional.dropout"})
# Scalar tails of vectorized kernels are under 64 numbers (two AVX-512 vectors of float32 are 32).
TAIL_NUMBERS = 64
# A batched product of two matrices takes another path than one of three or more: every group has
# at least this many instances, copies included.
MIN_INSTANCES = 4


class NotStackable(Exception):
    """The graph's operations do not batch over instances (an operation without a batching rule)."""


@dataclass
class Instance:
    """One instance to train: its forward (in train mode, holding its initial parameters) and its
    own shuffling generator (`torch.Generator().manual_seed(seed)`, as `fit`'s seeds have)."""

    module: torch.nn.Module
    shuffler: torch.Generator


def stackable(module: fx.GraphModule) -> bool:
    """Whether `module`'s graph trains stacked: only layers of `STACKABLE_LAYERS`, no random function."""
    for node in module.graph.nodes:
        if node.op == "call_module" and type(module.get_submodule(str(node.target))).__name__ not in STACKABLE_LAYERS:
            return False
        if node.op == "call_function" and fx.node._get_qualified_name(node.target) in UNSTACKABLE_FUNCTIONS:
            return False
    return True


def structure_key(module: fx.GraphModule) -> tuple[object, ...]:
    """What instances trained together must share: the graph's code, every layer as it is
    configured, and the name, shape and dtype of every tensor."""
    layers = tuple((name, repr(layer)) for name, layer in module.named_modules() if name)
    tensors = tuple((name, tuple(t.shape), str(t.dtype), t.requires_grad)
                    for name, t in [*module.named_parameters(), *module.named_buffers()])
    return (module.code, layers, tensors)


def padding(instances: int, n: int, batch_size: int) -> int:
    """How many copies close a group of `instances`: enough for the smallest batch's rows to hold
    `TAIL_NUMBERS` numbers (no instance's number is then in a kernel's scalar tail), and enough
    for `MIN_INSTANCES` in all."""
    smallest = min(batch_size, n) if n % batch_size == 0 or batch_size >= n else n % batch_size
    return max(1, math.ceil(TAIL_NUMBERS / max(1, smallest)), MIN_INSTANCES - instances)


def fit_stacked(instances: list[Instance], recipe: Recipe, x: torch.Tensor, y: torch.Tensor, deadline: float,
                loss_function: Loss | None = None) -> list[list[float]]:
    """Train every instance (all of one `structure_key`) as `fit` trains its seeds, with batched
    operations; each instance's loss history (mean over the epoch's rows), and each instance's
    module holding its trained parameters. Raises `NotStackable` when an operation does not batch
    (nothing of the instances has changed then), OutOfBudget past the deadline."""
    template = instances[0].module
    loss_function = loss_function or loss_for(recipe.loss, class_weights=recipe.class_weights)
    copies = padding(len(instances), len(x), recipe.batch_size)
    modules = [instance.module for instance in instances] + [instances[-1].module] * copies
    own = [dict(m.named_parameters()) for m in modules]
    parameters = {name: torch.stack([tensors[name].detach() for tensors in own]).requires_grad_(p.requires_grad)
                  for name, p in template.named_parameters()}
    own_buffers = [dict(m.named_buffers()) for m in modules]
    buffers = {name: torch.stack([tensors[name] for tensors in own_buffers]) for name, _ in template.named_buffers()}

    def one_loss(own_parameters: dict[str, torch.Tensor], own_buffers: dict[str, torch.Tensor],
                 rows: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        output = functional_call(template, (own_parameters, own_buffers), (rows,))
        loss: torch.Tensor = loss_function(output, targets)
        return loss

    losses_of = vmap(one_loss, randomness="error")
    optimizer = make_optimizer(recipe, list(parameters.values()), fused=False)
    schedule = make_schedule(recipe, optimizer)
    n = len(x)
    histories: list[list[float]] = [[] for _ in instances]
    started = time.monotonic()
    for epoch in range(recipe.epochs):
        shufflers = [instance.shuffler for instance in instances]
        per_instance = [epoch_batches(n, recipe.batch_size, shuffler) for shuffler in shufflers]
        per_instance += [per_instance[-1]] * copies
        totals = [0.0 for _ in instances]
        for batches in zip(*per_instance):
            indices = torch.stack(batches)
            optimizer.zero_grad()
            try:
                losses = losses_of(parameters, buffers, x[indices], y[indices])
            except (RuntimeError, NotImplementedError) as exc:
                if epoch == 0:  # nothing trained yet: the caller trains them one at a time instead
                    raise NotStackable(str(exc)) from None
                raise
            losses.sum().backward()  # each instance's loss gets the gradient 1, as its own backward() gives it
            if recipe.clip_norm is not None:
                _clip_each(list(parameters.values()), recipe.clip_norm)
            optimizer.step()
            for index, loss in enumerate(losses.detach()[:len(instances)].tolist()):
                totals[index] += loss * len(batches[0])
        if schedule is not None:
            schedule.step()
        for history, total in zip(histories, totals):
            history.append(total / n)
        require_budget(started, epoch + 1, recipe.epochs, deadline)
    with torch.no_grad():
        for index, instance in enumerate(instances):
            for name, parameter in instance.module.named_parameters():
                parameter.copy_(parameters[name][index])
    return histories


def _clip_each(parameters: list[torch.Tensor], max_norm: float) -> None:
    """`torch.nn.utils.clip_grad_norm_` for each instance on its own: its gradients' total norm."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    norms = torch.stack([torch.linalg.vector_norm(g.reshape(len(g), -1), dim=1) for g in grads])
    total = torch.linalg.vector_norm(norms, dim=0)
    scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for grad in grads:
        grad.mul_(scale.reshape(-1, *([1] * (grad.dim() - 1))))

