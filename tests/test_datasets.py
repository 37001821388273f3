"""The data sets behind the registry beside Iris: scikit-learn's wine and breast cancer tables,
split as every data set is (odd and even rows), with features standardised on the training rows."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures.submissions import solution_class_sources

from grader.outputs.report.html import render_report
from grader.pipeline import grade_file, load_assignment
from grader.spec import AssignmentError
from grader.spec.datasets import breast_cancer, splits_for, wine

WINE_SPEC = '''
id = "wine_lr"
lang = "en"
title = { ja = "ワインの分類", en = "Wine classes" }

[dataset]
name = "wine"
preprocess = "standardize"

[recipe]
epochs = 300
seeds = [0]

[[models]]
id = "lr"
title = { ja = "ロジスティック回帰", en = "Logistic regression" }
class_names = ["LR"]
args = [13, 3]
features = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
target = "class"
structure = { layers = ["linear", "sigmoid"] }
metric = { name = "test_accuracy", kind = "accuracy", full_credit = 0.9, zero_credit = 0.6 }
'''
# The lesson's logistic regression: nothing in it is Iris's.
WINE_LR = "import torch\n\n\n" + solution_class_sources()["LR"] + "\n"


def wine_assignment(tmp_path, spec: str = WINE_SPEC):
    folder = tmp_path / "wine_lr"
    folder.mkdir(exist_ok=True)
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    return load_assignment(str(folder))


def test_the_bundled_tables_have_their_rows_columns_and_classes():
    for module, rows, counts in ((wine, 178, [59, 71, 48]), (breast_cancer, 569, [212, 357])):
        table = module.load()
        assert table.features.shape == (rows, len(module.COLUMNS))
        assert np.bincount(table.labels).tolist() == counts and table.class_names == module.CLASS_NAMES


def test_standardised_features_are_fitted_on_the_training_rows_alone(tmp_path):
    split = splits_for(wine_assignment(tmp_path).spec)["lr"]
    assert split.train_x.shape == (89, 13) and split.test_x.shape == (89, 13) and split.test_y.shape == (89, 3)
    assert np.allclose(split.train_x.mean(axis=0), 0, atol=1e-5) and np.allclose(split.train_x.std(axis=0), 1, atol=1e-4)
    raw = wine.load().features
    train, test = raw[1::2], raw[0::2]
    expected = (test - train.mean(axis=0)) / train.std(axis=0)
    assert np.allclose(split.test_x, expected, atol=1e-4)  # the test rows scaled by the training rows' statistics
    assert not np.allclose(split.test_x.mean(axis=0), 0, atol=1e-3)


def test_a_column_the_table_does_not_have_is_refused_naming_its_columns(tmp_path):
    with pytest.raises(AssignmentError) as refused:
        wine_assignment(tmp_path, WINE_SPEC.replace("11, 12]", "11, 13]"))
    assert "models.0.features (lr): no column 13 (wine has 13: 0 alcohol, 1 malic acid" in str(refused.value)


def test_a_wine_classifier_is_graded_end_to_end(tmp_path):
    assignment = wine_assignment(tmp_path)
    solution = tmp_path / "solution.py"
    solution.write_text(WINE_LR, encoding="utf-8")
    graded = grade_file(solution, assignment, lang="en")
    result = graded.result
    assert (result.status, result.score, result.max_score) == ("graded", 5.0, 5.0), [
        (c.id, c.message) for c in result.checks if c.status != "passed"]
    assert result.metrics["lr.test_accuracy"] >= 0.9
    report = render_report(graded, assignment)
    assert "class_0" in report and "class_2" in report  # the confusion matrix names the wine's classes


DIABETES_SPEC = WINE_SPEC.replace('name = "wine"', 'name = "diabetes"\nsplit = "random"\ntest_fraction = 0.2').replace(
    'args = [13, 3]\nfeatures = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]\ntarget = "class"\n'
    'structure = { layers = ["linear", "sigmoid"] }\n'
    'metric = { name = "test_accuracy", kind = "accuracy", full_credit = 0.9, zero_credit = 0.6 }',
    'args = [10, 1]\nfeatures = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\ntarget = [10]\nstructure = { layers = ["linear"] }\n'
    'metric = { name = "test_r2", kind = "r2", full_credit = 0.4, zero_credit = 0.0 }')


def test_diabetes_is_a_regression_table_split_at_random(tmp_path):
    from grader.spec.datasets import diabetes

    table = diabetes.load()
    assert table.features.shape == (442, 11) and table.class_names == ()
    assert table.features[0].tolist()[:3] == [59.0, 2.0, 32.099998474121094] and table.features[0, 10] == 151.0
    split = wine_assignment(tmp_path, DIABETES_SPEC).splits()["lr"]
    assert split.train_x.shape == (354, 10) and split.test_y.shape == (88, 1)


@pytest.mark.parametrize(("change", "error"), [
    (("features = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", "features = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10]"),
     "models.0.features (lr): reads the column(s) [10] it predicts (target [10])"),
    (("target = [10]", 'target = "class"'), "models.0.target (lr): diabetes has no classes"),
])
def test_a_model_that_reads_its_own_target_or_wants_classes_diabetes_lacks_is_refused(tmp_path, change, error):
    with pytest.raises(AssignmentError) as refused:
        wine_assignment(tmp_path, DIABETES_SPEC.replace(*change))
    assert error in str(refused.value)
