"""`grader new NAME --from SOLUTION`: an assignment folder drafted from a reference solution."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fixtures.submissions import SOLUTION_PY

from grader.apps.new_assignment import draft_models, found_classes, without_method_bodies
from grader.cli import main
from grader.intake.submission import Cell, Submission
from grader.pipeline import grade_file, load_assignment


def cells(*sources: str) -> Submission:
    return Submission(path=Path("s.ipynb"), student_id="s", sha256="0", kind="notebook", main_file="s.ipynb",
                      cells=tuple(Cell(number, source) for number, source in enumerate(sources, start=1)))


def test_classes_are_found_with_the_sizes_of_their_first_call_after_them():
    found = found_classes(cells(
        "import torch\nclass MLPR(torch.nn.Module):\n    def __init__(self, n_input, n_hidden, n_output): ...\n"
        "    def forward(self, x): ...\n",
        "model = MLPR(3, 3, 1)\nother = MLPR(3, 5, 1)\n",
        "class MLPR(torch.nn.Module):  # the lesson's autoencoder, the same name\n"
        "    def __init__(self, a, b, c): ...\n    def forward(self, x): ...\n    def project(self, x): ...\n",
        "for epoch in range(10):\n    ae = MLPR(4, 2, 4)\n",
        "class LR(torch.nn.Module):\n    def __init__(self, n_input=4, n_output=3): ...\n",
        "class Helper:\n    pass\n",
        "class Sized(torch.nn.Module):\n    def __init__(self, width): ...\nSized(width)\n",
        "def broken(:\n"))  # a cell that does not parse is passed over
    assert [(c.name, c.args, c.where) for c in found] == [
        ("MLPR", [3, 3, 1], "the call MLPR(3, 3, 1)"), ("MLPR", [4, 2, 4], "the call MLPR(4, 2, 4)"),
        ("LR", [4, 3], "the constructor's defaults"), ("Helper", None, ""), ("Sized", None, "")]
    models, skipped = draft_models(found)
    assert [(m.id, m.features, m.target, m.project) for m in models] == [
        ("mlpr", [0, 1, 2], [3], None), ("mlpr_2", [0, 1, 2, 3], [0, 1, 2, 3], "project"),
        ("lr", [0, 1, 2, 3], "species", None)]
    assert [reason.split(":")[0] for reason in skipped] == ["Helper", "Sized"]
    assert draft_models(found_classes(cells("class Wide(torch.nn.Module):\n    pass\nWide(13, 1)\n")))[1] == [
        "Wide(13, 1): the 4 columns of iris cannot feed 13 inputs and 1 outputs"]
    wine = found_classes(cells("class Wine(torch.nn.Module):\n    pass\nWine(13, 3)\n"
                               "class Alcohol(torch.nn.Module):\n    pass\nAlcohol(12, 1)\n"))
    assert [(m.id, m.features, m.target) for m in draft_models(wine, "wine")[0]] == [
        ("wine", list(range(13)), "class"), ("alcohol", list(range(12)), [12])]


def test_the_template_keeps_signatures_and_docstrings_and_drops_every_method_body():
    source = ('import torch\n\n\nclass AE(torch.nn.Module):\n    """The autoencoder."""\n\n'
              '    def __init__(self, n_input, n_hidden):\n        super().__init__()\n        self.l1 = torch.nn.Linear(n_input, n_hidden)\n\n'
              '    def project(self, x):\n        """The code."""\n        return torch.sigmoid(\n            self.l1(x))\n\n\n'
              'print(AE(4, 2))\n')
    template = without_method_bodies(source)
    assert template == ('import torch\n\n\nclass AE(torch.nn.Module):\n    """The autoencoder."""\n\n'
                        '    def __init__(self, n_input, n_hidden):\n        raise NotImplementedError  # TODO\n\n'
                        '    def project(self, x):\n        """The code."""\n        raise NotImplementedError  # TODO\n\n\n'
                        'print(AE(4, 2))\n')
    ast.parse(template)
    assert without_method_bodies("def broken(:\n") == "def broken(:\n"


def test_grader_new_drafts_the_lessons_assignment_from_its_solution(tmp_path, capsys):
    assert main(["new", "drafted", "--from", str(SOLUTION_PY), "-o", str(tmp_path), "--seeds", "3"]) == 0
    printed = capsys.readouterr().out
    folder = tmp_path / "drafted"
    assert "drafted " + str(folder) + ": models mlr, lr, mlpr, mlpc, ae" in printed
    assert "the solution scores 26.5 / 26.5 on it" in printed  # every check at its default points
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "assignment.py", "assignment.toml"]
    drafted, lesson = load_assignment(str(folder)).spec, load_assignment("iris_basics").spec
    # What the hand-written spec says of each model, the draft found: sizes, data, captured layers, the project.
    for ours, theirs in zip(drafted.models, lesson.models, strict=True):
        assert (ours.id, ours.args, ours.features, ours.target, ours.structure.layers, ours.output_range) == (
            theirs.id, theirs.args, theirs.features, theirs.target, theirs.structure.layers, theirs.output_range)
        assert ours.structure.hidden_arg == theirs.structure.hidden_arg
        assert ours.metric.kind == theirs.metric.kind and ours.metric.full_credit != 0.1  # measured, not the placeholder
    assert drafted.models[-1].project is not None and drafted.models[-1].project.method == "project"
    text = (folder / "assignment.toml").read_text(encoding="utf-8")
    assert "# class MLR: sizes from the call MLR(3, 1); layers from the captured graph" in text
    template = grade_file(folder / "assignment.py", load_assignment(str(folder)), lang="en").result
    assert template.status == "graded" and template.score == 0  # the handout earns nothing as it is
    assert "| ae | AE | [4, 2, 4] | [0, 1, 2, 3] -> [0, 1, 2, 3] | linear → sigmoid → linear |" in (
        folder / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("argv, message", [
    (["new", "Bad-Name"], "'Bad-Name' cannot be an assignment id"),
    (["new", "taken"], "exists already"),
    (["new", "empty"], "no model class to draft from: the solution defines no class"),
    (["new", "other", "--dataset", "mnist"], "unknown data set 'mnist' (known: breast_cancer, diabetes, digits, iris, wine)"),
])
def test_grader_new_refuses_plainly_what_it_cannot_draft(tmp_path, capsys, argv, message):
    (tmp_path / "taken").mkdir()
    solution = SOLUTION_PY
    if argv[1] == "empty":
        solution = tmp_path / "empty.py"
        solution.write_text("x = 1\n", encoding="utf-8")
    assert main([*argv, "--from", str(solution), "-o", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "empty").exists() and not (tmp_path / "Bad-Name").exists()
