"""What goes back to the LMS: grades.csv (latest / best), Moodle's worksheet and feedback zip, Canvas's
gradebook, each checked against the import rules lms-formats.md quotes from Moodle's and Canvas's code.

The first tests build results by hand (no grading); the last two take real downloads end to end
through `grader grade ... --lms`, with the sandbox replaced by the recorded runs of the files in them
(tests/conftest.py, `recorded_sandbox`): what is graded here is the intake of the download and what
goes back to the LMS, not the sandbox.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from fixtures.lms.builders import (
    JIRO_PY,
    canvas_entries,
    moodle_entries,
    write_zip,
)

from grader.cli import main
from grader.i18n import Messages
from grader.intake.collect import BatchItem
from grader.outputs.gradebook import (
    Entry,
    check_columns,
    gradebook_text,
    select,
    write_grades_csv,
)
from grader.outputs.lms import canvas
from grader.outputs.lms.exports import feedback_comment, write_lms_outputs
from grader.result import CheckResult, Result, SubmissionInfo
from grader.spec import load_assignment

CHECK_IDS_HEAD = ["mlr.defined", "mlr.structure", "mlr.forward_shape", "mlr.grad_flow", "mlr.test_mse"]


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("iris_basics")


def make_result(student_id: str, score: float, status: str = "graded", failed: tuple[str, ...] = (),
                assignment_id: str = "iris_basics") -> Result:
    checks = [CheckResult(id="mlr.defined", model="mlr", status="passed", score=0.5, max_score=0.5, message="ok"),
              CheckResult(id="mlr.structure", model="mlr", status="failed" if "mlr.structure" in failed else "passed",
                          score=0.0 if "mlr.structure" in failed else 1.0, max_score=1.0, message="layers"),
              CheckResult(id="mlr.test_mse", model="mlr", status="passed", score=-0.0, max_score=2.0, message="mse")]
    return Result(assignment=assignment_id, grader_version="t", spec_sha256="0" * 64,
                  submission=SubmissionInfo(student_id=student_id, file=f"{student_id}.ipynb"), status=status,
                  lang="en", mode="definitions", score=score, max_score=25.0,
                  checks=checks if status == "graded" else [], message=None if status == "graded" else "broken file",
                  graded_at="2024-03-05T09:00:00+00:00")


# ---- grades.csv --------------------------------------------------------------------------------
def test_grades_csv_has_one_row_per_student_and_one_column_per_check(tmp_path, assignment):
    results = [make_result("alice", 20), make_result("bob", 10), make_result("alice-2", 12)]
    items = [BatchItem(Path("a/alice.py"), "alice", submitted_at=datetime(2024, 3, 1)),
             BatchItem(Path("b/bob.py"), "bob"),
             BatchItem(Path("b/alice.py"), "alice-2", student="alice", submitted_at=datetime(2024, 3, 2))]
    write_grades_csv(tmp_path / "grades.csv", results, assignment, items=items)
    rows = list(csv.reader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert rows[0][:8] == ["student_id", "name", "submission", "submissions", "file", "status", "score", "max_score"]
    assert rows[0][8:13] == CHECK_IDS_HEAD and rows[0][-1] == "message"
    # 28 checks, then exercise 2's written points, `total` and `total_max` (grader/written.py)
    assert rows[0][-4:-1] == ["written.compare_models", "total", "total_max"]
    assert len(rows[0]) == 8 + 28 + 3 + 1 == 8 + len(check_columns(assignment)) + 3 + 1
    assert [(r[0], r[2], r[3], r[6]) for r in rows[1:]] == [("alice", "alice-2", "2", "12"), ("bob", "bob", "1", "10")]
    header = rows[0]
    assert rows[1][header.index("mlr.test_mse")] == "0"  # never "-0"
    assert rows[1][header.index("lr.defined")] == ""     # a check the result does not have


@pytest.mark.parametrize(("keep", "expected"), [("latest", "s2"), ("best", "s1")])
def test_keep_latest_or_best(keep, expected):
    entries = [Entry("alice", "s1", make_result("s1", 20), datetime(2024, 3, 1), order=0),
               Entry("alice", "s2", make_result("s2", 12), datetime(2024, 3, 2), order=1),
               Entry("alice", "s3", make_result("s3", 25, status="invalid"), datetime(2024, 2, 1), order=2)]
    [kept] = select(entries, keep)
    assert (kept.entry.submission_id, kept.count) == (expected, 3)


def test_latest_without_times_is_the_later_one_given():
    entries = [Entry("bob", "b1", make_result("b1", 3), None, 0), Entry("bob", "b2", make_result("b2", 1), None, 1)]
    assert select(entries, "latest")[0].entry.submission_id == "b2"
    with pytest.raises(ValueError, match="keep must be one of"):
        select(entries, "first")


# ---- Moodle ---------------------------------------------------------------------------------------
def moodle_feedback_target(path: str) -> tuple[str, str] | None:
    """Moodle's importziplib.php is_valid_filename_for_import (lms-formats.md §1.3): the participant id
    and the feedback file name, or None when Moodle would ignore the file."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        info = part.split("_", 4)  # PHP explode('_', $part, 5)
        if len(info) >= 4 and info[1].isdigit() and f"{info[2]}_{info[3]}" == "assignsubmission_file":
            rest = "/".join(([info[4]] if len(info) > 4 else []) + parts[index + 1:])
            if rest and not rest.startswith((".", "~")):
                return info[1], rest
    return None


