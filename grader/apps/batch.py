"""Grade many submissions into an output folder, in parallel, resumably.

    OUT/grades.csv                one row per student (latest or best resubmission), one column per check
    OUT/results/<student_id>.json the result JSON of each
    OUT/reports/<student_id>.html the report of each
    OUT/index.html                the class summary
    OUT/similarity.csv            pairs of submissions whose code is alike (grader/similarity.py)

Submissions are graded by `-j` local workers or on a Dask cluster (`grader.apps.pool`, `grader.apps.dask_pool`). A result whose
submission, assignment spec, grader version, language and mode are unchanged is reused, not graded
again (`--force` re-grades). One bad submission never stops the batch: an unreadable file is graded
`invalid`, and a grader fault on one file is recorded as `error` for that file alone. Ctrl-C (or
SIGTERM), in any phase, stops the running sandboxes, keeps every result already written and writes
the gradebook of what is done (`StopRequest`); a second Ctrl-C stops at once.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from grader.apps.pool import LocalPool, TaskOutput, make_task
from grader.i18n import Lang, Messages
from grader.intake.collect import BatchItem, collect_inputs
from grader.intake.files import file_sha256
from grader.outputs.gradebook import Keep, write_grades_csv
from grader.outputs.lms.exports import write_lms_outputs
from grader.outputs.report.class_summary import instructor_report_path, write_summary_page
from grader.outputs.review import apply_reviews
from grader.outputs.similarity import similar_in_batch
from grader.outputs.terminal import safe_line, safe_text
from grader.result import Result
from grader.spec import LoadedAssignment, Mode
from grader.version import __version__

if TYPE_CHECKING:
    from grader.apps.dask_pool import DaskPool


@dataclass(frozen=True)
class BatchSummary:
    graded: int
    invalid: int
    errors: int
    reused: int
    interrupted: bool
    mean_score: float
    seconds: float
    stop_signal: int | None = None  # what stopped it: SIGINT (Ctrl-C) or SIGTERM


class BatchInterrupted(KeyboardInterrupt):
    """The first stop request, raised into a pool that cannot watch an event (Dask's)."""


class StopRequest:
    """SIGINT and SIGTERM for the length of a batch, as a request to stop, never lost.

    Python's own Ctrl-C is a KeyboardInterrupt raised wherever the main thread happens to be, and
    one raised inside a finalizer (a `__del__`, a weakref callback, what the GC collects) is printed
    as "Exception ignored" and dropped: the batch then graded on to the end. Here the handler only
    sets an event (and the local pool's stop event, which kills the running sandboxes); the batch
    looks at it between phases. A second signal is a plain KeyboardInterrupt again: stop at once.
    Outside the main thread no handler can be installed, and nothing is changed."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal_number: int | None = None
        self._previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}
        self._pool_stop: threading.Event | None = None
        self._raise_in_pool = False

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._first_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, handler in self._previous.items():
            if handler is not None:  # None: a handler not set from Python, which cannot be put back
                signal.signal(number, handler)

    def _first_signal(self, number: int, frame: FrameType | None) -> None:
        self.signal_number = number
        self._event.set()
        if self._pool_stop is not None:
            self._pool_stop.set()
        for other in self._previous:
            signal.signal(other, signal.default_int_handler)
        if self._raise_in_pool:
            raise BatchInterrupted

    @contextmanager
    def watched_by(self, pool: object) -> Iterator[None]:
        """While `pool` runs: hand the request to its `stop` event, or else raise it into the pool."""
        pool_stop = getattr(pool, "stop", None)
        if isinstance(pool_stop, threading.Event):
            self._pool_stop = pool_stop
            if self.requested:
                pool_stop.set()
        else:
            self._raise_in_pool = pool is not None
        try:
            yield
        finally:
            self._pool_stop, self._raise_in_pool = None, False


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def grade_batch(inputs: list[Path], assignment: LoadedAssignment, out: Path, lang: Lang | None = None,
                mode: Mode | None = None, jobs: int | None = None, force: bool = False, scheduler: str | None = None,
                console: Console | None = None, lms: str | None = None, keep: Keep = "latest",
                lms_assignment_id: str | None = None, warm: bool = True,
                lms_max_grade: float | None = None) -> BatchSummary:
    with StopRequest() as stop:
        summary = _grade_batch(stop, inputs, assignment, out, lang=lang, mode=mode, jobs=jobs, force=force,
                               scheduler=scheduler, console=console, lms=lms, keep=keep,
                               lms_assignment_id=lms_assignment_id, warm=warm, lms_max_grade=lms_max_grade)
    # A stop while the last outputs were written still counts: they were finished, the rest was not graded.
    return replace(summary, interrupted=summary.interrupted or stop.requested, stop_signal=stop.signal_number)


def _grade_batch(stop: StopRequest, inputs: list[Path], assignment: LoadedAssignment, out: Path,
                 lang: Lang | None = None, mode: Mode | None = None, jobs: int | None = None, force: bool = False,
                 scheduler: str | None = None, console: Console | None = None, lms: str | None = None,
                 keep: Keep = "latest", lms_assignment_id: str | None = None, warm: bool = True,
                 lms_max_grade: float | None = None) -> BatchSummary:
    console = console or Console()
    started = time.perf_counter()
    items = collect_inputs(inputs, lms=lms)  # --lms: only that LMS's downloads are recognised
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "reports").mkdir(parents=True, exist_ok=True)
    cached = {} if force else reusable_results(items, out, assignment, lang, mode)
    past_due = assignment.spec.past_due(datetime.now(UTC))  # students' reports show what they may see now
    todo = [item for item in items if item.student_id not in cached]
    results: dict[str, Result] = dict(cached)
    # A stop while the inputs were collected: no pool is made, nothing is graded.
    pool = None if stop.requested else (_dask_pool(scheduler) if scheduler else LocalPool(jobs or default_jobs(), warm=warm))
    tasks = [make_task(item.path, item.student_id, assignment, lang, mode, ship_file=scheduler is not None) for item in todo]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task(f"grading ({len(cached)} reused)", total=len(todo))
        try:
            with stop.watched_by(pool):
                for output in pool.run(tasks) if pool is not None else ():
                    results[output.student_id] = _write_output(out, output, past_due)
                    progress.advance(bar)
                    if stop.requested:  # the local pool yields nothing after a stop; another pool may
                        break
        except BatchInterrupted:
            pass
    interrupted = stop.requested
    ordered = [results[item.student_id] for item in items if item.student_id in results]
    # Written answers: a person's points and comments from OUT/review.csv go into every output below
    # (result JSON and report patched in place, no re-grading); the file is created or extended.
    review_notes = apply_reviews(out, ordered, assignment)
    write_grades_csv(out / "grades.csv", ordered, assignment, items=items, keep=keep)
    # Similar submissions (grader/similarity.py): OUT/similarity.csv and a section of the summary.
    similar = similar_in_batch(items, ordered, assignment, out)
    write_summary_page(out / "index.html", ordered, assignment, lang, similar=similar)
    summary = _summarise(ordered, len(cached), interrupted, time.perf_counter() - started)
    _print_summary(console, ordered, summary, out, Messages(lang or assignment.spec.lang, assignment.messages))
    for line in review_notes:  # review.csv's ids and cells may hold anything: plain text, no control codes
        console.print(safe_text(line), markup=False, highlight=False, soft_wrap=True)
    # LMS integration: OUT/unattributed.txt, and the Moodle / Canvas files with --lms (grader/lms/exports.py).
    write_lms_outputs(out, items, ordered, assignment, lms=lms, keep=keep, lms_assignment_id=lms_assignment_id,
                      lang=lang, console=console, lms_max_grade=lms_max_grade)
    return summary


def _dask_pool(scheduler: str) -> DaskPool:
    from grader.apps.dask_pool import (
        DaskPool,  # distributed is imported only when a cluster is used
    )

    return DaskPool(scheduler)


def _write_output(out: Path, output: TaskOutput, past_due: bool) -> Result:
    """The student's report as `reports/<id>.html` (what is handed back), with the instructor's
    beside it where they differ; then the result."""
    # The reports first: a result file without its report is never taken for a finished one.
    report = out / "reports" / f"{output.student_id}.html"
    if output.student_reports is not None:
        instructor_report_path(report).write_text(output.report_html, encoding="utf-8")
        report.write_text(output.student_reports.at(past_due), encoding="utf-8")
    else:
        report.write_text(output.report_html, encoding="utf-8")
    (out / "results" / f"{output.student_id}.json").write_text(output.result_json, encoding="utf-8")
    return Result.model_validate_json(output.result_json)


def reusable_results(items: list[BatchItem], out: Path, assignment: LoadedAssignment, lang: Lang | None,
                     mode: Mode | None) -> dict[str, Result]:
    """Results already in OUT that a new grading would reproduce exactly: same submission bytes,
    same spec, same grader version, same language and mode, and the report is there."""
    reusable: dict[str, Result] = {}
    want_lang, want_mode = lang or assignment.spec.lang, mode or assignment.spec.mode
    for item in items:
        result_path = out / "results" / f"{item.student_id}.json"
        if not result_path.is_file() or not (out / "reports" / f"{item.student_id}.html").is_file():
            continue
        try:
            previous = Result.model_validate(json.loads(result_path.read_text(encoding="utf-8")))
        except (ValueError, ValidationError, OSError):
            continue
        if (previous.status != "error" and previous.submission.sha256 == file_sha256(item.path)
                and previous.spec_sha256 == assignment.spec_sha256 and previous.grader_version == __version__
                and previous.lang == want_lang and previous.mode == want_mode):
            reusable[item.student_id] = previous
    return reusable


def _summarise(results: list[Result], reused: int, interrupted: bool, seconds: float) -> BatchSummary:
    graded = [r for r in results if r.status == "graded"]
    mean = sum(r.score for r in graded) / len(graded) if graded else 0.0
    return BatchSummary(
        graded=len(graded), invalid=sum(r.status == "invalid" for r in results),
        errors=sum(r.status == "error" for r in results), reused=reused, interrupted=interrupted,
        mean_score=mean, seconds=seconds,
    )


def _print_summary(console: Console, results: list[Result], summary: BatchSummary, out: Path, messages: Messages) -> None:
    table = Table(title=f"{len(results)} submissions")
    for header in ("student", "status", "score", "incidents"):
        table.add_column(header)
    for result in results:  # ids come from file and entry names: Text, never markup
        incidents = ", ".join(i.kind for i in result.incidents if i.kind != "not_isolated")
        table.add_row(Text(safe_line(result.submission.student_id)),
                      Text(messages.text(f"status.{result.status}") if result.status != "error" else "error"),
                      Text(f"{result.score:g} / {result.max_score:g}"), Text(safe_line(incidents)))
    console.print(table)
    with_incidents = sum(any(i.kind != "not_isolated" for i in r.incidents) for r in results)
    console.print(
        f"graded {summary.graded}, invalid {summary.invalid}, errors {summary.errors}, with incidents {with_incidents}, "
        f"reused {summary.reused}, mean score {summary.mean_score:.2f}, {summary.seconds:.1f} s"
    )
    if summary.interrupted:
        console.print("[yellow]interrupted: the results above were kept; run the same command again to grade the rest[/yellow]")
    console.print(f"grades: {out / 'grades.csv'}\nresults: {out / 'results'}\nreports: {out / 'reports'}",
                  markup=False, highlight=False)
