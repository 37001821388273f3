"""One fault barrier for every front end, and non-finite numbers stopped at the protocol boundary.

Observation lines are untrusted (the submission shares the harness's process): a number JSON cannot
hold (NaN, Infinity), one that overflows to inf (1e400) or an integer no float can take (400 digits)
is a malformed line, dropped while parsing, before anything stores it. A fault of the grader itself
(grading, rendering the report, printing the summary, writing the result) becomes an `error` result
with a plain message in `grader check`, `grader grade` (local workers and Dask tasks), `grader serve`
and the Gradescope runner; the batch goes on.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader.evaluate.execute import Execution
from grader.evaluate.observations import read_observations
from grader.i18n import CATALOGUE, Messages
from grader.intake.submission import read_submission
from grader.pipeline import grade_execution
from grader.protocol import wire
from grader.result import Result
from grader.spec import load_assignment
from grader.spec.datasets import splits_for

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "hostile"
SPEC_DIR = HOSTILE / "spec"
SPEC = load_assignment(str(SPEC_DIR))
SOLUTION_PY = ROOT / "solutions" / "iris_basics" / "solution.py"
GRADER = ROOT / ".venv" / "bin" / "grader"
FAULT_PREFIX_EN = CATALOGUE["run.grader_fault"]["en"].split("{")[0]  # "The grader failed internally ...: "

HUGE_INT = "1" + "0" * 399
STARTED = '{"kind": "started", "version": %d, "pid": 1}' % wire.VERSION


def training_line(run: str, model: str = "mlr") -> str:
    return '{"kind": "training", "model": "%s", "runs": [{"seed": 0, %s}]}' % (model, run)


def predictions(value: str, rows: int = 1) -> str:
    """A (rows, 1) prediction tensor, every entry written as `value` (raw JSON)."""
    values = ", ".join([f"[{value}]"] * rows)
    return f'"predictions": {{"type": "Tensor", "shape": [{rows}, 1], "dtype": "float64", "values": [{values}]}}'


HONEST_TRAINING = training_line('"seconds": 1.5, "loss_history": [0.5, null], ' + predictions("null"))
HONEST_MODEL = '{"kind": "model", "model": "mlr", "probe": {"type": "Tensor", "shape": [1], "values": [0.25]}}'

FORGED = {
    "seconds NaN": training_line('"seconds": NaN'),
    "seconds -Infinity": training_line('"seconds": -Infinity'),
    "loss Infinity": training_line('"loss_history": [0.5, Infinity]'),
    "prediction 1e400": training_line(predictions("1e400")),
    "prediction -1e400": training_line(predictions("-1e400")),
    "prediction of 400 digits": training_line(predictions(HUGE_INT)),
    "seed of 400 digits": '{"kind": "training", "model": "mlr", "runs": [{"seed": %s}]}' % HUGE_INT,
    "seed of 21 digits": '{"kind": "training", "model": "mlr", "runs": [{"seed": 123456789012345678901}]}',
    "seconds 'NaN' as a string": training_line('"seconds": "NaN"'),
    "prediction 'inf' as a string": training_line(predictions('"inf"')),
    "seconds 1e308 (their sum would overflow)": training_line('"seconds": 1e308'),
    "probe NaN": '{"kind": "model", "model": "mlr", "probe": {"type": "Tensor", "shape": [1], "values": [NaN]}}',
}


def observations_file(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "observations.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# ---- the protocol boundary ---------------------------------------------------------------------
@pytest.mark.parametrize("forged", FORGED.values(), ids=FORGED.keys())
def test_a_non_finite_line_is_malformed_and_never_stored(tmp_path, forged):
    honest = HONEST_MODEL if '"kind": "model"' in forged else HONEST_TRAINING
    observations = read_observations(observations_file(tmp_path, STARTED, forged, honest))
    assert observations.malformed_lines == 1
    # The first line of each kind counts: the honest one after it does, so the forged one was dropped.
    if honest is HONEST_MODEL:
        assert observations.models["mlr"].probe.values == [0.25]
    else:
        run = observations.training["mlr"].runs[0]
        assert (run.seconds, run.loss_history, run.predictions.values) == (1.5, [0.5, None], [[None]])


def test_every_forged_line_is_counted_and_null_stays_valid(tmp_path):
    observations = read_observations(observations_file(tmp_path, STARTED, *FORGED.values(), HONEST_TRAINING))
    assert observations.malformed_lines == len(FORGED)
    assert observations.started
    assert observations.training["mlr"].runs[0].loss_history == [0.5, None]  # the harness's NaN/inf -> null


def _grade_observations(path: Path) -> Result:
    submission = read_submission(SOLUTION_PY)
    execution = Execution(observations=read_observations(path), splits=splits_for(SPEC.spec), mode="definitions")
    return grade_execution(submission, SPEC, execution, Messages("en", SPEC.messages), time.perf_counter()).result


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the squared error, as intended
def test_what_the_trusted_side_computes_from_valid_lines_stays_finite(tmp_path):
    # Two seeds of the largest duration a line may claim, and predictions whose squared error overflows.
    runs = ", ".join('{"seed": %d, "seconds": 604800, %s}' % (seed, predictions("1e200", rows=75)) for seed in (0, 1))
    # A model line whose forward shapes fit, so that the metric is computed from those predictions.
    model = ('{"kind": "model", "model": "mlr", "class": {"name": "MLR", "cell": 1}, "construct": {"ok": true}, '
             '"forward": {"batch_n": {"type": "Tensor", "shape": [75, 1], "dtype": "float32"}, '
             '"batch_1": {"type": "Tensor", "shape": [1, 1], "dtype": "float32"}}, "layers": ["linear(3,1)"]}')
    path = observations_file(tmp_path, STARTED, model, '{"kind": "training", "model": "mlr", "runs": [%s]}' % runs)
    result = _grade_observations(path)
    assert math.isfinite(result.training_s) and result.training_s == 2 * 604800
    assert all(value is None or math.isfinite(value) for value in result.metrics.values()), result.metrics
    assert result.metrics["mlr.test_mse"] is None  # an MSE that overflowed is no value, as in the JSON
    mse = [c for c in result.checks if c.id == "mlr.test_mse"][0]
    # 1e200 for every row: the same prediction for all, which the message says.
    assert (mse.score, mse.message) == (0.0, Messages("en").text("metric.constant.mse", value="inf", baseline="0.6185"))
    assert Result.model_validate_json(result.to_json()) == result


# ---- grader check, end to end --------------------------------------------------------------------
def run_check(path: Path, out: Path, *extra: str, prelude: str = "", assignment: str = str(SPEC_DIR)
              ) -> subprocess.CompletedProcess:
    """`grader check` in a real process; `prelude` (Python) runs first in it, to inject a grader fault."""
    args = [str(path), "-a", assignment, "--lang", "en", "--json", str(out / "out.json"), *extra]
    if prelude:
        command = [sys.executable, "-c", f"import sys\n{prelude}\nfrom grader.cli import main\nsys.exit(main(sys.argv[1:]))",
                   "check", *args]
    else:
        command = [str(GRADER), "check", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=out,
                          env={**os.environ, "COLUMNS": "200"})


def test_check_survives_forged_non_finite_lines(tmp_path):
    done = run_check(HOSTILE / "nonfinite_lines.py", tmp_path)
    output = done.stdout + done.stderr
    assert "Traceback" not in output and "Error" not in done.stderr, output[-3000:]
    assert done.returncode == 0, output[-3000:]
    result = Result.model_validate_json((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert "FORGED 5 lines" in result.stdout
    malformed = [i.message for i in result.incidents if i.kind == "malformed_observations"]
    assert malformed == [Messages("en").text("run.malformed", count=5)]
    # The real training lines came after the forged ones and counted: every model has full marks.
    assert (result.status, result.score, result.max_score) == ("graded", 25.0, 25.0), [
        (c.id, c.message) for c in result.checks if c.status != "passed"]


def test_forged_non_finite_lines_warm_are_malformed_too():
    # Forked from a batch worker's fork server the observations file is descriptor 3, and found so.
    from grader.pipeline import grade_safely
    from grader.sandbox import forkserver
    from grader.sandbox import tiers as isolation

    reason = forkserver.unavailable_reason(isolation.detect())
    if reason:
        pytest.skip(f"no fork server here: {reason}")
    with forkserver.ForkServer() as server:
        result = grade_safely(HOSTILE / "nonfinite_lines.py", SPEC, lang="en", fork_server=server).result
        assert server.runs_started == 1, server.broken
    assert "FORGED 5 lines" in result.stdout
    assert [i.message for i in result.incidents if i.kind == "malformed_observations"] == [
        Messages("en").text("run.malformed", count=5)]
    assert (result.status, result.score) == ("graded", 25.0)


# In `grader check`'s process, the sandbox replaced by the reference's recorded run (tests/conftest.py,
# RecordedSandbox): the checks the fault is injected into run on real observations, in milliseconds.
RECORDED_SANDBOX = (f"sys.path.insert(0, {str(ROOT / 'tests')!r})\n"
                    "from conftest import RecordedSandbox, recorded_replacements\n"
                    "for target, name, value in recorded_replacements(RecordedSandbox()): setattr(target, name, value)\n")
FAULTS = {
    # After the run: the trusted checks raise.
    "grading": ("valid", RECORDED_SANDBOX + "import grader.checks.library.structure\n"
                "def boom(self, context): raise RuntimeError('checks exploded')\n"
                "grader.checks.library.structure.Structure.grade = boom", "RuntimeError: checks exploded"),
    "report": ("empty", "import grader.outputs.report.html\n"
               "def boom(*a, **k): raise ValueError('template exploded')\n"
               "grader.outputs.report.html.render_report = boom", "ValueError: template exploded"),
    "summary": ("empty", "import grader.outputs.console\n"
                "def boom(*a, **k): raise KeyError('console exploded')\n"
                "grader.outputs.console.print_result = boom", "KeyError: 'console exploded'"),
}


@pytest.mark.parametrize("where", FAULTS)
def test_check_turns_a_grader_fault_into_an_error_result_and_exit_1(tmp_path, where):
    kind, prelude, detail = FAULTS[where]
    submission = SOLUTION_PY if kind == "valid" else tmp_path / "empty.py"
    if kind == "empty":
        submission.write_text("", encoding="utf-8")  # graded `invalid` at once: the fault comes after
    done = run_check(submission, tmp_path, "--html", str(tmp_path / "report.html"), prelude=prelude,
                     assignment="iris_basics" if kind == "valid" else str(SPEC_DIR))  # the recording's spec
    output = done.stdout + done.stderr
    assert done.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    result = Result.model_validate_json((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert result.status == "error"
    assert result.message == FAULT_PREFIX_EN + detail
    assert result.message in " ".join(output.split())  # the plain message reaches the terminal
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<html" in report and "The grader failed internally" in report


# ---- grader grade: one faulting submission among good ones -------------------------------------
def _faulty_grade_file(original):
    """grade_file, except that `bad` raises and `nan` gets a result whose JSON does not validate."""
    def grade_file(path, assignment, lang=None, mode=None, student_id=None, **kwargs):
        if student_id == "bad":
            raise RuntimeError("the grader tripped on bad")
        graded = original(path, assignment, lang=lang, mode=mode, student_id=student_id, **kwargs)
        if student_id == "nan":
            graded.result.training_s = float("nan")  # serialised as null, which Result rejects
        return graded
    return grade_file


def test_batch_goes_on_past_a_grader_fault_and_an_invalid_result_json(tmp_path, monkeypatch, recorded_sandbox):
    import grader.pipeline
    from grader.apps.batch import grade_batch

    # The batch's barrier is the point, not the sandbox: `good` and `nan` replay the reference's recording.
    recorded_sandbox()
    monkeypatch.setattr(grader.pipeline, "grade_file", _faulty_grade_file(grader.pipeline.grade_file))
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("good", "bad", "nan"):
        shutil.copy(SOLUTION_PY, inputs / f"{name}.py")
    (inputs / "empty.py").write_text("", encoding="utf-8")
    out = tmp_path / "out"
    summary = grade_batch([inputs], load_assignment("iris_basics"), out, lang="en", jobs=1, warm=False)
    assert (summary.graded, summary.invalid, summary.errors) == (1, 1, 2)
    results = {p.stem: Result.model_validate_json(p.read_text(encoding="utf-8")) for p in (out / "results").glob("*.json")}
    assert {sid: r.status for sid, r in results.items()} == {"good": "graded", "bad": "error", "nan": "error",
                                                            "empty": "invalid"}
    assert results["good"].score == 25.0
    assert results["bad"].message == FAULT_PREFIX_EN + "RuntimeError: the grader tripped on bad"
    assert results["nan"].message.startswith(FAULT_PREFIX_EN) and "training_s" in results["nan"].message
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    assert all(f"\n{sid}," in grades for sid in ("good", "bad", "nan", "empty")), grades
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f"reports/{sid}.html" in index for sid in ("good", "bad", "nan", "empty"))
    assert all((out / "reports" / f"{sid}.html").is_file() for sid in results)


# ---- each front end's use of the barrier, in process -------------------------------------------
def _raising(*args, **kwargs):
    raise RuntimeError("injected")


def test_worker_task_output_is_always_valid(tmp_path, monkeypatch):
    import grader.outputs.report.html
    from grader.apps.pool import fault_output, make_task, run_task

    empty = tmp_path / "empty.py"
    empty.write_text("", encoding="utf-8")
    task = make_task(empty, "s1", SPEC, "en", None, ship_file=True)
    monkeypatch.setattr(grader.outputs.report.html, "render_report", _raising)  # a report that cannot be rendered
    output = run_task(task)
    result = Result.model_validate_json(output.result_json)
    assert (result.status, result.message) == ("error", FAULT_PREFIX_EN + "RuntimeError: injected")
    assert "The grader failed internally" in output.report_html
    monkeypatch.undo()
    # A Dask task whose worker died: the batch's side records the fault with the same barrier.
    output = fault_output(task, ConnectionError("worker lost"))
    assert Result.model_validate_json(output.result_json).message == FAULT_PREFIX_EN + "ConnectionError: worker lost"


def test_dask_task_runs_behind_the_barrier(tmp_path, monkeypatch):
    import grader.pipeline
    from grader.apps import dask_pool
    from grader.apps.pool import make_task

    empty = tmp_path / "empty.py"
    empty.write_text("", encoding="utf-8")
    monkeypatch.setattr(grader.pipeline, "grade_file", _raising)

    class Worker:
        plugins: dict = {}

    monkeypatch.setattr("distributed.get_worker", lambda: Worker())
    output = dask_pool.run_task_on_dask_worker(make_task(empty, "s1", SPEC, "en", None, ship_file=True))
    assert Result.model_validate_json(output.result_json).status == "error"


def test_interrupts_are_not_swallowed(tmp_path, monkeypatch):
    import grader.pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(grader.pipeline, "grade_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grader.pipeline.grade_safely(SOLUTION_PY, SPEC)


def test_service_records_a_grader_fault(tmp_path, monkeypatch):
    import hashlib

    import grader.outputs.report.html
    from grader.apps.server.jobs import WorkerPool
    from grader.apps.server.storage import Storage

    storage = Storage(tmp_path / "data")
    incoming = storage.incoming_path()
    incoming.write_bytes(b"")  # graded `invalid` at once; then its report cannot be rendered
    row, _ = storage.add("iris_basics", "s1", "empty.py", hashlib.sha256(b"").hexdigest(), 0, incoming, "en")
    monkeypatch.setattr(grader.outputs.report.html, "render_report", _raising)
    pool = WorkerPool(storage, {"iris_basics": SPEC}, workers=0, lang="en")
    pool._grade(storage.claim(), None, None)  # no fork server, no evaluation process: cold
    result = Result.model_validate_json(storage.result_path(row.id).read_text(encoding="utf-8"))
    assert (result.status, result.message) == ("error", FAULT_PREFIX_EN + "RuntimeError: injected")
    assert storage.get(row.id).result_status == "error"
    assert "The grader failed internally" in storage.report_path(row.id).read_text(encoding="utf-8")
    pool._record_fault(row, "cut off")
    assert "cut off" in storage.report_path(row.id).read_text(encoding="utf-8")
    storage.close()


def test_gradescope_run_records_a_grader_fault(tmp_path, monkeypatch):
    import grader.outputs.report.html
    import grader.pipeline
    from grader.apps.gradescope import CONFIG_FILE, run

    source = tmp_path / "source"
    shutil.copytree(SPEC_DIR, source / "assignment")
    (source / CONFIG_FILE).write_text(json.dumps({"lang": "en", "visibility": "visible"}), encoding="utf-8")
    submission = tmp_path / "submission"
    submission.mkdir()
    shutil.copy(SOLUTION_PY, submission / "solution.py")
    monkeypatch.setattr(grader.pipeline, "execute", _raising)
    data = run(source, submission, tmp_path / "results", tmp_path / "none.json")
    assert data["extra_data"]["status"] == "error"
    assert FAULT_PREFIX_EN + "RuntimeError: injected" in data["output"]
    monkeypatch.undo()
    # A report that cannot be rendered still ends in a results.json that says so.
    (submission / "solution.py").write_text("", encoding="utf-8")
    monkeypatch.setattr(grader.outputs.report.html, "render_report", _raising)
    data = run(source, submission, tmp_path / "results2", tmp_path / "none.json")
    assert data["extra_data"]["status"] == "error"
    assert (tmp_path / "results2" / "report.html").is_file()
