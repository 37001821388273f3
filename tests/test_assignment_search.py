"""`-a NAME` is looked for on a search path: `--assignments DIR`, then `GRADER_ASSIGNMENTS`, then the
assignments bundled in the package (so that an installed wheel grades them); a path is taken as is.

Each copy below gets its own id, so that which one was loaded shows in the spec and in the result.
`scripts/try-wheel.sh` does what these cannot in a test's time: builds the wheel, installs it into a
fresh virtualenv and grades the reference solution from outside the checkout.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

import pytest
from conftest import ASSIGNMENT_DIR, ROOT

from grader.cli import main
from grader.pipeline import load_assignment
from grader.spec import BUNDLED_ASSIGNMENTS, SEARCH_PATH_VARIABLE, AssignmentError, search_path


def copy_of_iris_basics(parent: Path, assignment_id: str, name: str = "iris_basics") -> Path:
    """The bundled iris_basics under `parent/name`, with the id `assignment_id`."""
    folder = parent / name
    folder.mkdir(parents=True)
    text = (ASSIGNMENT_DIR / "assignment.toml").read_text(encoding="utf-8")
    text, count = re.subn(r'(?m)^id = "iris_basics"$', f'id = "{assignment_id}"', text)
    assert count == 1
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    (folder / "messages.toml").write_bytes((ASSIGNMENT_DIR / "messages.toml").read_bytes())
    return folder


@pytest.fixture(autouse=True)
def no_search_path_variable(monkeypatch):
    monkeypatch.delenv(SEARCH_PATH_VARIABLE, raising=False)


def test_the_bundled_assignments_are_in_the_package():
    assert BUNDLED_ASSIGNMENTS == ROOT / "grader" / "assignments"
    loaded = load_assignment("iris_basics")
    assert loaded.folder == BUNDLED_ASSIGNMENTS / "iris_basics" and loaded.spec.id == "iris_basics"
    assert loaded.messages.entries and loaded.messages.class_names


def test_a_folder_of_grader_assignments_wins_over_the_bundled_one(tmp_path, monkeypatch):
    mine = copy_of_iris_basics(tmp_path / "mine", "from_variable")
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "mine"))
    loaded = load_assignment("iris_basics")
    assert (loaded.folder, loaded.spec.id) == (mine, "from_variable")
    assert loaded.messages == load_assignment(str(ASSIGNMENT_DIR)).messages  # its own messages file


def test_grader_assignments_is_searched_in_its_order_and_falls_back_to_the_bundled(tmp_path, monkeypatch):
    copy_of_iris_basics(tmp_path / "first", "first")
    copy_of_iris_basics(tmp_path / "second", "second")
    copy_of_iris_basics(tmp_path / "second", "only_second", name="other")
    folders = [tmp_path / "missing", tmp_path / "first", tmp_path / "second"]
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, os.pathsep.join(map(str, folders)) + os.pathsep)
    assert load_assignment("iris_basics").spec.id == "first"
    assert load_assignment("other").spec.id == "only_second"
    assert [folder for folder, _ in search_path()] == [*folders, BUNDLED_ASSIGNMENTS]
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "missing"))
    assert load_assignment("iris_basics").folder == BUNDLED_ASSIGNMENTS / "iris_basics"


def test_the_assignments_option_wins_over_both(tmp_path, monkeypatch):
    copy_of_iris_basics(tmp_path / "variable", "from_variable")
    given = copy_of_iris_basics(tmp_path / "option", "from_option")
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "variable"))
    loaded = load_assignment("iris_basics", [tmp_path / "option"])
    assert (loaded.folder, loaded.spec.id) == (given, "from_option")
    origins = [origin for _, origin in search_path([tmp_path / "option"])]
    assert origins == ["--assignments", SEARCH_PATH_VARIABLE, "bundled"]


def test_a_path_is_taken_as_it_is_whatever_the_search_path(tmp_path, monkeypatch):
    copy_of_iris_basics(tmp_path / "variable", "from_variable")
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "variable"))
    assert load_assignment(str(ASSIGNMENT_DIR)).spec.id == "iris_basics"
    assert load_assignment(str(ASSIGNMENT_DIR / "assignment.toml")).spec.id == "iris_basics"


def test_not_found_lists_the_folders_searched_and_the_names_known(tmp_path, monkeypatch):
    copy_of_iris_basics(tmp_path / "variable", "other", name="other_course")
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "variable"))
    with pytest.raises(AssignmentError) as caught:
        load_assignment("nope", [tmp_path / "option"])
    message = str(caught.value)
    assert message.startswith("assignment 'nope' not found: not a folder with assignment.toml, nor a name in the "
                              "folders searched: ")
    assert (f"{tmp_path / 'option'} (--assignments); {tmp_path / 'variable'} ({SEARCH_PATH_VARIABLE}); "
            f"{BUNDLED_ASSIGNMENTS} (bundled)") in message
    assert message.endswith("(known: digits_cnn, iris_basics, iris_checks, other_course, sine_lstm, wine_mlp)")


@pytest.mark.parametrize("command", ["check", "grade"])
def test_the_cli_takes_assignments(tmp_path, monkeypatch, capsys, command):
    """An empty file is graded `invalid` at once (no sandbox): its result names the assignment used."""
    copy_of_iris_basics(tmp_path / "variable", "from_variable")
    copy_of_iris_basics(tmp_path / "option", "from_option")
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "variable"))
    empty = tmp_path / "empty.py"
    empty.write_text("", encoding="utf-8")
    out = tmp_path / "out"
    where = ["--json", str(out / "empty.json")] if command == "check" else ["-o", str(out), "-j", "1", "--cold"]
    for option, expected in (([], "from_variable"), (["--assignments", str(tmp_path / "option")], "from_option")):
        assert main([command, str(empty), "-a", "iris_basics", *option, *where]) == 0
        written = out / "empty.json" if command == "check" else out / "results" / "empty.json"
        assert json.loads(written.read_text(encoding="utf-8"))["assignment"] == expected
    assert main([command, str(empty), "-a", "nope", *where]) == 2
    assert "assignment 'nope' not found" in capsys.readouterr().err


def test_the_wheel_holds_every_file_of_the_bundled_assignments():
    """What pyproject.toml's package data takes of grader/assignments/ (globbed from grader/, as
    setuptools does): every file but bytecode."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    taken = {p for pattern in config["package-data"]["grader"] for p in (ROOT / "grader").glob(pattern) if p.is_file()}
    files = {p for p in BUNDLED_ASSIGNMENTS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert {ASSIGNMENT_DIR / "messages.toml", ASSIGNMENT_DIR / "examples" / "jiro_mistakes.py"} <= files
    assert sorted(files - taken) == []
    assert "grader.assignments*" in config["packages"]["find"]["exclude"]  # data, not modules of the grader


def test_the_upload_service_serves_the_search_paths_assignments_unless_given_a_folder(tmp_path, monkeypatch):
    from grader.apps.server.app import load_assignments

    mine = copy_of_iris_basics(tmp_path / "variable", "iris_basics")  # the bundled one's id: this one wins
    copy_of_iris_basics(tmp_path / "variable", "other_course", name="other")
    monkeypatch.setenv(SEARCH_PATH_VARIABLE, str(tmp_path / "variable"))
    served = load_assignments(None)
    assert sorted(served) == ["digits_cnn", "iris_basics", "iris_checks", "other_course", "sine_lstm", "wine_mlp"]
    assert served["iris_basics"].folder == mine
    assert served["iris_basics"].messages  # each with its messages file
    assert sorted(load_assignments(BUNDLED_ASSIGNMENTS)) == ["digits_cnn", "iris_basics", "iris_checks", "sine_lstm", "wine_mlp"]
