"""A hang costs one model, and seconds, not the whole run (issue 18, item 4).

Each phase of each model (construction, probes, training) has a budget of its own
(`model_timeout_s`), and loading the submission has one too (`load_timeout_s`). A model that runs
past its budget gets a timeout verdict that names it and the phase, and the run goes on with the
next model in a fresh child (forked again from the fork server when warm, a fresh sandboxed
interpreter when cold); the other models keep what they earn. A hang while loading cannot be helped
by a restart: the run ends at the loading budget and the result says so.

The submissions are tests/hostile/lr_forward_loop.py (through `grader check`), training_hang.py and
toplevel_hang.py (cold and warm). A hang in the probes or in a constructor, cold and warm, is
tests/test_hostile_limits.py's (infinite_loop.py, slow_init.py); every verdict and message of a timeout is
graded on recorded observations in tests/test_checks.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import (
    ROOT,
    assert_full_marks,
    leftover_cgroups,
    model_checks,
    private_tempdir,
)

from grader.pipeline import grade_file
from grader.result import Result
from grader.sandbox import forkserver
from grader.sandbox import tiers as isolation
from grader.spec import AssignmentError, load_assignment, parse_assignment

HOSTILE = ROOT / "tests" / "hostile"
GRADER = ROOT / ".venv" / "bin" / "grader"
ISOLATION = isolation.detect()
OTHERS_THAN_LR = ["mlr", "mlpr", "mlpc", "ae"]


def spec_with(source: Path, folder: Path, **top_level: object):
    """A copy of the spec in `source` with these top-level keys set (replaced where present)."""
    text = (source / "assignment.toml").read_text(encoding="utf-8")
    for key, value in top_level.items():
        line = f"{key} = {value}"
        text, count = re.subn(rf"(?m)^{key} = .*$", line, text)
        if not count:
            text = text.replace("\n[title]", f"\n{line}\n\n[title]", 1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "assignment.toml").write_text(text, encoding="utf-8")
    return load_assignment(str(folder))


def timeout_messages(result: Result) -> list[str]:
    return [i.message for i in result.incidents if i.kind == "timeout"]


@pytest.fixture(params=["cold", "warm"])
def grade_budgeted(request, tmp_path, monkeypatch, shared_fork_server):
    """Grade a file cold or warm (from the module's fork server, which outlives the hangs); afterwards
    nothing of any of its runs may be left behind."""
    warm = request.param == "warm"
    if warm and forkserver.unavailable_reason(ISOLATION):
        pytest.skip(f"no fork server here: {forkserver.unavailable_reason(ISOLATION)}")
    runs = private_tempdir(monkeypatch, "grader-budget-runs-")

    def grade(path: Path, assignment, expected_runs: int) -> tuple[Result, float]:
        started = time.monotonic()
        if warm:
            server = shared_fork_server.ready()
            before = server.runs_started
            result = grade_file(path, assignment, lang="en", fork_server=server).result
            # One run, then one fresh child per hang that left models to grade.
            assert server.runs_started - before == expected_runs, server.broken
            assert server._runs is None or list(server._runs.iterdir()) == [], "a run folder was left in the server's"  # noqa: SLF001
        else:
            result = grade_file(path, assignment, lang="en").result
        elapsed = time.monotonic() - started
        assert result.status == "graded"
        assert result.score == round(sum(c.score for c in result.checks), 2)
        assert list(runs.iterdir()) == [], "a work directory was left behind"
        assert leftover_cgroups() == [], "a cgroup (so a process of the run) was left behind"
        return result, elapsed

    yield grade
    shutil.rmtree(runs, ignore_errors=True)


# ---- the budgets in the spec ------------------------------------------------------------------------
def test_budgets_default_from_the_assignment(tmp_path):
    real = load_assignment("iris_basics").spec
    # 300 s over five models would be 60 s; a phase of an honest model takes about a second here.
    assert [real.model_timeout_for(m) for m in real.models] == [15.0] * 5
    assert real.load_timeout == 60.0
    fast = load_assignment(str(HOSTILE / "spec")).spec  # set in the spec: 4 s a phase, 10 s to load
    assert [fast.model_timeout_for(m) for m in fast.models] == [4.0] * 5
    assert fast.load_timeout == 10.0
    # Without the keys: the wall clock over the models, and loading never beyond the wall clock.
    text = (HOSTILE / "spec" / "assignment.toml").read_text(encoding="utf-8")
    text = re.sub(r"(?m)^(model|load)_timeout_s = .*$", "", text).replace("timeout_s = 30", "timeout_s = 12")
    (tmp_path / "assignment.toml").write_text(text, encoding="utf-8")
    bare = load_assignment(str(tmp_path)).spec
    assert [bare.model_timeout_for(m) for m in bare.models] == [2.4] * 5
    assert bare.load_timeout == 12.0


def test_budgets_are_spec_keys_with_a_per_model_override(tmp_path):
    raw = (ROOT / "grader" / "assignments" / "iris_basics" / "assignment.toml").read_text(encoding="utf-8")
    raw = raw.replace("timeout_s = 300\n", "timeout_s = 300\nmodel_timeout_s = 8\nload_timeout_s = 30\n", 1)
    raw = raw.replace('id = "lr"\n', 'id = "lr"\nmodel_timeout_s = 3\n', 1)
    spec = parse_assignment(raw.encode(), tmp_path).spec
    assert {m.id: spec.model_timeout_for(m) for m in spec.models} == {"mlr": 8, "lr": 3, "mlpr": 8, "mlpc": 8, "ae": 8}
    assert spec.load_timeout == 30
    too_long = raw.replace("model_timeout_s = 8\n", "model_timeout_s = 301\n")
    with pytest.raises(AssignmentError, match=r"model_timeout_s.*timeout_s"):
        parse_assignment(too_long.encode(), tmp_path)
    with pytest.raises(AssignmentError, match=r"load_timeout_s"):
        parse_assignment(raw.replace("load_timeout_s = 30", "load_timeout_s = 0").encode(), tmp_path)


def test_the_watch_times_each_phase_and_forged_lines_cannot_hold_its_clock(tmp_path):
    from grader.evaluate.execute import Budgets, PhaseWatch

    now = [100.0]
    watch = PhaseWatch(["mlr", "lr"], Budgets(load_s=10.0, model_s={"mlr": 2.0, "lr": 3.0}), clock=lambda: now[0])
    path = tmp_path / "observations.jsonl"

    def write(*lines: str) -> None:
        with path.open("a", encoding="utf-8") as handle:
            handle.write("".join(lines))

    path.write_text('{"kind": "started", "pid": 7}\n', encoding="utf-8")
    now[0] += 1000  # before the load phase, only the run's wall clock counts
    assert watch(path) is False
    write('{"kind": "phase", "phase": "load"}\n', '{"kind": "phase", "phase": "construct", "model": "mlr", "class": null}\n')
    now[0] += 1.9
    assert watch(path) is False
    write('{"kind": "phase", "phase": "training", "model": "mlr"}\n')  # probes skipped: allowed, it moves on
    assert watch(path) is False
    now[0] += 1.5
    # Going back (a forged line) or naming a model the run does not observe leaves the clock running.
    write('{"kind": "phase", "phase": "construct", "model": "mlr"}\n', '{"kind": "phase", "phase": "probes", "model": "mlpc"}\n',
          '{"kind": "phase", "phase": "probes", "model": "lr"', "x" * 10_000)  # an unfinished, overlong line
    assert watch(path) is False
    now[0] += 0.6
    assert watch(path) is True
    assert (watch.expired.model, watch.expired.phase, watch.expired.budget_s) == ("mlr", "training", 2.0)
    assert watch(path) is True  # it stays expired

    # After the overlong line ends, the next phase line counts again.
    later = PhaseWatch(["mlr", "lr"], Budgets(load_s=10.0, model_s={"mlr": 2.0, "lr": 3.0}), clock=lambda: now[0])
    assert later(path) is False
    write("y" * 10_000, '\n{"kind": "phase", "phase": "probes", "model": "lr"}\n')
    assert later(path) is False  # the clock of a phase starts when the watch sees its line
    now[0] += 2.9
    assert later(path) is False
    now[0] += 0.2
    assert later(path) is True and (later.expired.model, later.expired.phase) == ("lr", "probes")


# ---- grader check, as a student runs it ---------------------------------------------------------------
def test_grader_check_on_a_looping_forward_takes_seconds_and_grades_the_others(tmp_path):
    """iris_basics (three seeds), with a phase budget of 3 s instead of its 15 s (the default's value
    is test_budgets_default_from_the_assignment's): LR's probes are stopped, a fresh interpreter
    grades the models after it."""
    spec_with(ROOT / "grader" / "assignments" / "iris_basics", tmp_path / "spec", model_timeout_s=3)
    out = tmp_path / "out.json"
    started = time.monotonic()
    completed = subprocess.run([str(GRADER), "check", str(HOSTILE / "lr_forward_loop.py"), "-a", str(tmp_path / "spec"),
                                "--lang", "en", "--json", str(out)],
                               capture_output=True, text=True, timeout=90, cwd=ROOT)
    elapsed = time.monotonic() - started
    assert completed.returncode == 0, completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert elapsed < 40, f"grader check took {elapsed:.1f} s"
    result = Result.model_validate(json.loads(out.read_text(encoding="utf-8")))
    assert_full_marks(result, OTHERS_THAN_LR)
    lr = model_checks(result, "lr")
    assert lr["defined"].status == "passed"  # it was built; its forward is what never ended
    assert lr["structure"].status == "error"
    assert lr["structure"].message.startswith("Timeout in the probes of LR: ")
    assert "3 s" in lr["structure"].message
    assert {lr[name].status for name in ("forward_shape", "output_range", "grad_flow", "test_accuracy")} == {"skipped"}
    assert "ran out of time" in lr["grad_flow"].message
    assert lr["defined"].score == lr["defined"].max_score and all(c.score == 0 for n, c in lr.items() if n != "defined")
    assert timeout_messages(result) == [
        "Model lr (class LR): its probes went over the 3 s budget of each phase of a model and were stopped."
        " The models after it were graded in a fresh run."]
    assert "exited" not in [i.kind for i in result.incidents]
    assert "LR" in completed.stdout and "Timeout" in completed.stdout  # the table the student reads


# ---- the other phases, cold and warm -----------------------------------------------------------------
def roomy_hostile_spec(folder: Path):
    """tests/hostile/spec (one seed) with a 2.4 s phase budget and room on the wall clock for a cold
    restart on a loaded machine."""
    return spec_with(HOSTILE / "spec", folder, timeout_s=40, model_timeout_s=2.4)


def test_a_hang_in_training_costs_only_that_models_metric(grade_budgeted, tmp_path):
    assignment = roomy_hostile_spec(tmp_path / "spec")
    result, _ = grade_budgeted(HOSTILE / "training_hang.py", assignment, expected_runs=2)
    assert_full_marks(result, OTHERS_THAN_LR)
    lr = model_checks(result, "lr")
    for name in ("defined", "structure", "forward_shape", "output_range", "grad_flow"):
        assert (lr[name].status, lr[name].score) == ("passed", lr[name].max_score), (name, lr[name].message)
    metric = lr["test_accuracy"]
    assert (metric.status, metric.score) == ("error", 0)
    assert metric.message.startswith("Timeout in the training of LR: ")
    assert result.metrics["lr.test_accuracy"] is None
    # LR cannot be captured (it asks float() of a tensor): the first run captured the others, a second
    # run observes LR the old way, and its training hangs there; nothing comes after it in that run.
    assert result.unverified == ["lr"]
    assert timeout_messages(result) == [
        "Model lr (class LR): its training went over the 2.4 s budget of each phase of a model and was stopped."]


def test_a_hang_while_loading_ends_at_the_loading_budget(grade_budgeted, tmp_path):
    # 60 s for the whole run, so that ending at the 3 s loading budget is told apart from the wall clock.
    assignment = spec_with(HOSTILE / "spec", tmp_path / "spec", timeout_s=60, load_timeout_s=3)
    result, elapsed = grade_budgeted(HOSTILE / "toplevel_hang.py", assignment, expected_runs=1)
    assert elapsed < 25, f"took {elapsed:.1f} s"
    assert result.score == 0
    for model in ["mlr", "lr", "mlpr", "mlpc", "ae"]:
        defined = model_checks(result, model)["defined"]
        assert defined.status == "error"
        assert defined.message.startswith("Not graded: loading the submission (running its top-level code) took longer than 3 s")
    assert timeout_messages(result) == [
        "Loading the submission (running its top-level code: imports, classes, assignments) took longer than"
        " its 3 s budget and was stopped; no model could be graded."]
    assert "exited" not in [i.kind for i in result.incidents]
