"""wine_mlp (grader/assignments/wine_mlp): softmax regression and an MLP on the standardised wine
data, a stratified seeded split, cross-entropy, accuracy and macro-F1. The bundled examples replay
their recorded runs (tests/fixtures/record_observations.py)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import checks_by_id, replayed

from grader.result import CheckResult, Result
from grader.spec import load_assignment
from grader.spec.datasets import splits_for
from grader.spec.datasets.wine import load as wine_table


@pytest.fixture(scope="module")
def wine():
    return load_assignment("wine_mlp")


def _checks(name: str) -> tuple[Result, dict[str, CheckResult]]:
    result = replayed(name).result
    return result, checks_by_id(result)


@pytest.mark.parametrize("name", ["wine_solution_py", "wine_solution_ipynb"])
def test_the_reference_scores_full_marks(name):
    result, checks = _checks(name)
    assert result.score == result.max_score == 10
    assert checks["softmax.structure"].found == "linear(13,3)"
    assert checks["mlp.structure"].found == "linear(13,16) → relu → linear(16,3)"
    assert (checks["softmax.test_accuracy"].found, checks["mlp.test_macro_f1"].found) == ("1", "1")


def test_a_softmax_before_cross_entropy_fails_structure_only():
    result, checks = _checks("wine_softmax")
    for model in ("softmax", "mlp"):
        structure = checks[f"{model}.structure"]
        assert structure.status == "failed"
        assert structure.message == ("forward passes its output through softmax after the last linear layer; the "
                                     "assignment's layers do not.")
        assert "returns the last linear layer's output (its scores) as it is" in structure.hint
    # Trained with the loss that fits a softmax output: the metrics are not lost a second time.
    assert checks["softmax.test_accuracy"].status == checks["mlp.test_macro_f1"].status == "passed"
    assert result.score == 8


def test_an_mlp_without_its_activation_is_told_it_is_one_linear_map():
    result, checks = _checks("wine_mistakes")
    structure = checks["mlp.structure"]
    assert (structure.status, structure.message) == ("failed", "There is no relu between the linear layers.")
    assert "Two linear layers with no activation between them are a single linear map" in structure.hint
    assert result.score == 9


def test_the_split_is_stratified_and_standardised_on_the_training_rows_alone(wine):
    split = splits_for(wine.spec)["mlp"]
    table = wine_table()
    train, test = table.rows(wine.spec.dataset)
    assert not (train & test).any() and (train | test).all()
    assert np.bincount(split.test_classes).tolist() == [18, 21, 14]  # 30% of 59, 71 and 48 wines
    assert np.allclose(split.train_x.mean(axis=0), 0, atol=1e-5) and np.allclose(split.train_x.std(axis=0), 1, atol=1e-4)
    assert not np.allclose(split.test_x.mean(axis=0), 0, atol=1e-3)  # the test rows' own statistics shaped nothing
    mean, spread = table.features[train].mean(axis=0), table.features[train].std(axis=0)
    assert np.allclose(split.test_x, (table.features[test] - mean) / spread, atol=1e-4)
