"""One loop that trains every seed's instance of a model under the recipe, step for step as one
seed at a time would: each seed's forward and loss on its own instance, batch (its own shuffling
generator) and state of torch's random generator (swapped in and out around its forward, so that
dropout draws what it draws alone); then one backward pass over every seed's loss and one optimizer
step over every instance's parameters, which do what each seed's own would (autograd gives each loss
the gradient 1; Adam and SGD update each tensor on its own). With one seed it is the plain loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from grader.protocol.wire import Recipe
from grader.train.losses import Loss, loss_for


class OutOfBudget(Exception):
    """The training would end after its deadline."""


@dataclass
class SeedRun:
    """One seed's instance, with torch's generator state right after it was built (where its training
    draws from) and its own shuffling generator."""

    seed: int
    instance: torch.nn.Module
    rng_state: torch.Tensor
    shuffler: torch.Generator

    @classmethod
    def build(cls, construct: Callable[[], torch.nn.Module], seed: int) -> SeedRun:
        torch.manual_seed(seed)  # the same initial parameters wherever the instance is built
        instance = construct()
        return cls(seed, instance, torch.get_rng_state(), torch.Generator().manual_seed(seed))

    def loss(self, loss_function: Loss, x: torch.Tensor, y: torch.Tensor,
             batch: torch.Tensor) -> torch.Tensor:
        torch.set_rng_state(self.rng_state)
        try:
            loss: torch.Tensor = loss_function(self.instance(x[batch]), y[batch])
            return loss
        finally:
            self.rng_state = torch.get_rng_state()


def make_optimizer(recipe: Recipe, parameters: Sequence[torch.Tensor], fused: bool = True) -> torch.optim.Optimizer:
    """The recipe's optimizer; Adam's and AdamW's fused kernel where `fused` and it takes the parameters."""
    if recipe.optimizer == "sgd":
        return torch.optim.SGD(parameters, lr=recipe.lr, momentum=recipe.momentum, nesterov=recipe.nesterov,
                               weight_decay=recipe.weight_decay)
    kind = torch.optim.AdamW if recipe.optimizer == "adamw" else torch.optim.Adam
    if not fused:
        return kind(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay, foreach=True)
    # The fused kernel computes the same update about 25% faster on these tiny models; it refuses
    # some parameter kinds, and then the plain one does the job.
    try:
        return kind(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay, fused=True)
    except (RuntimeError, ValueError, TypeError):
        return kind(parameters, lr=recipe.lr, weight_decay=recipe.weight_decay)


def epoch_batches(n: int, batch_size: int, shuffler: torch.Generator) -> list[torch.Tensor]:
    """One epoch's batches of row indices: in order for a full batch, else shuffled by the seed's own generator."""
    order = torch.arange(n) if batch_size >= n else torch.randperm(n, generator=shuffler)
    return [order[start:start + batch_size] for start in range(0, n, batch_size)]


def fit(seeds: list[SeedRun], recipe: Recipe, x: torch.Tensor, y: torch.Tensor, deadline: float,
        after_epoch: Callable[[], None] = lambda: None, loss_function: Loss | None = None) -> list[list[float]]:
    """Train every seed's instance in one loop; each seed's loss history (mean over the epoch's rows).
    `after_epoch` may raise to stop (the harness watches the training data there); `loss_function`
    in place of the recipe's (`grader.train.losses.loss_for`)."""
    parameters = [p for seed in seeds for p in seed.instance.parameters()]
    optimizer = make_optimizer(recipe, parameters)
    schedule = make_schedule(recipe, optimizer)
    loss_function = loss_function or loss_for(recipe.loss, class_weights=recipe.class_weights)
    n = len(x)
    histories: list[list[float]] = [[] for _ in seeds]
    started = time.monotonic()
    for epoch in range(recipe.epochs):
        per_seed = [epoch_batches(n, recipe.batch_size, seed.shuffler) for seed in seeds]
        totals = [0.0 for _ in seeds]
        for batches in zip(*per_seed):  # every seed has as many batches, of the same sizes
            optimizer.zero_grad()
            losses = [seed.loss(loss_function, x, y, batch) for seed, batch in zip(seeds, batches)]
            torch.autograd.backward(losses)  # each loss gets the gradient 1, as its own backward() gives it
            if recipe.clip_norm is not None:  # each seed's own norm, as its own training would clip it
                for seed in seeds:
                    torch.nn.utils.clip_grad_norm_(list(seed.instance.parameters()), recipe.clip_norm)
            optimizer.step()
            for index, (loss, batch) in enumerate(zip(losses, batches)):
                totals[index] += float(loss.detach()) * len(batch)
        if schedule is not None:
            schedule.step()
        for history, total in zip(histories, totals):
            history.append(total / n)
        after_epoch()
        require_budget(started, epoch + 1, recipe.epochs, deadline)
    return histories


def make_schedule(recipe: Recipe, optimizer: torch.optim.Optimizer) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The recipe's learning rate over the epochs (stepped once per epoch), or None for a constant one."""
    if recipe.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=recipe.step_epochs, gamma=recipe.gamma)
    if recipe.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=recipe.epochs)
    return None


# The share of the budget spent before the end is projected from the pace so far: a projection from
# the first epochs alone would trip on one busy moment of a loaded machine (a tenth of a second
# lost in epoch 1 projects to a minute over 500 epochs), and a score must not depend on that.
PROJECT_AFTER = 0.25


def require_budget(started: float, done: int, epochs: int, deadline: float) -> None:
    """Give up once the deadline has passed, or once a quarter of the budget is spent and the
    training is projected to end after the deadline."""
    now = time.monotonic()
    if now > deadline:
        raise OutOfBudget("passed the training time budget")
    spent = now - started
    if spent >= PROJECT_AFTER * (deadline - started) and now + spent / done * (epochs - done) > deadline:
        raise OutOfBudget("would pass the training time budget")
