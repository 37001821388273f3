"""Moodle (mod_assign): the grading worksheet and the feedback zip a batch writes for it.

The worksheet names each person `Participant <participant id>`, the id the download's names carry
(`grader.intake.downloads.moodle`), and the feedback zip is matched on it (lms-formats.md §1.2, §1.3).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from grader.outputs.csv_safety import number_cell, safe_writer

# The worksheet's columns (§1.2). Upload matches `Identifier`, `Grade`, `Last modified (grade)` and the
# feedback column by their exact English header; the rest are ignored on upload.
WORKSHEET_HEADER = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"]
# The feedback file each student gets, named as "Upload multiple feedback files in a zip" expects (§1.3).
FEEDBACK_FILE = "autograder-report.html"


def participant_identifier(participant_id: str) -> str:
    return f"Participant {participant_id}"


@dataclass(frozen=True)
class WorksheetRow:
    participant_id: str
    full_name: str
    grade: float | None  # None: leave the cell empty (Moodle then skips the grade)
    max_grade: float
    modified: str        # strtotime-readable time of the grade
    feedback: str


def write_worksheet(path: Path, rows: list[WorksheetRow]) -> None:
    """The CSV that "Upload grading worksheet" imports (UTF-8, comma: the form's defaults)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = safe_writer(handle)  # the full name is the student's own
        writer.writerow(WORKSHEET_HEADER)
        for row in rows:
            writer.writerow([
                participant_identifier(row.participant_id), row.full_name,
                "" if row.grade is None else number_cell(row.grade, ".2f"), number_cell(row.max_grade, ".2f"),
                row.modified, row.feedback,
            ])


def feedback_entry_name(full_name: str, participant_id: str, file_name: str = FEEDBACK_FILE) -> str:
    """`<full name>_<participant id>_assignsubmission_file_<file>`: the layout Moodle's own test of the
    feedback import uses (§1.3). The name part is not read by Moodle; `_` would shift the fields."""
    clean = re.sub(r"[_/\\\x00-\x1f]+", " ", full_name).strip() or "Participant"
    return f"{clean}_{participant_id}_assignsubmission_file_{file_name}"


def write_feedback_zip(path: Path, reports: list[tuple[str, str, Path]]) -> None:
    """(full name, participant id, report file) -> a zip for "Upload multiple feedback files in a zip"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for full_name, participant_id, report in reports:
            archive.write(report, feedback_entry_name(full_name, participant_id))
