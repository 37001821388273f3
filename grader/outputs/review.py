"""OUT/review.csv: a person's points and comments for the written questions, read back into every output.

    student_id,question,points,max_points,comment,status,covered,not_covered,length,answer_start

`grader grade` writes the file on its first run (points and comment empty), keeps every cell a
person filled on later runs (and every row, even one whose submission is gone), adds rows for new
submissions, refreshes the helper columns after `comment`, and reads points and comments back into
every output: the result JSON and the report (its written section spliced in place, so the plots
stay as first drawn). `student_id` is the submission id (OUT/results/<student_id>.json).
"""

from __future__ import annotations

import csv
import io
import math
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from grader.outputs.csv_safety import guard, unguard
from grader.outputs.report.class_summary import instructor_report_path
from grader.result import WrittenAnswer

if TYPE_CHECKING:
    from grader.result import Result
    from grader.spec import LoadedAssignment

REVIEW_FILE = "review.csv"
REVIEW_COLUMNS = ["student_id", "question", "points", "max_points", "comment",
                  "status", "covered", "not_covered", "length", "answer_start"]
EDITABLE = ("points", "comment")
MAX_COMMENT_CHARS = 2000
MAX_REVIEW_BYTES = 20 * 1024 * 1024
START_MARK, END_MARK = "<!-- written:start -->", "<!-- written:end -->"


@dataclass(frozen=True)
class Review:
    points: float | None
    comment: str


def _read_rows(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    if not path.is_file():
        return [], []
    data = path.read_bytes()[:MAX_REVIEW_BYTES]
    for encoding in ("utf-8-sig", "cp932"):  # Excel in Japan saves cp932
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        return [], [f"{path.name}: not UTF-8 or cp932 text; ignored (save it as UTF-8 CSV)"]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in ("student_id", "question", "points") if c not in (reader.fieldnames or [])]
    if missing:
        return [], [f"{path.name}: the columns {', '.join(missing)} are missing; the file is ignored"]
    return [{k: (v or "") for k, v in row.items() if isinstance(k, str) and isinstance(v, str)} for row in reader], []


def read_review(path: Path, assignment: LoadedAssignment) -> tuple[dict[tuple[str, str], Review], list[str]]:
    """The points and comments a person set, by (student_id, question); and one line per row ignored."""
    rows, problems = _read_rows(path)
    questions = {q.id: q for q in assignment.spec.written}
    reviews: dict[tuple[str, str], Review] = {}
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        student, question, raw = (unguard(row.get("student_id", "").strip()), row.get("question", "").strip(),
                                  row.get("points", "").strip())
        where = f"{path.name} line {number} ({student or '?'}, {question or '?'})"
        if question not in questions:
            if raw:
                problems.append(f"{where}: no written question {question!r} in the spec; row ignored")
            continue
        points: float | None = None
        if raw:
            try:
                points = float(unicodedata.normalize("NFKC", raw).replace(",", "."))
            except ValueError:
                problems.append(f"{where}: points {raw!r} is not a number; row ignored")
                continue
            top = questions[question].points
            if not math.isfinite(points) or not 0 <= points <= top:
                problems.append(f"{where}: points {raw} out of range 0..{top:g}; row ignored")
                continue
        reviews[(student, question)] = Review(points, row.get("comment", "").strip()[:MAX_COMMENT_CHARS])
    return reviews, problems


def apply_review(result: Result, reviews: dict[tuple[str, str], Review]) -> bool:
    """Put a person's points and comments into `result.written`; True when something changed."""
    before = [w.model_dump() for w in result.written]
    for entry in result.written:
        review = reviews.get((result.submission.student_id, entry.id))
        entry.points = review.points if review else None
        entry.comment = review.comment if review else ""
        if entry.points is not None:
            entry.status = "reviewed"
        else:
            entry.status = "pending_review" if entry.found_in else "missing"
    return [w.model_dump() for w in result.written] != before


def _helper_cells(entry: WrittenAnswer) -> dict[str, str]:
    start = " ".join(entry.answer.split())[:80]
    return {"max_points": f"{entry.max_points:g}", "status": entry.status, "covered": " ".join(entry.covered),
            "not_covered": " ".join(entry.missing), "length": str(entry.length),
            # a spreadsheet must not take the student's text for a formula
            "answer_start": guard(start)}


