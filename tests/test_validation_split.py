"""`[dataset.validation]`: training rows held out for self-checks, which score on them; the grading
trains on every training row and scores on the test rows."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from conftest import ROOT

from grader.apps.validate import summary
from grader.pipeline import load_assignment
from grader.selfcheck import check
from grader.spec import AssignmentError
from grader.spec.datasets import splits_for

SOLUTION = ROOT / "solutions" / "iris_checks" / "solution.py"


def test_the_validation_rows_are_a_seeded_fifth_of_each_species_training_rows():
    from grader.spec.datasets import iris

    spec = load_assignment("iris_checks").spec
    validation = spec.dataset.validation
    assert validation is not None
    table = iris.load()
    train = np.arange(150) % 2 == 1  # train_rows = "odd"
    held = table.held_out(train, validation.fraction, validation.seed)
    assert not (held & ~train).any()  # training rows only: no self-check scores on a test row
    assert np.bincount(table.labels[held]).tolist() == [5, 5, 5]
    assert np.array_equal(table.held_out(train, validation.fraction, validation.seed), held)  # the same rows every time
    assert not np.array_equal(table.held_out(train, validation.fraction, 1), held)
    grading, public = splits_for(spec)["mlpc"], splits_for(spec.public())["mlpc"]
    assert (len(grading.train_x), len(grading.test_x)) == (75, 75)  # the grading's split is the lesson's
    assert (len(public.train_x), len(public.test_x)) == (60, 15)
    assert np.array_equal(public.test_x, table.features[held]) and np.array_equal(public.train_x, table.features[train & ~held])
    assert "self-checks score on 20% of the training rows (seed 0, 15 rows)" in "\n".join(summary(load_assignment("iris_checks")))


@pytest.mark.parametrize("change, key", [
    (lambda spec: spec.replace('name = "iris"\n', 'name = "iris"\nscored_on = "validation"\n', 1),
     "needs a [dataset.validation] to score on"),
    (lambda spec: spec + "\n[dataset.validation]\nfraction = 0.6\n", "dataset.validation.fraction"),
])
def test_a_validation_split_that_cannot_be_is_refused_with_its_key(tmp_path, change, key):
    folder = tmp_path / "a"
    shutil.copytree(ROOT / "grader" / "assignments" / "iris_basics", folder)
    spec = folder / "assignment.toml"
    spec.write_text(change(spec.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(AssignmentError) as refused:
        load_assignment(str(folder))
    assert key in str(refused.value)


def test_a_self_check_scores_on_the_validation_rows(tmp_path):
    namespace = {"__name__": "student"}
    path = tmp_path / "solution.py"
    shutil.copy(SOLUTION, path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), namespace)  # noqa: S102
    report = check("mlpc", "iris_checks", lang="en", namespace=namespace)
    accuracy = report.graded.result.metrics["mlpc.test_accuracy"]
    assert accuracy is not None and abs(accuracy * 15 - round(accuracy * 15)) < 1e-9  # of the 15 validation rows
    assert report.verdicts["mlpc.test_accuracy"] == "passed"
