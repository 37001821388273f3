"""Shared fixtures and helpers: the assignment, grading one file, and building submission variants.

Grading one submission trains 5 models x 3 seeds in a subprocess (several seconds), so test modules
grade each file once, in module-scoped fixtures, and assert on the cached result.
"""

from __future__ import annotations

import ast
import functools
import os
import tempfile
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from grader.pipeline import grade_file
from grader.result import CheckResult, Graded, Result
from grader.sandbox import cgroups
from grader.spec import LoadedAssignment, load_assignment

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
SOLUTION_IPYNB = ROOT / "solutions" / "iris_basics" / "solution.ipynb"
TEMPLATE_IPYNB = ROOT / "assignments" / "iris_basics" / "assignment.ipynb"
ASSIGNMENT_DIR = ROOT / "assignments" / "iris_basics"
MODEL_IDS = ("mlr", "lr", "mlpr", "mlpc", "ae")
SOLUTION_CLASSES = ("MLR", "LR", "MLPR", "MLPC", "AE")


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


# ---- building submissions ----------------------------------------------------------------------
@functools.cache
def solution_text() -> str:
    return SOLUTION_PY.read_text(encoding="utf-8")


@functools.cache
def solution_class_sources() -> dict[str, str]:
    """Source of each class of the reference module, by class name, in file order."""
    text = solution_text()
    tree = ast.parse(text)
    return {node.name: ast.get_source_segment(text, node) or "" for node in tree.body if isinstance(node, ast.ClassDef)}


def substitute(text: str, replacements: Iterable[tuple[str, str]]) -> str:
    """Replace each `old` (which must occur exactly once) by `new`."""
    for old, new in replacements:
        count = text.count(old)
        assert count == 1, f"{old!r} occurs {count} times, expected once"
        text = text.replace(old, new)
    return text


def module_source(classes: Mapping[str, str | None] | None = None, prelude: str = "") -> str:
    """The reference classes as a module, with some replaced (by full class source) or left out (None).

    Keys are the reference class names (`MLR`, ... `AE`); a replacement may define a class under
    another name (an `AutoEncoder` in place of `AE`).
    """
    classes = dict(classes or {})
    unknown = set(classes) - set(SOLUTION_CLASSES)
    assert not unknown, f"unknown class keys {unknown}"
    parts = ["import torch\n"]
    if prelude:
        parts.append(textwrap.dedent(prelude).strip() + "\n")
    for name, source in solution_class_sources().items():
        replacement = classes.get(name, source)
        if replacement is None:
            continue
        parts.append(textwrap.dedent(replacement).strip() + "\n")
    return "\n\n".join(parts)


def write_module(directory: Path, name: str, classes: Mapping[str, str | None] | None = None,
                 prelude: str = "") -> Path:
    """Write a variant of solution.py built from full class sources (see `module_source`)."""
    path = Path(directory) / name
    path.write_text(module_source(classes, prelude), encoding="utf-8")
    return path


def write_substituted(directory: Path, name: str, replacements: Iterable[tuple[str, str]]) -> Path:
    """Write a variant of solution.py made by text substitution."""
    path = Path(directory) / name
    path.write_text(substitute(solution_text(), replacements), encoding="utf-8")
    return path


def write_notebook(path: Path, cells: Iterable[tuple[str, str]], nbformat_version: int = 4) -> Path:
    """Write a v4 notebook from (`code` | `markdown`, source) pairs."""
    import nbformat

    made = []
    for kind, source in cells:
        source = textwrap.dedent(source).strip("\n")
        made.append(nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source))
    notebook = nbformat.v4.new_notebook(cells=made)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(path)
    nbformat.write(notebook, str(path))
    return path
