"""What stacked training (grader/train/stacked.py) costs per instance, against training alone.

    .venv/bin/python benchmarks/stacked_training.py [--epochs 500] [--groups 3,30,150,300]

The lesson's MLPC (4 -> 5 -> 3, two sigmoids) under iris_basics's recipe (Adam, lr 0.05, full
batches of 75 rows, 500 epochs): `grader.train.loop.fit` of three seeds (each seed's own
operations, one optimizer step for all) against `fit_stacked` of groups of instances (3: one
model's seeds; 30, 150, 300: the seeds of 10, 50, 100 submissions' models of the same structure,
what issue 15's training across submissions will hand it). One thread, as the trusted evaluation
trains. Prints seconds per group and milliseconds per instance; the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from pathlib import Path

import torch
import torch.fx as fx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.protocol.wire import Recipe  # noqa: E402 - after the path
from grader.train.loop import SeedRun, fit  # noqa: E402
from grader.train.stacked import Instance, fit_stacked  # noqa: E402


class MLPC(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.l1 = torch.nn.Linear(4, 5)
        self.l2 = torch.nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.l2(torch.sigmoid(self.l1(x))))


def built(seed: int) -> fx.GraphModule:
    torch.manual_seed(seed)
    return fx.symbolic_trace(MLPC())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--groups", default="3,30,150,300")
    args = parser.parse_args()
    torch.set_num_threads(1)
    generator = torch.Generator().manual_seed(0)
    x, y = torch.rand(75, 4, generator=generator), torch.rand(75, 3, generator=generator)
    recipe = Recipe(optimizer="adam", lr=0.05, epochs=args.epochs, batch_size=75, seeds=[0, 1, 2],
                    train_seeds_together=True)
    warm = dataclasses.replace(recipe, epochs=5)
    fit([SeedRun.build(lambda: built(0), 0)], warm, x, y, math.inf)  # first calls initialise lazily
    fit_stacked([Instance(built(0), torch.Generator())], warm, x, y, math.inf)

    started = time.perf_counter()
    fit([SeedRun.build(lambda seed=seed: built(seed), seed) for seed in (0, 1, 2)], recipe, x, y, math.inf)
    alone = (time.perf_counter() - started) / 3
    print(f"alone (loop.fit, 3 seeds): {alone * 3:6.2f} s, {alone * 1000:7.1f} ms per instance", flush=True)
    for size in (int(part) for part in args.groups.split(",")):
        instances = [Instance(built(seed), torch.Generator().manual_seed(seed)) for seed in range(size)]
        started = time.perf_counter()
        fit_stacked(instances, recipe, x, y, math.inf)
        seconds = time.perf_counter() - started
        print(f"stacked, {size:4} instances: {seconds:6.2f} s, {seconds / size * 1000:7.1f} ms per instance "
              f"({alone / (seconds / size):5.1f}x)", flush=True)


if __name__ == "__main__":
    main()
