"""Checks an instructor writes: `[[checks]]` in the spec, functions in the assignment's `checks.py`
(grader/checks/custom.py, the API in grader/checks/api.py).

The bundled example `iris_checks` declares four (at most 10,000 parameters, dropout between the
hidden layers, an invariance, better than a linear model): its reference solution passes them and a
submission that misses each point fails each, graded through the real sandbox and the trusted
evaluation. The rest feed one check a model's facts directly (milliseconds): a check that raises, a
partial outcome, a model that could not be captured, and the spec's mistakes said when it loads.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.checks.base import ModelError, ModelEvidence
from grader.checks.registry import check_names, grade_model, max_score
from grader.i18n import Messages
from grader.pipeline import grade_file, load_assignment
from grader.protocol.wire import ClassInfo, Construct, ModelObservation, Parameter
from grader.result import CheckResult, Verification
from grader.spec import AssignmentError, LoadedAssignment
from grader.spec.datasets import splits_for

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "grader" / "assignments" / "iris_checks"
SOLUTION = ROOT / "solutions" / "iris_checks" / "solution.py"
OWN = ["small_enough", "dropout_between_hidden", "ignores_sepal_width", "beats_linear"]

# Every point missed: 17,539 parameters, no dropout, nothing but the sepal width used (so that a
# linear model on all four columns does better).
MISSES_EVERY_POINT = '''
import torch
import torch.nn as nn


class MLPC(nn.Module):
    def __init__(self, n_input, n_hidden, n_hidden2, n_output):
        super().__init__()
        self.register_buffer("mask", torch.tensor([0.0, 1.0, 0.0, 0.0]))
        self.l1 = nn.Linear(n_input, 128)
        self.l2 = nn.Linear(128, 128)
        self.l3 = nn.Linear(128, n_output)

    def forward(self, x):
        return self.l3(torch.relu(self.l2(torch.relu(self.l1(x * self.mask)))))
'''


def own_checks(result_checks: list[CheckResult]) -> dict[str, CheckResult]:
    return {c.id.split(".", 1)[1]: c for c in result_checks if c.id.split(".", 1)[1] in OWN}


# ---- the bundled example, through the sandbox ------------------------------------------------------------
def test_the_example_declares_its_checks_after_the_graders_own():
    assignment = load_assignment("iris_checks")
    model = assignment.spec.models[0]
    assert check_names(assignment.spec, model) == ["defined", "capture", "structure", "forward_shape", "grad_flow",
                                                   "test_accuracy", *OWN]
    assert max_score(assignment.spec) == 10.0  # 5 of the grader's checks, 5 of the instructor's


def test_validate_summarises_the_instructors_checks_their_visibility_and_the_due_date():
    from grader.apps.validate import summary

    lines = summary(load_assignment("iris_checks"))
    assert any(line.strip().startswith("checks: ") and line.endswith("beats_linear 2 (after due date)") for line in lines)
    assert "  the instructor's checks (checks.py): small_enough -> at_most_parameters, dropout_between_hidden -> " \
           "dropout_between_hidden_layers, ignores_sepal_width -> ignores_feature, beats_linear -> better_than_linear" in lines
    assert "  due 2026-12-18T23:59:00+09:00: results `after_due_date` are shown to students from then on" in lines


def test_the_reference_solution_passes_the_instructors_checks():
    result = grade_file(SOLUTION, load_assignment("iris_checks"), lang="en").result
    assert (result.score, result.max_score) == (10.0, 10.0), [(c.id, c.status, c.message) for c in result.checks]
    checks = own_checks(result.checks)
    assert checks["small_enough"].message == "The model has 403 parameters (at most 10,000)."
    assert (checks["small_enough"].expected, checks["small_enough"].found) == ("≤ 10,000", "403")
    assert checks["dropout_between_hidden"].message == "Dropout between the hidden layers"  # its title: no `passed` text
    assert checks["ignores_sepal_width"].found == "0"
    assert re.fullmatch(r"The test accuracy 0\.9\d\d beats the linear model's 0\.\d{3}\.", checks["beats_linear"].message)
    assert checks["beats_linear"].visibility == "after_due_date" and checks["small_enough"].visibility == "visible"
    assert checks["small_enough"].title == "No more than 10,000 parameters"
    assert all(c.note == "" for c in result.checks)


def test_a_submission_that_misses_each_point_fails_each_check_with_its_message(tmp_path):
    path = tmp_path / "linear.py"
    path.write_text(MISSES_EVERY_POINT, encoding="utf-8")
    result = grade_file(path, load_assignment("iris_checks"), lang="en").result
    checks = own_checks(result.checks)
    assert {name: c.status for name, c in checks.items()} == dict.fromkeys(OWN, "failed")
    assert checks["small_enough"].message == "The model has 17,539 parameters; at most 10,000 are allowed."
    assert checks["small_enough"].hint == "Make the hidden layers narrower."
    assert checks["dropout_between_hidden"].message == ("There is no dropout between the first and the second hidden "
                                                        "layer (layers found: linear(4,128) → relu → linear(128,128)"
                                                        " → relu → linear(128,3)).")
    assert re.fullmatch(r"Shuffling the sepal width \(column 1\) over the test rows changes the predictions by up "
                        r"to [0-9.e-]+: the model uses that column\.", checks["ignores_sepal_width"].message)
    assert re.fullmatch(r"The test accuracy 0\.\d{3} is not 2 points above the 0\.\d{3} of a linear model trained "
                        r"the same way\.", checks["beats_linear"].message)
    assert all(c.score == 0 for c in checks.values())


# ---- one check fed a model's facts ------------------------------------------------------------------------
class Runner:
    """Stands in for the trusted evaluation's run of a verified graph: the outputs a test says."""

    def __init__(self, outputs: Any = None, error: str | None = None) -> None:
        self.calls: list[tuple[int, bool, int]] = []
        self._outputs, self._error = outputs, error

    recipe = None  # what a check's baseline trains under: not used here

    def outputs(self, inputs: list[np.ndarray], trained: bool, seed: int) -> list[np.ndarray]:
        self.calls.append((len(inputs), trained, seed))
        if self._error is not None:
            raise ModelError(self._error)
        return [self._outputs(batch) for batch in inputs]


