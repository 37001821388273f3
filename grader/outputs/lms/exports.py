"""What `grader grade --lms moodle|canvas` writes after a batch, and the import report of every batch.

    OUT/unattributed.txt            files of an LMS download no student could be told from, and files
                                    of a student that were not graded (another of theirs was)
    OUT/moodle/grading-worksheet.csv   for "Upload grading worksheet"
    OUT/moodle/feedback.zip            for "Upload multiple feedback files in a zip" (each report)
    OUT/canvas/gradebook.csv           for Grades > Import

Only submissions that came from that LMS's download can go back to it (the others have no id there);
each writer says what it left out and why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from grader.i18n import Lang, Messages
from grader.outputs.gradebook import Keep, Kept, entries_from_items, select
from grader.outputs.lms import canvas, moodle
from grader.outputs.terminal import safe_line, safe_text

if TYPE_CHECKING:
    from rich.console import Console

    from grader.intake.collect import BatchItem, Unattributed
    from grader.result import Result
    from grader.spec import LoadedAssignment

LMS_CHOICES = ("moodle", "canvas")
UNATTRIBUTED_FILE = "unattributed.txt"
MAX_FAILED_IN_COMMENT = 8


def write_lms_outputs(out: Path, items: list[BatchItem], results: Iterable[Result], assignment: LoadedAssignment,
                      lms: str | None = None, keep: Keep = "latest", lms_assignment_id: str | None = None,
                      lang: Lang | None = None, console: Console | None = None,
                      lms_max_grade: float | None = None) -> list[str]:
    """Write the import report and the `lms` exports; return (and print) one line per thing to know.
    `lms_max_grade`: the LMS assignment's maximum grade, which the totals are scaled to (else the
    assignment's own maximum is exported)."""
    notes: list[str] = list(getattr(items, "notes", []))
    unattributed = list(getattr(items, "unattributed", []))
    not_graded = list(getattr(items, "not_graded", []))
    if getattr(items, "lms", None) or unattributed or not_graded:
        write_unattributed(out / UNATTRIBUTED_FILE, unattributed, not_graded)
        if unattributed:
            notes.append(f"unattributed: {len(unattributed)} file(s) in the LMS downloads belong to no student "
                         f"and were not graded, see {out / UNATTRIBUTED_FILE}")
            notes += [f"  {u.source}: {u.path} ({u.reason})" for u in unattributed[:10]]
            if len(unattributed) > 10:
                notes.append(f"  ... and {len(unattributed) - 10} more")
        if not_graded:
            notes.append(f"not graded: {len(not_graded)} other file(s) of students who also handed in a notebook "
                         f"or module (listed in {out / UNATTRIBUTED_FILE})")
    if lms:
        kept = select(entries_from_items(items, results), keep)
        by_id = {item.student_id: item for item in items}
        messages = Messages(lang or assignment.spec.lang, assignment.messages)
        scale = Scale(_max_score(assignment), lms_max_grade)
        if lms == "moodle":
            notes += write_moodle(out / "moodle", kept, by_id, out / "reports", scale, messages)
        elif lms == "canvas":
            notes += write_canvas(out / "canvas", kept, by_id, assignment, lms_assignment_id, scale, messages)
        else:
            raise ValueError(f"lms must be one of {LMS_CHOICES}, not {lms!r}")
    if console is not None:
        for line in notes:  # entry names, names and ids from the downloads: no control codes, no markup
            console.print(safe_text(line), markup=False, highlight=False, soft_wrap=True)
    return notes


