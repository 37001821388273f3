"""Hostile submissions (tests/hostile/*.py), graded end to end through the real sandbox.

Each test asserts that the grader survives, that the score is what the models honestly earn (the
models graded before the hostile one keep full marks), and that the result says what happened, in
its incidents and messages. The assignment is `tests/hostile/spec` (iris_basics with one seed, a
30 s wall clock, a 4 s budget per phase of a model, 768 MB, 64 processes), so a hang or a bomb ends within seconds.

Every grading runs with its own temporary folder, and afterwards the test checks that nothing of
the run is left: no work directory, no control group (a cgroup cannot be removed while a process
of it lives, so a removed cgroup means no survivor), no SysV segment, queue or semaphore set in the
host's /proc/sysvipc and no new file in the host's /dev/shm.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
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
from grader.sandbox import forkserver, seccomp_filter
from grader.sandbox import tiers as isolation
from grader.spec import LoadedAssignment, load_assignment, parse_assignment

HOSTILE = Path(__file__).resolve().parent / "hostile"
SPEC = load_assignment(str(HOSTILE / "spec"))


def roomy_spec(folder: Path) -> LoadedAssignment:
    """tests/hostile/spec with 15 s a phase, for a submission whose point is not a hang but that is
    slow on a busy machine (its first forward pass imports scikit-learn)."""
    text = (HOSTILE / "spec" / "assignment.toml").read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^model_timeout_s = .*$", "model_timeout_s = 15", text)
    assert count == 1
    return parse_assignment(text.encode(), folder)
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


def host_ipc_objects() -> dict[str, list[str]]:
    """The host's SysV segments, queues and semaphore sets (key and id of each) and /dev/shm's files."""
    found: dict[str, list[str]] = {}
    for table in ("shm", "msg", "sem"):
        rows = Path(f"/proc/sysvipc/{table}").read_text(encoding="utf-8").splitlines()[1:]
        found[f"sysvipc/{table}"] = sorted(" ".join(row.split()[:2]) for row in rows)
    # Python's multiprocessing names its semaphores `sem.mp-*`: the other test workers (Dask,
    # process pools) make and remove them at any moment, so they say nothing about this run.
    found["/dev/shm"] = sorted(name for name in os.listdir("/dev/shm") if not name.startswith("sem.mp-"))
    return found


class HostileGrader:
    """Grades tests/hostile/NAME.py (placeholders substituted) and checks nothing was left behind.

    Cold: each run in a fresh sandboxed interpreter. Warm: every run of the test forked from one
    fork server, as a batch worker's, which must hold the same walls; so one run can look for what
    the one before it left."""

    def __init__(self, warm: bool, tmp_path: Path, runs: Path) -> None:
        self.warm = warm
        self.server: forkserver.ForkServer | None = None
        self._tmp_path = tmp_path
        self._runs = runs

    def __call__(self, name: str, spec: LoadedAssignment = SPEC, **substitutions: str) -> Result:
        text = (HOSTILE / f"{name}.py").read_text(encoding="utf-8")
        for key, value in substitutions.items():
            text = text.replace(f"__{key}__", value)
        assert "__PATHS__" not in text and "__PORT__" not in text and "__OUTDIR__" not in text
        submission = self._tmp_path / f"{name}.py"
        submission.write_text(text, encoding="utf-8")
        host_before = host_ipc_objects()
        started = time.monotonic()
        if self.warm:
            # Made at the first run, not before: a test may change the tier first (GRADER_ISOLATION).
            self.server = self.server or forkserver.ForkServer()
            runs_before = self.server.runs_started
            result = grade_file(submission, spec, lang="en", fork_server=self.server).result
            if os.environ.get("GRADER_ISOLATION", "auto") == "auto":
                # More than one after a hang: the models after it are graded in a fresh child.
                assert self.server.runs_started > runs_before, self.server.broken
        else:
            result = grade_file(submission, spec, lang="en").result
        assert time.monotonic() - started < spec.spec.timeout_s + 20, "the run outlived its wall clock"
        assert result.status == "graded"
        assert result.score == round(sum(c.score for c in result.checks), 2)
        server_folder = self.server._runs if self.server is not None else None  # noqa: SLF001 - lives on
        assert [p for p in self._runs.iterdir() if p != server_folder] == [], "a work directory was left behind"
        assert leftover_cgroups() == [], "a cgroup (so a process of the run) was left behind"
        assert host_ipc_objects() == host_before, "the run left a SysV IPC object or a /dev/shm file on the host"
        return result

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        assert list(self._runs.iterdir()) == [], "the fork server's folder was left behind"


@pytest.fixture(params=["cold", "warm"])
def grade_hostile(request, tmp_path, monkeypatch):
    """A HostileGrader, cold and then warm."""
    warm = request.param == "warm"
    if warm and forkserver.unavailable_reason(ISOLATION):
        pytest.skip(f"no fork server here: {forkserver.unavailable_reason(ISOLATION)}")
    # The runs' own temporary folder, to see that nothing is left in it. Under /tmp and traversable,
    # like the default one: without namespaces the sandbox user must reach its work directory.
    runs = private_tempdir(monkeypatch, "grader-hostile-runs-")
    grader = HostileGrader(warm, tmp_path, runs)
    yield grader
    try:
        grader.close()
    finally:
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


# ---- what it leaves for the next run -------------------------------------------------------------------
NO_CAPABILITIES = [f"CAPS {name}: 0000000000000000" for name in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")]


def found_lines(result: Result) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("FOUND")]


def fork_server_ipc_objects(server: forkserver.ForkServer) -> str:
    """The SysV objects of the fork server's own IPC namespace, read from inside it (/proc/sysvipc
    shows the reader's namespace): what every later child would share."""
    pid = server._process.pid  # noqa: SLF001 - bwrap; its child is the sandbox's first process
    inner = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="utf-8").split()[0]
    listed = subprocess.run(["nsenter", f"--target={inner}", "--ipc", "cat", "/proc/sysvipc/shm", "/proc/sysvipc/msg",
                             "/proc/sysvipc/sem"], capture_output=True, text=True, check=True).stdout
    return "\n".join(line for line in listed.splitlines() if not line.split()[0] == "key")


