"""The package's layers: each stage imports only the stages below it, the harness nothing trusted,
outputs no sandbox (the import-linter contracts in pyproject.toml; a lazy import counts too)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def test_every_import_contract_is_kept():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "7 kept, 0 broken" in done.stdout


def test_a_broken_arrow_is_caught(tmp_path):
    """The contracts do catch an arrow up the flow: a copy of the package whose report imports the
    sandbox fails them, naming the import."""
    import shutil

    copy = tmp_path / "src"
    shutil.copytree(ROOT / "grader", copy / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    html = copy / "grader" / "outputs" / "report" / "html.py"
    html.write_text(html.read_text(encoding="utf-8") + "\nfrom grader.sandbox import forkserver  # noqa\n",
                    encoding="utf-8")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint_imports), "--config", str(copy / "pyproject.toml"), "--no-cache"],
                          cwd=copy, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)})
    assert done.returncode != 0
    assert "grader.outputs.report.html -> grader.sandbox.forkserver" in done.stdout