def evidence(runner: Runner | None = None, status: str = "verified") -> ModelEvidence:
    observation = ModelObservation(
        model="mlpc", class_=ClassInfo(name="MLPC", cell=1, matched_by="name"), layers=["linear(4,16)", "relu", "linear(16,3)"],
        construction=Construct(parameters=[Parameter(name="l1.weight", shape=[16, 4]), Parameter(name="l1.bias", shape=[16]),
                                           Parameter(name="l2.weight", shape=[3, 16]), Parameter(name="l2.bias", shape=[3])]))
    return ModelEvidence(observation=observation, training=None, construct_phase=None, timeout=None, run_finished=True,
                         verification=Verification(status), runner=runner)  # type: ignore[arg-type]


def assignment_with(tmp_path: Path, checks_py: str, declarations: str) -> LoadedAssignment:
    """iris_checks with these checks only (its own declarations dropped)."""
    folder = tmp_path / "own"
    shutil.copytree(EXAMPLE, folder)
    spec = (EXAMPLE / "assignment.toml").read_text(encoding="utf-8").split("\n[[checks]]")[0]
    (folder / "assignment.toml").write_text(spec + "\n" + declarations, encoding="utf-8")
    (folder / "checks.py").write_text(checks_py, encoding="utf-8")
    return load_assignment(str(folder))


def declaration(check_id: str, function: str, extra: str = "") -> str:
    return f'''
[[checks]]
id = "{check_id}"
function = "{function}"
models = ["mlpc"]
points = 2
title = {{ ja = "題", en = "Title of {check_id}" }}
message = {{ ja = "{{found}}", en = "found {{found}}, wanted {{wanted}}" }}
hint = {{ ja = "ヒント", en = "a hint" }}
{extra}
'''