@needs_isolation
def test_ipc_objects_a_run_leaves_are_gone_for_the_next(grade_hostile):
    """SysV IPC and POSIX message queues are refused (seccomp); /dev/shm is the run's own. Warm, both
    runs come from one fork server; cold, the host's /proc/sysvipc gains nothing (the fixture)."""
    left = grade_hostile("ipc_leave")
    assert_full_marks(left, ["mlr", "lr", "mlpr", "mlpc", "ae"])
    for call in ("SHMGET 1536 MB", "SHMGET 128 MB", "MSGGET", "MQ_OPEN"):
        assert f"{call} refused Operation not permitted" in left.stdout, left.stdout[:2000]
    assert "DEV SHM written" in left.stdout  # POSIX shared memory is a file: a DataLoader needs it
    if grade_hostile.warm:
        assert fork_server_ipc_objects(grade_hostile.server) == ""
    found = grade_hostile("ipc_find")
    assert found_lines(found) == [], found.stdout[:3000]
    for table in ("shm", "msg", "sem"):
        assert f"LOOKED sysvipc {table} 0" in found.stdout
    assert "LOOKED /dev/shm 0" in found.stdout
    assert_full_marks(found, ["mlr", "lr", "mlpr", "mlpc", "ae"])
    # The capability sets are equal warm and cold because all five are empty in each: nothing for an
    # exec to inherit.
    assert [line for line in found.stdout.splitlines() if line.startswith("CAPS")] == NO_CAPABILITIES