def write_unattributed(path: Path, unattributed: list[Unattributed], not_graded: list[Unattributed]) -> None:
    # One line per entry, tab-separated: a tab, newline or escape sequence in an entry's name would
    # forge lines, or reach the terminal of whoever reads the file with cat.
    lines = ["# Files in the LMS downloads that no student could be told from (not graded):"]
    lines += [_unattributed_line(u) for u in unattributed] or ["(none)"]
    lines += ["", "# Files of a student that were not graded (another file of theirs was):"]
    lines += [_unattributed_line(u) for u in not_graded] or ["(none)"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _unattributed_line(entry: Unattributed) -> str:
    return "\t".join(safe_line(part) for part in (entry.source, entry.path, entry.reason))


def feedback_comment(result: Result, messages: Messages) -> str:
    """The short text for the LMS's feedback field; the report holds the rest."""
    if result.status == "invalid":
        return messages.text("lms.feedback_invalid", message=result.message or "")
    if result.status == "error":
        return messages.text("lms.feedback_error", message=result.message or "")
    passed = sum(c.status == "passed" for c in result.checks)
    text = messages.text("lms.feedback_graded", score=f"{result.score:g}", max=f"{result.max_score:g}",
                         passed=passed, total=len(result.checks))
    failed = [c.id for c in result.checks if c.status != "passed"]
    if failed:
        shown = ", ".join(failed[:MAX_FAILED_IN_COMMENT]) + (" …" if len(failed) > MAX_FAILED_IN_COMMENT else "")
        text += " " + messages.text("lms.feedback_failed", checks=shown)
    if result.written:
        text += " " + messages.text("lms.feedback_written", score=f"{result.written_score:g}",
                                    max=f"{result.written_max:g}", pending=f"{result.pending_points:g}")
    return text


def _grade_time(result: Result) -> str:
    """When the grade last changed: its grading, or a later review of its written answers (Moodle
    skips a row whose "Last modified (grade)" is not newer than its own). ISO 8601 with its offset,
    which PHP's strtotime reads whatever the site's language."""
    return max(result.graded_at, result.reviewed_at) or datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Scale:
    """The assignment's total (automatic and written points) as the LMS's maximum grade counts it."""

    assignment_max: float
    lms_max: float | None = None  # None: the assignment's own

    @property
    def maximum(self) -> float:
        return self.lms_max if self.lms_max is not None else self.assignment_max

    def grade(self, result: Result) -> float | None:
        """The grade to export; None (an empty cell: the LMS keeps what it has) for a submission that
        could not be graded, whose reason the feedback gives: not a 0.00 it never earned."""
        if result.status != "graded":
            return None
        if self.lms_max is None or not self.assignment_max:
            return result.total_score
        return round(result.total_score * self.lms_max / self.assignment_max, 2)


def write_moodle(folder: Path, kept: list[Kept], by_id: dict[str, BatchItem], reports: Path,
                 scale: Scale, messages: Messages) -> list[str]:
    rows, feedback, left_out = [], [], []
    for row in kept:
        item = by_id[row.entry.submission_id]
        result = row.entry.result
        if item.lms != "moodle":
            left_out.append(item.student_id)
            continue
        participant = item.lms_ref["participant_id"]
        name = item.lms_ref.get("name") or item.name
        rows.append(moodle.WorksheetRow(participant, name, scale.grade(result), scale.maximum, _grade_time(result),
                                        feedback_comment(result, messages) + " " + messages.text("lms.feedback_see_file", file=moodle.FEEDBACK_FILE)))
        report = reports / f"{item.student_id}.html"
        if report.is_file():
            feedback.append((name, participant, report))
    moodle.write_worksheet(folder / "grading-worksheet.csv", rows)
    moodle.write_feedback_zip(folder / "feedback.zip", feedback)
    notes = [f"moodle: {folder / 'grading-worksheet.csv'} ({len(rows)} participants) and "
             f"{folder / 'feedback.zip'} ({len(feedback)} reports)"]
    if left_out:
        notes.append(f"moodle: {len(left_out)} submission(s) did not come from a Moodle download and are not in the "
                     f"worksheet: {', '.join(left_out[:10])}")
    return notes


def write_canvas(folder: Path, kept: list[Kept], by_id: dict[str, BatchItem], assignment: LoadedAssignment,
                 canvas_assignment_id: str | None, scale: Scale, messages: Messages) -> list[str]:
    rows, anonymous, faults, invalid, left_out = [], [], [], [], []
    for row in kept:
        item = by_id[row.entry.submission_id]
        result = row.entry.result
        if item.lms != "canvas":
            left_out.append(item.student_id)
        elif not item.lms_ref.get("user_id"):
            anonymous.append(item.student_id)
        elif result.status == "error":
            faults.append(item.student_id)
        else:
            if result.status == "invalid":
                invalid.append(item.student_id)
            rows.append(canvas.GradebookRow(item.lms_ref.get("name") or item.name, item.lms_ref["user_id"],
                                            scale.grade(result)))
    title = assignment.spec.title.get(messages.lang) or assignment.spec.id
    column = canvas.assignment_column(title, canvas_assignment_id)
    canvas.write_gradebook(folder / "gradebook.csv", column, scale.maximum, rows)
    notes = [f"canvas: {folder / 'gradebook.csv'} ({len(rows)} students, column {column!r})"]
    if not canvas_assignment_id:
        notes.append("canvas: no --lms-assignment-id given: Canvas matches the column by its exact title, or creates "
                     "a new assignment; give the id (the number in the assignment's URL) to update an existing one")
    if anonymous:
        notes.append(f"canvas: {len(anonymous)} anonymous submission(s) are not in the gradebook (Canvas imports by "
                     f"user id; enter them in SpeedGrader, scores in grades.csv): {', '.join(anonymous[:10])}")
    if faults:
        notes.append(f"canvas: {len(faults)} submission(s) hit a grader fault and are left out: {', '.join(faults[:10])}")
    if invalid:
        notes.append(f"canvas: {len(invalid)} submission(s) could not be read and have an empty grade (Canvas keeps "
                     f"what it has; the reason is in their reports): {', '.join(invalid[:10])}")
    if left_out:
        notes.append(f"canvas: {len(left_out)} submission(s) did not come from a Canvas download and are not in the "
                     f"gradebook: {', '.join(left_out[:10])}")
    return notes


def _max_score(assignment: LoadedAssignment) -> float:
    from grader.checks.registry import max_points

    return round(sum(max_points(assignment.spec, m) for m in assignment.spec.models) + assignment.spec.written_max, 2)
