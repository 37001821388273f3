"""Good and faulty submissions, graded end to end: each fault gives exact check statuses and messages.

Grading is slow (a subprocess trains 5 models x 3 seeds), so the faults are bundled: one faulty
module carries one fault per model class, each file is graded once by a module-scoped fixture, and
each test asserts one fault's checks. Faults are local: a model with no fault keeps full marks.
"""

from __future__ import annotations

import pytest
from conftest import (
    MODEL_IDS,
    SOLUTION_IPYNB,
    SOLUTION_PY,
    TEMPLATE_IPYNB,
    assert_full_marks,
    checks_by_id,
    grade,
    model_checks,
    solution_class_sources,
    statuses,
    substitute,
    write_module,
    write_notebook,
)

from grader.i18n import Messages

EN = Messages("en")
FORWARD_DEPENDENT = ("structure", "forward_shape", "output_range", "grad_flow", "project_shape",
                     "test_mse", "test_accuracy")

# ---- the faulty classes ----------------------------------------------------------------------
MLR_FLATTENED = """
class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x).view(-1)
"""

MLR_SQUARED = """
class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x) + 0.1 * x[:, :1] ** 2
"""

LR_NO_SIGMOID = """
class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        return self.l1(x)
"""

LR_FORWARD_RAISES = """
class LR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        raise RuntimeError("forward is broken on purpose")
"""

MLPR_HIDDEN_5 = """
class MLPR(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, 5)
        self.l2 = torch.nn.Linear(5, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))
"""

# Hard-coded to the assignment's own width (3): only rebuilding with another n_hidden shows it.
MLPR_HIDDEN_3 = MLPR_HIDDEN_5.replace("5", "3")

# `SCALE` is bound only inside a `for` statement, which definitions mode skips.
LOOP_PRELUDE = """
for epoch in range(3):
    SCALE = 1.0
"""

MLPR_LOOP_GLOBAL = """
class MLPR(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.scale = SCALE
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x))) * self.scale
"""

MLPC_DETACHED = """
class MLPC(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        h1 = self.l1(x).detach()
        return torch.sigmoid(self.l2(torch.sigmoid(h1)))
"""

AE_NO_PROJECT = """
class AE(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(torch.sigmoid(self.l1(x)))
"""

AUTOENCODER = """
class AutoEncoder(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_hidden)
        self.l2 = torch.nn.Linear(n_hidden, n_output)

    def forward(self, x):
        return self.l2(self.project(x))

    def project(self, x):
        return torch.sigmoid(self.l1(x))
"""

AE_CONSTRUCTOR_RAISES = """
class AE(torch.nn.Module):
    def __init__(self, n_input, n_hidden, n_output):
        super().__init__()
        raise ValueError("no autoencoder today")

    def forward(self, x):
        return x

    def project(self, x):
        return x
"""


# ---- graded once per module --------------------------------------------------------------------
@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("variants")


@pytest.fixture(scope="module")
def solution_py_twice():
    return grade(SOLUTION_PY), grade(SOLUTION_PY)


@pytest.fixture(scope="module")
def solution_py(solution_py_twice):
    return solution_py_twice[0]


@pytest.fixture(scope="module")
def solution_ipynb():
    return grade(SOLUTION_IPYNB)


@pytest.fixture(scope="module")
def template():
    return grade(TEMPLATE_IPYNB)


@pytest.fixture(scope="module")
def faulty_a(work):
    """MLR flattened, LR without sigmoid, MLPR hidden fixed to 5, MLPC detached, AE without project."""
    return grade(write_module(work, "faulty_a.py", {
        "MLR": MLR_FLATTENED, "LR": LR_NO_SIGMOID, "MLPR": MLPR_HIDDEN_5, "MLPC": MLPC_DETACHED, "AE": AE_NO_PROJECT,
    }))


@pytest.fixture(scope="module")
def faulty_b(work):
    """MLR non-affine, LR.forward raises, MLPR.__init__ needs a loop-only global, AE named AutoEncoder."""
    path = write_module(work, "faulty_b.py", {
        "MLR": MLR_SQUARED, "LR": LR_FORWARD_RAISES, "MLPR": MLPR_LOOP_GLOBAL, "AE": AUTOENCODER,
    }, prelude=LOOP_PRELUDE)
    return grade(path)


