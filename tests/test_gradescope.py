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
    assert 'pip" install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu' in setup
    assert '"$VENV/bin/pip" install "$SOURCE/package[sandbox]"' in setup
    assert 'sh "$SOURCE/setup-sandbox.sh" "$VENV"' in setup and "setup-sandbox.sh" in names
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
    expected_ids = [f"{m.id}.{name}" for m in spec.models for name in check_names(spec, m)]
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
    # The report itself is the output students see (its content: no page around it, no script).
    assert results["output"].startswith("<p>25 of 25 points") and results["output_format"] == "html"
    assert "<main>" in results["output"] and "<script" not in results["output"] and "<style" not in results["output"]
    assert results["output"].count('<svg class="plot"') == 10 and "Multiple linear regression (MLR)" in results["output"]
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


STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$LOG"
"""
# A Python that says its version (for setup.sh's check) and makes a venv whose pip only logs.
PYTHON_STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> "$LOG"
if [ "$1" = "-c" ]; then exit $VERSION_CHECK; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
    mkdir -p "$3/bin"; printf '#!/bin/sh\\necho "pip $*" >> "$LOG"\\n' > "$3/bin/pip"; chmod +x "$3/bin/pip"
fi
"""


@pytest.mark.parametrize("image, too_old", [("ubuntu-22.04 (python3 is 3.10)", True), ("ubuntu-24.04 (python3 is 3.12)", False)])
def test_setup_sh_installs_a_python_the_grader_runs_on_and_the_sandbox(autograder, tmp_path, image, too_old):
    """setup.sh with the image's commands stubbed (apt-get, python3, python3.11 log what they are
    asked): on 22.04 it installs python3.11 and builds the venv with it, on 24.04 it keeps python3;
    either way torch's CPU build, the grader with its sandbox extra, and the sandbox setup."""
    source = unpack(autograder, tmp_path / "source")
    (source / "setup-sandbox.sh").write_text('echo "setup-sandbox $*" >> "$LOG"\n', encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("apt-get", STUB), ("python3", PYTHON_STUB), ("python3.11", PYTHON_STUB)):
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    log, venv = tmp_path / "log", tmp_path / "venv"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LOG": str(log), "GRADESCOPE_SOURCE": str(source),
           "GRADER_VENV": str(venv), "VERSION_CHECK": "1" if too_old else "0"}
    done = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    steps = log.read_text(encoding="utf-8").splitlines()
    python = "python3.11" if too_old else "python3"
    assert ("apt-get install -y --no-install-recommends python3.11 python3.11-venv" in steps) == too_old, image
    assert f"{python} -m venv {venv}" in steps
    assert steps[-3:] == ["pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu",
                          f"pip install {source}/package[sandbox]", f"setup-sandbox {venv}"]
