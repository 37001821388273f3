"""Checks graded on recorded evidence, in milliseconds: no sandbox, no training.

Each test builds the evidence a model's checks are handed (`grader.checks.base.ModelEvidence`, made
of the wire's observation types) and asserts the verdicts, points and messages."""

from __future__ import annotations

import pytest
from conftest import ASSIGNMENT_DIR

from grader.checks.base import ModelEvidence
from grader.checks.registry import check_names, grade_model, max_score, spec_problems
from grader.i18n import Messages
from grader.pipeline import parse_assignment
from grader.protocol.wire import ClassInfo, Construct, ModelObservation, Parameter
from grader.spec import AssignmentError, load_assignment
from grader.spec.datasets import IrisTable

SPEC_TEXT = (ASSIGNMENT_DIR / "assignment.toml").read_text(encoding="utf-8")


def with_parameter_limit(limit: object) -> str:
    """iris_basics with `checks = { parameter_count = { max = LIMIT } }` on MLPC."""
    return SPEC_TEXT.replace('id = "mlpc"\n', f'id = "mlpc"\nchecks = {{ parameter_count = {{ max = {limit} }} }}\n', 1)


def mlpc_evidence(shapes: list[list[int]]) -> ModelEvidence:
    observation = ModelObservation(
        model="mlpc", class_=ClassInfo(name="MLPC", cell=1, matched_by="name"),
        construction=Construct(parameters=[Parameter(name=f"p{i}", shape=shape) for i, shape in enumerate(shapes)]))
    return ModelEvidence(observation=observation, training=None, construct_phase=None, timeout=None, run_finished=True)


def test_the_parameter_count_is_graded_only_where_the_spec_asks(tmp_path):
    plain = load_assignment("iris_basics").spec
    asked = parse_assignment(with_parameter_limit(30).encode(), tmp_path).spec
    mlpc = next(m for m in asked.models if m.id == "mlpc")
    assert "parameter_count" not in check_names(next(m for m in plain.models if m.id == "mlpc"))
    assert check_names(mlpc) == ["defined", "structure", "forward_shape", "output_range", "grad_flow",
                                 "parameter_count", "test_accuracy"]
    assert max_score(asked) == max_score(plain) + 0.5


@pytest.mark.parametrize(("shapes", "status", "score", "count", "message"), [
    # MLPC(4, 3, 3): 3x4 + 3 + 3x3 + 3 = 27, exactly the limit.
    ([[3, 4], [3], [3, 3], [3]], "passed", 0.5, 27, "The model has 27 parameters, within the limit of 27."),
    # A hidden width of 5: 5x4 + 5 + 3x5 + 3 = 43.
    ([[5, 4], [5], [3, 5], [3]], "failed", 0.0, 43, "The model has 43 parameters, over the limit of 27."),
])
def test_the_parameter_count_passes_at_the_limit_and_fails_over_it(tmp_path, shapes, status, score, count, message):
    spec = parse_assignment(with_parameter_limit(27).encode(), tmp_path).spec
    mlpc = next(m for m in spec.models if m.id == "mlpc")
    split = IrisTable.load().split_for(mlpc, spec.dataset)
    outcome = grade_model(mlpc, spec.recipe_for(mlpc), split, mlpc_evidence(shapes), Messages("en"))
    check = next(c for c in outcome.checks if c.id == "mlpc.parameter_count")
    assert (check.status, check.score, check.max_score, check.message) == (status, score, 0.5, message)
    assert (check.expected, check.found) == ("≤ 27", str(count))


@pytest.mark.parametrize(("change", "problem"), [
    (lambda text: text.replace("points = { forward_shape = 0.5 }", "points = { forward_shapes = 0.5 }"),
     "models.1.points.forward_shapes: no check is named 'forward_shapes'"),
    (lambda text: with_parameter_limit(30).replace("parameter_count", "parameter_counts"),
     "models.3.checks.parameter_counts: no check is named 'parameter_counts'"),
    (lambda text: with_parameter_limit('"many"'),
     "models.3.checks.parameter_count: takes one option, max = <a whole number of parameters, at least 1>"),
])
def test_a_spec_naming_a_check_no_check_has_is_refused_with_its_key(tmp_path, change, problem):
    text = change(SPEC_TEXT)
    assert any(found.startswith(problem) for found in spec_problems(load_spec(text, tmp_path)))
    with pytest.raises(AssignmentError, match="problem"):
        parse_assignment(text.encode(), tmp_path)


def load_spec(text: str, folder):
    from grader.spec import parse_assignment as parse_only

    return parse_only(text.encode(), folder).spec
