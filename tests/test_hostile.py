"""Hostile submissions (tests/hostile/*.py), graded end to end through the real sandbox.

Each test asserts that the grader survives, that the score is what the models honestly earn (the
models graded before the hostile one keep full marks), and that the result says what happened, in
its incidents and messages. The assignment is `tests/hostile/spec` (iris_basics with one seed, a
12 s wall clock, 768 MB, 64 processes), so a hang or a bomb ends within seconds.

Every grading runs with its own temporary folder, and afterwards the test checks that nothing of
the run is left: no work directory, no control group (a cgroup cannot be removed while a process
of it lives, so a removed cgroup means no survivor).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, assert_full_marks, model_checks
from grader import cgroups, forkserver, isolation
from grader.assignment import load_assignment
from grader.grading import grade_file
from grader.result import Result

HOSTILE = Path(__file__).resolve().parent / "hostile"
SPEC = load_assignment(str(HOSTILE / "spec"))
ISOLATION = isolation.detect()

needs_isolation = pytest.mark.skipif(
    not ISOLATION.isolated, reason=f"this machine gives no namespace sandbox ({'; '.join(ISOLATION.notes)})")
needs_cgroup = pytest.mark.skipif(ISOLATION.cgroup is None, reason="no cgroup (memory and pids) on this machine")


def kinds(result: Result) -> list[str]:
    return [incident.kind for incident in result.incidents]


def incident(result: Result, kind: str) -> str:
    found = [i.message for i in result.incidents if i.kind == kind]
    assert found, f"no {kind!r} incident in {kinds(result)}"
    return found[0]


def lost_everything(result: Result, models: list[str]) -> None:
    for model in models:
        checks = model_checks(result, model)
        assert checks and all(c.score == 0 for c in checks.values()), {n: (c.status, c.score) for n, c in checks.items()}


def leftover_cgroups() -> list[Path]:
    found = []
    for base in (Path("/sys/fs/cgroup/memory"), Path("/sys/fs/cgroup/pids"), cgroups.V2_BASE):
        if base.is_dir():
            found += [p for p in base.rglob(f"{cgroups.PREFIX}{os.getpid()}-*") if p.is_dir()]
    return found


@pytest.fixture(params=["cold", "warm"])
def grade_hostile(request, tmp_path, monkeypatch):
    """Grade tests/hostile/NAME.py (placeholders substituted) and check nothing was left behind.

    Twice: in a fresh sandboxed interpreter ("cold") and forked from a batch worker's fork server
    ("warm"), which must hold the same walls."""
    warm = request.param == "warm"
    if warm and forkserver.unavailable_reason(ISOLATION):
        pytest.skip(f"no fork server here: {forkserver.unavailable_reason(ISOLATION)}")
    # The runs' own temporary folder, to see that nothing is left in it. Under /tmp and traversable,
    # like the default one: without namespaces the sandbox user must reach its work directory.
    runs = Path(tempfile.mkdtemp(prefix="grader-hostile-runs-", dir="/tmp"))
    runs.chmod(0o711)
    monkeypatch.setattr(tempfile, "tempdir", str(runs))

    def grade(name: str, **substitutions: str) -> Result:
        text = (HOSTILE / f"{name}.py").read_text(encoding="utf-8")
        for key, value in substitutions.items():
            text = text.replace(f"__{key}__", value)
        assert "__PATHS__" not in text and "__PORT__" not in text and "__OUTDIR__" not in text
        submission = tmp_path / f"{name}.py"
        submission.write_text(text, encoding="utf-8")
        started = time.monotonic()
        if warm:
            with forkserver.ForkServer() as server:
                result = grade_file(submission, SPEC, lang="en", fork_server=server).result
                if os.environ.get("GRADER_ISOLATION", "auto") == "auto":
                    assert server.runs_started == 1, server.broken
        else:
            result = grade_file(submission, SPEC, lang="en").result
        assert time.monotonic() - started < SPEC.spec.timeout_s + 20, "the run outlived its wall clock"
        assert result.status == "graded"
        assert result.score == round(sum(c.score for c in result.checks), 2)
        assert list(runs.iterdir()) == [], "a work directory was left behind"
        assert leftover_cgroups() == [], "a cgroup (so a process of the run) was left behind"
        return result

    yield grade
    shutil.rmtree(runs, ignore_errors=True)


# ---- what the sandbox cannot see or reach ----------------------------------------------------------
@needs_isolation
def test_reading_files_outside_the_submission_finds_nothing(grade_hostile, tmp_path):
    home_canary = Path.home() / f".grader-canary-{os.getpid()}"
    out_canary = tmp_path / "out" / "results" / "other-student.json"
    out_canary.parent.mkdir(parents=True)
    secret = "CANARY-" + os.urandom(8).hex()
    home_canary.write_text(secret)
    out_canary.write_text(secret)
    solution = ROOT / "solutions" / "iris_basics" / "solution.py"
    paths = [str(solution), str(ROOT / "assignments" / "iris_basics" / "assignment.toml"),
             str(HOSTILE / "spec" / "assignment.toml"), str(home_canary), str(out_canary), "/etc/shadow",
             str(ROOT / "tests" / "conftest.py"), str(ROOT / ".git" / "config")]
    try:
        result = grade_hostile("read_outside", PATHS=repr(paths))
    finally:
        home_canary.unlink()
    for path in paths:
        assert f"DENIED {path} " in result.stdout, f"{path} was readable:\n{result.stdout[:3000]}"
    assert "READ " not in result.stdout
    assert secret not in result.stdout + result.stderr
    assert "模範解答" not in result.stdout  # a phrase of the reference solution's docstring
    listed = dict(re.findall(r"^LIST (\S+) (\[.*\])$", result.stdout, re.M))
    assert "'solutions'" not in listed.get("/", "") and "'home'" not in listed.get("/", "")
    assert_full_marks(result, ["mlr", "lr", "mlpr", "mlpc", "ae"])
    assert kinds(result) == []


@needs_isolation
def test_connecting_to_a_loopback_listener_fails(grade_hostile):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.2)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = listener.getsockname()[1]
    udp.bind(("127.0.0.1", port))
    udp.settimeout(0.2)
    reached = []

    def watch() -> None:
        end = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < end:
            for sock in (listener, udp):
                try:
                    reached.append(sock.accept() if sock is listener else sock.recvfrom(100))
                except OSError:
                    pass

    stop = threading.Event()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = grade_hostile("loopback", PORT=str(port))
    finally:
        stop.set()
        watcher.join()
        listener.close()
        udp.close()
    assert reached == []
    for name in ("tcp4", "udp4", "tcp6"):
        assert f"BLOCKED {name}" in result.stdout
    assert "CONNECTED" not in result.stdout
    assert_full_marks(result, ["mlr", "lr", "mlpr", "mlpc", "ae"])


# ---- what it cannot change ------------------------------------------------------------------------------
@needs_isolation
def test_fake_result_files_and_a_fake_verdict_change_nothing(grade_hostile, tmp_path):
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    before = {p for p in Path("/tmp").glob("result.json")}
    result = grade_hostile("fake_results", OUTDIR=str(out))
    # Its LR and MLPC have no output sigmoid: they lose those points whatever it wrote or printed.
    assert model_checks(result, "lr")["structure"].status == "failed"
    assert model_checks(result, "mlpc")["structure"].status == "failed"
    assert model_checks(result, "lr")["output_range"].status == "failed"
    assert result.score < result.max_score
    assert_full_marks(result, ["mlr", "mlpr", "ae"])
    # Every write outside the sandbox's own scratch space failed; the scratch space is gone.
    for target in ("/usr/result.json", f"{out}/results/student.json", f"{out}/grades.csv"):
        assert f"COULD NOT WRITE {target}" in result.stdout
    assert list(out.rglob("*")) == [out / "results"]
    assert {p for p in Path("/tmp").glob("result.json")} == before
    assert not (Path.home() / "result.json").exists()
    # The forged lines did not parse as observations and the result says so; the verdict it
    # printed is only its own output.
    assert "APPENDED" in result.stdout
    assert "malformed_observations" in kinds(result)
    assert "GRADER VERDICT: 25 / 25" in result.stdout


def test_monkeypatched_metrics_do_not_change_the_score(grade_hostile):
    result = grade_hostile("monkeypatch")
    assert "PATCHED the metrics" in result.stdout
    for model, metric in (("mlr", "test_mse"), ("lr", "test_accuracy"), ("mlpr", "test_mse"),
                          ("mlpc", "test_accuracy"), ("ae", "test_mse")):
        checks = model_checks(result, model)
        assert checks["structure"].status == "passed", checks["structure"].message
        assert checks[metric].status == "failed", (model, checks[metric].message)
        assert checks[metric].score < checks[metric].max_score
        value = result.metrics[f"{model}.{metric}"]
        assert value is not None
        assert value > 0.3 if metric == "test_mse" else value < 0.9  # the real, untrained value


def test_sys_exit_ends_nothing(grade_hostile):
    result = grade_hostile("sys_exit")
    assert_full_marks(result, ["mlr", "lr", "mlpc", "ae"])
    defined = model_checks(result, "mlpr")["defined"]
    assert defined.status == "error" and "SystemExit" in defined.message
    assert model_checks(result, "mlpr")["test_mse"].score == 0
    assert "exited" not in kinds(result) and "timeout" not in kinds(result)


def test_os_exit_loses_only_what_came_after(grade_hostile):
    result = grade_hostile("os_exit")
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "exited" in kinds(result)
    assert "ended early" in incident(result, "exited")
    ae_defined = model_checks(result, "ae")["defined"]
    assert ae_defined.status == "error" and "the run stopped before this model" in ae_defined.message


@needs_isolation
def test_killing_every_process_it_can_see_hurts_nobody_outside(grade_hostile):
    bystanders = [subprocess.Popen(["sleep", "120"])]
    if ISOLATION.uid is not None:  # a process of the sandbox user itself, outside the sandbox
        bystanders.append(subprocess.Popen(["setpriv", f"--reuid={ISOLATION.uid}", f"--regid={ISOLATION.gid}",
                                            "--clear-groups", "sleep", "120"]))
    try:
        result = grade_hostile("kill_all")
        assert all(b.poll() is None for b in bystanders), "a process outside the sandbox was killed"
    finally:
        for bystander in bystanders:
            bystander.kill()
            bystander.wait()
    assert "COULD NOT KILL 1 " in result.stdout  # the sandbox's init is not the submission's to kill
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "exited" in kinds(result)


# ---- hangs, bombs and floods ---------------------------------------------------------------------------
def test_infinite_loop_in_forward_times_out(grade_hostile):
    result = grade_hostile("infinite_loop")
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "timeout" in kinds(result) and "exited" not in kinds(result)
    assert "12 s time limit" in incident(result, "timeout")
    assert "the run stopped before this model" in model_checks(result, "ae")["defined"].message


def test_slow_init_times_out_on_the_wall_clock(grade_hostile):
    result = grade_hostile("slow_init")
    assert_full_marks(result, ["mlr"])
    lost_everything(result, ["lr", "mlpr", "mlpc", "ae"])
    assert "timeout" in kinds(result)
    assert result.duration_s < SPEC.spec.timeout_s + 10


@needs_cgroup
def test_memory_bomb_is_killed_by_the_memory_limit(grade_hostile):
    result = grade_hostile("memory_bomb")
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "memory" in kinds(result)
    assert "timeout" not in kinds(result) and "exited" not in kinds(result)
    assert "768 MB memory limit" in incident(result, "memory")


def test_one_huge_allocation_fails_inside_and_stays_local(grade_hostile):
    result = grade_hostile("huge_allocation")
    assert_full_marks(result, ["mlr", "lr", "mlpc", "ae"])
    defined = model_checks(result, "mlpr")["defined"]
    assert defined.status == "error" and "allocate" in defined.message
    assert "memory" in kinds(result)
    assert "exited" not in kinds(result) and "timeout" not in kinds(result)


@needs_cgroup
def test_fork_bomb_is_held_by_the_process_limit(grade_hostile):
    bystander = subprocess.Popen(["sleep", "120"])
    try:
        result = grade_hostile("fork_bomb")
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "processes" in kinds(result) and "timeout" in kinds(result)
    assert "(64)" in incident(result, "processes")


def test_hundreds_of_megabytes_on_stdout_are_cut_short(grade_hostile):
    result = grade_hostile("stdout_flood")
    assert "output_truncated" in kinds(result)
    assert len(result.stdout.encode()) <= SPEC.spec.limits.output_kb * 1024
    assert len(result.stderr.encode()) <= SPEC.spec.limits.output_kb * 1024
    assert result.stdout.startswith("spam spam")
    assert_full_marks(result, ["mlr", "lr", "mlpr", "mlpc", "ae"])


# ---- honest predictions ------------------------------------------------------------------------------------
def test_predictions_looked_up_in_the_public_data_are_not_a_pass(grade_hostile):
    result = grade_hostile("lookup")
    for model, metric in (("mlr", "test_mse"), ("lr", "test_accuracy")):
        check = model_checks(result, model)[metric]
        assert check.status == "failed" and check.score == 0, check.message
        assert "do not come from the model's parameters" in check.message
        assert check.hint
    # Without the check it would have been perfect: the looked-up answers are exact.
    assert result.metrics["lr.test_accuracy"] == 1.0
    assert model_checks(result, "mlr")["structure"].status == "passed"  # the cheat hides from the probes
    assert_full_marks(result, ["mlpr", "mlpc", "ae"])


# ---- without namespaces ---------------------------------------------------------------------------------------
def test_without_namespaces_grading_works_and_says_it_was_not_isolated(grade_hostile, monkeypatch):
    monkeypatch.setenv("GRADER_ISOLATION", "none")
    result = grade_hostile("os_exit")
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "exited" in kinds(result)
    message = incident(result, "not_isolated")
    assert "not isolated" in message and "GRADER_ISOLATION=none" in message


def test_an_isolated_run_has_no_not_isolated_incident(grade_hostile):
    if not ISOLATION.isolated:
        pytest.skip("this machine gives no namespace sandbox")
    result = grade_hostile("sys_exit")
    assert "not_isolated" not in kinds(result)
