"""Who sees a check: `visible`, `hidden` (graded, shown to instructors only) and `after_due_date`
(shown to students once the spec's `due` has passed), for the instructor's checks (their
declaration) and the grader's (`visibility = { metric = "hidden" }` on a model).

One submission is graded (through the sandbox) against an assignment with a hidden check of the
instructor's whose name, message, hint and threshold are marked, a hidden test metric, and a check
shown after the due date; then every output a student gets is searched for them: the report, the
result JSON, Gradescope's results.json (the output every student sees; the tests by visibility),
the batch's reports and the upload service's answers to a student's token. The instructor's views
show everything.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from fixtures.service import STUDENT_TOKEN, Server, auth, make_data, upload, wait_done

from grader.apps.batch import grade_batch
from grader.apps.gradescope import results_json
from grader.pipeline import grade_file, load_assignment, render_report_safely, student_reports_safely
from grader.result import CheckResult, Graded, Result, SubmissionInfo
from grader.spec import LoadedAssignment

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "iris_checks" / "solution.py"
# What marks the hidden check: its name, message, hint and threshold.
SECRET_TEXTS = ["SECRET-TITLE", "SECRET-MESSAGE", "SECRET-HINT", "0.777", "mlpc.secret_probe"]
HIDDEN_CHECK = '''
[[checks]]
id = "secret_probe"
function = "secret_probe"
models = ["mlpc"]
points = 3
visibility = "hidden"
title = { ja = "SECRET-TITLE", en = "SECRET-TITLE" }
message = { ja = "SECRET-MESSAGE {found}", en = "SECRET-MESSAGE {found}" }
hint = { ja = "SECRET-HINT", en = "SECRET-HINT" }
'''
SECRET_FUNCTION = '''

def secret_probe(model: CheckContext) -> Outcome:
    return Outcome.failed(expected="≥ 0.777", found="0.5")
'''


def secret_assignment(folder: Path) -> LoadedAssignment:
    """iris_checks as `tiny` (the test services' student token is for `tiny`), due in 2099, with the
    hidden check above and its test metric hidden."""
    shutil.copytree(ROOT / "grader" / "assignments" / "iris_checks", folder)
    spec = (folder / "assignment.toml").read_text(encoding="utf-8")
    spec = spec.replace('id = "iris_checks"', 'id = "tiny"').replace("due = 2026-12-18", "due = 2099-12-18")
    spec = spec.replace('class_names = ["MLPC"]\n', 'class_names = ["MLPC"]\nvisibility = { metric = "hidden" }\n')
    (folder / "assignment.toml").write_text(spec + HIDDEN_CHECK, encoding="utf-8")
    with (folder / "checks.py").open("a", encoding="utf-8") as checks:
        checks.write(SECRET_FUNCTION)
    return load_assignment(str(folder))


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> tuple[Graded, LoadedAssignment]:
    assignment = secret_assignment(tmp_path_factory.mktemp("secret") / "tiny")
    return grade_file(SOLUTION, assignment, lang="en"), assignment


def secrets_of(graded: Graded) -> list[str]:
    """The marks of the hidden check, and what the hidden metric would give away: its value, its
    thresholds, its id."""
    value = graded.result.metrics["mlpc.test_accuracy"]
    assert value is not None
    return [*SECRET_TEXTS, f"{value:.4g}", "≥ 0.9", "full-credit threshold", "mlpc.test_accuracy"]


def assert_none_in(text: str, secrets: list[str], where: str) -> None:
    found = [secret for secret in secrets if secret in text]
    assert not found, f"{where} gives away {found}"


def test_the_instructors_result_has_every_check_with_its_visibility(graded):
    graded, _ = graded
    visibility = {c.id: c.visibility for c in graded.result.checks}
    assert (visibility["mlpc.secret_probe"], visibility["mlpc.test_accuracy"], visibility["mlpc.beats_linear"],
            visibility["mlpc.structure"]) == ("hidden", "hidden", "after_due_date", "visible")
    assert (graded.result.score, graded.result.max_score) == (10.0, 13.0)  # the hidden check counts in the grade
    assert graded.result.has_instructor_only and not graded.result.withheld


def test_no_hidden_check_reaches_a_students_report_or_result(graded):
    graded, assignment = graded
    secrets = secrets_of(graded)
    reports = student_reports_safely(graded, assignment)
    assert reports is not None
    assert_none_in(reports.before_due, secrets + ["SECRET", "beats_linear"], "the student's report")
    assert 'id="withheld"' in reports.before_due
    view = graded.result.for_students(past_due=False)
    assert_none_in(view.to_json(), secrets + ["beats_linear"], "the student's result JSON")
    # Its score is the checks' shown: 10 of the grader's and the instructor's, less the hidden metric's 2
    # and the 2 shown after the due date.
    assert (view.score, view.max_score, view.withheld) == (6.0, 6.0, True)
    assert "mlpc.test_accuracy" not in view.metrics
    # After the due date the check shown then is there, the hidden ones still are not.
    after = graded.result.for_students(past_due=True)
    assert "mlpc.beats_linear" in {c.id for c in after.checks} and "beats the linear model" in reports.after_due
    assert_none_in(reports.after_due, secrets, "the student's report after the due date")
    # What the report draws of the hidden metric is gone too (the confusion matrix tells the accuracy).
    assert graded.for_students(past_due=False).outcomes["mlpc"].predictions is None
    _, instructors = render_report_safely(graded, assignment)
    assert all(secret in instructors for secret in SECRET_TEXTS)
    assert "hidden from students" in instructors and "shown after the due date" in instructors


def test_gradescope_gets_each_checks_visibility_and_a_students_report_as_its_output(graded):
    graded, assignment = graded
    reports = student_reports_safely(graded, assignment)
    assert reports is not None
    data = results_json(graded.result, assignment, "visible", 1.0, reports.before_due)
    tests = {test["name"].rsplit("(", 1)[1].rstrip(")"): test for test in data["tests"]}
    assert (tests["mlpc.secret_probe"]["visibility"], tests["mlpc.test_accuracy"]["visibility"],
            tests["mlpc.beats_linear"]["visibility"], tests["mlpc.structure"]["visibility"]) == (
        "hidden", "hidden", "after_due_date", "visible")
    assert data["score"] == 10.0  # the grade
    # The top-level output and every visible test: what each student sees.
    shown = data["output"] + json.dumps([t for t in data["tests"] if t["visibility"] == "visible"], ensure_ascii=False)
    assert_none_in(shown, secrets_of(graded) + ["beats_linear"], "what Gradescope shows every student")
    assert "Some checks are graded but not shown yet" in data["output"]


def test_a_batch_hands_back_the_students_report_and_keeps_the_instructors_beside_it(tmp_path, graded):
    _, assignment = graded
    out = tmp_path / "out"
    grade_batch([SOLUTION], assignment, out, jobs=1)
    student, instructor = out / "reports" / "solution.html", out / "reports" / "solution.instructor.html"
    assert_none_in(student.read_text(encoding="utf-8"), SECRET_TEXTS, "the batch's report for the student")
    assert all(secret in instructor.read_text(encoding="utf-8") for secret in SECRET_TEXTS)
    assert 'href="reports/solution.instructor.html"' in (out / "index.html").read_text(encoding="utf-8")
    result = Result.model_validate_json((out / "results" / "solution.json").read_text(encoding="utf-8"))
    assert "mlpc.secret_probe" in {c.id for c in result.checks}  # the instructor's record


def test_the_services_student_view_withholds_what_the_instructor_sees(tmp_path):
    folder = tmp_path / "assignments"
    secret_assignment(folder / "tiny")
    data, token = make_data(tmp_path)
    server = Server(data, folder, workers=1).start()
    server.token = token  # type: ignore[attr-defined]
    try:
        sent = upload(server, "alice", SOLUTION)
        assert sent.status_code == 202, sent.text
        submission = sent.json()["id"]
        wait_done(server, [submission], timeout=120)
        as_student, as_instructor = auth(STUDENT_TOKEN), auth(token)
        for path in ("", "/result", "/report"):
            student = httpx.get(f"{server.url}/submissions/{submission}{path}", headers=as_student, timeout=10)
            assert student.status_code == 200, (path, student.text)
            assert_none_in(student.text, [*SECRET_TEXTS, "mlpc.test_accuracy"], f"GET /submissions/ID{path} for a student")
            instructor = httpx.get(f"{server.url}/submissions/{submission}{path}", headers=as_instructor, timeout=10)
            assert "SECRET-TITLE" in instructor.text, path
        listed = httpx.get(f"{server.url}/assignments/tiny/submissions", headers=as_student, timeout=10).json()
        assert [(row["score"], row["max_score"]) for row in listed] == [(6.0, 6.0)]
        full = httpx.get(f"{server.url}/assignments/tiny/submissions", headers=as_instructor, timeout=10).json()
        assert [(row["score"], row["max_score"]) for row in full] == [(10.0, 13.0)]
        again = upload(server, "alice", SOLUTION, token=STUDENT_TOKEN)  # handed in before: its score as the student's
        assert again.status_code == 200 and (again.json()["score"], again.json()["max_score"]) == (6.0, 6.0)
    finally:
        server.stop()


# ---- the views alone -------------------------------------------------------------------------------------
def check(name: str, visibility: str, score: float, note: str = "") -> CheckResult:
    return CheckResult(id=f"m.{name}", model="m", status="passed" if score else "failed", score=score, max_score=1.0,
                       message=name, visibility=visibility, note=note)  # type: ignore[arg-type]


def a_result(*checks: CheckResult) -> Result:
    return Result(assignment="a", grader_version="0", spec_sha256="0", submission=SubmissionInfo(student_id="s", file="f"),
                  status="graded", lang="en", mode="definitions", score=sum(c.score for c in checks),
                  max_score=float(len(checks)), checks=list(checks), metrics={"m.later": 0.5, "m.open": 0.9})


def test_a_result_with_nothing_withheld_is_its_own_students_view():
    result = a_result(check("open", "visible", 1.0))
    assert result.for_students(past_due=False) is result and not result.has_instructor_only


def test_a_students_view_has_no_instructors_note_and_no_withheld_points():
    result = a_result(check("open", "visible", 1.0, note="Traceback ..."), check("secret", "hidden", 1.0),
                      check("later", "after_due_date", 0.0))
    before, after = result.for_students(past_due=False), result.for_students(past_due=True)
    assert [(c.id, c.note) for c in before.checks] == [("m.open", "")]
    assert (before.score, before.max_score, before.withheld, before.metrics) == (1.0, 1.0, True, {"m.open": 0.9})
    assert [c.id for c in after.checks] == ["m.open", "m.later"] and (after.score, after.max_score) == (1.0, 2.0)
    assert (result.score, len(result.checks), result.checks[0].note) == (2.0, 3, "Traceback ...")  # unchanged
