"""`target = "class_index"`: one output that decides between two classes (PyTorch's usual binary
classifier, `nn.Linear(n, 1)` with `BCEWithLogitsLoss`), its predicted class read at the threshold
of what forward really returns: 0 for logits, 0.5 for a sigmoid's probabilities."""

from __future__ import annotations

import numpy as np
import pytest

from grader.checks.metrics import accuracy, class_scores
from grader.outputs.report.plots import confusion_counts
from grader.pipeline import grade_file, load_assignment
from grader.spec import AssignmentError
from grader.spec.datasets import breast_cancer

SPEC = '''
id = "tumours"
lang = "en"
title = { ja = "腫瘍", en = "Tumours" }

[dataset]
name = "breast_cancer"
split = "stratified"
test_fraction = 0.3
preprocess = "standardize"

[recipe]
loss = "bce_with_logits"
epochs = 200
seeds = [0]

[[models]]
id = "lr"
title = { ja = "ロジスティック回帰", en = "Logistic regression" }
class_names = ["Logistic"]
args = [30, 1]
features = "all"
target = "class_index"
structure = { layers = ["linear"] }
metric = { name = "test_accuracy", kind = "accuracy", full_credit = 0.95, zero_credit = 0.7 }
'''
LOGITS = '''
import torch


class Logistic(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.linear = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.linear(x)
'''
# A sigmoid before BCEWithLogitsLoss: the structure check says so; the metric reads probabilities at 0.5.
PROBABILITIES = LOGITS.replace("return self.linear(x)", "return torch.sigmoid(self.linear(x))")


def tumours(tmp_path, spec: str = SPEC):
    folder = tmp_path / "tumours"
    folder.mkdir(exist_ok=True)
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    return load_assignment(str(folder))


def test_one_output_is_read_at_its_threshold():
    outputs = np.array([[-2.0], [0.3], [0.0], [4.0]])
    assert class_scores(outputs, 0.0).argmax(axis=1).tolist() == [0, 1, 0, 1]  # at the threshold: the first class
    assert accuracy(class_scores(outputs, 0.5), np.array([0, 0, 0, 1])) == 1.0
    assert np.array_equal(class_scores(np.eye(3), 0.5), np.eye(3))  # one output per class: as they are


def test_a_binary_classifier_on_logits_gets_full_marks_and_a_two_by_two_confusion_matrix(tmp_path):
    assignment = tumours(tmp_path)
    split = assignment.splits()["lr"]
    train, _ = breast_cancer.load().rows(assignment.spec.dataset)
    assert np.array_equal(split.train_y[:, 0], breast_cancer.load().labels[train])  # 0 malignant, 1 benign
    submission = tmp_path / "logits.py"
    submission.write_text(LOGITS, encoding="utf-8")
    graded = grade_file(submission, assignment, lang="en")
    result = graded.result
    assert (result.score, result.max_score) == (5.0, 5.0), [
        (c.id, c.message) for c in result.checks if c.status != "passed"]
    assert result.metrics["lr.test_accuracy"] >= 0.95
    outcome = graded.outcomes["lr"]
    assert outcome.decision_threshold == 0.0
    counts = confusion_counts(outcome.test_classes, class_scores(outcome.predictions, 0.0), 2)
    assert counts.sum() == 171 and counts.trace() / 171 == pytest.approx(result.metrics["lr.test_accuracy"])


def test_a_sigmoid_before_bce_with_logits_loses_the_structure_point_alone(tmp_path):
    submission = tmp_path / "probabilities.py"
    submission.write_text(PROBABILITIES, encoding="utf-8")
    graded = grade_file(submission, tumours(tmp_path), lang="en")
    checks = {c.id: c for c in graded.result.checks}
    assert checks["lr.structure"].status == "failed"
    assert checks["lr.test_accuracy"].status == "passed", checks["lr.test_accuracy"].message
    assert graded.outcomes["lr"].decision_threshold == 0.5


@pytest.mark.parametrize(("change", "error"), [
    (lambda s: s.replace('name = "breast_cancer"', 'name = "iris"').replace("args = [30, 1]", "args = [4, 1]")
     .replace('features = "all"', "features = [0, 1, 2, 3]"),
     "models.0.target (lr): class_index is one output for two classes; iris has 3: give target = \"class\""),
    (lambda s: s.replace('loss = "bce_with_logits"', 'loss = "cross_entropy"'),
     "recipe.loss (lr): cross_entropy reads one output per class; a class_index target has one output for two "
     "classes"),
    (lambda s: s.replace("args = [30, 1]", "args = [30, 2]"),
     "models.0.args[-1] (lr): 2 outputs, but the target needs 1 (one output for two classes)"),
])
def test_a_class_index_target_that_does_not_fit_is_refused(tmp_path, change, error):
    with pytest.raises(AssignmentError) as refused:
        tumours(tmp_path, change(SPEC))
    assert error in str(refused.value)
