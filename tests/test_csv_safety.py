"""No spreadsheet formula from a submission (issue 18, item 7): every CSV the grader writes guards the
cells that begin with `=`, `+`, `-`, `@`, a tab or a carriage return (OWASP's CSV-injection advice),
and leaves the grader's own numbers numbers.

The batches grade empty files (invalid at once, no sandbox): only the names matter here.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest
from fixtures.lms.builders import write_zip

from grader.cli import main
from grader.outputs.csv_safety import Number, guard, number_cell, safe_cell, unguard
from grader.outputs.similarity import (
    Segment,
    SharedBlock,
    SimilarPair,
    write_similarity_csv,
)

SPEC = Path(__file__).resolve().parent / "hostile" / "spec"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
HOSTILE_FILES = ['=HYPERLINK("http:x","y").py', "@SUM(1+1).py", "+1.py", "-2.py", "\t=1+1.py"]
MOODLE_NAME = '=HYPERLINK("http:x","y")'
CANVAS_NAME = "=cmd|' -C calc'!A0"  # a Canvas download is flat: no slash in a name


def read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def assert_no_formula(rows: list[list[str]], numeric: set[str] = frozenset(), header_rows: int = 1) -> None:
    """No cell begins as a formula, except a finite number in a numeric column."""
    header = rows[0]
    for row in rows[header_rows:]:
        for column, cell in zip(header, row):
            if column in numeric and cell:
                assert math.isfinite(float(cell)), (column, cell)
            else:
                assert not cell.startswith(FORMULA_STARTS), (column, cell)


# ---- the one function -------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "guarded"), [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'), ("@SUM(1+1)", "'@SUM(1+1)"), ("+1", "'+1"),
    ("-2", "'-2"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), ("＝1+1", "'＝1+1"), ("﹦1", "'﹦1"),
    ("'=1", "''=1"), ("alice", "alice"), ("", ""), ("'quoted", "'quoted"), ("a=1", "a=1"), (" =1", " =1"),
])
def test_guard_quotes_what_a_spreadsheet_would_compute_and_unguard_undoes_it(text, guarded):
    assert guard(text) == guarded
    assert unguard(guard(text)) == text


def test_the_graders_numbers_stay_numbers_and_other_values_are_text():
    assert safe_cell(number_cell(-0.5)) == "-0.5" and isinstance(number_cell(-0.5), Number)
    assert number_cell(-0.0) == "0" and number_cell(17.5, ".2f") == "17.50"
    assert safe_cell(-3) == -3 and safe_cell(2.5) == 2.5
    assert safe_cell("-0.5") == "'-0.5"  # the same text from a file name is not the grader's number
    assert safe_cell(None) == "" and safe_cell(True) == "True"
    assert not isinstance(number_cell(math.inf), Number)  # not finite: text, guarded like any other
    assert safe_cell(number_cell(-math.inf)) == "'-inf"


def test_similarity_csv_guards_ids_and_keeps_the_score_a_number(tmp_path):
    block = SharedBlock((Segment(1, 2, 5, ()),), (Segment(1, 2, 5, ()),))
    pairs = [SimilarPair("-2", "@SUM(1+1)", 0.875, 12, (block,))]
    write_similarity_csv(tmp_path / "similarity.csv", pairs)
    rows = read_csv(tmp_path / "similarity.csv")
    assert rows == [["student_a", "student_b", "score", "shared_lines"], ["'-2", "'@SUM(1+1)", "0.875", "c1 L2-5 <-> c1 L2-5"]]


# ---- every CSV of a real batch ------------------------------------------------------------------
@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict[str, Path]:
    """grades.csv and Moodle's worksheet from plain files and a Moodle download; Canvas's gradebook
    from a Canvas download (one LMS per run: --lms recognises only its own downloads)."""
    root = tmp_path_factory.mktemp("csv")
    plain = root / "plain"
    plain.mkdir()
    for name in HOSTILE_FILES:
        (plain / name).write_bytes(b"")
    moodle = write_zip(root / "moodle.zip", {f"{MOODLE_NAME}_1234567_assignsubmission_file/=SUM(A1).py": ""})
    canvas = write_zip(root / "canvas.zip", {f"{CANVAS_NAME}_12345_678_@x.py": "", "smithbob_23456_679_-1.py": ""})
    assert main(["grade", str(plain), str(moodle), "-a", str(SPEC), "-o", str(root / "out-moodle"), "--lang", "en",
                 "-j", "1", "--lms", "moodle"]) == 0
    assert main(["grade", str(canvas), "-a", str(SPEC), "-o", str(root / "out-canvas"), "--lang", "en", "-j", "1",
                 "--lms", "canvas", "--lms-assignment-id", "42"]) == 0
    return {"moodle": root / "out-moodle", "canvas": root / "out-canvas"}


def test_grades_csv_guards_file_names_ids_names_and_messages(batches):
    rows = read_csv(batches["moodle"] / "grades.csv")
    header = rows[0]
    numeric = {"submissions", "score", "max_score", *(h for h in header if "." in h)}
    assert_no_formula(rows, numeric)
    by_file = {row[header.index("file")]: dict(zip(header, row)) for row in rows[1:]}
    assert sorted(by_file) == sorted(["'" + name for name in HOSTILE_FILES] + ["'=SUM(A1).py"])
    assert by_file["'-2.py"]["student_id"] == "'-2"  # `-` is kept by the id: guarded as text
    assert by_file["'-2.py"]["message"] == "'-2.py is empty."
    assert by_file["'=SUM(A1).py"]["name"] == "'" + MOODLE_NAME
    assert {row["score"] for row in by_file.values()} == {"0"} and {row["max_score"] for row in by_file.values()} == {"25"}


def test_moodle_worksheet_guards_the_name_and_keeps_grades_numbers(batches):
    rows = read_csv(batches["moodle"] / "moodle" / "grading-worksheet.csv")
    assert_no_formula(rows, {"Grade", "Maximum Grade"})
    [row] = [dict(zip(rows[0], r)) for r in rows[1:]]
    # The file is empty, so `invalid`: an empty grade (never a 0.00 it did not earn), the maximum a number.
    assert (row["Identifier"], row["Full name"], row["Grade"], row["Maximum Grade"]) == (
        "Participant 1234567", "'" + MOODLE_NAME, "", "25.00")


def test_canvas_gradebook_guards_the_name_and_keeps_scores_numbers(batches):
    rows = read_csv(batches["canvas"] / "canvas" / "gradebook.csv")
    column = rows[0][-1]
    assert_no_formula(rows, {column}, header_rows=2)
    assert rows[1] == ["    Points Possible", "", "", "", "", "25.00"]
    assert [r[:2] + r[-1:] for r in rows[2:]] == [["'" + CANVAS_NAME, "12345", ""], ["smithbob", "23456", ""]]  # invalid
    grades = read_csv(batches["canvas"] / "grades.csv")
    assert_no_formula(grades, {"submissions", "score", "max_score", *(h for h in grades[0] if "." in h)})
    assert [(r[0], r[1]) for r in grades[1:]] == [("12345", "'" + CANVAS_NAME), ("23456", "smithbob")]


def test_review_csv_guards_ids_and_reads_its_points_back(tmp_path):
    """review.csv (written questions) uses the same guard, and a person's points still reach the
    student whose id the guard quoted."""
    from grader.outputs.review import read_review, write_review
    from grader.result import Result, SubmissionInfo, WrittenAnswer
    from grader.spec import load_assignment

    assignment = load_assignment("iris_basics")
    question = assignment.spec.written[0]
    result = Result(assignment="iris_basics", grader_version="t", spec_sha256="0" * 64,
                    submission=SubmissionInfo(student_id="-2", file="-2.py"), status="graded", lang="en",
                    mode="definitions", score=0, max_score=25,
                    written=[WrittenAnswer(id=question.id, max_points=question.points, status="pending_review",
                                           answer="=1+1 is my answer", found_in="cell 3")])
    path = tmp_path / "review.csv"
    assert write_review(path, [result]) == 1
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert (rows[0]["student_id"], rows[0]["answer_start"]) == ("'-2", "'=1+1 is my answer")
    path.write_text(path.read_text(encoding="utf-8-sig").replace(f"{question.id},,", f"{question.id},3,"), encoding="utf-8")
    reviews, problems = read_review(path, assignment)
    assert problems == [] and reviews[("-2", question.id)].points == 3
    assert write_review(path, [result]) == 0  # the guarded row is found again, not added twice
    assert [r["student_id"] for r in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))] == ["'-2"]