def write_review(path: Path, results: list[Result]) -> int:
    """Create or update OUT/review.csv; return the number of rows added. Cells a person can edit are
    copied as they are (whatever they hold), rows are never dropped."""
    rows, _ = _read_rows(path)
    extra = []
    if path.is_file() and rows:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            extra = [c for c in (csv.DictReader(handle).fieldnames or []) if c not in REVIEW_COLUMNS]
    if path.is_file() and not rows and path.stat().st_size > 0 and _read_rows(path)[1]:
        return 0  # an unreadable file is left alone: the message says why
    index = {(unguard(r.get("student_id", "").strip()), r.get("question", "").strip()): r for r in rows}
    for row in rows:  # ids come from file names: guarded (a file of an earlier version may hold them bare)
        row["student_id"] = guard(unguard(row.get("student_id", "")))
    added = 0
    for result in results:
        for entry in result.written:
            key = (result.submission.student_id, entry.id)
            found = index.get(key)
            if found is None:
                found = {"student_id": guard(key[0]), "question": key[1], "points": "", "comment": ""}
                rows.append(found)
                index[key] = found
                added += 1
            found.update(_helper_cells(entry))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*REVIEW_COLUMNS, *extra], extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8-sig")
    return added


# ---- the report's section ------------------------------------------------------------------------
def splice(page: str, section_html: str) -> str | None:
    """The report with its written section replaced; None when the page has none to replace."""
    start, end = page.find(START_MARK), page.find(END_MARK)
    if start < 0 or end < start:
        return None
    return page[:start] + section_html.strip() + page[end + len(END_MARK):]


def _mark_reviewed(result: Result, page: str | None, assignment: LoadedAssignment) -> str | None:
    """After a review changed `result`: its `reviewed_at` set, and the report `page` with its written
    section rendered again (None where there is no page, or no section in it to replace)."""
    from grader.outputs.report.html import render_written_section

    result.reviewed_at = datetime.now(UTC).isoformat(timespec="seconds")  # the LMS's "last modified"
    return splice(page, render_written_section(result, assignment)) if page is not None else None


def review_one(result: Result, pages: list[str | None], given: dict[str, Review],
               assignment: LoadedAssignment) -> tuple[bool, list[str | None]]:
    """A person's review of one submission (the service's PUT /submissions/{id}/review): `given`, by
    question id, over the points and comments the result already had. Returns whether anything
    changed (`result` is changed in place) and each view of the report (the instructor's, the
    students') with its written section rendered again (None: nothing to rewrite)."""
    student = result.submission.student_id
    reviews = {(student, w.id): Review(w.points, w.comment) for w in result.written if w.status == "reviewed" or w.comment}
    reviews.update({(student, question): review for question, review in given.items()})
    if not apply_review(result, reviews):
        return False, [None for _ in pages]
    return True, [_mark_reviewed(result, page, assignment) for page in pages]


def apply_reviews(out: Path, results: list[Result], assignment: LoadedAssignment) -> list[str]:
    """Read OUT/review.csv into `results` (their JSON rewritten and the written section of their
    report re-rendered where something changed), then update the file. Returns lines to print."""
    if not assignment.spec.written:
        return []
    path = out / REVIEW_FILE
    reviews, notes = read_review(path, assignment)
    patched = 0
    for result in results:
        if not apply_review(result, reviews):
            continue
        student = result.submission.student_id
        report = out / "reports" / f"{student}.html"
        for page_path in (report, instructor_report_path(report)) if result.has_instructor_only else (report,):
            try:
                page = page_path.read_text(encoding="utf-8")
            except OSError:
                page = None
            spliced = _mark_reviewed(result, page, assignment)
            if spliced is None:
                notes.append(f"{page_path}: no written section to update (run with --force to render it again)")
            else:
                page_path.write_text(spliced, encoding="utf-8")
        (out / "results" / f"{student}.json").write_text(result.to_json(), encoding="utf-8")
        patched += 1
    added = write_review(path, results)
    reviewed = sum(w.status == "reviewed" for r in results for w in r.written)
    pending = sum(w.status != "reviewed" for r in results for w in r.written)
    notes.append(f"review: {path} ({reviewed} answer(s) reviewed, {pending} pending, {added} row(s) added, "
                 f"{patched} result(s) updated)")
    return notes