@needs_isolation
def test_each_run_has_its_own_ipc_namespace_even_where_seccomp_allows_sysv_ipc(grade_hostile, monkeypatch, request):
    """The namespace alone, without the seccomp rule: what the first run made (1.75 GB of segments,
    256 MB of it written, a queue with a message) dies with it, warm as cold."""
    monkeypatch.setattr(seccomp_filter, "IPC_SYSCALLS", ())
    seccomp_filter.bpf_program.cache_clear()
    request.addfinalizer(seccomp_filter.bpf_program.cache_clear)  # runs before monkeypatch restores the rule
    left = grade_hostile("ipc_leave")
    for made in ("SHMGET 1536 MB made", "SHM WRITTEN 128 MB key 0x47524432", "SHM WRITTEN 128 MB key 0x47524433",
                 "MSGSND sent", "MQ_SEND sent"):
        assert made in left.stdout, left.stdout[:2000]
    if grade_hostile.warm:
        assert fork_server_ipc_objects(grade_hostile.server) == ""
    found = grade_hostile("ipc_find")
    assert found_lines(found) == [], found.stdout[:3000]
    assert "NO msg queue No such file or directory" in found.stdout
    assert "NO posix queue No such file or directory" in found.stdout
    assert_full_marks(left, ["mlr", "lr", "mlpr", "mlpc", "ae"])
    assert_full_marks(found, ["mlr", "lr", "mlpr", "mlpc", "ae"])


# ---- hangs, bombs and floods ---------------------------------------------------------------------------
def test_infinite_loop_in_forward_times_out(grade_hostile):
    result = grade_hostile("infinite_loop")
    # MLPC's probes hang: its own budget (the spec's 4 s a phase) stops it, not the run's
    # wall clock, and a fresh run grades AE.
    assert_full_marks(result, ["mlr", "lr", "mlpr", "ae"])
    mlpc = model_checks(result, "mlpc")
    assert mlpc["defined"].status == "passed"
    assert mlpc["structure"].status == "error" and mlpc["structure"].message.startswith("Timeout in the probes of MLPC")
    assert all(c.score == 0 for name, c in mlpc.items() if name != "defined")
    assert mlpc["grad_flow"].status == "skipped" and "ran out of time" in mlpc["grad_flow"].message
    if grade_hostile.warm and os.environ.get("GRADER_ISOLATION", "auto") == "auto":
        assert grade_hostile.server.runs_started == 2  # the run, and a fresh child for AE
    assert kinds(result).count("timeout") == 1 and "exited" not in kinds(result)
    assert incident(result, "timeout") == (
        "Model mlpc (class MLPC): its probes went over the 4 s budget of each phase of a model and were stopped."
        " The models after it were graded in a fresh run.")


def test_slow_init_times_out_on_the_wall_clock(grade_hostile):
    result = grade_hostile("slow_init")
    # Sleeping uses no CPU: the wall clock of LR's construction (its phase budget) stops it, and a
    # fresh run grades the models after it.
    assert_full_marks(result, ["mlr", "mlpr", "mlpc", "ae"])
    lost_everything(result, ["lr"])
    defined = model_checks(result, "lr")["defined"]
    assert defined.status == "error" and defined.message.startswith("Timeout in the construction of LR: building LR(4, 3)")
    assert incident(result, "timeout") == (
        "Model lr (class LR): its construction went over the 4 s budget of each phase of a model and was stopped."
        " The models after it were graded in a fresh run.")
    assert {c.status for name, c in model_checks(result, "lr").items() if name != "defined"} == {"skipped"}
    assert "exited" not in kinds(result)
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
    # The bomb is in MLPC's constructor: MLPC's construction runs out of its budget, and AE is graded
    # in a fresh run after it.
    assert_full_marks(result, ["mlr", "lr", "mlpr", "ae"])
    lost_everything(result, ["mlpc"])
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
    result = grade_hostile("os_exit")
    assert_full_marks(result, ["mlr", "lr", "mlpr"])
    lost_everything(result, ["mlpc", "ae"])
    assert "exited" in kinds(result)
    message = incident(result, "not_isolated")
    assert "not isolated" in message and "GRADER_ISOLATION=none" in message
