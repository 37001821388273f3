"""How long `grader check` takes on the reference notebook of each of the course's assignments.

    .venv/bin/python benchmarks/course_speed.py [--runs 5] [--assignment digits_cnn ...]

Each run is a whole process, as a student or an LMS upload waits for it: intake, the sandboxed
capture, the trusted side's training of every seed, the checks, the report. Target (issue 13):
under 10 s each, as the median of 5 runs on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_speed import BIN, ROOT, timed  # noqa: E402 - the sibling script's timing

COURSE = ("digits_cnn", "wine_mlp", "sine_lstm")
TARGET_S = 10.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--assignment", action="append", choices=COURSE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for name in args.assignment or COURSE:
            notebook = ROOT / "solutions" / name / "solution.ipynb"
            check = [str(BIN / "grader"), "check", str(notebook), "-a", name, "--json", f"{scratch}/result.json",
                     "--html", f"{scratch}/report.html"]
            times = [timed(check, Path(scratch)) for _ in range(args.runs)]
            median = statistics.median(times)
            print(f"{name:11} grader check solution.ipynb: median {median:5.2f} s over {args.runs} runs "
                  f"(min {min(times):.2f}, max {max(times):.2f}); target under {TARGET_S:g} s: "
                  f"{'met' if median < TARGET_S else 'NOT met'}", flush=True)


if __name__ == "__main__":
    main()
