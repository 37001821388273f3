"""Grade many submissions into an output folder.

    OUT/grades.csv                one row per submission, one column per check
    OUT/results/<student_id>.json the result JSON of each
    OUT/reports/<student_id>.html the report of each

One bad submission never stops the batch: an unreadable file is graded `invalid`, and a grader
fault on one file is recorded as `error` for that file alone.
"""

from __future__ import annotations

import csv
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from grader import __version__
from grader.assignment import LoadedAssignment
from grader.checks import check_names, max_points
from grader.dataset import IrisTable
from grader.grading import Graded, grade_file
from grader.i18n import Lang, Messages
from grader.report.html import write_report
from grader.result import Result, SubmissionInfo
from grader.submission import student_id_for

SUBMISSION_SUFFIXES = {".ipynb", ".py", ".zip"}


@dataclass(frozen=True)
class BatchSummary:
    graded: int
    invalid: int
    errors: int
    mean_score: float
    seconds: float


def collect_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; folders searched recursively for submissions (hidden and checkpoint folders skipped)."""
    found: list[Path] = []
    for item in inputs:
        if item.is_dir():
            for path in sorted(item.rglob("*")):
                relative = path.relative_to(item).parts
                if path.is_file() and path.suffix.lower() in SUBMISSION_SUFFIXES and not any(
                    part.startswith(".") or part in ("__MACOSX", "__pycache__") for part in relative
                ):
                    found.append(path)
        else:
            found.append(item)
    return found


def unique_ids(paths: list[Path]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for path in paths:
        base = student_id_for(path)
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def grade_batch(inputs: list[Path], assignment: LoadedAssignment, out: Path, lang: Lang | None = None,
                mode: str | None = None, console: Console | None = None) -> BatchSummary:
    console = console or Console()
    started = time.perf_counter()
    paths = collect_inputs(inputs)
    (out / "results").mkdir(parents=True, exist_ok=True)
    (out / "reports").mkdir(parents=True, exist_ok=True)
    table = IrisTable.load()
    results: list[Result] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(paths))
        for path, student_id in zip(paths, unique_ids(paths)):
            progress.update(task, description=f"grading {path.name}")
            graded = _grade_one(path, student_id, assignment, lang, mode, table)
            (out / "results" / f"{student_id}.json").write_text(graded.result.to_json(), encoding="utf-8")
            write_report(out / "reports" / f"{student_id}.html", graded, assignment)
            results.append(graded.result)
            progress.advance(task)
    write_grades_csv(out / "grades.csv", results, assignment)
    summary = _summarise(results, time.perf_counter() - started)
    _print_summary(console, results, summary, out, Messages(lang or assignment.spec.lang))
    return summary


def _grade_one(path: Path, student_id: str, assignment: LoadedAssignment, lang: Lang | None, mode: str | None,
               table: IrisTable) -> Graded:
    try:
        return grade_file(path, assignment, lang=lang, mode=mode, student_id=student_id, table=table)
    except Exception as exc:  # a grader fault on one file must not stop the batch
        messages = Messages(lang or assignment.spec.lang)
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return Graded(Result(
            assignment=assignment.spec.id, grader_version=__version__, spec_sha256=assignment.spec_sha256,
            submission=SubmissionInfo(student_id=student_id, file=path.name), status="error", lang=messages.lang,
            mode=mode or assignment.spec.mode, score=0.0,
            max_score=sum(max_points(m) for m in assignment.spec.models),
            message=messages.text("run.grader_fault", error=detail[:500]),
        ))


def write_grades_csv(path: Path, results: list[Result], assignment: LoadedAssignment) -> None:
    check_ids = [f"{m.id}.{name}" for m in assignment.spec.models for name in check_names(m)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "file", "status", "score", "max_score", *check_ids, "message"])
        for result in results:
            scores = {c.id: c.score for c in result.checks}
            writer.writerow([
                result.submission.student_id, result.submission.file, result.status,
                f"{result.score:g}", f"{result.max_score:g}",
                *(f"{scores[c]:g}" if c in scores else "" for c in check_ids),
                result.message or "",
            ])


def _summarise(results: list[Result], seconds: float) -> BatchSummary:
    graded = [r for r in results if r.status == "graded"]
    mean = sum(r.score for r in graded) / len(graded) if graded else 0.0
    return BatchSummary(
        graded=len(graded), invalid=sum(r.status == "invalid" for r in results),
        errors=sum(r.status == "error" for r in results), mean_score=mean, seconds=seconds,
    )


def _print_summary(console: Console, results: list[Result], summary: BatchSummary, out: Path, messages: Messages) -> None:
    table = Table(title=f"{len(results)} submissions")
    for header in ("student", "status", "score", "incidents"):
        table.add_column(header)
    for result in results:
        incidents = ", ".join(i.kind for i in result.incidents if i.kind != "not_isolated")
        table.add_row(result.submission.student_id, messages.text(f"status.{result.status}") if result.status != "error" else "error",
                      f"{result.score:g} / {result.max_score:g}", incidents)
    console.print(table)
    console.print(
        f"graded {summary.graded}, invalid {summary.invalid}, errors {summary.errors}, "
        f"mean score {summary.mean_score:.2f}, {summary.seconds:.1f} s"
    )
    console.print(f"grades: {out / 'grades.csv'}\nresults: {out / 'results'}\nreports: {out / 'reports'}")
