"""`grader validate`: every problem of an assignment at once, each with its key, and a one-screen
summary of a good one."""

from __future__ import annotations

from pathlib import Path

from grader.cli import main
from grader.spec import BUNDLED_ASSIGNMENTS

SPEC = (BUNDLED_ASSIGNMENTS / "iris_basics" / "assignment.toml").read_text(encoding="utf-8")


def assignment_with(tmp_path: Path, *changes: tuple[str, str]) -> Path:
    text = SPEC
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new, 1)
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    return folder


def test_every_schema_problem_is_listed_with_its_key(tmp_path, capsys):
    folder = assignment_with(tmp_path, ('loss = "mse"', 'loss = "hinge"'),
                             ('test_rows = "even"', 'test_rows = "odd"'), ("lr = 0.05", "lr = -1"))
    assert main(["validate", "-a", str(folder)]) == 2
    err = capsys.readouterr().err
    assert f"{folder}: 3 problem(s)" in err
    assert "  recipe.loss: Input should be 'mse'" in err
    assert "  recipe.lr: Input should be greater than 0" in err
    assert ("  dataset: Value error, train_rows and test_rows are both 'odd': students would be scored on the "
            "rows they trained on") in err


def test_a_column_the_data_does_not_have_is_named_not_raised(tmp_path, capsys):
    folder = assignment_with(tmp_path, ("args = [3, 1]\nfeatures = [0, 1, 2]\ntarget = [3]",
                                        "args = [3, 1]\nfeatures = [0, 1, 9]\ntarget = [4]"))
    assert main(["validate", "-a", str(folder)]) == 2
    err = capsys.readouterr().err
    columns = "iris has 4: 0 sepal length, 1 sepal width, 2 petal length, 3 petal width"
    assert "1 problem(s)" in err
    assert (f"models.0.features (mlr): no column 9 ({columns}); models.0.target (mlr): no column 4 ({columns})"
            in err)


def test_a_target_narrower_than_the_output_is_refused_when_the_spec_loads(tmp_path, capsys):
    folder = assignment_with(tmp_path, ("args = [3, 1]\nfeatures = [0, 1, 2]\ntarget = [3]",
                                        "args = [2, 2]\nfeatures = [0, 1]\ntarget = [3]"))
    assert main(["validate", "-a", str(folder)]) == 2
    assert "models.0.args[-1] (mlr): 2 outputs, but the target needs 1 (one per target column)" in capsys.readouterr().err


def test_an_unknown_check_and_an_unknown_option_are_both_said(tmp_path, capsys):
    folder = assignment_with(tmp_path, ("args = [3, 1]\nfeatures = [0, 1, 2]\ntarget = [3]",
                                        "args = [2, 1]\nfeatures = [0, 1]\ntarget = [3]\npoints = { no_such_check = 1 }"
                                        "\nchecks = { parameter_count = { most = 3 } }"))
    assert main(["validate", "-a", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "no_such_check" in err and "parameter_count: takes one option, max =" in err


def test_a_good_assignment_gets_its_summary(capsys):
    assert main(["validate", "-a", "iris_basics"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("iris_basics: PyTorch basics: five models on the Iris data (")
    assert "  data: iris, train rows odd, test rows even (75 train, 75 test)" in out
    assert "  25 points of checks and 5 of written answers" in out
    assert "    test_accuracy (accuracy): full credit at 0.9, none at 0.6" in out
    assert "  written compare_models: 5 points" in out
    assert len(out) <= 24  # one screen