CHECKS_PY = '''
from grader.checks.api import CheckContext, Outcome, ModelError


def boom(model: CheckContext) -> Outcome:
    raise RuntimeError("the instructor's mistake")


def half(model: CheckContext) -> Outcome:
    return Outcome.partial(0.5, found=str(model.parameter_count), wanted="less")


def not_an_outcome(model: CheckContext) -> Outcome:
    return True


def counts(model: CheckContext) -> Outcome:
    return Outcome.passed(found=f"{model.parameter_count} in {len(model.layers)} layers")


def predicts(model: CheckContext) -> Outcome:
    out = model.predict(model.data.test_x)
    return Outcome.passed(found=str(out.shape)) if out.shape == (75, 3) else Outcome.failed(found=str(out.shape))
'''


def grade_own(assignment: LoadedAssignment, model_evidence: ModelEvidence, lang: str = "en") -> dict[str, CheckResult]:
    model = assignment.spec.models[0]
    outcome = grade_model(assignment, model, splits_for(assignment.spec)[model.id], model_evidence, Messages(lang))
    return {c.id.split(".", 1)[1]: c for c in outcome.checks}


def test_a_check_that_raises_is_an_error_for_that_check_alone_with_the_traceback_for_instructors(tmp_path):
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("first", "boom") + declaration("second", "counts"))
    checks = grade_own(assignment, evidence(Runner()))
    first = checks["first"]
    assert (first.status, first.score, first.max_score) == ("error", 0.0, 2.0)
    assert first.message == ("This check could not be run on the grader's side. It is not your mistake; your instructor "
                             "can see why.")
    assert "RuntimeError: the instructor's mistake" in first.note and "checks.py\", line 6, in boom" in first.note
    assert "instructor's mistake" not in first.message + first.hint
    assert (checks["second"].status, checks["second"].score) == ("passed", 2.0)
    assert checks["second"].message == "Title of second"  # passed, and no `passed` text: the title


def test_a_check_that_returns_no_outcome_is_an_error_saying_so(tmp_path):
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("odd", "not_an_outcome"))
    check = grade_own(assignment, evidence(Runner()))["odd"]
    assert check.status == "error" and "TypeError: not_an_outcome returned bool, not an Outcome" in check.note


def test_a_partial_outcome_earns_its_share_and_fills_the_message(tmp_path):
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("part", "half"))
    check = grade_own(assignment, evidence(Runner()))["part"]
    assert (check.status, check.score, check.max_score) == ("failed", 1.0, 2.0)
    assert (check.message, check.hint, check.found) == ("found 131, wanted less", "a hint", "131")


def test_a_placeholder_the_outcome_does_not_fill_reads_as_a_question_mark(tmp_path):
    assignment = assignment_with(tmp_path, CHECKS_PY.replace('wanted="less"', ""), declaration("part", "half"))
    assert grade_own(assignment, evidence(Runner()))["part"].message == "found 131, wanted ?"


def test_a_check_runs_the_model_through_the_trusted_evaluation(tmp_path):
    runner = Runner(outputs=lambda batch: np.zeros((len(batch), 3)))
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("runs", "predicts"))
    check = grade_own(assignment, evidence(runner))["runs"]
    assert check.status == "passed" and runner.calls == [(1, True, 0)]  # trained, the first seed (none graded)


def test_a_model_that_fails_on_the_checks_inputs_fails_the_check_with_its_error(tmp_path):
    runner = Runner(error="mat1 and mat2 shapes cannot be multiplied (75x4 and 3x16)")
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("runs", "predicts"))
    check = grade_own(assignment, evidence(runner))["runs"]
    assert (check.status, check.message) == ("failed", "The model did not run on this check's inputs: mat1 and mat2 "
                                             "shapes cannot be multiplied (75x4 and 3x16)")
    assert check.hint == "a hint" and check.note == ""


