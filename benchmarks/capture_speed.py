"""What the model-as-data path costs per model, warm: capture in the harness, the line through the
wire, and on the trusted side the size check on the meta device and the rebuild.

    .venv/bin/python benchmarks/capture_speed.py [--runs 21]

For each reference model of iris_basics (solutions/iris_basics/solution.py), in one process, after
one warm-up of each step (a worker's fork server and evaluation process pay the first calls once):
  capture   `grader.harness.capture.capture_model`: the class built under every recipe seed,
            forward (and `project`) traced with torch.fx, the hidden-size probe, tensors as base64;
  wire      the capture line encoded and decoded strictly (`grader.protocol.wire`);
  validate  `grader.evaluate.graph.check_sizes`: every method run on the meta device;
  rebuild   `grader.evaluate.graph.rebuild` under one seed.
Median milliseconds of each step, and their sum per model. The budget is 50 ms per model; the exit
status is 1 when a model goes over it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 50.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()

    from grader.evaluate.execute import build_job
    from grader.evaluate.graph import check_sizes, rebuild
    from grader.harness.capture import capture_model
    from grader.intake.submission import read_submission
    from grader.protocol import wire
    from grader.spec import load_assignment
    from grader.spec.datasets import splits_for

    torch.set_num_threads(1)
    solution = ROOT / "solutions" / "iris_basics" / "solution.py"
    assignment = load_assignment("iris_basics")
    jobs = build_job(read_submission(solution), assignment, splits_for(assignment.spec), "definitions", "").models
    namespace: dict = {"__name__": "__main__"}
    exec(compile(solution.read_text(encoding="utf-8"), "<cell 1>", "exec"), namespace)  # noqa: S102 - the reference
    classes = {"mlr": "MLR", "lr": "LR", "mlpr": "MLPR", "mlpc": "MLPC", "ae": "AE"}
    over = False
    print(f"{'model':6} {'capture':>8} {'wire':>8} {'validate':>9} {'rebuild':>8} {'total':>8}  (ms, median of {args.runs})")
    for job in jobs:
        cls = namespace[classes[job.id]]
        times: dict[str, list[float]] = {step: [] for step in ("capture", "wire", "validate", "rebuild")}
        for run in range(args.runs + 1):
            started = time.perf_counter()
            fields = capture_model(job, cls)
            captured = time.perf_counter()
            line = wire.decode_line(wire.encode_line(wire.build(wire.Capture, fields)))
            sent = time.perf_counter()
            assert isinstance(line, wire.Capture) and line.graph is not None, fields.get("failure")
            width = job.args[0]  # the inputs' width (a captured model's job carries no rows)
            check_sizes(line.graph, line.graph.seeds[0].tensors, [(75, width), (1, width)])
            validated = time.perf_counter()
            torch.manual_seed(0)
            rebuild(line.graph, line.graph.seeds[0].tensors)
            rebuilt = time.perf_counter()
            if run == 0:
                continue  # the warm-up
            for step, (start, end) in zip(times, [(started, captured), (captured, sent), (sent, validated),
                                                  (validated, rebuilt)]):
                times[step].append((end - start) * 1000)
        medians = {step: statistics.median(values) for step, values in times.items()}
        total = sum(medians.values())
        over = over or total > BUDGET_MS
        print(f"{job.id:6} {medians['capture']:8.1f} {medians['wire']:8.1f} {medians['validate']:9.1f} "
              f"{medians['rebuild']:8.1f} {total:8.1f}")
    print(f"budget: {BUDGET_MS:.0f} ms per model; {'over' if over else 'within'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
