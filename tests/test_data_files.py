"""An instructor's own data file (`[dataset] name = "file"`): a CSV whose columns a model names,
or an NPZ of arrays; read, checked and hashed when the assignment loads."""

from __future__ import annotations

import io

import numpy as np
import pytest
from test_datasets import WINE_LR

from grader.pipeline import grade_file, load_assignment
from grader.spec import AssignmentError
from grader.spec.datasets import iris

SPECIES = ("setosa", "versicolor", "virginica")
COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width")
SPEC = '''
id = "flowers"
lang = "en"
title = { ja = "花", en = "Flowers" }

[dataset]
name = "file"
file = "flowers.csv"
class_column = "species"
class_names = ["setosa", "versicolor", "virginica"]
split = "stratified"
test_fraction = 0.3

[recipe]
epochs = 300
seeds = [0]

[[models]]
id = "lr"
title = { ja = "ロジスティック回帰", en = "Logistic regression" }
class_names = ["LR"]
args = [4, 3]
features = "all"
target = "class"
structure = { layers = ["linear", "sigmoid"] }
metric = { name = "test_accuracy", kind = "accuracy", full_credit = 0.9, zero_credit = 0.6 }

[[models]]
id = "petal"
title = { ja = "花弁の幅", en = "Petal width" }
class_names = ["Petal"]
args = [2, 1]
features = ["petal_length", "sepal_length"]
target = ["petal_width"]
structure = { layers = ["linear"] }
metric = { name = "test_mse", kind = "mse", full_credit = 0.06, zero_credit = 0.3 }
'''


def iris_csv() -> str:
    """Iris as an instructor would export it: named columns, the species as words, in the last column."""
    table = iris.load()
    lines = [",".join(COLUMNS) + ",species"]
    lines += [",".join(f"{v:g}" for v in row) + f",{SPECIES[label]}" for row, label in zip(table.features, table.labels)]
    return "\n".join(lines) + "\n"


def folder_with(tmp_path, csv_text: str | None = None, spec: str = SPEC):
    folder = tmp_path / "flowers"
    folder.mkdir(exist_ok=True)
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    if csv_text is not None:
        (folder / "flowers.csv").write_text(csv_text, encoding="utf-8")
    return folder


def test_a_csv_s_columns_are_named_and_its_classes_read_in_the_spec_s_order(tmp_path):
    loaded = load_assignment(str(folder_with(tmp_path, iris_csv())))
    assert loaded.spec.models[0].features == [0, 1, 2, 3] and loaded.spec.models[1].features == [2, 0]
    assert loaded.spec.models[1].target == [3]
    splits = loaded.splits()
    table = iris.load()
    assert np.bincount(splits["lr"].test_classes).tolist() == [15, 15, 15]  # stratified, 30% of each
    petal = splits["petal"]
    assert petal.train_x.shape == (105, 2) and petal.test_y.shape == (45, 1)
    assert {tuple(row) for row in petal.test_x} <= {tuple(row) for row in table.features[:, [2, 0]]}


def test_a_module_is_graded_on_the_file_s_rows(tmp_path):
    folder = folder_with(tmp_path, iris_csv(), SPEC.split("[[models]]\nid = \"petal\"")[0])
    submission = tmp_path / "lr.py"
    submission.write_text(WINE_LR, encoding="utf-8")
    result = grade_file(submission, load_assignment(str(folder)), lang="en").result
    assert result.score == result.max_score
    assert next(c for c in result.checks if c.id == "lr.test_accuracy").status == "passed"


def test_the_file_is_part_of_the_spec_hash(tmp_path):
    folder = folder_with(tmp_path, iris_csv())
    before = load_assignment(str(folder)).spec_sha256
    (folder / "flowers.csv").write_text(iris_csv().replace("5.1,3.5", "5.2,3.5", 1), encoding="utf-8")
    assert load_assignment(str(folder)).spec_sha256 != before


@pytest.mark.parametrize(("change", "error"), [
    (lambda csv, spec: (None, spec), "flowers.csv: not found: [dataset] file names it"),
    (lambda csv, spec: (csv, spec.replace('"petal_length", "sepal_length"', '"petal_length", "stem"')),
     "models.1.features: no column 'stem' in flowers.csv (its columns: sepal_length, sepal_width, petal_length, "
     "petal_width)"),
    (lambda csv, spec: (csv.replace("5.1,3.5", "5.1,n/a", 1), spec),
     "line 2, column 'sepal_width': 'n/a' is not a number"),
    (lambda csv, spec: (csv.replace("setosa", "Setosa", 1), spec),
     "class_column 'species' holds 'Setosa', not among class_names (setosa, versicolor, virginica)"),
    (lambda csv, spec: (csv, spec.replace('class_column = "species"', 'class_column = "kind"')),
     "no column 'kind' (class_column)"),
    (lambda csv, spec: (csv.replace(",species\n", ",species,extra\n", 1), spec), "line 2 has 5 values for 6 columns"),
    (lambda csv, spec: (csv, spec.replace('file = "flowers.csv"', 'file = "../flowers.csv"')), "dataset.file"),
])
def test_a_file_that_does_not_fit_is_refused_when_the_spec_loads_naming_it(tmp_path, change, error):
    csv_text, spec = change(iris_csv(), SPEC)
    with pytest.raises(AssignmentError) as refused:
        load_assignment(str(folder_with(tmp_path, csv_text, spec)))
    assert error in str(refused.value)


def test_an_npz_holds_arrays_as_a_generator_returns_them(tmp_path):
    table = iris.load()
    buffer = io.BytesIO()
    np.savez(buffer, x=table.features.reshape(150, 2, 2), classes=table.labels, class_names=np.array(SPECIES))
    spec = (SPEC.split("[[models]]\nid = \"petal\"")[0].replace('file = "flowers.csv"', 'file = "flowers.npz"')
            .replace('class_column = "species"\nclass_names = ["setosa", "versicolor", "virginica"]\n', "")
            .replace('features = "all"', 'features = "all"\ninput_shape = [2, 2]')
            .replace('layers = ["linear", "sigmoid"]', 'pattern = ["linear(4,3)", "sigmoid"]')
            .replace("args = [4, 3]", "args = [4, 3]\noutputs = 3"))
    folder = folder_with(tmp_path, None, spec)
    (folder / "flowers.npz").write_bytes(buffer.getvalue())
    loaded = load_assignment(str(folder))
    split = loaded.splits()["lr"]
    assert split.train_x.shape == (105, 2, 2) and split.class_names == SPECIES
    (folder / "flowers.npz").write_bytes(b"not a zip")
    with pytest.raises(AssignmentError, match="flowers.npz: not a readable .npz"):
        load_assignment(str(folder))
