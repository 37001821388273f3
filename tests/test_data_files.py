"""An instructor's own data file (`[dataset] name = "file"`): a CSV whose columns a model names,
or an NPZ of arrays; read, checked and hashed when the assignment loads."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from test_datasets import WINE_LR

from grader.apps.validate import summary
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


def _lr_only(spec: str = SPEC) -> str:
    return spec.split("[[models]]\nid = \"petal\"")[0]


def fold_csv() -> str:
    """The iris CSV with a `fold` column: every fifth row is a test row."""
    lines = iris_csv().splitlines()
    rows = [f"{line},{'test' if number % 5 == 0 else 'train'}" for number, line in enumerate(lines[1:])]
    return "\n".join([lines[0] + ",fold", *rows]) + "\n"


COLUMN_SPLIT = _lr_only().replace('split = "stratified"\ntest_fraction = 0.3',
                                  'split = "column"\nsplit_column = "fold"\ntest_values = ["test"]')


def test_a_column_split_tests_the_rows_its_column_marks_and_the_column_is_no_input(tmp_path):
    loaded = load_assignment(str(folder_with(tmp_path, fold_csv(), COLUMN_SPLIT)))
    assert loaded.spec.models[0].features == [0, 1, 2, 3]  # "all": the fold column is not one
    split = loaded.splits()["lr"]
    table = iris.load()
    assert split.test_x.shape == (30, 4) and split.train_x.shape == (120, 4)
    assert np.array_equal(split.test_x, table.features[::5]) and np.array_equal(split.test_classes, table.labels[::5])
    assert "data: file, split by the column fold: test test, the other values train (120 train, 30 test)" in \
        "\n".join(summary(loaded))


@pytest.mark.parametrize(("change", "error"), [
    (lambda spec: spec.replace('test_values = ["test"]', 'test_values = ["Test"]'),
     "dataset.test_values: no row's fold is one of Test (its values: test, train)"),
    (lambda spec: spec.replace('test_values = ["test"]', 'test_values = ["test"]\ntrain_values = ["test"]'),
     "test_values and train_values share ['test']: students would be scored on rows they trained on"),
    (lambda spec: spec.replace('split_column = "fold"', 'split_column = "folds"'), "no column 'folds' (split_column)"),
    (lambda spec: spec.replace('split_column = "fold"\n', ''), "a column split needs one"),
])
def test_a_column_split_that_leaves_no_test_rows_or_overlaps_is_refused(tmp_path, change, error):
    with pytest.raises(AssignmentError) as refused:
        load_assignment(str(folder_with(tmp_path, fold_csv(), change(COLUMN_SPLIT))))
    assert error in str(refused.value)


INDEX_SPLIT = re.sub(r"\[dataset\]\n.*?\n\n", '[dataset]\nname = "iris"\nsplit = "index_files"\ntest_index = "test_rows.txt"\n\n',
                     _lr_only(), flags=re.S)


def index_folder(tmp_path, test_rows: str, train_rows: str | None = None, spec: str = INDEX_SPLIT):
    folder = tmp_path / "listed"
    folder.mkdir(exist_ok=True)
    if train_rows is not None:
        spec = spec.replace('test_index = "test_rows.txt"', 'test_index = "test_rows.txt"\ntrain_index = "train_rows.txt"')
        (folder / "train_rows.txt").write_text(train_rows, encoding="utf-8")
    (folder / "assignment.toml").write_text(spec, encoding="utf-8")
    (folder / "test_rows.txt").write_text(test_rows, encoding="utf-8")
    return folder


def test_index_files_list_the_test_rows_and_the_training_rows(tmp_path):
    listed = "# the instructor's test rows\n" + "\n".join(map(str, range(0, 150, 3))) + "\n"
    loaded = load_assignment(str(index_folder(tmp_path, listed)))
    assert "data: iris, the rows test_rows.txt lists test, the others train (100 train, 50 test)" in "\n".join(summary(loaded))
    split = loaded.splits()["lr"]
    table = iris.load()
    assert np.array_equal(split.test_x, table.features[::3]) and split.train_x.shape == (100, 4)
    both = load_assignment(str(index_folder(tmp_path, "1, 2, 3", "10 11\n12"))).splits()["lr"]
    assert np.array_equal(both.train_x, table.features[10:13]) and np.array_equal(both.test_x, table.features[1:4])


def test_an_index_file_is_part_of_the_spec_hash_and_of_the_kit(tmp_path):
    from grader.apps.kit import public_files

    folder = index_folder(tmp_path, "1 2 3 4 5")
    before = load_assignment(str(folder))
    assert public_files(before)[0]["test_rows.txt"] == b"1 2 3 4 5"
    (folder / "test_rows.txt").write_text("1 2 3 4 6", encoding="utf-8")
    assert load_assignment(str(folder)).spec_sha256 != before.spec_sha256


@pytest.mark.parametrize(("test_rows", "train_rows", "error"), [
    ("1\n2\nseven", None, "test_rows.txt: line 3: 'seven' is not a row number (0, 1, 2, ...)"),
    ("1\n150", None, "test_rows.txt: line 2: row 150, but the data has 150 rows (0 to 149)"),
    ("1 2 1", None, "test_rows.txt: line 1: row 1 is listed twice"),
    ("# nothing yet\n", None, "test_rows.txt: lists no rows"),
    ("1 2 3", "3 4 5", "both list the rows 3: students would be scored on rows they trained on"),
])
def test_an_index_file_that_does_not_fit_is_refused_naming_its_line(tmp_path, test_rows, train_rows, error):
    with pytest.raises(AssignmentError) as refused:
        load_assignment(str(index_folder(tmp_path, test_rows, train_rows)))
    assert error in str(refused.value)


def test_a_missing_index_file_is_named(tmp_path):
    folder = index_folder(tmp_path, "1 2 3")
    (folder / "test_rows.txt").unlink()
    with pytest.raises(AssignmentError, match="test_rows.txt: not found: \\[dataset\\] test_index names it"):
        load_assignment(str(folder))


def colour_csv() -> str:
    """Iris with a column of words (a colour per species, noisy) and, in one test row only, a colour
    no training row has."""
    colours = ("red", "green", "blue")
    lines = iris_csv().splitlines()
    rows = []
    for number, line in enumerate(lines[1:]):
        values = line.split(",")
        colour = "violet" if number == 2 else colours[(number // 50 + (number % 7 == 0)) % 3]
        rows.append(",".join([*values[:2], colour, *values[2:]]))
    return "\n".join(["sepal_length,sepal_width,colour,petal_length,petal_width,species", *rows]) + "\n"


ONEHOT = (_lr_only().replace('split = "stratified"\ntest_fraction = 0.3', 'split = "parity"\npreprocess = "standardize"\n'
                             'onehot = ["colour"]')
          .replace('features = "all"', 'features = ["colour", "petal_length"]'))


def test_a_onehot_column_becomes_a_0_1_column_per_category_of_the_training_rows(tmp_path):
    loaded = load_assignment(str(folder_with(tmp_path, colour_csv(), ONEHOT)))
    # The training rows (odd) hold blue, green and red; "violet" (row 2, a test row) is none of them.
    assert loaded.spec.models[0].features == [2, 3, 4, 5]
    split = loaded.splits()["lr"]
    indicators = np.concatenate([split.train_x[:, :3], split.test_x[:, :3]])
    assert set(np.unique(indicators).tolist()) == {0.0, 1.0}  # no scaling of the indicators
    assert split.test_x[1, :3].tolist() == [0.0, 0.0, 0.0]  # row 2: a category the training rows lack
    assert split.train_x[0, :3].tolist() == [0.0, 0.0, 1.0]  # row 1: red
    assert abs(float(split.train_x[:, 3].mean())) < 1e-5  # petal length is standardised


def test_a_numeric_class_column_is_ordered_by_value(tmp_path):
    numbered = iris_csv().replace(",setosa", ",2").replace(",versicolor", ",10").replace(",virginica", ",1")
    spec = SPEC.replace('class_names = ["setosa", "versicolor", "virginica"]\n', "")
    split = load_assignment(str(folder_with(tmp_path, numbered, spec))).splits()["lr"]
    assert split.class_names == ("1", "2", "10")


def test_a_kit_of_a_file_holds_no_test_row_s_target_and_self_checks_on_the_same_rows(tmp_path):
    from grader.apps.kit import public_files

    spec = SPEC.replace('split = "stratified"\ntest_fraction = 0.3', 'split = "column"\nsplit_column = "fold"\n'
                        'test_values = ["test"]\n\n[dataset.validation]\nfraction = 0.2')
    spec = spec.replace('class_names = ["setosa", "versicolor", "virginica"]\n', "")  # the kit's spec names them
    loaded = load_assignment(str(folder_with(tmp_path, fold_csv(), spec)))
    files, withheld = public_files(loaded)
    assert withheld == ["the classes and target values of the 30 test rows of flowers.csv (self-checks score on "
                        "validation rows)"]
    lines = files["flowers.csv"].decode().splitlines()
    assert lines[0] == ",".join(COLUMNS) + ",species"  # the split column is left out
    tested = [line.split(",") for number, line in enumerate(lines[1:]) if number % 5 == 0]
    assert {row[4] for row in tested} == {"setosa"} and {row[3] for row in tested} == {"0"}  # class, petal width
    assert files["kit_test_rows.txt"].decode().split() == [str(n) for n in range(0, 150, 5)]
    assert 'class_names = ["setosa", "versicolor", "virginica"]' in files["assignment.toml"].decode()
    kit = tmp_path / "kit"
    kit.mkdir()
    for name, data in files.items():
        (kit / name).write_bytes(data)
    public = load_assignment(str(kit)).splits()
    for model in ("lr", "petal"):
        mine, theirs = public[model], loaded.public().splits()[model]
        for key in ("train_x", "train_y", "test_x", "test_y", "test_classes"):
            assert np.array_equal(getattr(mine, key), getattr(theirs, key)), (model, key)
