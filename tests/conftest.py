"""Shared fixtures and helpers: the assignment, grading one file, and building submission variants.

Grading one submission through the sandbox trains 5 models x 3 seeds in a subprocess (seconds), so
only the tests whose point is the sandbox or the harness do it, each file once (module-scoped
fixtures). The others grade recorded observations (`replayed`, fixtures/recorded.py: the pipeline
after the sandbox, in milliseconds).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import pytest
from fixtures import submissions as _submissions

# Building submissions: defined in fixtures/submissions.py (shared with the recorder), used from here.
from fixtures.submissions import (
    module_source,
    solution_class_sources,
    solution_text,
    substitute,
    write_module,
    write_notebook,
    write_substituted,
)

from grader.pipeline import grade_file
from grader.result import CheckResult, Graded, Result
from grader.sandbox import cgroups
from grader.spec import LoadedAssignment, load_assignment

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
SOLUTION_IPYNB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
ASSIGNMENT_DIR = _submissions.ASSIGNMENT_DIR
TEMPLATE_IPYNB = ASSIGNMENT_DIR / "assignment.ipynb"
MODEL_IDS = ("mlr", "lr", "mlpr", "mlpc", "ae")
SOLUTION_CLASSES = ("MLR", "LR", "MLPR", "MLPC", "AE")
__all__ = ["module_source", "solution_class_sources", "solution_text", "substitute", "write_module",
           "write_notebook", "write_substituted"]  # re-exported for the test modules


# ---- the assignment and grading ----------------------------------------------------------------
@functools.cache
def _assignment() -> LoadedAssignment:
    return load_assignment("iris_basics")


@pytest.fixture(scope="session")
def assignment() -> LoadedAssignment:
    return _assignment()


def grade(path: Path | str, lang: str | None = "en", mode: str | None = None) -> Result:
    """Grade one file against iris_basics and return its result JSON model."""
    return grade_full(path, lang=lang, mode=mode).result


def grade_full(path: Path | str, lang: str | None = "en", mode: str | None = None) -> Graded:
    return grade_file(Path(path), _assignment(), lang=lang, mode=mode)


def checks_by_id(result: Result) -> dict[str, CheckResult]:
    checks = {c.id: c for c in result.checks}
    assert len(checks) == len(result.checks), "duplicate check ids"
    return checks


def model_checks(result: Result, model: str) -> dict[str, CheckResult]:
    """The checks of one model, keyed by the check name (`structure`, not `mlr.structure`)."""
    return {c.id.split(".", 1)[1]: c for c in result.checks if c.model == model}


def statuses(result: Result, model: str) -> dict[str, str]:
    return {name: c.status for name, c in model_checks(result, model).items()}


def assert_full_marks(result: Result, models: Iterable[str]) -> None:
    for model in models:
        checks = model_checks(result, model)
        assert checks, f"no checks for {model}"
        bad = {name: (c.status, c.score, c.max_score, c.message) for name, c in checks.items()
               if c.status != "passed" or c.score != c.max_score}
        assert not bad, f"{model} lost points: {bad}"


# ---- what a run may leave behind ----------------------------------------------------------------
def leftover_cgroups() -> list[Path]:
    """The cgroups of this test process's runs that still exist (a cgroup cannot be removed while a
    process of it lives, so none means no survivor)."""
    found = []
    for base in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), cgroups.V2_BASE):
        if base.is_dir():
            found += [p for p in base.rglob(f"{cgroups.PREFIX}{os.getpid()}-*") if p.is_dir()]
    return found


def private_tempdir(monkeypatch: pytest.MonkeyPatch, prefix: str) -> Path:
    """A temporary folder for the runs of one test, to see that nothing is left in it (other tests,
    in parallel, make and remove their own in /tmp). Under /tmp and traversable, like the default one:
    without namespaces the sandbox user must reach its work directory."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# ---- recorded observations: grading without a sandbox ----------------------------------------------
def replayed(name: str, lang: str = "en", student_id: str | None = None) -> Graded:
    """`name` of fixtures/submissions.RECORDED graded from its recorded observations (milliseconds),
    once per test process, language and student id. Shared: do not change what it returns."""
    return _replayed(name, lang, student_id)


@functools.cache
def _replayed(name: str, lang: str, student_id: str | None) -> Graded:
    from fixtures.recorded import replay

    return replay(name, lang, student_id=student_id)
