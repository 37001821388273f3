"""How long `grader check` takes on the reference notebook, beside executing it in full.

    .venv/bin/python benchmarks/check_speed.py [--runs 5] [--baseline-python OTHER/.venv/bin/python]

Times, as whole processes and as the median of several runs:
  1. `grader check solution.ipynb` in `definitions` mode (the default), what a student waits for;
  2. executing the same notebook top to bottom with nbclient, what nbgrader and Otter-Grader do
     before their checks even start (and without any of the grader's own training).
Targets (issue 2): under 10 s per submission on a 2-core machine, and at least 5x faster than (2).
With `--baseline-python`, `grader check` of another tree (that interpreter's `python -m grader`,
e.g. a copy of the venv whose editable install points at an older checkout) is timed alternately
with this one's, so that both see the same noise (issue 12: no slower than before).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
BIN = Path(sys.executable).parent

EXECUTE_NOTEBOOK = """
import sys, nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=600, kernel_name="python3", allow_errors=False).execute()
"""


def timed(argv: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--full-runs", type=int, default=3)
    parser.add_argument("--baseline-python", type=Path, help="another tree's interpreter, timed alternately")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        check = [str(BIN / "grader"), "check", str(NOTEBOOK), "--json", f"{scratch}/result.json"]
        baseline = ([str(args.baseline_python), "-m", "grader", *check[1:]] if args.baseline_python else None)
        check_times, baseline_times = [], []
        for _ in range(args.runs):
            check_times.append(timed(check, Path(scratch)))
            if baseline is not None:
                baseline_times.append(timed(baseline, Path(scratch)))
        full = [sys.executable, "-c", EXECUTE_NOTEBOOK, str(NOTEBOOK)]
        full_times = [timed(full, Path(scratch)) for _ in range(args.full_runs)]
    check_median, full_median = statistics.median(check_times), statistics.median(full_times)
    print(f"grader check, definitions mode : median {check_median:6.2f} s  over {args.runs} runs "
          f"(min {min(check_times):.2f}, max {max(check_times):.2f})")
    if baseline_times:
        print(f"the baseline's grader check    : median {statistics.median(baseline_times):6.2f} s  over {args.runs} "
              f"runs (min {min(baseline_times):.2f}, max {max(baseline_times):.2f}), alternated")
    print(f"nbclient, whole notebook       : median {full_median:6.2f} s  over {args.full_runs} runs "
          f"(min {min(full_times):.2f}, max {max(full_times):.2f})")
    print(f"speed-up                       : {full_median / check_median:6.1f}x  (target >= 5x; check target < 10 s)")


if __name__ == "__main__":
    main()
