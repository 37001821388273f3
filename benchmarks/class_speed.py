"""A class of 300: the time per submission at 30, 100 and 300 submissions, against the conventional way.

    .venv/bin/python benchmarks/class_speed.py [--sizes 30,100,300] [-j 2] [--baseline-per-kind 2]

Issue 15's measurement. Each size is a batch as `benchmarks/batch_speed.py` builds it (correct and
faulty modules, lesson notebooks, the template, zips, unreadable files, each made distinct by a
comment), graded with `grader grade -j N --force` as a user runs it, warm. Prints, per size, the
wall time, the seconds per submission (which must not grow with the size), the largest single
process; and, from a sample graded the conventional way (each notebook executed whole with
nbclient, then the checks in its kernel; a module run with python, then the same checks), the
ratios on notebooks and on modules: the batch's wall time shared out by kind in proportion to the
time each submission took in its worker (`duration_s`), against the conventional time per kind.
Targets (issue 15): the 300 in under 90 s, at least 100x on notebooks and 20x on modules, the
largest process under 600 MB, no growth of the time per submission with the size.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_speed import (  # noqa: E402 - the sibling script's batch and its conventional baseline
    CHECKS,
    build_batch,
    conventional_seconds,
    grade_batch_timed,
    write_models_json,
)

TARGET_300_S = 90.0
TARGET_PEAK_MB = 600.0


def shared_by_kind(out: Path, kinds: dict[str, str], wall: float) -> dict[str, float]:
    """Seconds per submission of each kind: `wall` shared out by the time each result took in its worker."""
    took: dict[str, list[float]] = {}
    for path in (out / "results").glob("*.json"):
        result = json.loads(path.read_text(encoding="utf-8"))
        took.setdefault(kinds.get(result["submission"]["file"], "invalid"), []).append(float(result.get("duration_s") or 0.0))
    total = sum(sum(values) for values in took.values()) or 1.0
    return {kind: wall * sum(values) / total / len(values) for kind, values in took.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="30,100,300")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--baseline-per-kind", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        per_submission: dict[int, float] = {}
        per_kind: dict[str, float] = {}  # at the largest size: seconds per submission of each kind
        largest: dict[int, float] = {}
        kinds: dict[str, str] = {}
        folder = Path(scratch)
        for size in sizes:
            batch = folder / f"batch-{size}"
            batch.mkdir()
            kinds = build_batch(batch, size)
            run = grade_batch_timed(batch, folder / f"out-{size}", args.jobs)
            per_submission[size], largest[size] = run.seconds / size, run.peak_process_mb
            per_kind = shared_by_kind(folder / f"out-{size}", kinds, run.seconds)
            print(f"{size:4d} submissions, -j {args.jobs} (warm): {run.seconds:6.1f} s = {run.seconds / size:.2f} s per "
                  f"submission; largest process {run.peak_process_mb:.0f} MB", flush=True)
        biggest = folder / f"batch-{sizes[-1]}"
        checks = CHECKS.format(models=str(write_models_json(folder)))
        sample: dict[str, list[float]] = {}
        for kind in ("notebook", "module"):
            names = [name for name, k in kinds.items() if k == kind][: args.baseline_per_kind]
            sample[kind] = [conventional_seconds(biggest / name, kind, checks) for name in names]
    last = sizes[-1]
    print(f"conventional, per submission: notebooks {statistics.mean(sample['notebook']):.2f} s, modules "
          f"{statistics.mean(sample['module']):.2f} s (sampled {args.baseline_per_kind} of each)")
    here = per_submission[last]
    notebook, module = statistics.mean(sample["notebook"]), statistics.mean(sample["module"])
    print(f"this grader at {last}, per submission: notebooks {per_kind['notebook']:.2f} s, modules "
          f"{per_kind['module']:.2f} s (the wall time shared out by each one's time in its worker)")
    print(f"ratios: notebooks {notebook / per_kind['notebook']:.1f}x (target >= 100x), modules "
          f"{module / per_kind['module']:.1f}x (target >= 20x)")
    growth = per_submission[last] / per_submission[sizes[0]]
    print(f"the {last} in {here * last:.1f} s (target under {TARGET_300_S:.0f} s for 300); time per submission at "
          f"{last} over at {sizes[0]}: {growth:.2f}x (target: no growth); largest process {max(largest.values()):.0f} MB "
          f"(target < {TARGET_PEAK_MB:.0f} MB)")


if __name__ == "__main__":
    main()
