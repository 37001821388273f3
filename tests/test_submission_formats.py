"""Reading submissions: encodings, notebook versions, zips, and files that cannot be graded.

Almost everything here calls `read_submission` directly (nothing runs); only the last tests go
through `grade_file`, with an invalid file, which returns before any sandbox starts.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import write_notebook
from fixtures.submissions import SOLUTION_PY as SOLUTION

from grader.i18n import Messages
from grader.intake.submission import InvalidSubmission, read_submission
from grader.pipeline import grade_file

JAPANESE_MODULE = (
    "# アヤメのデータで線形重回帰をします\n"
    "import torch\n"
    "\n"
    "\n"
    "class MLR(torch.nn.Module):\n"
    "    \"\"\"線形重回帰\"\"\"\n"
    "\n"
    "    def __init__(self, n_input, n_output):\n"
    "        super().__init__()\n"
    "        self.l1 = torch.nn.Linear(n_input, n_output)  # 線形層\n"
    "\n"
    "    def forward(self, x):\n"
    "        return self.l1(x)\n"
)


def _invalid_key(path: Path) -> str:
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path)
    return caught.value.key


def _only_cell(path: Path) -> str:
    submission = read_submission(path)
    assert submission.kind == "module"
    assert len(submission.cells) == 1
    return submission.cells[0].source


# ---- .py encodings -----------------------------------------------------------------------------
def test_module_utf8(tmp_path):
    path = tmp_path / "taro.py"
    path.write_text(JAPANESE_MODULE, encoding="utf-8")
    submission = read_submission(path)
    assert submission.cells[0].source == JAPANESE_MODULE
    assert submission.notes == ()
    assert submission.student_id == "taro"
    assert submission.main_file == "taro.py"
    assert len(submission.sha256) == 64


def test_module_utf8_with_bom(tmp_path):
    path = tmp_path / "bom.py"
    path.write_bytes(b"\xef\xbb\xbf" + JAPANESE_MODULE.encode("utf-8"))
    source = _only_cell(path)
    assert source == JAPANESE_MODULE
    assert not source.startswith("\ufeff")
    assert read_submission(path).notes == ()


def test_module_with_pep263_shift_jis_declaration(tmp_path):
    text = "# -*- coding: shift_jis -*-\n" + JAPANESE_MODULE
    path = tmp_path / "sjis.py"
    path.write_bytes(text.encode("shift_jis"))
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")  # the test really is about a non-UTF-8 file
    submission = read_submission(path)
    assert submission.cells[0].source == text
    assert "アヤメのデータで線形重回帰をします" in submission.cells[0].source
    assert submission.notes == ()  # declared: nothing was guessed


def test_module_cp932_without_declaration_is_guessed_and_noted(tmp_path):
    path = tmp_path / "cp932.py"
    path.write_bytes(JAPANESE_MODULE.encode("cp932"))
    submission = read_submission(path)
    assert submission.cells[0].source == JAPANESE_MODULE
    assert submission.notes == ("encoding:cp932",)


def test_binary_py_is_rejected(tmp_path):
    path = tmp_path / "binary.py"
    path.write_bytes(b"\x7fELF\x02\x01\x01\x00\x00\x00" + bytes(range(256)))
    assert _invalid_key(path) == "submission.binary"


@pytest.mark.parametrize("name", ["empty.py", "empty.ipynb"])
def test_empty_file(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert _invalid_key(path) == "submission.empty"


def test_whitespace_only_file_is_empty(tmp_path):
    path = tmp_path / "blank.py"
    path.write_text("\n   \n\t\n", encoding="utf-8")
    assert _invalid_key(path) == "submission.empty"


@pytest.mark.parametrize("name", ["report.txt", "model.pdf", "notebook"])
def test_unknown_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("import torch\n", encoding="utf-8")
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path)
    assert caught.value.key == "submission.unknown_type"
    assert caught.value.params["file"] == name


def test_missing_file(tmp_path):
    assert _invalid_key(tmp_path / "nothing.py") == "submission.not_found"


# ---- notebooks ---------------------------------------------------------------------------------
def test_notebook_v4_cells_numbered_among_all_cells(tmp_path):
    path = write_notebook(tmp_path / "hanako.ipynb", [
        ("markdown", "# title"), ("code", "import torch"), ("markdown", "text"), ("code", "x = 1"),
    ])
    submission = read_submission(path)
    assert submission.kind == "notebook"
    assert [(c.number, c.source) for c in submission.cells] == [(2, "import torch"), (4, "x = 1")]
    assert [c.number for c in submission.markdown] == [1, 3]


def test_notebook_v3_worksheets_upgraded(tmp_path):
    v3 = {
        "nbformat": 3, "nbformat_minor": 0, "metadata": {"name": "old"},
        "worksheets": [{"metadata": {}, "cells": [
            {"cell_type": "heading", "level": 1, "metadata": {}, "source": "Iris"},
            {"cell_type": "code", "language": "python", "collapsed": False, "metadata": {}, "outputs": [],
             "input": "import torch"},
            {"cell_type": "markdown", "metadata": {}, "source": "Some text"},
            {"cell_type": "code", "language": "python", "collapsed": False, "metadata": {}, "outputs": [],
             "input": ["x = 1\n", "y = 2"]},
        ]}],
    }
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(v3), encoding="utf-8")
    submission = read_submission(path)
    assert submission.kind == "notebook"
    assert [(c.number, c.source) for c in submission.cells] == [(2, "import torch"), (4, "x = 1\ny = 2")]
    assert [c.number for c in submission.markdown] == [1, 3]  # the heading became markdown


def test_broken_json(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [ {"cell_type": "code", "source": "x = 1"', encoding="utf-8")
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path)
    assert caught.value.key == "submission.bad_json"
    # The message says where the JSON breaks (line 1 here), in both languages.
    for lang in ("en", "ja"):
        text = Messages(lang).text(caught.value.key, **caught.value.params)
        assert "broken.ipynb" in text and "1" in text
    assert "line 1" in Messages("en").text(caught.value.key, **caught.value.params)


def test_json_that_is_not_a_notebook(tmp_path):
    path = tmp_path / "data.ipynb"
    path.write_text('{"hello": "world"}', encoding="utf-8")
    assert _invalid_key(path) == "submission.not_notebook"


def test_notebook_without_code_cells(tmp_path):
    path = write_notebook(tmp_path / "essay.ipynb", [("markdown", "only words")])
    assert _invalid_key(path) == "submission.no_code"


# ---- zips --------------------------------------------------------------------------------------
def _notebook_bytes(tmp_path: Path, source: str) -> bytes:
    return write_notebook(tmp_path / "scratch.ipynb", [("code", source)]).read_bytes()


def test_zip_with_notebook_and_macosx_junk(tmp_path):
    path = tmp_path / "s1234.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("homework/iris.ipynb", _notebook_bytes(tmp_path, "import torch"))
        archive.writestr("__MACOSX/homework/._iris.ipynb", b"\x00\x05\x16\x07 resource fork")
        archive.writestr("homework/.DS_Store", b"\x00\x00\x00\x01Bud1")
        archive.writestr(".ipynb_checkpoints/iris-checkpoint.ipynb", _notebook_bytes(tmp_path, "old = 1"))
    submission = read_submission(path)
    assert submission.kind == "notebook"
    assert submission.main_file == "s1234.zip/homework/iris.ipynb"
    assert submission.student_id == "s1234"
    assert [c.source for c in submission.cells] == ["import torch"]


def test_zip_with_two_notebooks_is_ambiguous(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.ipynb", _notebook_bytes(tmp_path, "a = 1"))
        archive.writestr("sub/b.ipynb", _notebook_bytes(tmp_path, "b = 2"))
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path)
    assert caught.value.key == "submission.zip_ambiguous"
    assert "a.ipynb" in caught.value.params["files"] and "sub/b.ipynb" in caught.value.params["files"]


MODEL_CLASSES = ("MLR", "LR", "MLPR", "MLPC", "AE", "AutoEncoder", "Autoencoder")


def test_a_zip_of_a_model_and_its_helper_grades_the_model_with_the_helper_beside_it(tmp_path, assignment):
    """helpers.py comes first in the alphabet (and first in the zip), and was graded once: 0 points."""
    model = SOLUTION.read_text(encoding="utf-8").replace("import torch\n", "import torch\nfrom helpers import LEARNING\n", 1)
    path = tmp_path / "s77.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("helpers.py", "LEARNING = 'rate'\n\ndef plot(history):\n    return None\n")
        archive.writestr("model.py", model)
    submission = read_submission(path, model_classes=MODEL_CLASSES)
    assert submission.main_file == "s77.zip/model.py" and list(submission.extra_files) == ["helpers.py"]
    result = grade_file(path, assignment, lang="en").result
    assert result.submission.file == "s77.zip/model.py" and result.score == result.max_score


def test_a_zip_whose_files_define_the_classes_alike_is_ambiguous_not_alphabetical(tmp_path):
    path = tmp_path / "twice.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("draft.py", SOLUTION.read_text(encoding="utf-8"))
        archive.writestr("final.py", SOLUTION.read_text(encoding="utf-8"))
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path, model_classes=MODEL_CLASSES)
    assert (caught.value.key, caught.value.params["files"]) == ("submission.zip_ambiguous", "draft.py, final.py")
    assert "Zip only the one to grade" in Messages("en").text(caught.value.key, **caught.value.params)


def test_a_zip_of_two_notebooks_grades_the_one_with_the_classes(tmp_path):
    path = tmp_path / "two.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a_scratch.ipynb", _notebook_bytes(tmp_path, "x = 1"))
        archive.writestr("homework.ipynb", _notebook_bytes(tmp_path, "import torch\nclass MLR(torch.nn.Module):\n    pass"))
        archive.writestr("helpers.py", "WIDTH = 3\n")
    submission = read_submission(path, model_classes=MODEL_CLASSES)
    assert submission.main_file == "two.zip/homework.ipynb" and list(submission.extra_files) == ["helpers.py"]


def test_zip_with_only_junk_is_empty(tmp_path):
    path = tmp_path / "junk.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__MACOSX/._iris.ipynb", b"\x00\x05\x16\x07")
        archive.writestr("readme.txt", "hello")
    assert _invalid_key(path) == "submission.zip_empty"


def test_damaged_zip(tmp_path):
    path = tmp_path / "damaged.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    assert _invalid_key(path) == "submission.bad_zip"


# ---- through grade_file: invalid results -------------------------------------------------------
@pytest.fixture
def broken_notebook(tmp_path):
    path = tmp_path / "jiro.ipynb"
    path.write_text("{ not json", encoding="utf-8")
    return path


def _expected_message(path: Path, lang: str) -> str:
    with pytest.raises(InvalidSubmission) as caught:
        read_submission(path)
    return Messages(lang).text(caught.value.key, **caught.value.params)


def test_invalid_file_result_in_japanese_by_default(broken_notebook, assignment):
    assert assignment.spec.lang == "ja"
    result = grade_file(broken_notebook, assignment).result
    assert result.status == "invalid"
    assert result.score == 0
    assert result.max_score == 25
    assert result.checks == []
    assert result.lang == "ja"
    assert result.submission.student_id == "jiro"
    assert result.message == _expected_message(broken_notebook, "ja")
    assert "ノートブックとして読めません" in result.message
    assert "jiro.ipynb" in result.message


def test_invalid_file_result_in_english(broken_notebook, assignment):
    result = grade_file(broken_notebook, assignment, lang="en").result
    assert result.status == "invalid"
    assert result.score == 0
    assert result.lang == "en"
    assert result.message == _expected_message(broken_notebook, "en")
    assert result.message.startswith("jiro.ipynb cannot be read as a notebook")
    assert "Open it in Jupyter and save it again." in result.message


def test_invalid_result_is_valid_json(tmp_path, assignment):
    path = tmp_path / "empty.py"
    path.write_bytes(b"")
    result = grade_file(path, assignment, lang="en").result
    data = json.loads(result.to_json())
    assert data["status"] == "invalid" and data["score"] == 0
    assert data["message"] == Messages("en").text("submission.empty", file="empty.py")
