"""Hostile submissions (tests/hostile/*.py) that hang, bomb or flood, and what a run leaves for the
next, graded end to end through the real sandbox, cold and warm (the rest: tests/test_hostile.py;
the helpers: fixtures/hostile.py).

Each test asserts that the grader survives, that the score is what the models honestly earn, and
that the result says what happened. The assignment is `tests/hostile/spec` (iris_basics with one
seed, a 30 s wall clock, a 4 s budget per phase of a model, 768 MB, 64 processes), so a hang or a
bomb ends within seconds. Warm, the runs of a module come one after another from one fork server,
as a batch worker's do, except where a test changes how the server is made (`own_server`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import assert_full_marks, model_checks
from fixtures.hostile import (
    SPEC,
    incident,
    kinds,
    lost_everything,
    needs_cgroup,
    needs_isolation,
)

from grader.result import Result
from grader.sandbox import forkserver, seccomp_filter

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
    return "\n".join(line for line in listed.splitlines() if line.split()[0] != "key")


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
    grade_hostile.own_server()  # a fork server loads its filter when it starts: one started without the rule
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
        assert grade_hostile.runs_started == 2  # the run, and a fresh child for AE
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
