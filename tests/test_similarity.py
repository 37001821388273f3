"""Similar submissions (grader/similarity.py): found through renaming and reformatting, not fooled by
the template or by independent correct solutions, mapped back to the right cells and lines."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console

from grader.intake.submission import Cell, read_submission
from grader.outputs.report.class_summary import render_summary_page
from grader.outputs.similarity import (
    Segment,
    SharedBlock,
    SimilarPair,
    find_similar,
    normalise,
    template_keys,
    template_paths,
)
from grader.spec import load_assignment

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "iris_basics" / "solution.py"
TARO = ROOT / "grader" / "assignments" / "iris_basics" / "examples" / "taro_sequential.py"
TEMPLATE = ROOT / "grader" / "assignments" / "iris_basics" / "assignment.ipynb"


@pytest.fixture(scope="module")
def template():
    return template_keys(template_paths(load_assignment("iris_basics")))


def disguise(source: str) -> str:
    """What a copier does: rename, reindent to two spaces, split lines, change every comment."""
    for old, new in {"l1": "first_layer", "l2": "second_layer", "h1": "hidden", "h2": "act", "h3": "out3",
                     "h4": "out4", "n_input": "d_in", "n_hidden": "d_mid", "n_output": "d_out", "x": "inputs",
                     "x3": "a3", "x4": "a4", "ae": "auto"}.items():
        source = re.sub(rf"\b{old}\b", new, source)
    source = re.sub(r'"""(.|\n)*?"""', '"""my own work"""', source)
    source = re.sub(r"#.*", "# written by me", source)
    source = source.replace("    ", "  ")
    source = source.replace("torch.nn.Linear(d_in, d_mid)", "torch.nn.Linear(\n      d_in,\n      d_mid,\n    )")
    return "# copied? never\n\n\n" + source.replace("\n\n", "\n\n\n")


def doc(student: str, cells, template, person: str | None = None):
    if isinstance(cells, str):
        cells = [Cell(1, cells)]
    return normalise(student, cells, template, person=person)


def test_renamed_reformatted_copy_is_a_pair_with_a_high_score(template):
    original = SOLUTION.read_text(encoding="utf-8")
    pairs = find_similar([doc("alice", original, template), doc("bob", disguise(original), template)])
    assert [(p.student_a, p.student_b) for p in pairs] == [("alice", "bob")]
    assert pairs[0].score >= 0.9
    assert pairs[0].blocks and "<->" in pairs[0].shared_lines


def test_independent_correct_solutions_are_not_a_pair(template):
    solution, taro = SOLUTION.read_text(encoding="utf-8"), TARO.read_text(encoding="utf-8")
    pairs = find_similar([doc("alice", solution, template), doc("taro", taro, template)], threshold=0.3)
    assert pairs == []


def test_template_code_is_not_evidence(template):
    cells = read_submission(TEMPLATE).cells
    # Both hand in the template with the MLR blank filled the obvious way, and little else.
    fill = ("        self.linear = torch.nn.Linear(n_input, n_output)\n", "        return self.linear(x)\n")

    def student(extra: str) -> list[Cell]:
        out = []
        for cell in cells:
            source = cell.source
            if "class MLR" in source:
                source = source.replace("        # TODO: ここに層を定義してください\n", fill[0])
                source = source.replace('        raise NotImplementedError("TODO")', fill[1], 1)
            out.append(Cell(cell.number, source.replace("# ", "#  ") + extra))
        return out

    a, b = doc("hana", student(""), template), doc("ken", student("\n"), template)
    assert len(a.tokens) < 60
    assert find_similar([a, b]) == []
    assert find_similar([doc("t1", cells, template), doc("t2", cells, template)], min_tokens=1) == []


def test_shared_lines_map_to_the_cell_and_line_of_each_file(template):
    original = SOLUTION.read_text(encoding="utf-8")
    start = original.index("class MLPC")
    mlpc = original[start:original.index("class AE")]
    first_py_line = original[:start].count("\n") + 1
    notebook = [Cell(1, "import torch\n"), Cell(2, "# 課題\nprint('hello')\n"),
                Cell(4, "import numpy as np\n\n" + disguise(mlpc)), Cell(5, disguise(original[original.index("class AE"):]))]
    pairs = find_similar([doc("py", original, template), doc("nb", notebook, template)])
    assert [(p.student_a, p.student_b) for p in pairs] == [("py", "nb")]
    for block in pairs[0].blocks:
        in_cell_4 = [seg for seg in block.b if seg.cell == 4]
        if in_cell_4:
            seg_nb, seg_py = in_cell_4[0], block.a[0]
            # MLPC's body on both sides: the notebook's cell 4, and the module's own lines of MLPC.
            assert seg_py.cell == 1 and first_py_line <= seg_py.first < first_py_line + mlpc.count("\n")
            assert "super(MLPC, self).__init__()" in seg_py.text[0] and "super(MLPC, self).__init__()" in seg_nb.text[0]
            assert list(seg_nb.text) == notebook[2].source.split("\n")[seg_nb.first - 1:seg_nb.last]
            assert list(seg_py.text) == original.split("\n")[seg_py.first - 1:seg_py.last]
            assert f"c4 L{seg_nb.first}-{seg_nb.last}" in pairs[0].shared_lines
            return
    pytest.fail(f"no shared block in cell 4: {pairs[0].shared_lines}")


def test_syntax_errors_do_not_crash_and_the_rest_still_counts(template):
    original = SOLUTION.read_text(encoding="utf-8")
    broken = disguise(original).replace("import torch", "import torch\ndef oops(:\n  return (1 +\n'unterminated", 1)
    cells = [Cell(1, "def f(:"), Cell(2, broken), Cell(3, '"""never closed'), Cell(4, "x = (1,\n")]
    pairs = find_similar([doc("alice", original, template), doc("bob", cells, template)])
    assert [(p.student_a, p.student_b) for p in pairs] == [("alice", "bob")] and pairs[0].score >= 0.8