def read_worksheet(text: str) -> list[dict[str, str]]:
    """Moodle's importgradeslib.php rules (§1.2): these headers by exact string, id after 'Participant '."""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {"Identifier", "Grade", "Last modified (grade)", "Feedback comments"} <= set(rows[0])
    return rows


def test_moodle_worksheet_and_feedback_names_pass_moodles_import_rules(tmp_path, assignment):
    reports = tmp_path / "reports"
    reports.mkdir()
    items, results = [], []
    for sid, name, score, status in [("1234567", "Jane Doe", 17.5, "graded"), ("2345678", "山田 太郎", 0, "invalid"),
                                     ("3456789", "Ann_Lee", 0, "error")]:
        items.append(BatchItem(Path(f"{sid}.ipynb"), sid, name=name, lms="moodle",
                               lms_ref={"participant_id": sid, "name": name}))
        results.append(make_result(sid, score, status=status, failed=("mlr.structure",)))
        (reports / f"{sid}.html").write_text(f"<p>report of {sid}</p>", encoding="utf-8")
    items.append(BatchItem(Path("plain.py"), "plain"))
    results.append(make_result("plain", 5))
    notes = write_lms_outputs(tmp_path, items, results, assignment, lms="moodle", lang="en")

    text = (tmp_path / "moodle" / "grading-worksheet.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "Identifier,Full name,Grade,Maximum Grade,Last modified (grade),Feedback comments"
    rows = read_worksheet(text)
    # The assignment's maximum: 25 for the code, 5 for the written answer. Not graded (an invalid file, a
    # grader fault): no grade, which Moodle skips, rather than a 0.00 never earned.
    assert [(r["Identifier"], r["Grade"], r["Maximum Grade"]) for r in rows] == [
        ("Participant 1234567", "17.50", "30.00"), ("Participant 2345678", "", "30.00"),
        ("Participant 3456789", "", "30.00")]
    assert [r["Identifier"][len("Participant "):] for r in rows] == ["1234567", "2345678", "3456789"]
    assert rows[0]["Last modified (grade)"] == "2024-03-05T09:00:00+00:00"
    assert rows[0]["Feedback comments"].startswith("Autograded: 17.5 of 25 points (2 of 3 checks passed). "
                                                   "Not passed yet: mlr.structure.")
    assert rows[1]["Feedback comments"].startswith("The file handed in could not be graded: broken file")

    with zipfile.ZipFile(tmp_path / "moodle" / "feedback.zip") as archive:
        names = archive.namelist()
        assert names == ["Jane Doe_1234567_assignsubmission_file_autograder-report.html",
                         "山田 太郎_2345678_assignsubmission_file_autograder-report.html",
                         "Ann Lee_3456789_assignsubmission_file_autograder-report.html"]  # `_` in a name would shift ids
        assert [moodle_feedback_target(n) for n in names] == [
            ("1234567", "autograder-report.html"), ("2345678", "autograder-report.html"),
            ("3456789", "autograder-report.html")]
        assert archive.read(names[1]).decode() == "<p>report of 2345678</p>"
    assert any("1 submission(s) did not come from a Moodle download" in n and "plain" in n for n in notes)


def test_feedback_comment_in_japanese():
    text = feedback_comment(make_result("x", 17.5, failed=("mlr.structure",)), Messages("ja"))
    assert text == "自動採点: 25 点中 17.5 点 (3 項目中 2 項目に合格)。 まだ合格していない項目: mlr.structure。"


# ---- Canvas ---------------------------------------------------------------------------------------
def canvas_import(text: str) -> tuple[str | None, dict[str, str]]:
    """Canvas's GradebookImporter rules (§2.2): the header check, the assignment id from `Title (id)`,
    students by ID; returns (assignment id, {user id: score})."""
    rows = list(csv.reader(io.StringIO(text)))
    header = rows[0]
    assert "Student" in header[0] and "ID" in header[1]
    info = ["Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID", "Root Account", "Section"]
    last_info = max(i for i, h in enumerate(header) if h in info)
    assert header[last_info] == "Section"
    match = re.fullmatch(r"(.*)\s\((\d+)\)", header[last_info + 1])
    scores = {r[1]: r[last_info + 1] for r in rows[1:] if "Points Possible" not in r[0]}
    return (match.group(2) if match else None), scores


def test_canvas_gradebook_passes_canvas_import_rules(tmp_path, assignment):
    items = [BatchItem(Path("a"), "12345", name="doejane", lms="canvas", lms_ref={"user_id": "12345", "name": "doejane"}),
             BatchItem(Path("b"), "anon_AbCdE", lms="canvas", lms_ref={"user_id": None, "anonymous_id": "AbCdE"}),
             BatchItem(Path("c"), "23456", name="smithbob", lms="canvas", lms_ref={"user_id": "23456", "name": "smithbob"})]
    results = [make_result("12345", 17.5), make_result("anon_AbCdE", 20), make_result("23456", 0, status="error")]
    notes = write_lms_outputs(tmp_path, items, results, assignment, lms="canvas", lms_assignment_id="4242", lang="en")
    text = (tmp_path / "canvas" / "gradebook.csv").read_text(encoding="utf-8")
    assert text.splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,PyTorch basics: five models on the Iris data (4242)",
        "    Points Possible,,,,,30.00",  # 25 for the code + 5 for the written exercise 2
        "doejane,12345,,,,17.50",
    ]
    assert canvas_import(text) == ("4242", {"12345": "17.50"})
    assert any("1 anonymous submission(s) are not in the gradebook" in n and "anon_AbCdE" in n for n in notes)
    assert any("1 submission(s) hit a grader fault" in n and "23456" in n for n in notes)