def _loop_line(work) -> int:
    """Line of the `for` statement that binds SCALE in faulty_b.py."""
    lines = (work / "faulty_b.py").read_text(encoding="utf-8").splitlines()
    return next(i for i, text in enumerate(lines, 1) if text.startswith("for epoch in range(3):"))


@pytest.fixture(scope="module")
def faulty_c(work):
    """MLR and LR correct, MLPR hidden fixed to 3, no MLPC at all, AE.__init__ raises."""
    return grade(write_module(work, "faulty_c.py", {
        "MLPR": MLPR_HIDDEN_3, "MLPC": None, "AE": AE_CONSTRUCTOR_RAISES,
    }))


SYNTAX_CELL = 7  # position among all cells, markdown included


def _broken_mlpc() -> tuple[str, int]:
    """The reference MLPC with a colon missing after `def forward(self, x)`, and that line's number."""
    broken = substitute(solution_class_sources()["MLPC"], [("    def forward(self, x):", "    def forward(self, x)")])
    line = next(i for i, text in enumerate(broken.splitlines(), 1) if text.strip() == "def forward(self, x)")
    return broken, line


@pytest.fixture(scope="module")
def syntax_notebook(work):
    sources = solution_class_sources()
    broken_mlpc, _ = _broken_mlpc()
    path = write_notebook(work / "syntax.ipynb", [
        ("markdown", "# Iris models"),
        ("code", "import torch"),
        ("code", sources["MLR"]),
        ("code", sources["LR"]),
        ("markdown", "## MLP"),
        ("code", sources["MLPR"]),
        ("code", broken_mlpc),
        ("code", sources["AE"]),
    ])
    return grade(path)


@pytest.fixture(scope="module")
def colab_notebook(work):
    """Magics, shell escapes, Colab-only lines, a device line, a skipped training cell, and the
    autoencoder as the lesson writes it: a redefined `MLPR` with `project`."""
    sources = solution_class_sources()
    lesson_ae = substitute(sources["AE"], [("class AE(", "class MLPR("), ("super(AE, self)", "super(MLPR, self)")])
    path = write_notebook(work / "colab.ipynb", [
        ("code", "%matplotlib inline\nimport numpy as np\nimport torch"),
        ("code", "!pip install foo"),
        ("code", "from google.colab import drive\ndrive.mount('/content/drive')"),
        ("code", 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")'),
        ("code", sources["MLR"]),
        ("code", "model = MLR(3, 1).to(device)\nfor epoch in range(5):\n    pass"),
        ("code", sources["LR"]),
        ("code", sources["MLPR"]),
        ("code", sources["MLPC"]),
        ("markdown", "## Autoencoder"),
        ("code", lesson_ae),
    ])
    return grade(path)


# ---- the references ----------------------------------------------------------------------------
def _assert_all_passed(result):
    assert result.status == "graded"
    assert result.score == result.max_score == 25
    assert {c.model for c in result.checks} == set(MODEL_IDS)
    failing = {c.id: (c.status, c.message) for c in result.checks if c.status != "passed" or c.score != c.max_score}
    assert not failing


def test_solution_py_full_marks(solution_py):
    _assert_all_passed(solution_py)
    assert all(value is not None for value in solution_py.metrics.values())


def test_solution_ipynb_full_marks(solution_ipynb):
    _assert_all_passed(solution_ipynb)


def test_grading_is_deterministic(solution_py_twice):
    first, second = solution_py_twice
    assert first.metrics == second.metrics
    assert first.score == second.score
    assert [c.model_dump() for c in first.checks] == [c.model_dump() for c in second.checks]


def test_template_scores_nothing_on_forward_dependent_checks(template):
    assert template.status == "graded"
    checks = checks_by_id(template)
    for model in MODEL_IDS:
        shape = checks[f"{model}.forward_shape"]
        assert shape.status == "error"
        assert "NotImplementedError" in shape.message
        assert checks[f"{model}.defined"].status == "passed"
    dependent = [c for c in template.checks if c.id.split(".", 1)[1] in FORWARD_DEPENDENT]
    assert dependent and all(c.score == 0 for c in dependent)
    assert all(value is None for value in template.metrics.values())
    assert template.score == sum(c.max_score for c in template.checks if c.id.endswith(".defined"))


# ---- faulty module A ---------------------------------------------------------------------------
def test_flattened_output_fails_forward_shape_and_skips_metric(faulty_a):
    checks = model_checks(faulty_a, "mlr")
    shape = checks["forward_shape"]
    assert shape.status == "failed" and shape.score == 0
    assert shape.found == "(75,)" and shape.expected == "(75, 1)"
    assert "flattened" in shape.message
    metric = checks["test_mse"]
    assert metric.status == "skipped" and metric.score == 0
    assert faulty_a.metrics["mlr.test_mse"] is None
    assert checks["defined"].status == "passed"
    assert checks["grad_flow"].status == "passed"


def test_flattened_output_is_not_called_non_affine(faulty_a):
    # A linear model that only flattens its output loses the shape point, not the structure point.
    structure = model_checks(faulty_a, "mlr")["structure"]
    assert structure.status == "passed"
    assert "deviation ?" not in structure.message


def test_missing_sigmoid(faulty_a):
    assert statuses(faulty_a, "lr") == {
        "defined": "passed", "structure": "failed", "forward_shape": "passed", "output_range": "failed",
        "grad_flow": "passed", "test_accuracy": "failed",
    }
    checks = model_checks(faulty_a, "lr")
    assert checks["structure"].message == EN.text("structure.missing_sigmoid")
    assert checks["structure"].expected == "linear(4,3) → sigmoid"
    assert checks["structure"].found == "linear(4,3)"
    assert "outside [0, 1]" in checks["output_range"].message
    assert checks["output_range"].score == 0


def test_hidden_size_hard_coded_to_probe_width(faulty_a):
    assert statuses(faulty_a, "mlpr") == {
        "defined": "passed", "structure": "failed", "forward_shape": "passed", "grad_flow": "passed", "test_mse": "passed",
    }
    structure = model_checks(faulty_a, "mlpr")["structure"]
    assert structure.score == 0
    assert structure.expected == "linear(3,3) → sigmoid → linear(3,1)"
    assert structure.found == "linear(3,5) → sigmoid → linear(5,1)"
    assert structure.message == EN.text("structure.hidden_ignored", width=5, hidden=3)
    assert "n_hidden" in structure.hint


def test_detached_layer_fails_grad_flow(faulty_a):
    assert statuses(faulty_a, "mlpc") == {
        "defined": "passed", "structure": "passed", "forward_shape": "passed", "output_range": "passed",
        "grad_flow": "failed", "test_accuracy": "passed",
    }
    flow = model_checks(faulty_a, "mlpc")["grad_flow"]
    assert "l1.weight" in flow.message
    assert "l2.weight" not in flow.message
    assert flow.found == "2/4" and flow.expected == "4/4"


def test_missing_project(faulty_a):
    assert statuses(faulty_a, "ae") == {
        "defined": "passed", "structure": "passed", "forward_shape": "passed", "grad_flow": "passed",
        "project_shape": "failed", "test_mse": "passed",
    }
    checks = model_checks(faulty_a, "ae")
    assert checks["defined"].found == "AE"
    assert checks["project_shape"].message == EN.text("project.missing", method="project")
    assert checks["project_shape"].score == 0


# ---- faulty module B ---------------------------------------------------------------------------
def test_non_affine_mlr(faulty_b):
    checks = model_checks(faulty_b, "mlr")
    assert checks["structure"].status == "failed" and checks["structure"].score == 0
    assert "not a linear (affine) function" in checks["structure"].message
    assert checks["forward_shape"].status == "passed"
    assert checks["grad_flow"].status == "passed"


def test_forward_raises(faulty_b):
    assert statuses(faulty_b, "lr") == {
        "defined": "passed", "structure": "skipped", "forward_shape": "error", "output_range": "skipped",
        "grad_flow": "skipped", "test_accuracy": "skipped",
    }
    checks = model_checks(faulty_b, "lr")
    assert "RuntimeError" in checks["forward_shape"].message
    assert "forward is broken on purpose" in checks["forward_shape"].message
    assert sum(c.score for name, c in checks.items() if name != "defined") == 0


def test_name_set_only_in_a_skipped_loop(faulty_b, work):
    assert statuses(faulty_b, "mlpr") == {
        "defined": "error", "structure": "skipped", "forward_shape": "skipped", "grad_flow": "skipped", "test_mse": "skipped",
    }
    defined = model_checks(faulty_b, "mlpr")["defined"]
    assert defined.score == 0
    assert "NameError" in defined.message
    # A module is one cell; the line is that of the `for` statement binding SCALE.
    assert EN.text("error.skipped_name", name="SCALE", cell=1, line=_loop_line(work)) in defined.message


def test_model_without_fault_in_faulty_module_keeps_full_marks(faulty_b):
    assert_full_marks(faulty_b, ["mlpc"])


def test_autoencoder_named_autoencoder(faulty_b):
    assert_full_marks(faulty_b, ["ae"])
    defined = model_checks(faulty_b, "ae")["defined"]
    assert defined.found == "AutoEncoder"


# ---- faulty module C ---------------------------------------------------------------------------
def test_hidden_size_hard_coded_to_assignment_width(faulty_c):
    assert statuses(faulty_c, "mlpr") == {
        "defined": "passed", "structure": "failed", "forward_shape": "passed", "grad_flow": "passed", "test_mse": "passed",
    }
    structure = model_checks(faulty_c, "mlpr")["structure"]
    assert structure.score == 0
    assert "n_hidden=5" in structure.message
    assert "hidden layer" in structure.message
    assert structure.found == "linear(3,3) → sigmoid → linear(3,1)"
    assert structure.expected == "linear(3,5) → sigmoid → linear(5,1)"


def test_missing_class(faulty_c):
    checks = model_checks(faulty_c, "mlpc")
    assert checks["defined"].status == "failed"
    assert checks["defined"].message.startswith(EN.text("defined.missing", names="MLPC", reasons=""))
    others = {name: c.status for name, c in checks.items() if name != "defined"}
    assert others and set(others.values()) == {"skipped"}
    assert sum(c.score for c in checks.values()) == 0
    assert faulty_c.metrics["mlpc.test_accuracy"] is None
    assert_full_marks(faulty_c, ["mlr", "lr"])


def test_constructor_raises(faulty_c):
    assert statuses(faulty_c, "ae") == {
        "defined": "error", "structure": "skipped", "forward_shape": "skipped", "grad_flow": "skipped",
        "project_shape": "skipped", "test_mse": "skipped",
    }
    defined = model_checks(faulty_c, "ae")["defined"]
    assert "ValueError" in defined.message and "no autoencoder today" in defined.message
    assert "AE(4, 2, 4)" in defined.message


# ---- notebooks ---------------------------------------------------------------------------------
def test_syntax_error_loses_only_its_cell(syntax_notebook):
    assert syntax_notebook.status == "graded"
    checks = model_checks(syntax_notebook, "mlpc")
    defined = checks["defined"]
    assert defined.status == "failed"
    line = _broken_mlpc()[1]
    assert f"Cell {SYNTAX_CELL} has a syntax error at line {line}" in defined.message
    assert {c.status for name, c in checks.items() if name != "defined"} == {"skipped"}
    assert_full_marks(syntax_notebook, ["mlr", "lr", "mlpr", "ae"])
    assert syntax_notebook.score == syntax_notebook.max_score - sum(c.max_score for c in checks.values())


def test_magics_and_colab_lines_full_marks(colab_notebook):
    _assert_all_passed(colab_notebook)


def test_lesson_autoencoder_redefined_mlpr(colab_notebook):
    checks = checks_by_id(colab_notebook)
    assert checks["ae.defined"].status == "passed"
    assert checks["ae.defined"].found == "MLPR"
    assert "project" in checks["ae.defined"].message
    # The first MLPR still plays the MLP regressor.
    assert checks["mlpr.structure"].found == "linear(3,3) → sigmoid → linear(3,1)"


def test_reference_notebook_autoencoder_matched_by_methods(solution_ipynb):
    defined = checks_by_id(solution_ipynb)["ae.defined"]
    assert defined.status == "passed" and defined.found == "MLPR"
