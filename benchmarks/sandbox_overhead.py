"""What the sandbox costs per submission: whole-process wall time, sandboxed vs a plain subprocess.

    .venv/bin/python benchmarks/sandbox_overhead.py [--runs 9] [--harness-runs 5]

Two workloads, each the median of several runs:
  `python -c pass`   the bare start-up, where the sandbox's share is the largest;
  the harness        `python -I -u -m grader.harness` on a tiny job (one cell, no models): torch's
                     import (about 2 s) dominates, and the difference is the sandbox's cost.
For each: a plain subprocess (no sandbox), the detected tier (launcher, cgroup, rlimits, bwrap,
setpriv, seccomp) and the fallback tier `none`. The budget is 0.2 s per submission; the exit
status is 1 when the detected tier goes over it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grader.protocol import wire
from grader.sandbox import tiers as isolation
from grader.sandbox.process import ProcessLimits, run_process, scrubbed_environment

BUDGET_S = 0.2
LIMITS = ProcessLimits(timeout_s=60, memory_bytes=2048 << 20, processes=128, cpu_s=600,
                       file_size_bytes=100 << 20, open_files=512, tmp_bytes=256 << 20)
# Built through the wire schema, so that the job stays one the harness reads.
TINY_JOB = wire.encode(wire.Job(version=wire.VERSION, mode="definitions", kind="module", files_dir="", models=[],
                                observe=[], cells=[wire.CodeCell(1, "import torch\n\nclass M(torch.nn.Module):\n    pass\n")]))


def once(argv: list[str], tier: isolation.Isolation | None, job: bool) -> float:
    work = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    try:
        if job:
            (work / "job.json").write_text(json.dumps(TINY_JOB))
        started = time.perf_counter()
        if tier is None:
            subprocess.run(argv, cwd=work, env=scrubbed_environment(work), stdin=subprocess.DEVNULL,
                           capture_output=True, check=True)
        else:
            outcome = run_process(argv, work, LIMITS, scrubbed_environment(work), outputs=["observations.jsonl"],
                                  isolation=tier)
            if outcome.returncode != 0:
                raise RuntimeError(f"sandboxed run failed ({outcome.returncode}): {outcome.stderr[-500:]}")
        return time.perf_counter() - started
    finally:
        shutil.rmtree(work, ignore_errors=True)


def medians(argv: list[str], tiers: list[isolation.Isolation | None], runs: int, job: bool = False) -> list[float]:
    """Median seconds per setting. The settings take turns run by run, so that a burst of load on
    the machine hits them all alike."""
    for tier in tiers:
        once(argv, tier, job)  # warm the page cache (and the filter's one-time build)
    times: list[list[float]] = [[] for _ in tiers]
    for _ in range(runs):
        for index, tier in enumerate(tiers):
            times[index].append(once(argv, tier, job))
    return [statistics.median(t) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of `python -c pass` per setting (default 9)")
    parser.add_argument("--harness-runs", type=int, default=5, help="runs of the harness per setting (default 5; 0 skips)")
    args = parser.parse_args()

    started = time.perf_counter()
    detected = isolation.detect()
    detect_s = time.perf_counter() - started
    fallback = isolation.detect("none")
    tiers: list[tuple[str, isolation.Isolation | None]] = [("plain subprocess", None), (detected.tier, detected)]
    if detected.isolated:
        tiers.append(("none (fallback)", fallback))
    print(f"isolation on this machine: {detected.summary()}  (detected once per grader process in {detect_s * 1000:.0f} ms)")

    workloads = [("python -c pass", [sys.executable, "-I", "-c", "pass"], args.runs, False)]
    if args.harness_runs:
        workloads.append(("harness, tiny job", [sys.executable, "-I", "-u", "-m", "grader.harness", "job.json",
                                                "observations.jsonl"], args.harness_runs, True))
    over = False
    for name, argv, runs, job in workloads:
        print(f"\n{name} (median of {runs}):")
        base = None
        for (label, tier), seconds in zip(tiers, medians(argv, [tier for _, tier in tiers], runs, job)):
            if base is None:
                base = seconds
                print(f"  {label:<18} {seconds * 1000:7.0f} ms")
            else:
                extra = seconds - base
                print(f"  {label:<18} {seconds * 1000:7.0f} ms   overhead {extra * 1000:+5.0f} ms")
                if tier is detected and extra > BUDGET_S:
                    over = True
    print(f"\nbudget: {BUDGET_S * 1000:.0f} ms per submission -> {'OVER' if over else 'within'}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
