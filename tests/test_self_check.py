"""`grader.check("mlr")` from inside a student's notebook: the harness in the student's own kernel,
the trusted pipeline after it, the verdicts `grader check` gives the saved notebook (public checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from conftest import replayed
from fixtures.submissions import EXAMPLES, ROOT

from grader.pipeline import grade_file, load_assignment
from grader.selfcheck import SelfCheckError, check, check_all
from grader.selfcheck.kernel import class_source, read_kernel

# Prints what the self-check `report` said, a line each.
PRINT_REPORT = ("import json\n"
                "print('VERDICTS ' + json.dumps({c.id: [c.status, c.score] for c in report.graded.result.checks}))\n"
                "print('HTML ' + json.dumps(report._repr_html_()))\n"
                "print('TEXT ' + json.dumps(str(report)))\n")


def students_verdicts(path: Path, assignment: str) -> dict[str, list]:
    """What `grader check --public --as-student` gives the saved file: scored on the validation rows
    where the spec holds some out (iris_checks does), as a student sees it today."""
    from datetime import UTC, datetime

    loaded = load_assignment(assignment)
    loaded = loaded.public()
    graded = grade_file(path, loaded, lang="en").result.for_students(loaded.spec.past_due(datetime.now(UTC)))
    return {c.id: [c.status, c.score] for c in graded.checks}


def printed(output: str, label: str):
    line = next(line for line in output.splitlines() if line.startswith(label + " "))
    return json.loads(line[len(label) + 1:])


def notebook_of(cells: list[str]) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def test_in_a_jupyter_kernel_the_verdicts_are_those_of_grader_check_on_the_saved_notebook(tmp_path):
    from nbclient import NotebookClient

    solution = (ROOT / "solutions" / "iris_checks" / "solution.py").read_text(encoding="utf-8")
    imports, classes = solution.split("\n\n\nclass ", 1)
    notebook = notebook_of([imports, "class " + classes,
                            "import grader\nreport = grader.check('mlpc', 'iris_checks', lang='en')\nreport",
                            PRINT_REPORT])
    path = tmp_path / "solution.ipynb"
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    nbformat.write(notebook, path)
    output = "".join(o.get("text", "") for o in notebook.cells[-1].outputs)
    shown = notebook.cells[2].outputs[0]["data"]  # the check's cell displays the report as HTML
    assert "text/html" in shown and "Self-check" in shown["text/html"]

    verdicts = printed(output, "VERDICTS")
    assert verdicts == students_verdicts(path, "iris_checks")
    # The public checks, every one passed; the one shown after the due date is not among them.
    assert {check: status for check, (status, _) in verdicts.items()} == {
        "mlpc.defined": "passed", "mlpc.forward_shape": "passed", "mlpc.structure": "passed",
        "mlpc.grad_flow": "passed", "mlpc.capture": "passed", "mlpc.test_accuracy": "passed",
        "mlpc.small_enough": "passed", "mlpc.dropout_between_hidden": "passed", "mlpc.ignores_sepal_width": "passed"}
    for text in (printed(output, "HTML"), printed(output, "TEXT")):
        assert "it is your code on your machine" in text
        assert "No more than 10,000 parameters" in text
        assert "linear model" not in text and "beats_linear" not in text  # after the due date only


def test_a_script_with_mistakes_gets_the_verdicts_of_grader_check_and_keeps_its_random_state(tmp_path):
    script = tmp_path / "jiro.py"
    script.write_text((EXAMPLES / "jiro_mistakes.py").read_text(encoding="utf-8") + (
        "\nimport grader, json, torch\n"
        "torch.manual_seed(5)\ntorch.set_num_threads(2)\n"
        "report = grader.check_all('iris_basics', lang='en')\n"
        "print('AFTER ' + json.dumps([torch.rand(1).item(), torch.get_num_threads()]))\n"
        + PRINT_REPORT), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    torch.manual_seed(5)
    assert printed(done.stdout, "AFTER") == [torch.rand(1).item(), 2]  # the kernel's generator and threads, as they were
    verdicts = printed(done.stdout, "VERDICTS")
    # The saved file's grading, from what the sandbox observes of it (its recording: tests/test_forkserver.py
    # compares the two), with today's trusted checks.
    assert verdicts == {c.id: [c.status, c.score] for c in replayed("jiro_mistakes").result.checks}
    failed = sorted(check for check, (status, _) in verdicts.items() if status == "failed")
    assert failed and all(check.split(".")[0] in {"mlr", "lr", "mlpr", "mlpc", "ae"} for check in failed)
    text = printed(done.stdout, "TEXT")
    assert "Hint:" in text and "✗" in text


def test_one_model_is_checked_alone_and_a_hostile_message_is_only_text(tmp_path):
    source = tmp_path / "student.py"
    source.write_text(
        "import torch\n"
        "class MLR(torch.nn.Module):\n"
        "    def __init__(self, n_input, n_output):\n"
        "        super().__init__()\n"
        "        raise ValueError('<script>alert(1)</script>\\x1b[31m')\n", encoding="utf-8")
    namespace = {"__name__": "student"}
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), namespace)  # noqa: S102
    report = check("mlr", "iris_basics", lang="en", namespace=namespace)
    assert {c.model for c in report.graded.result.checks} == {"mlr"} and report.graded.result.max_score == 5
    assert report.verdicts["mlr.defined"] == "error" and not report.passed
    html, text = report._repr_html_(), str(report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "\x1b" not in text  # inert text in a page, as in the report; a terminal would act on it


def test_the_kernels_classes_are_read_with_their_own_source(tmp_path):
    source = tmp_path / "cells.py"
    source.write_text("import torch\n\n\nclass Base(torch.nn.Module):\n    pass\n\n\n"
                      "if True:\n    class MLR(Base):\n        def forward(self, x):\n            return x\n", encoding="utf-8")
    namespace = {"__name__": "cells"}
    exec(compile(source.read_text(encoding="utf-8"), str(source), "exec"), namespace)  # noqa: S102
    code = read_kernel(namespace)
    assert [(r.name, r.cell) for r in code.records] == [("Base", 1), ("MLR", 2)]
    assert class_source(namespace["MLR"]) == "class MLR(Base):\n    def forward(self, x):\n        return x\n"
    assert code.submission.cells[0].source.startswith("class Base")  # no method: its bare statement


def test_a_self_check_that_cannot_start_says_why_in_both_languages(monkeypatch):
    with pytest.raises(SelfCheckError, match="has no model nope") as raised:
        check("nope", "iris_basics")
    assert "モデル nope はありません" in str(raised.value)
    assert raised.value._render_traceback_() == str(raised.value).splitlines()  # Jupyter shows no traceback
    with pytest.raises(SelfCheckError, match="assignment 'no_such' not found"):
        check("mlr", "no_such")
    monkeypatch.delenv("GRADER_ASSIGNMENT", raising=False)
    with pytest.raises(SelfCheckError, match=r'Name it: grader.check\("mlr", assignment="NAME"\) \(known: .*iris_basics'):
        check_all()
