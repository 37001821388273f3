"""The metrics a spec may name beside MSE and accuracy: MAE, R² and macro-F1 (grader.checks.metrics.KINDS),
with partial credit between the thresholds the right way round, their texts, and the spec's rules."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.submissions import solution_class_sources
from test_datasets import WINE_SPEC, wine_assignment

from grader.checks.metrics import KINDS, aggregate, macro_f1, mae, partial_credit, r2
from grader.i18n import CATALOGUE, LANGS
from grader.pipeline import grade_file
from grader.spec import AssignmentError


def test_each_metric_is_computed_as_its_definition_says():
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.5], [2.0], [2.0], [4.5]])
    assert mae(p, y) == pytest.approx(0.5)
    assert r2(p, y) == pytest.approx(1 - 1.5 / 5.0)  # residuals 0.25 + 0 + 1 + 0.25; spread around 2.5: 5
    assert r2(y, y) == 1.0 and r2(np.full_like(y, 2.5), y) == 0.0
    labels = np.array([0, 0, 1, 1, 2, 2])
    scores = np.eye(3)[[0, 1, 1, 1, 2, 0]]  # class 0: TP 1, FP 1, FN 1; class 1: TP 2, FP 1; class 2: TP 1, FN 1
    assert macro_f1(scores, labels) == pytest.approx(np.mean([2 / 4, 4 / 5, 2 / 3]))
    assert macro_f1(np.eye(3)[labels], labels) == 1.0


def test_better_is_the_right_way_round_for_every_kind():
    assert [name for name, kind in KINDS.items() if kind.lower_is_better] == ["mse", "mae"]
    assert aggregate([0.2, 0.5, 0.9], "r2", "best") == 0.9 and aggregate([0.2, 0.5, 0.9], "mae", "best") == 0.2
    assert aggregate([0.2, 0.9], "macro_f1", "median") == 0.2 and aggregate([0.2, 0.9], "mae", "median") == 0.9
    assert partial_credit(0.6, full_credit=0.9, zero_credit=0.3) == pytest.approx(0.5)  # R²: higher is better
    for kind in ("mae", "r2", "macro_f1"):
        for key in ("metric.full", "metric.partial", "metric.zero", "metric.constant"):
            entry = CATALOGUE[f"{key}.{kind}"]
            assert all(entry[lang] for lang in LANGS) and "MSE" not in entry["en"] and "accuracy" not in entry["en"]


@pytest.mark.parametrize("metric, message", [
    ('kind = "macro_f1", full_credit = 0.9, zero_credit = 0.6',
     'models.0.metric.kind (lr): macro_f1 scores predicted classes and needs a class target'),
    ('kind = "mae", full_credit = 0.9, zero_credit = 0.6', "full_credit (0.9) must be below zero_credit (0.6) for a mae metric"),
    ('kind = "r2", full_credit = 0.2, zero_credit = 0.6', "full_credit (0.2) must be above zero_credit (0.6) for a r2 metric"),
])
def test_a_metric_that_cannot_be_read_is_refused_with_its_key(tmp_path, metric, message):
    spec = WINE_SPEC.replace('kind = "accuracy", full_credit = 0.9, zero_credit = 0.6', metric)
    if "macro_f1" in metric:
        spec = spec.replace('target = "class"', "target = [12]").replace("11, 12]", "11]").replace("[13, 3]", "[12, 1]")
    with pytest.raises(AssignmentError) as refused:
        wine_assignment(tmp_path, spec)
    assert message in str(refused.value)


def test_a_wine_classifier_is_graded_on_its_macro_f1(tmp_path):
    spec = WINE_SPEC.replace('name = "test_accuracy", kind = "accuracy"', 'name = "test_macro_f1", kind = "macro_f1"')
    solution = tmp_path / "lr.py"
    solution.write_text("import torch\n\n\n" + solution_class_sources()["LR"] + "\n", encoding="utf-8")
    result = grade_file(solution, wine_assignment(tmp_path, spec), lang="en").result
    check = next(c for c in result.checks if c.id == "lr.test_macro_f1")
    assert check.status == "passed" and check.message.startswith("Test macro-F1 is ")
    assert result.metrics["lr.test_macro_f1"] >= 0.9 and check.expected == "≥ 0.9"