def test_resubmissions_of_one_student_are_not_a_pair(template):
    original = SOLUTION.read_text(encoding="utf-8")
    docs = [doc("alice", original, template), doc("alice-2", original, template, person="alice")]
    assert find_similar(docs) == []


def test_summary_page_lists_pairs_side_by_side_escaped():
    segment = Segment(2, 3, 4, ("x = '<script>alert(1)</script>'", "y = x"))
    pair = SimilarPair("alice", "bob<b>", 0.93, 12, (SharedBlock((segment,), (Segment(1, 10, 11, ("a", "b")),)),))
    html = render_summary_page([], load_assignment("iris_basics"), "en", similar=[pair])
    assert 'id="similar"' in html and "Similar submissions (1)" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "bob&lt;b&gt;" in html and "cell 2, lines 3–4" in html and "0.93" in html


def test_batch_writes_similarity_csv_and_flags_both_students(tmp_path, recorded_sandbox):
    from grader.apps.batch import grade_batch

    # Similarity reads the sources, not the runs: taro's recorded run stands for its disguised copy's.
    sandbox = recorded_sandbox({"copycat": "taro_sequential"})
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(TARO, folder / "taro.py")
    (folder / "copycat.py").write_text(disguise(TARO.read_text(encoding="utf-8")), encoding="utf-8")
    out = tmp_path / "out"
    grade_batch([folder], load_assignment("iris_basics"), out, lang="en", jobs=2, console=Console(file=open("/dev/null", "w")))
    assert sandbox.replayed == ["taro_sequential", "taro_sequential"]
    with (out / "similarity.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["student_a"], r["student_b"]) for r in rows] == [("copycat", "taro")]
    assert float(rows[0]["score"]) >= 0.9 and "c1 L" in rows[0]["shared_lines"]
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'id="similar"' in html and "similar to taro (" in html and "similar to copycat (" in html
    assert json.loads((out / "results" / "copycat.json").read_text(encoding="utf-8"))["status"] == "graded"