@pytest.mark.parametrize(("status", "message"), [
    # Graded the old way on what the student's process reported: not evidence an instructor's check runs on.
    ("unverified", "Not checked: this check of your instructor's runs on the model's captured graph, which could not "
                   "be captured (see the capture check)."),
    ("refused", "Not checked: the captured graph did not validate."),  # the capture check stops every later one
])
def test_a_model_without_a_verified_graph_is_not_checked_and_says_why(tmp_path, status, message):
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("counted", "counts"))
    check = grade_own(assignment, evidence(Runner(), status=status))["counted"]
    assert (check.status, check.score, check.message) == ("skipped", 0.0, message)


def test_the_checks_texts_follow_the_language(tmp_path):
    assignment = assignment_with(tmp_path, CHECKS_PY, declaration("part", "half"))
    check = grade_own(assignment, evidence(Runner()), lang="ja")["part"]
    assert (check.message, check.hint, check.title) == ("131", "ヒント", "題")


# ---- the spec's mistakes, said when it loads ---------------------------------------------------------------
@pytest.mark.parametrize(("declarations", "checks_py", "problem"), [
    (declaration("x", "missing"), CHECKS_PY, "checks.0.function: checks.py has no function 'missing' (it has: boom, "
                                             "counts, half, not_an_outcome, predicts)"),
    (declaration("x", "half"), "def half(:\n", "checks.py could not be loaded:"),
    (declaration("x", "half"), "raise ImportError('no module named foo')\n", "ImportError: no module named foo"),
    (declaration("x", "half").replace('models = ["mlpc"]', 'models = ["mlp"]'), CHECKS_PY,
     "checks.0.models (x): no model 'mlp' (the spec has: mlpc)"),
    (declaration("structure", "half"), CHECKS_PY, "checks.0.id: 'structure' is the name of a check of the grader's"),
    (declaration("x", "half") + declaration("x", "counts"), CHECKS_PY, "the ids of the instructor's checks must be unique"),
    (declaration("x", "half").replace("{found}, wanted", "{found.shape}, wanted"), CHECKS_PY,
     "checks.0.message.en: placeholders are names ({count}), not 'found.shape'"),
    (declaration("x", "half").replace("title = {", "title = { fr = 'x',"), CHECKS_PY, "checks.0.title.fr"),
])
def test_a_declaration_that_cannot_work_is_refused_when_the_spec_loads(tmp_path, declarations, checks_py, problem):
    with pytest.raises(AssignmentError) as error:
        assignment_with(tmp_path, checks_py, declarations)
    assert problem in str(error.value)


@pytest.mark.parametrize(("due", "problem"), [
    ("", r"checks.3: after_due_date needs the assignment's `due`"),
    ("due = 2026-12-18T23:59:00\n", r"due: give the offset"),
])
def test_a_result_shown_after_the_due_date_needs_a_due_date_with_its_offset(tmp_path, due, problem):
    folder = tmp_path / "own"
    shutil.copytree(EXAMPLE, folder)
    spec = (folder / "assignment.toml").read_text(encoding="utf-8")
    (folder / "assignment.toml").write_text(spec.replace("due = 2026-12-18T23:59:00+09:00\n", due), encoding="utf-8")
    with pytest.raises(AssignmentError, match=problem):
        load_assignment(str(folder))


def test_a_spec_with_checks_needs_its_checks_file(tmp_path):
    folder = tmp_path / "own"
    shutil.copytree(EXAMPLE, folder)
    (folder / "checks.py").unlink()
    with pytest.raises(AssignmentError, match=r"checks.py: not found: the spec declares 4 check\(s\) of its own"):
        load_assignment(str(folder))


def test_the_spec_hash_covers_the_checks_file(tmp_path):
    first = assignment_with(tmp_path, CHECKS_PY, declaration("x", "half"))
    (first.folder / "checks.py").write_text(CHECKS_PY.replace("0.5", "0.25"), encoding="utf-8")
    second = load_assignment(str(first.folder))
    assert first.spec_sha256 != second.spec_sha256
    assert load_assignment("iris_basics").spec_sha256 == __import__("hashlib").sha256(
        (ROOT / "grader" / "assignments" / "iris_basics" / "assignment.toml").read_bytes()).hexdigest()
