"""Exercise 2's written answer: found in a notebook, a module or a zip; provisional rubric coverage;
the report; and a person's points through OUT/review.csv reaching every output without re-grading."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from fixtures.sample_graded import sample_graded

from grader.apps.batch import grade_batch
from grader.checks.registry import max_score
from grader.checks.written import coverage, find_answer, template_lines, written_answers
from grader.intake.submission import read_submission
from grader.outputs.lms import exports
from grader.outputs.report.html import render_report
from grader.outputs.review import REVIEW_FILE
from grader.result import Result
from grader.spec import AssignmentError, load_assignment, parse_assignment

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT_DIR = ROOT / "grader" / "assignments" / "iris_basics"
EXAMPLES = ASSIGNMENT_DIR / "examples"
ALL_POINTS = ["linear_nonlinear", "sigmoid_probability", "hidden_layer", "supervised_unsupervised",
              "dimensionality_reduction", "common_ground"]


@pytest.fixture(scope="module")
def assignment():
    return load_assignment("iris_basics")


@pytest.fixture(scope="module")
def question(assignment):
    return assignment.spec.written[0]


def notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    """A small nbformat-4 notebook: (cell type, source, tags)."""
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    for number, (kind, source, tags) in enumerate(cells):
        cell = {"cell_type": kind, "id": f"c{number}", "metadata": {"tags": tags} if tags else {}, "source": source}
        if kind == "code":
            cell.update(outputs=[], execution_count=None)
        nb["cells"].append(cell)
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return path


CODE = ("code", "import torch\n", [])
QUESTION = "線形重回帰、ロジスティック回帰、多層パーセプトロン、オートエンコーダーを比較し、その違いと共通点について説明しなさい。"


# ---- the spec ------------------------------------------------------------------------------------
def test_spec_has_exercise_2_and_written_is_optional(assignment, tmp_path):
    assert [w.id for w in assignment.spec.written] == ["compare_models"]
    assert assignment.spec.written_max == 5 and max_score(assignment.spec) == 25  # written points are not automatic
    text = (ASSIGNMENT_DIR / "assignment.toml").read_text(encoding="utf-8")
    without = text[:text.index("[[written]]")]
    assert parse_assignment(without.encode(), tmp_path).spec.written == []
    bad = text.replace('id = "linear_nonlinear"', 'id = "hidden_layer"')
    with pytest.raises(AssignmentError, match="rubric ids must be unique"):
        parse_assignment(bad.encode(), tmp_path)


# ---- finding the answer --------------------------------------------------------------------------
def test_answer_under_the_heading_without_the_question_or_placeholder(assignment, question, tmp_path):
    path = notebook(tmp_path / "a.ipynb", [
        CODE, ("markdown", "## 課題1\n評価しなさい。", []), ("markdown", "## 課題２", []),  # full-width digit
        ("markdown", QUESTION, []), CODE, ("markdown", "線形と非線形の違いがあります。\n\n### 補足", []),
        ("markdown", "ここに回答を書いてください。", []), ("markdown", "# 参考文献\n教科書", [])])
    template = template_lines(str(assignment.folder))
    answer, where = find_answer(read_submission(path), question.find, template)
    assert where == "heading"
    assert answer == "線形と非線形の違いがあります。\n\n### 補足"  # a lower heading goes on, the question is dropped


def test_answer_in_a_tagged_cell_wins(assignment, question, tmp_path):
    path = notebook(tmp_path / "t.ipynb", [CODE, ("markdown", "## Exercise 2\nelsewhere", []),
                                           ("markdown", "Both use gradient descent.", ["compare_models"])])
    entry = written_answers(read_submission(path), assignment)[0]
    assert (entry.found_in, entry.answer, entry.covered) == ("tag", "Both use gradient descent.", ["common_ground"])


def test_answer_in_a_module_docstring(assignment, tmp_path):
    path = tmp_path / "m.py"
    path.write_text('"""Models.\n\n課題2: 違いは非線形かどうか。\n共通点は損失関数の最小化です。\n"""\nimport torch\nclass MLR(: pass\n',
                    encoding="utf-8")
    entry = written_answers(read_submission(path), assignment)[0]
    assert entry.found_in == "docstring"
    assert entry.answer == "違いは非線形かどうか。\n共通点は損失関数の最小化です。"
    assert entry.covered == ["linear_nonlinear", "common_ground"]
    plain = tmp_path / "plain.py"
    plain.write_text('"""Just the models, no exercise 2 here."""\nimport torch\n', encoding="utf-8")
    assert written_answers(read_submission(plain), assignment)[0].status == "missing"


def test_answer_in_a_text_file_of_a_zip(assignment, tmp_path):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.write(EXAMPLES / "taro_sequential.py", "work/taro.py")
        archive.writestr("work/ANSWER.md", "The autoencoder is unsupervised and does dimensionality reduction.")
        archive.writestr("work/big.txt", "x" * 100_000)  # over the text-file bound: skipped, not fatal
    submission = read_submission(path)
    assert "big.txt" not in submission.texts
    entry = written_answers(submission, assignment)[0]
    assert entry.found_in == "file:ANSWER.md"
    assert entry.covered == ["supervised_unsupervised", "dimensionality_reduction"]


def test_missing_answer(assignment):
    entry = written_answers(read_submission(ASSIGNMENT_DIR / "assignment.ipynb"), assignment)[0]
    assert (entry.status, entry.answer, entry.length, entry.covered, entry.points) == ("missing", "", 0, [], None)
    assert entry.missing == ALL_POINTS and entry.max_points == 5


# ---- rubric coverage -----------------------------------------------------------------------------
def test_coverage_of_a_japanese_answer(question):
    answer = ("ロジスティック回帰は出力をｼｸﾞﾓｲﾄﾞ関数に通して確率として扱う。多層パーセプトロンは隠れ層を持つ。"
              "どのモデルも勾配降下で学習する。")  # half-width katakana: NFKC makes it シグモイド
    covered, missing = coverage(answer, question.rubric)
    assert covered == ["sigmoid_probability", "hidden_layer", "common_ground"]
    assert missing == ["linear_nonlinear", "supervised_unsupervised", "dimensionality_reduction"]


def test_coverage_of_an_english_answer(question):
    answer = ("Linear regression is linear; an MLP with a HIDDEN  LAYER is non linear. The autoencoder learns "
              "without labels and does dimension reduction. All of them learn by gradient decent.")
    covered, _ = coverage(answer, question.rubric)
    # "non linear" = "non-linear" (spaces and hyphens dropped), case folded; "gradient decent" is a near spelling
    assert covered == ["linear_nonlinear", "hidden_layer", "supervised_unsupervised", "dimensionality_reduction",
                       "common_ground"]
    assert coverage("A linear model.", question.rubric)[0] == []  # "linear" alone is not "non-linear"


# ---- the report ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_report_shows_the_answer_escaped_and_pending(assignment, tmp_path, lang):
    path = notebook(tmp_path / "x.ipynb", [CODE, ("markdown", "## 課題2", []),
                                           ("markdown", "<script>alert(1)</script> 非線形 & シグモイド", [])])
    graded = sample_graded(assignment, lang)
    graded.result.written = written_answers(read_submission(path), assignment)
    page = render_report(graded, assignment)
    section = page[page.index("<!-- written:start -->"):page.index("<!-- written:end -->")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 非線形 &amp; シグモイド" in section and "<script>alert" not in page
    assert ("確認待ち" if lang == "ja" else "pending review") in section
    assert ("仮の判定" if lang == "ja" else "Provisional") in section
    assert ("5 点は確認待ち" if lang == "ja" else "5 points pending review") in section
    assert section.count('class="rubric yes"') == 2 and section.count('class="rubric no"') == 4


# ---- review.csv through the batch ----------------------------------------------------------------
def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_review_csv_round_trip_without_regrading(tmp_path, capsys, recorded_sandbox):
    # The written answers, review.csv and the outputs are the point: the runs are the recorded ones.
    sandbox = recorded_sandbox()
    spec = load_assignment("iris_basics")
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(EXAMPLES / "hanako_lesson.ipynb", inputs / "hanako.ipynb")
    shutil.copy(EXAMPLES / "taro_sequential.py", inputs / "taro.py")
    out = tmp_path / "out"

    first = grade_batch([inputs], spec, out, lang="en", jobs=2, warm=False)
    assert first.reused == 0 and sorted(sandbox.replayed) == ["hanako_lesson", "taro_sequential"]
    rows = _csv(out / REVIEW_FILE)
    assert [(r["student_id"], r["question"], r["points"], r["max_points"], r["status"]) for r in rows] == [
        ("hanako", "compare_models", "", "5", "pending_review"), ("taro", "compare_models", "", "5", "missing")]
    assert rows[0]["covered"].split() == ALL_POINTS and int(rows[0]["length"]) > 300
    hanako = Result.model_validate_json((out / "results" / "hanako.json").read_text(encoding="utf-8"))
    code_score = hanako.score
    assert hanako.written[0].status == "pending_review" and hanako.total_score == code_score

    # A person scores hanako, comments on taro, and types a bad value on a line of their own.
    rows[0].update(points="4.5", comment="Clear <b>and</b> complete")
    rows[1].update(comment="No answer found")
    rows.append({**rows[1], "student_id": "taro", "points": "7"})  # out of range: ignored, named
    with (out / REVIEW_FILE).open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    capsys.readouterr()

    second = grade_batch([inputs], spec, out, lang="en", jobs=2, warm=False, lms=None)
    printed = capsys.readouterr().out
    assert second.reused == 2 and len(sandbox.replayed) == 2  # nothing graded again
    assert "review.csv line 4 (taro, compare_models): points 7 out of range 0..5; row ignored" in printed

    hanako = Result.model_validate_json((out / "results" / "hanako.json").read_text(encoding="utf-8"))
    entry = hanako.written[0]
    assert (entry.status, entry.points, entry.comment) == ("reviewed", 4.5, "Clear <b>and</b> complete")
    assert hanako.score == code_score and hanako.total_score == round(code_score + 4.5, 2)
    # The grade changed now: the LMS's "Last modified (grade)" is the review's time, not the grading's.
    assert hanako.reviewed_at >= hanako.graded_at and exports._grade_time(hanako) == hanako.reviewed_at
    taro = Result.model_validate_json((out / "results" / "taro.json").read_text(encoding="utf-8"))
    assert (taro.written[0].status, taro.written[0].points, taro.written[0].comment) == ("missing", None, "No answer found")

    grades = {g["student_id"]: g for g in _csv(out / "grades.csv")}
    assert grades["hanako"]["written.compare_models"] == "4.5" and grades["taro"]["written.compare_models"] == ""
    assert float(grades["hanako"]["total"]) == pytest.approx(code_score + 4.5) and grades["hanako"]["total_max"] == "30"

    report = (out / "reports" / "hanako.html").read_text(encoding="utf-8")
    assert "Clear &lt;b&gt;and&lt;/b&gt; complete" in report and 'data-status="reviewed"' in report
    assert "4.5 / 5" in report and "<svg" in report  # spliced in: the plots of the first rendering are kept
    assert "Clear <b>" not in report
    summary = (out / "index.html").read_text(encoding="utf-8")
    assert "4.5 / 5" in summary

    kept = _csv(out / REVIEW_FILE)  # the person's cells are kept, the bad one too (for them to fix)
    assert [(r["points"], r["comment"]) for r in kept] == [("4.5", "Clear <b>and</b> complete"),
                                                           ("", "No answer found"), ("7", "No answer found")]
    assert kept[0]["status"] == "reviewed"

    # The Moodle worksheet carries the manual points (exports built from the same results).
    from grader.i18n import Messages
    from grader.outputs.gradebook import Entry, Kept
    from grader.outputs.lms.exports import Scale, feedback_comment, write_moodle

    class Item:
        student_id, lms, lms_ref, name = "hanako", "moodle", {"participant_id": "1234567", "name": "Hanako"}, "Hanako"

    write_moodle(out / "moodle", [Kept(Entry("hanako", "hanako", hanako), 1)], {"hanako": Item()}, out / "reports",
                 Scale(max_score(spec.spec) + spec.spec.written_max), Messages("en"))
    worksheet = _csv(out / "moodle" / "grading-worksheet.csv")
    assert worksheet[0]["Grade"] == f"{code_score + 4.5:.2f}" and worksheet[0]["Maximum Grade"] == "30.00"
    assert worksheet[0]["Last modified (grade)"] == hanako.reviewed_at
    assert "Written answers: 4.5 of 5 points (0 points pending review)." in feedback_comment(hanako, Messages("en"))