def test_canvas_column_without_an_id_is_the_title_alone():
    assert canvas.assignment_column("Homework 1", None) == "Homework 1"
    assert canvas.assignment_column("Homework 1", "12345") == "Homework 1 (12345)"


# ---- end to end: `grader grade <download> --lms ...` ---------------------------------------------
def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_moodle_downloads_graded_with_worksheet_feedback_and_resubmission(tmp_path, recorded_sandbox, capsys):
    """Two downloads: the first with every layout quirk, the second (a day later) with Jane's weaker
    resubmission. --keep latest takes the resubmission, --keep best (a rerun: nothing graded again)
    her first file."""
    first = write_zip(tmp_path / "in" / "CS101-Homework 1-4711.zip", moodle_entries("folders_old"),
                      date_time=(2024, 3, 1, 10, 0, 0))
    second = write_zip(tmp_path / "in2" / "CS101-Homework 1-4711.zip",
                       {"Jane Doe_1234567_assignsubmission_file/solution.py": JIRO_PY}, date_time=(2024, 3, 2, 10, 0, 0))
    out = tmp_path / "out"
    sandbox = recorded_sandbox()
    argv = ["grade", str(first), str(second), "-a", "iris_basics", "-o", str(out), "--lang", "en", "-j", "2",
            "--lms", "moodle"]
    assert main(argv) == 0
    assert sorted(sandbox.replayed) == ["jiro_mistakes", "jiro_mistakes", "solution_ipynb"]  # the PDF is refused
    printed = capsys.readouterr().out
    assert "unattributed: 1 file(s)" in printed and "README.txt" in printed

    results = {p.stem: Result.model_validate_json(p.read_text(encoding="utf-8")) for p in (out / "results").glob("*.json")}
    assert sorted(results) == ["1234567", "1234567-2", "2345678", "3456789"]
    assert results["1234567"].status == "graded" and results["1234567"].submission.file == "solution.ipynb"
    assert results["1234567-2"].score == results["2345678"].score < results["1234567"].score
    assert results["3456789"].status == "invalid" and "notes.pdf" in results["3456789"].message

    grades = _csv(out / "grades.csv")
    assert [(g["student_id"], g["name"], g["submission"], g["submissions"]) for g in grades] == [
        ("1234567", "Jane Doe", "1234567-2", "2"), ("2345678", "山田 太郎", "2345678", "1"),
        ("3456789", "Ann Lee", "3456789", "1")]
    worksheet = _csv(out / "moodle" / "grading-worksheet.csv")
    assert [(w["Identifier"], w["Full name"], w["Grade"]) for w in worksheet] == [
        ("Participant 1234567", "Jane Doe", f"{results['1234567-2'].score:.2f}"),
        ("Participant 2345678", "山田 太郎", f"{results['2345678'].score:.2f}"),
        ("Participant 3456789", "Ann Lee", "")]  # not read: no grade, the reason in the feedback
    assert "notes.pdf" in worksheet[2]["Feedback comments"]
    with zipfile.ZipFile(out / "moodle" / "feedback.zip") as archive:
        jane = "Jane Doe_1234567_assignsubmission_file_autograder-report.html"
        assert moodle_feedback_target(jane) == ("1234567", "autograder-report.html")
        assert archive.read(jane) == (out / "reports" / "1234567-2.html").read_bytes()
    unattributed = (out / "unattributed.txt").read_text(encoding="utf-8")
    assert "CS101-Homework 1-4711.zip\tREADME.txt\tnot in Moodle's naming" in unattributed
    assert "Jane Doe_1234567_assignsubmission_onlinetext_/onlinetext.html" in unattributed

    assert main([*argv, "--keep", "best"]) == 0
    assert "reused 4" in capsys.readouterr().out
    assert len(sandbox.replayed) == 3  # nothing graded again
    best = {w["Identifier"]: w["Grade"] for w in _csv(out / "moodle" / "grading-worksheet.csv")}
    assert best["Participant 1234567"] == f"{results['1234567'].score:.2f}"
    assert _csv(out / "grades.csv")[0]["submission"] == "1234567"

    # Moodle's default maximum grade is 100: the totals scaled to it.
    assert main([*argv, "--keep", "best", "--lms-max-grade", "100"]) == 0
    scaled = {w["Identifier"]: (w["Grade"], w["Maximum Grade"]) for w in _csv(out / "moodle" / "grading-worksheet.csv")}
    assert scaled["Participant 1234567"] == (f"{round(results['1234567'].total_score * 100 / 30, 2):.2f}", "100.00")
    assert scaled["Participant 3456789"] == ("", "100.00")


