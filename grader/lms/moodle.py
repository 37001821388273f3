"""Moodle (mod_assign): names in "Download all submissions", the grading worksheet, the feedback zip.

Every submission file in Moodle's download sits under a prefix `<full name>_<participant id>_
assignsubmission_<plugin>`, in one of three layouts (lms-formats.md §1.1, §1.4):

    Jane Doe_1234567_assignsubmission_file/notebook.ipynb    folders (Moodle >= 4.1, the default)
    Jane Doe_1234567_assignsubmission_file_/notebook.ipynb   folders (Moodle <= 4.0)
    Jane Doe_1234567_assignsubmission_file_notebook.ipynb    "download submissions in folders" off

The number is the per-assignment participant id (not the user id): the grading worksheet names the
same person `Participant 1234567`, and the feedback zip is matched on it.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from grader.csv_safety import number_cell, safe_writer

# lms-formats.md §1.4, applied to the path inside the download (or below any folder around it).
MOODLE_PATH = re.compile(
    r"^(?P<name>[^/]*?)_(?P<participant_id>\d+)_(?P<subtype>assignsubmission)_(?P<type>[a-z0-9]+)"
    r"(?:_?/(?P<inner_path>.+)|_(?P<flat_name>[^/]+))$"
)
# The worksheet's columns (§1.2). Upload matches `Identifier`, `Grade`, `Last modified (grade)` and the
# feedback column by their exact English header; the rest are ignored on upload.
WORKSHEET_HEADER = ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"]
# The feedback file each student gets, named as "Upload multiple feedback files in a zip" expects (§1.3).
FEEDBACK_FILE = "autograder-report.html"


@dataclass(frozen=True)
class MoodleFile:
    """One file of a Moodle download, attributed to a participant."""

    participant_id: str
    name: str        # the full name as the download spells it ("Participant" under blind marking)
    plugin: str      # "file", "onlinetext", ...
    inner_path: str  # the file's name (and folders) as the student uploaded it


def parse_path(relative: str, wrapped: bool = True) -> MoodleFile | None:
    """Attribute a path inside a Moodle download, or None when it is not in Moodle's naming.

    The pattern is tried on the whole path and, when `wrapped`, below its first folder: a download
    that was unpacked into a folder and zipped again is still read. Never deeper: a folder in Moodle's
    naming inside someone's files (a student's own) attributes nothing.
    """
    parts = PurePosixPath(relative).parts
    for start in range(min(len(parts), 2 if wrapped else 1)):
        match = MOODLE_PATH.match("/".join(parts[start:]))
        if match:
            inner = match["inner_path"] or match["flat_name"]
            return MoodleFile(match["participant_id"], match["name"].strip(), match["type"], inner)
    return None


def looks_like(relatives: Iterable[str], wrapped: bool = True) -> bool:
    """A tree is a Moodle download when at least half of its files are in Moodle's naming at its top
    (`wrapped`: or below one folder). The naming is easy to copy, so one student's file or folder
    named like Moodle's cannot turn a folder of other submissions into a download."""
    relatives = list(relatives)
    matched = sum(parse_path(r, wrapped) is not None for r in relatives)
    return matched >= 1 and matched * 2 >= len(relatives)


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
