"""The assignment spec: the real one loads; a wrong key or type is a clear error, not a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ASSIGNMENT_DIR, MODEL_IDS, ROOT, SOLUTION_PY

from grader.checks.registry import max_score
from grader.spec import AssignmentError, load_assignment

SCRIPT = Path(sys.executable).parent / "grader"
GRADER = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "grader"]


def test_iris_basics_loads():
    loaded = load_assignment("iris_basics")
    spec = loaded.spec
    assert spec.id == "iris_basics"
    assert tuple(m.id for m in spec.models) == MODEL_IDS
    assert spec.lang == "ja" and spec.mode == "definitions"
    assert max_score(spec) == 25
    assert len(loaded.spec_sha256) == 64
    assert loaded.folder.resolve() == ASSIGNMENT_DIR.resolve()


def test_load_by_path_matches_load_by_name():
    assert load_assignment(str(ASSIGNMENT_DIR)).spec == load_assignment("iris_basics").spec
    assert load_assignment(str(ASSIGNMENT_DIR / "assignment.toml")).spec_sha256 == load_assignment().spec_sha256


def test_unknown_assignment_name():
    with pytest.raises(AssignmentError, match="no_such_assignment"):
        load_assignment("no_such_assignment")


def _spec_copy(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "spec"
    shutil.copytree(ASSIGNMENT_DIR, folder, ignore=shutil.ignore_patterns("examples", "*.ipynb"))
    path = folder / "assignment.toml"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


@pytest.fixture
def unknown_key_spec(tmp_path):
    return _spec_copy(tmp_path, "epochs = 500\n", "epochs = 500\ncolour = \"red\"\n")


@pytest.fixture
def wrong_type_spec(tmp_path):
    return _spec_copy(tmp_path, "epochs = 500\n", "epochs = \"many\"\n")


def test_unknown_key_names_file_and_key(unknown_key_spec):
    with pytest.raises(AssignmentError) as caught:
        load_assignment(str(unknown_key_spec))
    message = str(caught.value)
    assert str(unknown_key_spec / "assignment.toml") in message
    assert "recipe.colour" in message


def test_wrong_type_names_file_and_key(wrong_type_spec):
    with pytest.raises(AssignmentError) as caught:
        load_assignment(str(wrong_type_spec))
    message = str(caught.value)
    assert str(wrong_type_spec / "assignment.toml") in message
    assert "recipe.epochs" in message


def test_wrong_type_in_a_model_names_its_index(tmp_path):
    folder = _spec_copy(tmp_path, "metric = { name = \"test_mse\", kind = \"mse\", full_credit = 0.15",
                        "metric = { name = \"test_mse\", kind = \"mse\", full_credit = \"low\"")
    with pytest.raises(AssignmentError, match=r"models\.4\.metric\.full_credit"):
        load_assignment(str(folder))


def test_the_data_set_is_one_of_the_registry(tmp_path):
    from grader.spec.datasets import MODULES, class_names, splits_for

    assert sorted(MODULES) == ["breast_cancer", "diabetes", "digits", "iris", "wine"]
    splits = splits_for(load_assignment("iris_basics").spec)
    lr = splits["lr"]
    assert lr.class_names == class_names("iris") == ("setosa", "versicolor", "virginica")
    assert lr.test_x.shape == (75, 4) and lr.test_y.shape == (75, 3) and lr.test_classes.tolist().count(2) == 25
    assert (lr.test_y.argmax(axis=1) == lr.test_classes).all()
    with pytest.raises(AssignmentError, match=r"dataset\.name: .*unknown data set 'mnist' \(known: breast_cancer, diabetes, digits, iris, wine, or 'generated' with a generator, or 'file' with a file\)"):
        load_assignment(str(_spec_copy(tmp_path, 'name = "iris"', 'name = "mnist"')))


def test_invalid_toml_names_file(tmp_path):
    folder = _spec_copy(tmp_path, "epochs = 500\n", "epochs = = 500\n")
    with pytest.raises(AssignmentError) as caught:
        load_assignment(str(folder))
    assert str(folder / "assignment.toml") in str(caught.value)


@pytest.mark.parametrize("fixture, key", [("unknown_key_spec", "recipe.colour"), ("wrong_type_spec", "recipe.epochs")])
def test_cli_reports_bad_spec_without_traceback(request, fixture, key):
    folder = request.getfixturevalue(fixture)
    completed = subprocess.run(
        [*GRADER, "check", str(SOLUTION_PY), "-a", str(folder)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )
    assert completed.returncode == 2, completed.stderr
    assert key in completed.stderr
    assert str(folder / "assignment.toml") in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout
