"""The model as data (issue 12): capture in the harness, validation and rebuild on the trusted side,
facts computed on the rebuilt graph, and the attacks the graph path closes.

Most tests run the harness's capture in this process on classes compiled as cell 1 (so that the
cell and line it reports are known), send the line through the wire, and evaluate it as the
trusted side does; a few grade whole submissions through the sandbox, cold and warm.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import not_captured

from grader.checks.registry import check_names
from grader.evaluate import trusted
from grader.evaluate.execute import build_job
from grader.evaluate.graph import GraphError, check_sizes, rebuild
from grader.evaluate.observations import Observations
from grader.evaluate.source_check import class_problem, graph_problem
from grader.harness.capture import capture_model
from grader.harness.loader import ClassRecord
from grader.harness.training import train_model
from grader.intake.submission import read_submission
from grader.pipeline import grade_file, parse_assignment
from grader.protocol import wire
from grader.sandbox import forkserver
from grader.spec import AssignmentError, load_assignment
from grader.spec.datasets import splits_for
from grader.spec.probe_points import probe_inputs

ROOT = Path(__file__).resolve().parent.parent
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"


def captured_assignment(require: bool = False):
    """iris_basics, whose models are captured; with `require`, an uncapturable one scores nothing."""
    bundled = load_assignment("iris_basics")
    options = {"require": True} if require else {}
    models = [m.model_copy(update={"checks": {**m.checks, "capture": options}}) for m in bundled.spec.models]
    return bundled.model_copy(update={"spec": bundled.spec.model_copy(update={"models": models})})


ASSIGNMENT = captured_assignment()
SPLITS = splits_for(ASSIGNMENT.spec)
# The jobs of a second run (the models graded the old way): with their data, for the harness's training.
JOBS = {m.id: m for m in build_job(read_submission(SOLUTION_PY), ASSIGNMENT, SPLITS, "definitions", "",
                                   uncaptured=frozenset(m.id for m in ASSIGNMENT.spec.models)).models}


def classes(source: str) -> dict[str, type]:
    """The classes of `source`, compiled as the harness compiles a cell (`<cell 1>`)."""
    namespace: dict = {"torch": torch, "nn": torch.nn, "F": torch.nn.functional, "__name__": "__main__"}
    exec(compile(textwrap.dedent(source), "<cell 1>", "exec"), namespace)  # noqa: S102 - the test's own classes
    return {k: v for k, v in namespace.items() if isinstance(v, type) and issubclass(v, torch.nn.Module)}


def captured(model_id: str, cls: type) -> wire.Capture:
    """The capture line of `cls` playing `model_id`, through the wire as the grader reads it."""
    fields = capture_model(JOBS[model_id], cls)
    return wire.decode_line(wire.encode_line(wire.build(wire.Capture, fields)))


def data_for(model_id: str) -> trusted.ModelData:
    split = SPLITS[model_id]
    return trusted.ModelData.of(split.train_x, split.train_y, split.test_x, probe_inputs(JOBS[model_id].args[0]))


def evaluated(model_id: str, cls: type) -> trusted.Evaluated:
    line = captured(model_id, cls)
    assert line.failure is None, line.failure
    return trusted.evaluate(line, None, JOBS[model_id].recipe, data_for(model_id), deadline=float("inf"))


REFERENCE = classes(SOLUTION_PY.read_text(encoding="utf-8"))


# ---- the graph path gives today's numbers ---------------------------------------------------------
@pytest.mark.parametrize("model_id, name", [("mlr", "MLR"), ("lr", "LR"), ("mlpr", "MLPR"), ("mlpc", "MLPC"),
                                            ("ae", "AE")])
def test_training_the_rebuilt_graph_gives_the_harness_numbers_bit_for_bit(model_id, name, monkeypatch):
    """The same loop, the same initial values (the layers rebuilt under the seed are the student's
    own), the same data: loss histories and predictions identical to the last bit. (With the
    loop's one-at-a-time operations, `grader.train.loop.fit`; the stacked training that grades
    these graphs ends within a tolerance of it: tests/test_stacked_training.py.)"""
    monkeypatch.setattr(trusted, "stackable", lambda module: False)
    on_graph = evaluated(model_id, REFERENCE[name]).training.runs
    record = ClassRecord(name, 1, 1, REFERENCE[name])
    in_sandbox = train_model(JOBS[model_id], record, deadline=float("inf"))
    assert [r.seed for r in on_graph] == [r["seed"] for r in in_sandbox] == [0, 1, 2]
    for graph_run, sandbox_run in zip(on_graph, in_sandbox):
        assert graph_run.loss_history == sandbox_run["loss_history"]
        assert graph_run.predictions.values == sandbox_run["predictions"]["values"]


def test_the_reference_models_capture_with_the_default_initialisation():
    for model_id, name in [("mlr", "MLR"), ("lr", "LR"), ("mlpr", "MLPR"), ("mlpc", "MLPC"), ("ae", "AE")]:
        result = evaluated(model_id, REFERENCE[name])
        assert not result.student_init and result.seed_independent == () and result.suspicious == ""
        assert result.observation.layers == {
            "mlr": ["linear(3,1)"], "lr": ["linear(4,3)", "sigmoid"],
            "mlpr": ["linear(3,3)", "sigmoid", "linear(3,1)"],
            "mlpc": ["linear(4,3)", "sigmoid", "linear(3,3)", "sigmoid"],
            "ae": ["linear(4,2)", "sigmoid", "linear(2,4)"]}[model_id]


# ---- structure from the data flow -----------------------------------------------------------------
EINSUM_LR = """
class LR(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_input, n_output) * 0.1)
        self.b = nn.Parameter(torch.zeros(n_output))

    def forward(self, x):
        F.linear(torch.zeros(1, self.W.shape[0]), self.W.t())  # dummy calls: the names a trace of calls wants
        torch.sigmoid(torch.zeros(1))
        return torch.clamp(torch.einsum("ni,ij->nj", x, self.W) + self.b, 0.0, 1.0)
"""


def test_dummy_calls_whose_results_do_not_reach_the_output_are_no_layers():
    result = evaluated("lr", classes(EINSUM_LR)["LR"])
    assert result.observation.layers == []  # einsum and clamp are no layers; the dummies lead nowhere


def test_a_hand_written_weight_and_a_sequential_read_as_linear_layers():
    source = """
    class MLPC(nn.Module):
        def __init__(self, n_input, n_hidden, n_output):
            super().__init__()
            self.W = nn.Parameter(torch.randn(n_input, n_hidden))
            self.out = nn.Sequential(nn.Linear(n_hidden, n_output), nn.Sigmoid())

        def forward(self, x):
            return self.out(torch.sigmoid(x @ self.W))
    """
    result = evaluated("mlpc", classes(source)["MLPC"])
    assert result.observation.layers == ["linear(4,3)", "sigmoid", "linear(3,3)", "sigmoid"]
    assert result.observation.hidden_probe.layers == ["linear(4,5)", "sigmoid", "linear(5,3)", "sigmoid"]


def test_a_forward_whose_shapes_do_not_fit_fails_on_the_graph_with_the_students_line():
    source = """
    class MLR(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.l1 = nn.Linear(n_input, n_output)

        def forward(self, x):
            y = x.t()
            return self.l1(y)
    """
    forward = evaluated("mlr", classes(source)["MLR"]).observation.forward
    assert isinstance(forward, wire.Failed) and forward.error.type == "RuntimeError"
    assert "shapes cannot be multiplied (3x75 and 3x1)" in forward.error.message
    assert [(f.cell, f.line) for f in forward.error.frames] == [(1, 9)]  # `return self.l1(y)`


# ---- what the harness cannot capture --------------------------------------------------------------
@pytest.mark.parametrize("forward, reason, detail, line", [
    ("return self.l1(x) if x.sum() > 0 else x", "trace", "symbolically traced variables cannot be used", 8),
    ("return torch.from_numpy(self.l1(x).detach().numpy())", "trace", "", 8),
    ("return torch.nn.functional.hardswish(self.l1(x))", "not_allowed", "calls torch.nn.functional.hardswish", 8),
])
def test_a_model_that_cannot_be_captured_says_why_and_where(forward, reason, detail, line):
    source = f"""
    class MLR(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.l1 = nn.Linear(n_input, n_output)

        def forward(self, x):
            {forward}
    """
    line_ = captured("mlr", classes(source)["MLR"])
    assert line_.graph is None and line_.failure.reason == reason
    assert detail in line_.failure.detail
    assert (line_.failure.cell, line_.failure.line) == (1, line)


# ---- validation: what the trusted side refuses -----------------------------------------------------
def reference_capture(model_id: str = "lr", name: str = "LR") -> wire.Capture:
    return captured(model_id, REFERENCE[name])


def with_node(capture: wire.Capture, index: int, **changes) -> wire.Capture:
    method = capture.graph.methods[0]
    nodes = list(method.nodes)
    nodes[index] = dataclasses.replace(nodes[index], **changes)
    graph = dataclasses.replace(capture.graph, methods=[dataclasses.replace(method, nodes=nodes)])
    return dataclasses.replace(capture, graph=graph)


def node_index(capture: wire.Capture, op: str) -> int:
    return next(i for i, n in enumerate(capture.graph.methods[0].nodes) if n.op == op)


@pytest.mark.parametrize("change, problem", [
    (lambda c: with_node(c, node_index(c, "call_function"), target="os.system"), "the function os.system is not allowed"),
    (lambda c: with_node(c, node_index(c, "call_module"), target="inner.nowhere"), "not one of the captured layers"),
    (lambda c: with_node(c, node_index(c, "call_function"), args=[{"node": "later"}]), "not an earlier node"),
    (lambda c: with_node(c, node_index(c, "call_function"), target="getattr",
                         args=[{"node": "x"}, "__class__"]), "getattr of"),
])
def test_a_graph_naming_what_the_allow_list_does_not_hold_is_refused(change, problem):
    capture = change(reference_capture())
    with pytest.raises(GraphError, match=problem):
        trusted.evaluate(capture, None, JOBS["lr"].recipe, data_for("lr"), deadline=float("inf"))


def test_a_tensor_whose_shape_is_not_its_layers_is_refused():
    capture = reference_capture()
    seed = capture.graph.seeds[0]
    weight = next(t for t in seed.tensors if t.path.endswith("weight"))
    bad = dataclasses.replace(weight, shape=[3, 5], data=None)
    with pytest.raises(GraphError, match=r"shape \(3, 5\) where Linear has \(3, 4\)"):
        rebuild(capture.graph, [bad if t is weight else t for t in seed.tensors], device="meta")


def test_an_intermediate_result_too_large_is_refused_on_the_meta_device_before_anything_runs():
    source = """
    class MLR(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.l1 = nn.Linear(n_input, n_output)

        def forward(self, x):
            outer = x.reshape(-1, 1) * x.reshape(1, -1)
            outer = outer.reshape(-1, 1) * outer.reshape(1, -1)
            return self.l1(x) + outer.sum()
    """
    capture = captured("mlr", classes(source)["MLR"])
    with pytest.raises(GraphError, match=r"would hold 2562890625 numbers"):  # (75 * 3) ** 4
        check_sizes(capture.graph, capture.graph.seeds[0].tensors, [(75, 3)])


# ---- what may carry an answer ------------------------------------------------------------------------
def test_a_buffer_holding_rows_of_the_data_set_zeroes_the_metric():
    rows = SPLITS["lr"].test_x[:2].tolist()
    source = f"""
    class LR(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.l1 = nn.Linear(n_input, n_output)
            self.register_buffer("table", torch.tensor({rows}))

        def forward(self, x):
            return torch.sigmoid(self.l1(x)) + 0 * self.table.sum()
    """
    assert evaluated("lr", classes(source)["LR"]).suspicious == "table holds rows of the data set"


def test_a_large_constant_is_suspicious_and_a_pretrained_parameter_is_seed_independent():
    source = """
    class LR(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.W = nn.Parameter(torch.linspace(-1, 1, n_input * n_output).reshape(n_input, n_output))
            self.register_buffer("big", torch.ones(300))

        def forward(self, x):
            return torch.sigmoid(x @ self.W) + 0 * self.big.sum()
    """
    result = evaluated("lr", classes(source)["LR"])
    assert result.suspicious == "big holds 300 numbers (at most 256)"
    assert result.seed_independent == ("W",)


def test_a_students_own_initialisation_is_replaced_by_the_default_one_unless_the_spec_keeps_it():
    source = """
    class MLR(nn.Module):
        def __init__(self, n_input, n_output):
            super().__init__()
            self.l1 = nn.Linear(n_input, n_output)
            nn.init.zeros_(self.l1.weight)

        def forward(self, x):
            return self.l1(x)
    """
    cls = classes(source)["MLR"]
    line = captured("mlr", cls)
    default = trusted.evaluate(line, None, JOBS["mlr"].recipe, data_for("mlr"), deadline=float("inf"))
    kept = trusted.evaluate(line, None, JOBS["mlr"].recipe, data_for("mlr"), deadline=float("inf"),
                            keep_student_init=True)
    assert default.student_init and kept.student_init
    reference = evaluated("mlr", REFERENCE["MLR"]).training.runs[0].loss_history
    assert default.training.runs[0].loss_history == reference  # the same start as the lesson's MLR
    assert kept.training.runs[0].loss_history != reference


# ---- forged lines ------------------------------------------------------------------------------------
def test_a_graph_of_a_class_the_file_does_not_define_is_refused(tmp_path):
    path = tmp_path / "no_class.py"
    path.write_text("import torch\nprint('no model here')\n", encoding="utf-8")
    submission = read_submission(path)
    claimed = wire.ClassInfo(name="MLR", cell=1, line=3)
    assert class_problem(submission, claimed) == "no class MLR is defined in cell 1"
    capture = reference_capture("mlr", "MLR")
    assert graph_problem(submission, capture.graph) == "l1: not named anywhere in the source"
    assert class_problem(read_submission(SOLUTION_PY), claimed) is None


def test_a_second_line_for_the_same_model_is_counted_and_the_first_stands():
    observations = Observations()
    first, second = reference_capture(), dataclasses.replace(reference_capture(), graph=None,
                                                             failure=wire.CaptureFailure("trace"))
    observations.add(first)
    observations.add(second)
    assert observations.captures["lr"] is first and observations.duplicate_lines == 1


# ---- through the sandbox: the attacks, cold and warm -------------------------------------------------
FORGER = '''
"""No model class at all: code in a class body (definitions mode runs class bodies) finds the
harness's emitter and writes, before the harness does, a model line and a capture line of a good
MLR for every model id."""
import gc
import json


class Forge:
    for _emitter in gc.get_objects():
        if type(_emitter).__name__ == "Emitter":
            for _line in json.loads(__LINES__):
                _emitter._stream.write(_line + "\\n")
            _emitter._stream.flush()
            break
'''

CRIPPLED = '''
import torch


class LR(torch.nn.Module):
    """The right layers; the honest path is crippled, and a no-grad call (the grader's predictions,
    the old way) answers from a table instead."""

    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        if not torch.is_grad_enabled():
            return torch.full((x.shape[0], 3), 0.99)
        return torch.sigmoid(self.l1(x)) * 0.0 + 0.5
'''


def forged_lines() -> str:
    """The real lines of the reference MLR, claimed for every model: what a forger would copy."""
    lines = []
    for model_id in JOBS:
        capture = captured("mlr", REFERENCE["MLR"])
        lines.append(wire.encode_line(wire.ModelObservation(
            model=model_id, class_=wire.ClassInfo(name="MLR", cell=1, line=5, matched_by="name"),
            construction=wire.Construct(ok=True))))
        lines.append(wire.encode_line(dataclasses.replace(capture, model=model_id)))
    return json.dumps(json.dumps(lines))


@pytest.fixture(scope="module")
def attacks(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("attacks")
    (folder / "forger.py").write_text(FORGER.replace("__LINES__", forged_lines()), encoding="utf-8")
    (folder / "crippled.py").write_text(CRIPPLED, encoding="utf-8")
    return {name: folder / f"{name}.py" for name in ("forger", "crippled")}


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_file_without_a_model_class_forging_lines_scores_nothing(attacks, warm):
    with forkserver.ForkServer() as server:
        result = grade_file(attacks["forger"], ASSIGNMENT, lang="en", fork_server=server if warm else None).result
    assert result.score == 0
    forged = [incident.message for incident in result.incidents if incident.kind == "forged_observations"]
    # One per model (the class is not in the file), and one for the harness's own lines, which came second.
    assert len(forged) == 6, result.incidents
    assert ("mlr: the graph received does not match the submitted code (no class MLR is defined in cell 1); the model"
            " was not graded.") in forged
    assert any("line(s) of observations came twice" in message for message in forged)
    assert {c.id: c.status for c in result.checks}["mlr.defined"] == "failed"


@pytest.mark.parametrize("warm", [False, True], ids=["cold", "warm"])
def test_a_crippled_honest_path_scores_what_the_honest_path_earns(attacks, warm):
    with forkserver.ForkServer() as server:
        result = grade_file(attacks["crippled"], ASSIGNMENT, lang="en", fork_server=server if warm else None).result
    checks = {c.id: c for c in result.checks}
    assert checks["lr.capture"].status == "passed"
    # The graph is the grad-enabled path: a constant 0.5, whatever the input. Its accuracy is chance.
    assert checks["lr.test_accuracy"].score == 0
    assert result.metrics["lr.test_accuracy"] == pytest.approx(1 / 3, abs=0.01)
    assert np.isclose(checks["lr.output_range"].score, checks["lr.output_range"].max_score)


TRAINING_FORGER = '''
import gc
import os

import torch


class MLR(torch.nn.Module):
    \"\"\"A real class whose constructor writes a model line and a training line (the reference's
    predictions) for itself, then ends the run before the harness can capture it.\"\"\"

    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)
        for emitter in gc.get_objects():
            if type(emitter).__name__ == "Emitter":
                emitter._stream.write(__LINES__)
                emitter._stream.flush()
                os._exit(0)

    def forward(self, x):
        return self.l1(x)
'''


def test_a_training_line_for_a_captured_model_counts_for_nothing(tmp_path):
    source = TRAINING_FORGER.replace("__LINES__", "")
    line = source.splitlines().index("class MLR(torch.nn.Module):") + 1
    model = wire.ModelObservation(model="mlr", class_=wire.ClassInfo(name="MLR", cell=1, line=line, matched_by="name"),
                                  construction=wire.Construct(ok=True))
    training = evaluated("mlr", REFERENCE["MLR"]).training
    lines = wire.encode_line(model) + "\n" + wire.encode_line(training) + "\n"
    path = tmp_path / "training_forger.py"
    path.write_text(TRAINING_FORGER.replace("__LINES__", repr(lines)), encoding="utf-8")
    result = grade_file(path, ASSIGNMENT, lang="en").result
    checks = {c.id: c for c in result.checks}
    assert "mlr" not in result.unverified
    assert checks["mlr.test_mse"].score == 0 and result.metrics["mlr.test_mse"] is None
    assert ("Training results came for models the grader trains itself (mlr); the harness writes none, so they"
            " were ignored.") in [incident.message for incident in result.incidents]


UNCAPTURABLE = '''
import torch


class MLR(torch.nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = torch.nn.Linear(n_input, n_output)

    def forward(self, x):
        if float(x.sum()) > 1e30:  # a value read in Python: fx cannot trace through it
            return x
        return self.l1(x)
'''


def test_an_unverified_model_scores_nothing_after_its_capture_where_the_spec_requires_it(tmp_path):
    path = tmp_path / "uncapturable.py"
    path.write_text(UNCAPTURABLE, encoding="utf-8")
    lenient = grade_file(path, ASSIGNMENT, lang="en").result
    strict = grade_file(path, captured_assignment(require=True), lang="en").result
    lenient_checks = {c.id: c for c in lenient.checks}
    strict_checks = {c.id: c for c in strict.checks}
    assert lenient.unverified == strict.unverified == ["mlr"]
    assert lenient_checks["mlr.capture"].status == strict_checks["mlr.capture"].status == "failed"
    assert "Could not be captured as a graph (TypeError" in lenient_checks["mlr.capture"].message
    assert "(cell 1, line 11)" in lenient_checks["mlr.capture"].message
    assert lenient_checks["mlr.test_mse"].status == "passed"  # graded the old way, inside the sandbox
    assert strict_checks["mlr.test_mse"].status == "skipped" and strict_checks["mlr.test_mse"].score == 0
    assert strict_checks["mlr.test_mse"].message == (
        "Not graded: this assignment grades only models that can be captured as a graph.")


def test_a_capture_line_where_the_spec_captures_nothing_is_forged(attacks):
    result = grade_file(attacks["forger"], not_captured(load_assignment("iris_basics")), lang="en").result
    assert not any(c.id.endswith(".capture") for c in result.checks)
    assert ("A graph came for models this assignment does not capture (ae, lr, mlpc, mlpr, mlr); the harness"
            " writes none, so it was ignored.") in [i.message for i in result.incidents]


# ---- what stops a capture, what does not, and what a spec may turn off ------------------------------
CUSTOM_FUNCTION_MLR = '''
class Doubled(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, grad):
        return grad  # not the derivative of 2 * x: fx would keep the forward and lose this


class MLR(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = nn.Linear(n_input, n_output)

    def forward(self, x):
        return Doubled.apply(self.l1(x))
'''

NAN_FAR_AWAY_MLR = '''
class MLR(nn.Module):
    def __init__(self, n_input, n_output):
        super().__init__()
        self.l1 = nn.Linear(n_input, n_output)

    def forward(self, x):
        out = self.l1(x)
        return torch.where(x.abs().amax(dim=1, keepdim=True) > 20, out * float("nan"), out.clone())
'''


def test_a_custom_autograd_function_stops_the_capture_and_says_where():
    line = captured("mlr", classes(CUSTOM_FUNCTION_MLR)["MLR"])
    assert line.graph is None and line.failure is not None
    assert (line.failure.reason, line.failure.detail) == ("unsupported", "the custom autograd function Doubled")
    assert torch.autograd.Function.apply.__func__.__name__ == "apply"  # put back after the trace


def test_comparisons_reductions_and_a_nan_constant_are_a_graph_and_run_as_the_student_wrote_them():
    evaluated_mlr = evaluated("mlr", classes(NAN_FAR_AWAY_MLR)["MLR"])
    probe = evaluated_mlr.observation.probe  # the probe points far from the data come out NaN
    assert probe is not None and any(value is None for row in probe.values for value in row)
    forward = evaluated_mlr.observation.forward.batch_n  # the test inputs are near: finite
    assert forward.shape == [75, 1] and all(value is not None for row in forward.values for value in row)


def test_a_model_whose_hidden_size_cannot_change_is_captured_and_the_probe_says_why():
    only_three = classes(SOLUTION_PY.read_text(encoding="utf-8").replace(
        "super(MLPR, self).__init__()", "super(MLPR, self).__init__()\n        assert n_hidden == 3, 'three only'", 1))
    line = captured("mlpr", only_three["MLPR"])
    assert line.failure is None and line.hidden_probe is None
    assert line.hidden_probe_failed is not None and line.hidden_probe_failed.error.type == "AssertionError"
    observation = trusted.evaluate(line, None, JOBS["mlpr"].recipe, data_for("mlpr"), deadline=float("inf")).observation
    assert isinstance(observation.hidden_probe, wire.Failed)


def test_a_spec_may_grade_a_model_the_old_way(tmp_path):
    """`[models.checks.capture] enabled = false`: no capture check, and the job carries the model's
    data (the harness trains it), as before the capture."""
    spec_text = (ROOT / "grader" / "assignments" / "iris_basics" / "assignment.toml").read_text(encoding="utf-8")
    text = spec_text.replace('id = "mlr"\n', 'id = "mlr"\nchecks = { capture = { enabled = false } }\n', 1)
    assignment = parse_assignment(text.encode(), tmp_path)
    mlr, lr = assignment.spec.models[:2]
    assert (mlr.captured, lr.captured) == (False, True)
    assert "capture" not in check_names(assignment.spec, mlr) and "capture" in check_names(assignment.spec, lr)
    jobs = {m.id: m for m in build_job(read_submission(SOLUTION_PY), assignment, splits_for(assignment.spec),
                                       "definitions", "").models}
    assert (jobs["mlr"].capture, len(jobs["mlr"].test_x)) == (False, 75)
    assert (jobs["lr"].capture, jobs["lr"].test_x) == (True, [])
    with pytest.raises(AssignmentError, match="enabled: true or false"):
        parse_assignment(spec_text.replace('id = "mlr"\n', 'id = "mlr"\nchecks = { capture = { enabled = "no" } }\n',
                                           1).encode(), tmp_path)
