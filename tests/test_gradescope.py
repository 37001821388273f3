"""Gradescope: `grader gradescope build` writes the autograder zip; its `run_autograder`, unpacked into
a temporary folder (paths given by environment variables), grades the reference solution and writes
results.json with one test per check at full marks (lms-formats.md §3).

run_autograder runs with this venv's Python (GRADER_PYTHON) and the grader copy inside the zip
(it puts package/ first on PYTHONPATH); setup.sh, which installs Python and torch on Gradescope's
image, is checked for what it installs but not run here.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.checks.registry import check_names
from grader.cli import main
from grader.sandbox import tiers
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_IPYNB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"


@pytest.fixture(scope="module")
def autograder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build") / "autograder.zip"
    assert main(["gradescope", "build", "-a", "iris_basics", "-o", str(out), "--lang", "en"]) == 0
    return out


def unpack(archive_path: Path, target: Path) -> Path:
    """Unpack as Gradescope does, keeping the executable bits the zip records."""
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            path = target / info.filename
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)
    return target


def run_autograder(source: Path, submission: Path, results: Path, metadata: Path | None = None) -> dict:
    env = {**os.environ, "GRADESCOPE_SOURCE": str(source), "GRADESCOPE_SUBMISSION": str(submission),
           "GRADESCOPE_RESULTS": str(results), "GRADESCOPE_METADATA": str(metadata or source / "none.json"),
           "GRADER_PYTHON": sys.executable}
    done = subprocess.run([str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=240,
                          cwd=source)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((results / "results.json").read_text(encoding="utf-8"))


def test_zip_has_setup_and_run_autograder_at_its_root(autograder):
    with zipfile.ZipFile(autograder) as archive:
        names = set(archive.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        config = json.loads(archive.read("grader-gradescope.json"))
    assert {"setup.sh", "run_autograder", "grader-gradescope.json", "assignment/assignment.toml",
            "package/pyproject.toml", "package/grader/__init__.py", "package/grader/apps/gradescope.py",
            "package/grader/outputs/report/templates/report.html.j2"} <= names
    assert not any("__pycache__" in n or n.startswith("assignment/examples/") for n in names)
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert 'pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu' in setup
    assert "pip install /autograder/source/package" in setup
    assert config["assignment"] == "iris_basics" and config["lang"] == "en" and config["visibility"] == "visible"


def test_run_autograder_grades_the_reference_solution_at_full_marks(autograder, tmp_path):
    source = unpack(autograder, tmp_path / "source")
    submission = tmp_path / "submission"
    submission.mkdir()
    (submission / "solution.ipynb").write_bytes(SOLUTION_IPYNB.read_bytes())
    (submission / "__MACOSX").mkdir()
    (submission / "__MACOSX" / "._solution.ipynb").write_bytes(b"\x00")
    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"id": 1, "users": [{"email": "jane@example.edu", "id": 7, "name": "Jane"}]}))
    results = run_autograder(source, submission, tmp_path / "results", metadata)

    spec = load_assignment("iris_basics").spec
    expected_ids = [f"{m.id}.{name}" for m in spec.models for name in check_names(m)]
    assert [t["name"].rsplit("(", 1)[1].rstrip(")") for t in results["tests"]] == expected_ids
    assert len(results["tests"]) == 33
    for test in results["tests"]:
        # The capture's row has no points: it says the model was graded on its graph.
        capture = test["name"].endswith(".capture)")
        assert test["score"] == test["max_score"] and (test["max_score"] == 0) == capture, test
        assert test["status"] == "passed" and test["visibility"] == "visible"
    assert results["tests"][0]["name"] == "Multiple linear regression (MLR): Class defined (mlr.defined)"
    assert results["tests"][1]["name"] == "Multiple linear regression (MLR): Captured as a graph (mlr.capture)"
    assert results["tests"][0]["number"] == "1.1" and results["tests"][-1]["number"] == "5.7"
    assert results["score"] == 25 == sum(t["score"] for t in results["tests"])
    assert results["output"].startswith("25 of 25 points")
    assert results["extra_data"]["status"] == "graded"
    # Whether the run was sandboxed, and why not, for the instructor only (never in the students' output).
    extra = results["extra_data"]
    assert extra["isolated"] == (extra["not_isolated"] is None)
    # The grader runs from the zip's package/ (on PYTHONPATH only): sandboxed all the same where this
    # machine has a sandbox (its probe used -I, which ignores PYTHONPATH, and said there was none).
    assert extra["isolated"] == tiers.detect().isolated
    if not extra["isolated"]:
        assert extra["not_isolated"].startswith("This run was not isolated") and "not isolated" not in results["output"]
    assert (tmp_path / "results" / "report.html").read_text(encoding="utf-8").count("jane@example.edu") >= 1


def test_run_autograder_leaves_a_results_json_when_the_grader_cannot_start(autograder, tmp_path):
    """As on Gradescope's Ubuntu 22.04 image, whose Python 3.10 has no tomllib: the grader dies at its
    first import, and Gradescope got no results.json at all."""
    source = unpack(autograder, tmp_path / "source")
    python = tmp_path / "python3.10"
    python.write_text("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'tomllib'\" >&2\nexit 1\n", encoding="utf-8")
    python.chmod(0o755)
    env = {**os.environ, "GRADESCOPE_SOURCE": str(source), "GRADESCOPE_SUBMISSION": str(tmp_path),
           "GRADESCOPE_RESULTS": str(tmp_path / "results"), "GRADER_PYTHON": str(python)}
    done = subprocess.run([str(source / "run_autograder")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "No module named 'tomllib'" in done.stderr
    results = json.loads((tmp_path / "results" / "results.json").read_text(encoding="utf-8"))
    assert results["score"] == 0.0 and results["stdout_visibility"] == "visible"
    assert results["output"].startswith("The autograder could not run (exit status 1): the grader did not start")


def test_run_autograder_with_nothing_gradeable_scores_zero_and_says_why(autograder, tmp_path):
    source = unpack(autograder, tmp_path / "source")
    submission = tmp_path / "submission"
    submission.mkdir()
    results = run_autograder(source, submission, tmp_path / "results")
    assert results["score"] == 0.0 and results["tests"] == []
    assert results["output"] == "The submission holds no .ipynb or .py file. Hand in a notebook or a module."
