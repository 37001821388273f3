"""Canvas: the gradebook CSV that Grades > Import reads (lms-formats.md §2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from grader.outputs.csv_safety import number_cell, safe_writer

# Columns before the assignment's (§2.2): the importer needs `Student`, `ID` and `Section`.
GRADEBOOK_INFO_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
POINTS_POSSIBLE = "    Points Possible"


def assignment_column(title: str, canvas_assignment_id: str | None) -> str:
    """`<title> (<assignment id>)`: the importer reads the id from it. Without an id Canvas matches the
    title exactly, or creates a new assignment of that name."""
    return f"{title} ({canvas_assignment_id})" if canvas_assignment_id else title


@dataclass(frozen=True)
class GradebookRow:
    student: str   # Canvas looks the student up by ID first; the name is a fallback
    user_id: str
    score: float | None


def write_gradebook(path: Path, column: str, points_possible: float, rows: list[GradebookRow]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = safe_writer(handle)  # the student's name is their own
        writer.writerow([*GRADEBOOK_INFO_COLUMNS, column])
        writer.writerow([POINTS_POSSIBLE, "", "", "", "", number_cell(points_possible, ".2f")])
        for row in rows:
            writer.writerow([row.student, row.user_id, "", "", "",
                             "" if row.score is None else number_cell(row.score, ".2f")])