def test_canvas_download_graded_with_gradebook(tmp_path, recorded_sandbox, capsys):
    download = write_zip(tmp_path / "cs101-homework_1 submissions.zip", canvas_entries())
    out = tmp_path / "out"
    sandbox = recorded_sandbox()
    assert main(["grade", str(download), "-a", "iris_basics", "-o", str(out), "--lang", "en", "-j", "2",
                 "--lms", "canvas", "--lms-assignment-id", "4242"]) == 0
    assert sorted(sandbox.replayed) == ["jiro_mistakes", "solution_ipynb"]
    printed = capsys.readouterr().out
    assert "notes from the TA.txt" in printed and "1 anonymous submission(s)" in printed
    results = {p.stem: Result.model_validate_json(p.read_text(encoding="utf-8")) for p in (out / "results").glob("*.json")}
    assert sorted(results) == ["12345", "23456", "anon_AbCdE"]
    assert results["12345"].status == results["23456"].status == "graded"
    assert results["anon_AbCdE"].status == "invalid"
    text = (out / "canvas" / "gradebook.csv").read_text(encoding="utf-8")
    assert text.splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,PyTorch basics: five models on the Iris data (4242)",
        "    Points Possible,,,,,30.00",  # 25 for the code + 5 for the written exercise 2
        f"doejane,12345,,,,{results['12345'].score:.2f}",
        f"山田太郎,23456,,,,{results['23456'].score:.2f}",
    ]
    assert canvas_import(text)[0] == "4242"
    assert [g["student_id"] for g in _csv(out / "grades.csv")] == ["12345", "23456", "anon_AbCdE"]
    assert "notes from the TA.txt" in (out / "unattributed.txt").read_text(encoding="utf-8")


def test_gradebook_text_matches_the_file_writer(tmp_path, assignment):
    results = [make_result("a", 1), make_result("b", 2)]
    write_grades_csv(tmp_path / "g.csv", results, assignment)
    entries = [Entry(r.submission.student_id, r.submission.student_id, r, None, i) for i, r in enumerate(results)]
    assert gradebook_text(entries, assignment) == (tmp_path / "g.csv").read_bytes().decode("utf-8")
