"""Hostile submissions (tests/hostile/*.py), graded end to end through the real sandbox, cold and
warm: what a submission cannot see, reach or change, honest predictions, and grading without
namespaces. Hangs, bombs, floods and what a run leaves for the next are tests/test_hostile_limits.py's
(two files, so that two test workers share them; the helpers are fixtures/hostile.py's).

Each test asserts that the grader survives, that the score is what the models honestly earn (the
models graded before the hostile one keep full marks), and that the result says what happened, in
its incidents and messages. The assignment is `tests/hostile/spec` (iris_basics with one seed, a
30 s wall clock, a 4 s budget per phase of a model, 768 MB, 64 processes), so a hang or a bomb ends
within seconds. Warm, the runs of a module come one after another from one fork server, as a batch
worker's do; after each run nothing of it may be left (fixtures/hostile.py, `HostileGrader`).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

from conftest import MODEL_IDS, ROOT, assert_full_marks, model_checks
from fixtures.hostile import (
    HOSTILE,
    ISOLATION,
    incident,
    kinds,
    lost_everything,
    needs_isolation,
    roomy_spec,
)


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
    # The bundled assignments are package data, shipped in the wheel for anyone to read; an
    # instructor's own assignment folder (here the hostile spec's) is what the sandbox must not see.
    paths = [str(solution), str(HOSTILE / "spec" / "assignment.toml"), str(home_canary), str(out_canary), "/etc/shadow",
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


def test_monkeypatched_metrics_and_loss_do_not_change_the_score(grade_hostile):
    """The patched loss would keep a model trained in the sandbox from learning; captured models are
    trained outside, with the grader's own loss, and earn what their classes deserve."""
    result = grade_hostile("monkeypatch")
    assert "PATCHED the metrics" in result.stdout
    assert result.unverified == []
    assert_full_marks(result, MODEL_IDS)


def test_sys_exit_ends_nothing(grade_hostile):
    result = grade_hostile("sys_exit")
    assert_full_marks(result, ["mlr", "lr", "mlpc", "ae"])
    defined = model_checks(result, "mlpr")["defined"]
    assert defined.status == "error" and "SystemExit" in defined.message
    assert model_checks(result, "mlpr")["test_mse"].score == 0
    assert "exited" not in kinds(result) and "timeout" not in kinds(result)
    if ISOLATION.isolated:  # an isolated run has no not_isolated incident
        assert "not_isolated" not in kinds(result)


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


# ---- honest predictions ------------------------------------------------------------------------------------
def test_predictions_looked_up_in_the_public_data_are_not_a_pass(grade_hostile, tmp_path):
    result = grade_hostile("lookup", spec=roomy_spec(tmp_path))
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
    grade_hostile.own_server()  # made for the tier asked for: none, so the runs are cold
    result = grade_hostile("os_exit")
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "exited" in kinds(result)
    message = incident(result, "not_isolated")
    assert "not isolated" in message and "GRADER_ISOLATION=none" in message
    if grade_hostile.warm:
        # A batch worker's fork server cannot run in this tier: its runs start cold, and it says why.
        assert grade_hostile.server.broken == "needs the bwrap-root tier (this machine gives none)"
        assert grade_hostile.server.runs_started == 0
