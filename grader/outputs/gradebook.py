"""The gradebook every other system can read: OUT/grades.csv, one row per student.

    student_id,name,submission,submissions,file,status,score,max_score,<one column per check>,message

`student_id` is the person (a Moodle participant id, a Canvas user id, or the name of a plain file);
`submission` is the submission whose result the row shows (OUT/results/<submission>.json);
`submissions` counts how many the student handed in. When there are several, `keep` chooses:
`latest` (the last handed in: by the file's time, then the order given) or `best` (the highest score,
the latest of equals). `score` is the total of the check columns. With written questions,
`written.<id>` holds a person's points (OUT/review.csv) and `total` adds them to `score`.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from grader.checks.registry import checks_for
from grader.outputs.csv_safety import number_cell, safe_writer

if TYPE_CHECKING:
    from grader.intake.collect import BatchItem
    from grader.result import Result
    from grader.spec import LoadedAssignment

Keep = Literal["latest", "best"]
KEEP_CHOICES: tuple[Keep, ...] = ("latest", "best")
INFO_COLUMNS = ["student_id", "name", "submission", "submissions", "file", "status", "score", "max_score"]


@dataclass(frozen=True)
class Entry:
    """One graded submission of one student."""

    student: str
    submission_id: str
    result: Result
    submitted_at: datetime | None = None
    order: int = 0   # position among all submissions: the later one wins ties
    name: str = ""


@dataclass(frozen=True)
class Kept:
    entry: Entry
    count: int       # submissions this student handed in


def entries_from_items(items: Iterable[BatchItem], results: Iterable[Result]) -> list[Entry]:
    """Pair a batch's items with their results (by the unique submission id)."""
    by_id = {r.submission.student_id: r for r in results}
    return [Entry(item.student, item.student_id, by_id[item.student_id], item.submitted_at, index, item.name)
            for index, item in enumerate(items) if item.student_id in by_id]


def select(entries: Iterable[Entry], keep: Keep = "latest") -> list[Kept]:
    """One entry per student, in the order the students first appear."""
    if keep not in KEEP_CHOICES:
        raise ValueError(f"keep must be one of {KEEP_CHOICES}, not {keep!r}")
    groups: dict[str, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.student, []).append(entry)

    def lateness(entry: Entry) -> tuple[bool, datetime, int]:
        return (entry.submitted_at is not None, entry.submitted_at or datetime.min, entry.order)

    kept = []
    for group in groups.values():
        if keep == "best":
            chosen = max(group, key=lambda e: (e.result.status == "graded", e.result.score, lateness(e)))
        else:
            chosen = max(group, key=lateness)
        kept.append(Kept(chosen, len(group)))
    return kept


def number(value: float) -> str:
    """`17.5`, `25`, and never `-0`: a cell the CSV writers leave as a number."""
    return number_cell(value, "g")


def check_columns(assignment: LoadedAssignment) -> list[str]:
    """A column per check that has points (`capture`'s verdict is in the report and the class summary)."""
    return [f"{m.id}.{check.id_for(m)}" for m in assignment.spec.models for check in checks_for(assignment.spec, m)
            if check.points_for(m) > 0]


def written_columns(assignment: LoadedAssignment) -> list[str]:
    """`written.<question>` (the points a person set, empty while pending), then `total` and `total_max`
    (score plus the reviewed written points; max_score plus every written question): only for a spec
    with written questions."""
    if not assignment.spec.written:
        return []
    return [*(f"written.{q.id}" for q in assignment.spec.written), "total", "total_max"]


def write_rows(handle: TextIO, kept: list[Kept], assignment: LoadedAssignment) -> None:
    check_ids = check_columns(assignment)
    written_ids = [q.id for q in assignment.spec.written]
    writer = safe_writer(handle)  # names, files, ids and messages come from students
    writer.writerow([*INFO_COLUMNS, *check_ids, *written_columns(assignment), "message"])
    for row in kept:
        result = row.entry.result
        scores = {c.id: c.score for c in result.checks}
        written = {w.id: w.points for w in result.written if w.status == "reviewed" and w.points is not None}
        totals = [number(result.total_score), number(result.max_score + assignment.spec.written_max)] if written_ids else []
        writer.writerow([
            row.entry.student, row.entry.name, row.entry.submission_id, row.count, result.submission.file,
            result.status, number(result.score), number(result.max_score),
            *(number(scores[c]) if c in scores else "" for c in check_ids),
            *(number(written[q]) if q in written else "" for q in written_ids), *totals,
            result.message or "",
        ])


def write_grades_csv(path: Path, results: list[Result], assignment: LoadedAssignment,
                     items: Iterable[BatchItem] | None = None, keep: Keep = "latest") -> list[Kept]:
    """Write OUT/grades.csv. With the batch's `items`, resubmissions are told apart by student; with
    results alone, each result's `student_id` is its student and the later one in the list wins."""
    if items is not None:
        entries = entries_from_items(items, results)
    else:
        entries = [Entry(r.submission.student_id, r.submission.student_id, r, None, i) for i, r in enumerate(results)]
    kept = select(entries, keep)
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        write_rows(handle, kept, assignment)
    return kept


def gradebook_text(entries: Iterable[Entry], assignment: LoadedAssignment, keep: Keep = "latest") -> str:
    buffer = io.StringIO()
    write_rows(buffer, select(entries, keep), assignment)
    return buffer.getvalue()
