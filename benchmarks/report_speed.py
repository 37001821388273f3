"""How big the HTML report is and how long rendering it takes, beside grading.

    .venv/bin/python benchmarks/report_speed.py [--renders 7] [--submission PATH] [--lang ja|en]

Grades the submission once (the reference notebook by default), then renders its report several
times and prints the size and the median render time. The first render is timed apart: it pays for
loading the templates, once per process (once per batch).
Also renders the class summary for one result. Targets (issues 4 and 15): a typical report under
1 MB, and rendering under 30 ms per report.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.outputs.report.class_summary import render_summary_page  # noqa: E402
from grader.outputs.report.html import render_report  # noqa: E402
from grader.pipeline import grade_file  # noqa: E402
from grader.spec import load_assignment  # noqa: E402

SIZE_LIMIT = 1024 * 1024
TIME_LIMIT = 0.03


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=7)
    parser.add_argument("--submission", type=Path, default=ROOT / "solutions" / "iris_basics" / "solution.ipynb")
    parser.add_argument("--lang", choices=["ja", "en"], default=None)
    args = parser.parse_args()

    assignment = load_assignment("iris_basics")
    started = time.perf_counter()
    graded = grade_file(args.submission, assignment, lang=args.lang)
    grading = time.perf_counter() - started

    started = time.perf_counter()
    page = render_report(graded, assignment)
    first = time.perf_counter() - started
    times = []
    for _ in range(args.renders):
        started = time.perf_counter()
        page = render_report(graded, assignment)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    size = len(page.encode("utf-8"))

    started = time.perf_counter()
    summary = render_summary_page([graded.result], assignment)
    summary_time = time.perf_counter() - started

    print(f"submission:        {args.submission.relative_to(ROOT) if args.submission.is_relative_to(ROOT) else args.submission}"
          f" ({graded.result.lang}, score {graded.result.score:g}/{graded.result.max_score:g})")
    print(f"grading:           {grading:.2f} s")
    print(f"report size:       {size / 1024:.1f} KiB ({size} bytes; limit {SIZE_LIMIT // 1024} KiB)")
    print(f"first render:      {first:.3f} s (includes loading the templates)")
    print(f"render, median:    {median:.3f} s of {args.renders} (min {min(times):.3f}, max {max(times):.3f}; limit {TIME_LIMIT} s)")
    print(f"class summary:     {len(summary.encode('utf-8')) / 1024:.1f} KiB, {summary_time:.3f} s for one result")
    ok = size < SIZE_LIMIT and median < TIME_LIMIT
    print("OK" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
