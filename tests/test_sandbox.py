"""The sandbox itself (grader.sandbox.process, grader.sandbox.tiers, grader.sandbox.cgroups, grader.sandbox.seccomp_filter):
what a sandboxed command can see and do, every limit, the cleanup, the fallback, and `grader doctor`.

Each test runs a few lines of Python through `run_process`, as the harness would be run, and
asserts the specific outcome. Tests that need what only some machines give (namespaces, a cgroup)
are skipped elsewhere with the reason; on the project's machines (root, bubblewrap, cgroup v1) all run.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
from conftest import leftover_cgroups

from grader.sandbox import tiers as isolation
from grader.sandbox.bwrap import runtime_paths
from grader.sandbox.process import (
    ProcessLimits,
    ProcessOutcome,
    run_process,
    scrubbed_environment,
)

ROOT = Path(__file__).resolve().parent.parent
ISOLATION = isolation.detect()
MB = 1024 * 1024

needs_isolation = pytest.mark.skipif(
    not ISOLATION.isolated, reason=f"this machine gives no namespace sandbox ({'; '.join(ISOLATION.notes)})")
needs_cgroup = pytest.mark.skipif(ISOLATION.cgroup is None, reason="no cgroup (memory and pids) on this machine")


def run(code: str, workdir: Path, *, timeout_s: float = 30, outputs: list[str] | None = None,
        iso: isolation.Isolation | None = None, stop=None, **limits) -> ProcessOutcome:
    (workdir / "input.txt").write_text("the job")
    argv = [sys.executable, "-I", "-u", "-c", textwrap.dedent(code)]
    return run_process(argv, workdir, ProcessLimits(timeout_s=timeout_s, **limits), scrubbed_environment(workdir),
                       outputs=["out.txt"] if outputs is None else outputs, isolation=iso or ISOLATION, stop=stop)


@pytest.fixture
def workdir(tmp_path):
    path = tmp_path / "work"
    path.mkdir()
    return path


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


FALLBACK = isolation.detect("none")
TIERS = [pytest.param(ISOLATION, id=ISOLATION.tier)] + ([pytest.param(FALLBACK, id="none")] if ISOLATION.isolated else [])


# ---- which tier ---------------------------------------------------------------------------------------
def test_root_with_bubblewrap_gets_the_bwrap_root_tier():
    if os.geteuid() != 0 or shutil.which("bwrap") is None:
        pytest.skip("needs root and bubblewrap (scripts/setup-sandbox.sh)")
    assert ISOLATION.tier == "bwrap-root", ISOLATION.notes
    assert ISOLATION.uid == pwd.getpwnam(isolation.SANDBOX_USER).pw_uid != 0
    assert ISOLATION.seccomp, ISOLATION.notes
    assert ISOLATION.cgroup in ("v1", "v2")


@needs_isolation
def test_as_root_the_userns_tier_drops_to_the_sandbox_user_before_bubblewrap():
    if os.geteuid() != 0 or not os.access("/usr/bin/python3", os.X_OK):
        pytest.skip("needs root and a system Python the sandbox user can read")
    iso = isolation.Isolation("bwrap-userns", uid=ISOLATION.uid, gid=ISOLATION.gid, bwrap=ISOLATION.bwrap,
                              seccomp=ISOLATION.seccomp, cgroup=ISOLATION.cgroup)
    workdir = Path(tempfile.mkdtemp(prefix="grader-test-", dir="/tmp"))  # the sandbox user must reach it
    try:
        (workdir / "input.txt").write_text("the job")
        code = "import os; print(os.getuid(), sorted(os.listdir('/'))); open('out.txt', 'w').write('observed')"
        outcome = run_process(["/usr/bin/python3", "-I", "-c", code], workdir, ProcessLimits(timeout_s=20),
                              scrubbed_environment(workdir), outputs=["out.txt"], readonly_paths=[], isolation=iso)
        assert outcome.returncode == 0, outcome.stderr
        uid, root = outcome.stdout.split(" ", 1)
        assert int(uid) == ISOLATION.uid and "root" not in root and "work" not in root
        assert (workdir / "out.txt").read_text() == "observed"
    finally:
        shutil.rmtree(workdir)


def test_forcing_the_fallback_says_why():
    assert FALLBACK.tier == "none" and not FALLBACK.isolated
    assert any("GRADER_ISOLATION=none" in note for note in FALLBACK.notes)


def test_an_unknown_isolation_request_is_refused(monkeypatch):
    monkeypatch.setenv("GRADER_ISOLATION", "chroot")
    with pytest.raises(ValueError, match="GRADER_ISOLATION"):
        isolation.detect()


# ---- what the sandbox is --------------------------------------------------------------------------------
@needs_isolation
def test_runs_as_an_unprivileged_user_with_no_capabilities(workdir):
    outcome = run("""
        import os
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        print(os.getuid(), os.getgid(), os.getgroups(), os.getpid(),
              status["CapEff"].strip(), status["CapBnd"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip())
    """, workdir)
    uid, gid, groups, pid, cap_eff, cap_bnd, no_new_privs, seccomp_mode = outcome.stdout.split(maxsplit=7)[:8]
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.isolation == ISOLATION.tier
    if ISOLATION.uid is not None:
        assert int(uid) == ISOLATION.uid and int(gid) == ISOLATION.gid
    assert int(uid) != 0
    assert int(pid) <= 3  # its own pid namespace
    assert int(cap_eff, 16) == 0 and int(cap_bnd.split()[0], 16) == 0 if ISOLATION.tier == "bwrap-root" else True
    assert no_new_privs == "1"
    assert seccomp_mode.split()[0] == ("2" if ISOLATION.seccomp else "0")


@needs_isolation
def test_sees_the_system_the_runtime_and_its_work_directory_only(workdir):
    outcome = run(f"""
        import os
        import grader.harness.emit
        print(sorted(os.listdir("/")))
        print(sorted(os.listdir("/etc")))
        print(sorted(os.listdir({str(ROOT)!r})))
        print(sorted(os.listdir(os.getcwd())))
        for path in ({str(ROOT / 'solutions')!r}, {str(ROOT / 'tests')!r},
                     "/etc/shadow", "/etc/passwd", "/home", "/var", "/root/.bashrc", "/proc/1/environ"):
            try:
                open(path).read(1)
                print("VISIBLE", path)
            except OSError:
                pass
    """, workdir)
    assert outcome.returncode == 0, outcome.stderr
    root, etc, repo, cwd = (eval(line) for line in outcome.stdout.splitlines()[:4])
    assert set(root) <= {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr",
                         *(Path(p).parts[1] for p in runtime_paths())}
    assert set(etc) <= {"ld.so.cache", "localtime", "fonts"}
    assert set(repo) <= {Path(p).name for p in runtime_paths() if Path(p).parent == ROOT}
    assert "solutions" not in repo and "tests" not in repo
    assert sorted(cwd) == ["input.txt", "out.txt"]
    assert "VISIBLE" not in outcome.stdout


@needs_isolation
def test_has_no_network(workdir):
    outcome = run("""
        import socket
        for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK, socket.AF_PACKET):
            try:
                socket.socket(family, socket.SOCK_DGRAM if family != socket.AF_PACKET else socket.SOCK_RAW)
                print("OPEN", family)
            except OSError as exc:
                print("REFUSED", int(family))
        a, b = socket.socketpair()
        a.sendall(b"unix sockets work")
        print(b.recv(100).decode())
    """, workdir)
    assert outcome.returncode == 0, outcome.stderr
    assert "OPEN" not in outcome.stdout
    assert "unix sockets work" in outcome.stdout


@needs_isolation
def test_only_the_outputs_are_written_back_and_the_rest_is_read_only(workdir):
    outcome = run(f"""
        import os, sys
        for path in ("input.txt", "/usr/x", {sys.executable!r} + ".x", {str(ROOT / 'grader' / 'x.py')!r}):
            try:
                open(path, "a").write("x")
                print("WROTE", path)
            except OSError as exc:
                print("READ-ONLY", path)
        open("out.txt", "w").write("observed")
        open("scratch.txt", "w").write("scratch")
        os.mkdir("folder")
        open("/tmp/scratch", "w").write("scratch")
        print("DONE")
    """, workdir)
    assert outcome.returncode == 0, outcome.stderr
    assert "WROTE" not in outcome.stdout and "DONE" in outcome.stdout
    assert sorted(p.name for p in workdir.iterdir()) == ["input.txt", "out.txt"]
    assert (workdir / "out.txt").read_text() == "observed"
    assert (workdir / "input.txt").read_text() == "the job"
    assert not Path("/tmp/scratch").exists()


def test_the_environment_is_scrubbed(workdir, monkeypatch):
    monkeypatch.setenv("GRADER_TEST_SECRET_TOKEN", "hunter2")
    outcome = run("import os, json; print(json.dumps(dict(os.environ)))", workdir)
    env = json.loads(outcome.stdout)
    assert "GRADER_TEST_SECRET_TOKEN" not in env and "hunter2" not in outcome.stdout
    assert env["HOME"] == str(workdir) and env["OMP_NUM_THREADS"] == "1"


# ---- limits ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("iso", TIERS)
def test_the_wall_clock_kills_the_whole_tree(workdir, iso):
    marker = f"grader-test-sleeper-{os.getpid()}-{time.monotonic_ns()}"
    outcome = run(f"""
        import os, subprocess, time
        child = subprocess.Popen(["sh", "-c", "sleep 300; :", {marker!r}], start_new_session=True)  # leaves the session
        if os.fork() == 0:
            os.setsid()
            os.execvp("sh", ["sh", "-c", "sleep 301; :", {marker!r}])
        time.sleep(0.3)
        print("started", child.poll() is None, flush=True)
        time.sleep(300)
    """, workdir, timeout_s=3, iso=iso)
    assert outcome.timed_out and outcome.returncode is None
    assert "started True" in outcome.stdout
    assert outcome.duration_s < 10
    time.sleep(0.2)
    assert processes_with(marker) == []
    assert leftover_cgroups() == []


@pytest.mark.parametrize("iso", TIERS)
def test_children_left_running_when_the_command_exits_are_killed(workdir, iso):
    if iso.cgroup is None and not iso.isolated:
        pytest.skip("without a cgroup or a pid namespace a process that leaves the session escapes")
    marker = f"grader-test-orphan-{os.getpid()}-{time.monotonic_ns()}"
    outcome = run(f"""
        import subprocess, time
        child = subprocess.Popen(["sh", "-c", "sleep 300; :", {marker!r}], start_new_session=True)
        time.sleep(0.3)
        print("bye", child.poll() is None)
    """, workdir, iso=iso)
    assert outcome.returncode == 0 and not outcome.timed_out, outcome.stderr
    assert outcome.stdout.strip() == "bye True"
    time.sleep(0.2)
    assert processes_with(marker) == []


def test_a_stop_request_kills_the_run_at_once(workdir):
    import threading

    stop = threading.Event()
    marker = f"grader-test-stopped-{os.getpid()}-{time.monotonic_ns()}"
    seen_running: list[int] = []

    def look_then_stop() -> None:
        seen_running.extend(processes_with(marker))  # the process is there while the run goes on
        stop.set()

    threading.Timer(1.0, look_then_stop).start()
    outcome = run(f"""
        import subprocess
        subprocess.run(["sh", "-c", "sleep 300; :", {marker!r}])
    """, workdir, timeout_s=60, stop=stop)
    assert seen_running, "the marker process never ran: the test would prove nothing"
    assert outcome.stopped and not outcome.timed_out and outcome.returncode is None
    assert outcome.duration_s < 5
    time.sleep(0.2)
    assert processes_with(marker) == [] and leftover_cgroups() == []


def test_output_is_bounded_and_the_rest_drained(workdir):
    outcome = run("""
        import sys
        block = "y" * 1023 + "\\n"
        for _ in range(20 * 1024):
            sys.stdout.write(block)
        print("the end")
    """, workdir, output_bytes=64 * 1024)
    assert outcome.returncode == 0
    assert outcome.output_truncated
    assert len(outcome.stdout) == 64 * 1024 and "the end" not in outcome.stdout


@pytest.mark.parametrize("iso", TIERS)
def test_cpu_time_limit_stops_a_busy_loop(workdir, iso):
    outcome = run("while True:\n    pass", workdir, timeout_s=20, cpu_s=1, iso=iso)
    assert not outcome.timed_out
    assert outcome.cpu_exceeded and outcome.signal == signal.SIGXCPU
    assert outcome.duration_s < 10


@needs_cgroup
@pytest.mark.parametrize("iso", TIERS)
def test_memory_limit_kills_a_growing_process_and_says_so(workdir, iso):
    outcome = run("""
        hoard = []
        while True:
            hoard.append(b"x" * (16 << 20))
    """, workdir, timeout_s=30, memory_bytes=192 * MB, iso=iso)
    assert outcome.oom_killed, (outcome.returncode, outcome.stderr[-500:])
    assert not outcome.timed_out
    assert outcome.signal == signal.SIGKILL
    assert outcome.memory_limit_bytes == 192 * MB


def test_one_absurd_allocation_fails_inside(workdir):
    outcome = run("""
        try:
            block = b"x" * (8 << 30)
        except MemoryError:
            print("MemoryError")
    """, workdir, memory_bytes=256 * MB)
    assert outcome.returncode == 0 and outcome.stdout.strip() == "MemoryError"
    assert not outcome.oom_killed


@needs_cgroup
def test_process_limit_holds_a_fork_bomb_and_nothing_survives(workdir):
    marker = f"grader-test-forks-{os.getpid()}-{time.monotonic_ns()}"
    outcome = run(f"""
        import os, time
        made = 0
        for _ in range(200):
            try:
                if os.fork() == 0:
                    os.execvp("sh", ["sh", "-c", "sleep 300; :", {marker!r}])
                made += 1
            except OSError:
                pass
        print("forked", made)
    """, workdir, processes=16)
    assert outcome.returncode == 0, outcome.stderr
    assert outcome.process_limit_hit
    assert int(outcome.stdout.split()[-1]) < 16
    time.sleep(0.2)
    assert processes_with(marker) == [] and leftover_cgroups() == []


def test_file_size_open_files_and_tmp_size_limits(workdir):
    outcome = run("""
        import errno
        try:
            open("big", "wb").write(b"x" * (3 << 20))
        except OSError as exc:
            print("fsize", errno.errorcode[exc.errno])
        handles = []
        try:
            for i in range(200):
                handles.append(open("input.txt"))
        except OSError as exc:
            print("nofile", errno.errorcode[exc.errno], len(handles) < 64)
        for handle in handles:
            handle.close()
        try:
            for i in range(16):  # files of 1 MB each: under the file size limit, over the tmpfs size
                with open(f"/tmp/fill{i}", "wb") as handle:
                    handle.write(b"x" * (1 << 20))
        except OSError as exc:
            print("tmp", errno.errorcode[exc.errno])
    """, workdir, file_size_bytes=2 * MB, open_files=64, tmp_bytes=8 * MB)
    assert "fsize EFBIG" in outcome.stdout, outcome.stderr
    assert "nofile EMFILE True" in outcome.stdout
    if ISOLATION.isolated:
        assert "tmp ENOSPC" in outcome.stdout


@pytest.mark.skipif(not ISOLATION.seccomp, reason="no seccomp filter on this machine (pyseccomp, libseccomp)")
@pytest.mark.parametrize("iso", TIERS)
def test_seccomp_refuses_namespaces_ptrace_mount_and_bpf(workdir, iso):
    outcome = run("""
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        def call(name, *args):
            result = getattr(libc, name)(*args)
            return "ok" if result == 0 else os.strerror(ctypes.get_errno())
        print("unshare", call("unshare", 0x10000000))            # CLONE_NEWUSER
        print("ptrace", call("ptrace", 16, 1, None, None))       # PTRACE_ATTACH to pid 1
        print("mount", call("mount", b"none", b"/tmp", b"tmpfs", 0, None))
        print("bpf", call("syscall", 321, 0, None, 0))           # bpf() on x86_64
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        print("fork ok")
    """, workdir, iso=iso)
    assert outcome.returncode == 0, outcome.stderr
    lines = dict(line.split(" ", 1) for line in outcome.stdout.splitlines())
    for name in ("unshare", "ptrace", "mount"):
        assert lines[name] == "Operation not permitted", outcome.stdout
    if os.uname().machine == "x86_64":
        assert lines["bpf"] == "Operation not permitted"
    assert lines["fork"] == "ok"


def test_the_sandbox_failing_to_start_is_reported_as_such(workdir):
    broken = isolation.Isolation("bwrap-root", uid=ISOLATION.uid, gid=ISOLATION.gid, bwrap="/nonexistent/bwrap")
    outcome = run("print('never')", workdir, iso=broken)
    assert outcome.launch_failed and "never" not in outcome.stdout


# ---- the result ----------------------------------------------------------------------------------------------
def _incident_kinds(**outcome) -> list[str]:
    from grader.evaluate.observations import Observations
    from grader.i18n import Messages
    from grader.pipeline import _incidents

    fields = dict(returncode=0, timed_out=False, duration_s=1.0, stdout="", stderr="", output_truncated=False)
    fields.update(outcome)
    observations = Observations(process=ProcessOutcome(**fields), started=True, finished=fields["returncode"] == 0)
    return [i.kind for i in _incidents(observations, Messages("en"), 12)]


def test_incidents_name_what_happened():
    assert _incident_kinds(isolation="bwrap-root") == []
    assert _incident_kinds(isolation="none") == ["not_isolated"]
    assert _incident_kinds(isolation="bwrap-root", returncode=137, oom_killed=True, memory_limit_bytes=MB) == ["memory"]
    assert _incident_kinds(isolation="bwrap-root", returncode=152, cpu_exceeded=True, cpu_limit_s=5) == ["cpu_time"]
    assert _incident_kinds(isolation="bwrap-root", returncode=None, timed_out=True, process_limit_hit=True,
                           process_limit=64) == ["timeout", "processes"]
    assert _incident_kinds(isolation="bwrap-root", returncode=3) == ["exited"]
    assert _incident_kinds(isolation="bwrap-root", output_truncated=True) == ["output_truncated"]


def test_limits_live_in_the_assignment_spec_with_defaults(tmp_path):
    from grader.spec import AssignmentError, Limits, load_assignment

    spec = load_assignment("iris_basics").spec
    assert spec.limits == Limits()
    assert spec.limits.memory_mb == 2048 and spec.limits.processes == 128 and spec.limits.output_kb == 256
    fast = load_assignment(str(ROOT / "tests" / "hostile" / "spec")).spec
    assert fast.timeout_s == 30 and fast.limits.memory_mb == 768 and fast.limits.processes == 64
    text = (ROOT / "tests" / "hostile" / "spec" / "assignment.toml").read_text(encoding="utf-8")
    (tmp_path / "assignment.toml").write_text(text.replace("memory_mb = 768", "memory_mb = 1"), encoding="utf-8")
    with pytest.raises(AssignmentError, match="limits.memory_mb"):
        load_assignment(str(tmp_path))


def test_a_captured_model_gets_no_data_and_no_job_carries_test_labels():
    """A captured model's job has no rows at all (the trusted side trains and tests its graph); a
    model observed the old way (its capture failed) gets its training data and the test inputs, never
    the test labels."""
    import json

    from grader.evaluate.execute import build_job
    from grader.intake.submission import read_submission
    from grader.protocol import wire
    from grader.spec import load_assignment
    from grader.spec.datasets import splits_for

    assignment = load_assignment("iris_basics")
    splits = splits_for(assignment.spec)
    submission = read_submission(ROOT / "solutions" / "iris_basics" / "solution.py")
    first = build_job(submission, assignment, splits, "definitions", "/nonexistent")
    second = build_job(submission, assignment, splits, "definitions", "/nonexistent", ["lr"], frozenset({"lr"}))
    for job in (first, second):
        written = json.loads(json.dumps(wire.encode(job)))  # what the sandbox gets
        for model in written["models"]:
            assert not {"test_y", "test_classes", "test_species", "labels"} & set(model)
            old_way = job is second and model["id"] == "lr"
            assert model["capture"] is not old_way
            assert model["test_x"] == (splits[model["id"]].test_x.tolist() if old_way else [])
            assert model["train_x"] == (splits[model["id"]].train_x.tolist() if old_way else [])
            assert model["probe_x"]  # the probe points are the grader's own, not the data's
    assert second.observe == ["lr"]


# ---- grader doctor -------------------------------------------------------------------------------------------------
def test_grader_doctor_says_which_isolation_and_why():
    completed = subprocess.run([sys.executable, "-m", "grader", "doctor", "--json"], capture_output=True, text=True,
                               timeout=60, cwd=ROOT)
    assert completed.returncode == 0, completed.stderr
    info = json.loads(completed.stdout)
    assert info["tier"] == ISOLATION.tier and info["isolated"] == ISOLATION.isolated
    inside = info["inside"]
    if ISOLATION.isolated:
        assert inside["sees_grader_process"] is False
        assert inside["visible_paths"] == []
        assert inside["writable_system_dirs"] == []
        assert info["listener_reached"] is False
        assert inside["uid"] != 0
    from grader.sandbox.forkserver import unavailable_reason

    reason = unavailable_reason(ISOLATION)
    assert info["warm_starts"].startswith("no") if reason else info["warm_starts"].startswith("yes"), info["warm_starts"]
    # The text `grader doctor` prints is this rendering of the same findings (the command's text
    # path: test_grader_doctor_strict_fails_without_isolation); one probe of the sandbox is enough.
    from grader.sandbox.doctor import render

    assert render(info).startswith(f"Isolation: {ISOLATION.tier}")


def test_grader_doctor_strict_fails_without_isolation(monkeypatch):
    env = {**os.environ, "GRADER_ISOLATION": "none"}
    completed = subprocess.run([sys.executable, "-m", "grader", "doctor", "--strict"], capture_output=True, text=True,
                               timeout=60, env=env)
    assert completed.returncode == 1
    assert "NOT ISOLATED" in completed.stdout and "GRADER_ISOLATION=none" in completed.stdout
    assert "warm starts:       no, each run starts a fresh interpreter: the fork server needs the bwrap-root tier" \
        in completed.stdout
