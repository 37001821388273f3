"""Run one command isolated: namespaces, resource limits, a wall-clock timeout, bounded output, cleanup.

This is the process boundary between the grader and the student's code. `run_process` builds the
command line for the isolation this machine gives (see `grader.sandbox.tiers`):

    launcher (joins the run's cgroup, sets rlimits[, drops uid, loads seccomp])
      -> bwrap (new pid/net/mount/ipc/uts namespaces, read-only system, private /tmp, seccomp)
        -> setpriv (to the unprivileged sandbox user) -> COMMAND

The child gets a scrubbed environment and its own session; its stdout/stderr are read through
bounded buffers. When the command ends, or the wall clock runs out, every process of the run is
killed (process group, cgroup, and the pid namespace collapsing with bwrap) and the run's cgroup is
removed. What happened comes back as a `ProcessOutcome`: exit status, timeout, OOM kill (from the
cgroup's counter, which student code cannot fake), CPU limit, process limit, truncated output.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from grader.sandbox import cgroups, seccomp_filter
from grader.sandbox.bwrap import bwrap_argv, runtime_paths
from grader.sandbox.isolation import Isolation
from grader.sandbox.launcher import LAUNCHER_FAILED, launcher_argv

DEFAULT_OUTPUT_LIMIT = 256 * 1024
MB = 1024 * 1024


@dataclass(frozen=True)
class ProcessLimits:
    """Limits of one run. None leaves a limit unset (the wall clock `timeout_s` is always set)."""

    timeout_s: float
    output_bytes: int = DEFAULT_OUTPUT_LIMIT
    cpu_s: float | None = None
    memory_bytes: int | None = None  # cgroup memory limit; RLIMIT_DATA is twice this
    processes: int | None = None  # cgroup pids.max (threads count too)
    file_size_bytes: int | None = None
    open_files: int | None = None
    tmp_bytes: int = 256 * MB  # each private tmpfs: /tmp, /dev/shm and the work directory


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int | None
    timed_out: bool
    duration_s: float
    stdout: str
    stderr: str
    output_truncated: bool
    isolation: str = "none"  # the tier used: bwrap-root, bwrap-userns or none
    isolation_notes: tuple[str, ...] = ()
    oom_killed: bool = False  # the cgroup's OOM killer ended a process of the run
    cpu_exceeded: bool = False  # killed by SIGXCPU: the CPU-time limit
    process_limit_hit: bool = False  # a fork or thread was refused at the process limit
    signal: int | None = None  # the signal that ended the command, if one did
    memory_limit_bytes: int | None = None
    cpu_limit_s: float | None = None
    process_limit: int | None = None
    launch_failed: bool = False  # the sandbox itself could not start (a grader fault, not the student's)
    stopped: bool = False  # killed on request (`stop`), e.g. a batch interrupted with Ctrl-C

    @property
    def isolated(self) -> bool:
        return self.isolation != "none"


class BoundedReader(threading.Thread):
    """Drains a pipe to the end, keeping only the first `limit` bytes (the child never blocks)."""

    def __init__(self, pipe: IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self._pipe, self._limit = pipe, limit
        self.kept = bytearray()
        self.dropped = 0

    def run(self) -> None:
        while chunk := self._pipe.read(65536):
            room = self._limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            self.dropped += max(0, len(chunk) - max(room, 0))
        self._pipe.close()

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


def isolated_python_flags() -> list[str]:
    """Python's isolated mode (`-I`) but for `-E`: the environment is `scrubbed_environment`, ours, and
    its PYTHONHASHSEED must count. `-s`: no user site-packages; `-P` (3.11+): no script folder or
    working folder on sys.path."""
    return ["-s", "-P"] if sys.version_info >= (3, 11) else ["-s"]


def scrubbed_environment(workdir: Path) -> dict[str, str]:
    """Only what Python needs: no tokens, no proxies, no home directory of the instructor. Where this
    process found the grader through PYTHONPATH (a Gradescope image's `package/`, which the venv's
    install does not point to), the folder of that grader package, so that the harness imports the
    same one (bound read-only into the sandbox); else none (an entry before the venv's costs every
    import of the run a look there: about 0.3 s a grading)."""
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",  # the same set and dict orders on every run: the same outputs
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "TMPDIR": str(workdir),
    }
    if os.environ.get("PYTHONPATH"):
        environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])  # the folder holding the grader package
    return environment


def rlimits(limits: ProcessLimits, dedicated_uid: bool, have_pids_cgroup: bool) -> list[tuple[str, int, int]]:
    """(name, soft, hard) for the launcher. No RLIMIT_AS: torch reserves GBs of address space."""
    out: list[tuple[str, int, int]] = [("RLIMIT_CORE", 0, 0)]
    if limits.cpu_s is not None:
        seconds = max(1, int(limits.cpu_s))
        out.append(("RLIMIT_CPU", seconds, seconds + 1))  # soft first: SIGXCPU, a readable verdict
    if limits.memory_bytes is not None:
        # One absurd allocation fails with MemoryError here; the cgroup stops the gradual kind.
        out.append(("RLIMIT_DATA", 2 * limits.memory_bytes, 2 * limits.memory_bytes))
    if limits.file_size_bytes is not None:
        out.append(("RLIMIT_FSIZE", limits.file_size_bytes, limits.file_size_bytes))
    if limits.open_files is not None:
        out.append(("RLIMIT_NOFILE", limits.open_files, limits.open_files))
    if limits.processes is not None and dedicated_uid and not have_pids_cgroup:
        # Counted per uid and ignored for root: only a fallback when no pids cgroup exists.
        out.append(("RLIMIT_NPROC", limits.processes, limits.processes))
    return out


@dataclass
class Confined:
    """A command line that runs a command under the sandbox (`confine`): start it with `pass_fds`,
    then call `started()`; kill the run's `group` (when there is one) with the process, then remove it."""

    argv: list[str]
    pass_fds: tuple[int, ...]
    group: cgroups.RunGroup | None

    def started(self) -> None:
        """The child has the seccomp program's pipe now (or will never need it)."""
        for fd in self.pass_fds:
            os.close(fd)
        self.pass_fds = ()


def confine(argv: list[str], workdir: Path, limits: ProcessLimits, env: dict[str, str], isolation: Isolation, *,
            outputs: list[str] | None = None, readonly_paths: list[str] | tuple[str, ...] | None = None,
            loopback_sockets: bool = False) -> Confined:
    """The launcher, bwrap and setpriv command line for `argv` (see the module's docstring), the
    run's cgroup made and `workdir` handed to the sandbox user; the arguments are `run_process`'s."""
    iso = isolation
    workdir = Path(workdir)
    for name in outputs or []:
        (workdir / name).touch(exist_ok=True)
    dedicated_uid = iso.uid is not None and iso.uid != os.geteuid()
    if dedicated_uid:
        # bwrap-root binds as root and only the outputs need to be the sandbox user's; otherwise the
        # sandbox user itself must reach everything in the work directory.
        assert iso.uid is not None  # dedicated_uid implies it (mypy does not follow the name)
        _hand_over(workdir, iso.uid, iso.gid, whole=outputs is None or iso.tier != "bwrap-root", outputs=outputs or [])
    group = cgroups.RunGroup.create(limits.memory_bytes, limits.processes) if iso.cgroup else None
    seccomp_fd = seccomp_filter.program_fd(loopback_sockets and iso.isolated) if iso.seccomp else None
    try:
        config = {
            "cgroups": group.procs_files if group else [],
            "rlimits": rlimits(limits, dedicated_uid, group is not None),
            "uid": None, "gid": None, "seccomp_fd": None,
        }
        if iso.isolated:
            paths = runtime_paths() if readonly_paths is None else tuple(readonly_paths)
            command = bwrap_argv(iso, list(argv), workdir, paths, env, limits.tmp_bytes, seccomp_fd, outputs)
        else:
            command = list(argv)
            config["seccomp_fd"] = seccomp_fd
        if dedicated_uid and iso.tier != "bwrap-root":  # bwrap-root drops inside, with setpriv
            config.update(uid=iso.uid, gid=iso.gid)
    except BaseException:
        if group:
            group.remove()
        if seccomp_fd is not None:
            os.close(seccomp_fd)
        raise
    return Confined(launcher_argv(config, command), (seccomp_fd,) if seccomp_fd is not None else (), group)


def run_process(argv: list[str], workdir: Path, limits: ProcessLimits, env: dict[str, str], *,
                outputs: list[str] | None = None, readonly_paths: list[str] | tuple[str, ...] | None = None,
                isolation: Isolation, stop: threading.Event | None = None, loopback_sockets: bool = False,
                watch: Callable[[], bool] | None = None) -> ProcessOutcome:
    """Run `argv` in `workdir` under `isolation` (what `grader.sandbox.tiers.detect()` found).

    `outputs`: names of files in `workdir` the command may write and the caller reads afterwards
    (created empty when missing). When given, every other entry of `workdir` is read-only inside
    the sandbox and anything else written there goes to a private, size-limited tmpfs that vanishes
    with the run. When None, the whole of `workdir` is writable.
    `readonly_paths`: host paths made visible read-only; default: the Python runtime and the grader
    package (`bwrap.runtime_paths()`), enough for `python -m grader.harness`.
    `stop`: when another thread sets it, the run is killed at once (`stopped` in the outcome).
    `loopback_sockets`: let the command open TCP/UDP sockets, only where it has its own network
    namespace (a Jupyter kernel needs them; see `grader.sandbox.seccomp_filter`).
    `watch`: called about every 0.2 s while the command runs; when it returns True the run is killed
    as on `stop` (the caller knows why, e.g. a phase past its budget: `grader.evaluate.execute.PhaseWatch`).
    """
    iso = isolation
    started = time.perf_counter()
    confined = confine(argv, workdir, limits, env, iso, outputs=outputs, readonly_paths=readonly_paths,
                       loopback_sockets=loopback_sockets)
    group = confined.group
    try:
        process = subprocess.Popen(
            confined.argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            pass_fds=confined.pass_fds,
        )
    except BaseException:
        if group:
            group.remove()
        raise
    finally:
        confined.started()

    assert process.stdout is not None and process.stderr is not None  # both PIPEs
    readers = [BoundedReader(process.stdout, limits.output_bytes), BoundedReader(process.stderr, limits.output_bytes)]
    for reader in readers:
        reader.start()
    timed_out = stopped = False
    deadline = started + limits.timeout_s
    try:
        while True:
            try:
                polled = stop is not None or watch is not None
                process.wait(timeout=max(0.0, min(deadline - time.perf_counter(), 0.2 if polled else limits.timeout_s)))
                break
            except subprocess.TimeoutExpired:
                if (stop is not None and stop.is_set()) or (watch is not None and watch()):
                    stopped = True
                    break
                if time.perf_counter() >= deadline:
                    timed_out = True
                    break
    finally:
        # Kill the whole tree: the session, every process in the cgroup (even one that left the
        # session), and, with bwrap, the pid namespace goes with it.
        _kill_group(process.pid)
        if group:
            group.kill_all()
        process.wait()
    return collect_outcome(process.returncode, timed_out, stopped, started, readers, group, iso, limits,
                           signalled_via_bwrap=iso.isolated)


def collect_outcome(returncode: int | None, timed_out: bool, stopped: bool, started: float,
                    readers: list[BoundedReader], group: cgroups.RunGroup | None, iso: Isolation, limits: ProcessLimits, *, signalled_via_bwrap: bool,
                    notes: tuple[str, ...] = ()) -> ProcessOutcome:
    """What happened to a run whose processes are all dead: read its output and its cgroup's verdicts,
    remove the cgroup."""
    for reader in readers:
        reader.join(timeout=5)
    oom_killed = process_limit_hit = False
    if group:
        oom_killed, process_limit_hit = group.oom_killed(), group.process_limit_hit()
        group.remove()
    ended_by = _signal_of(returncode, signalled_via_bwrap) if not (timed_out or stopped) else None
    stdout, stderr = readers
    stderr_text = stderr.text()
    return ProcessOutcome(
        returncode=None if timed_out or stopped else returncode,
        timed_out=timed_out,
        duration_s=time.perf_counter() - started,
        stdout=stdout.text(),
        stderr=stderr_text,
        output_truncated=bool(stdout.dropped or stderr.dropped),
        isolation=iso.tier,
        isolation_notes=iso.notes + notes,
        oom_killed=oom_killed,
        cpu_exceeded=ended_by == signal.SIGXCPU,
        process_limit_hit=process_limit_hit,
        signal=ended_by,
        memory_limit_bytes=limits.memory_bytes,
        cpu_limit_s=limits.cpu_s,
        process_limit=limits.processes,
        launch_failed=_launch_failed(returncode, stderr_text),
        stopped=stopped,
    )


def _signal_of(returncode: int | None, via_bwrap: bool) -> int | None:
    if returncode is None:
        return None
    if returncode < 0:
        return -returncode
    if via_bwrap and 128 < returncode < 128 + 65:  # bwrap reports a signalled child as 128 + signal
        return returncode - 128
    return None


def _launch_failed(returncode: int | None, stderr: str) -> bool:
    if returncode == LAUNCHER_FAILED and stderr.startswith("grader sandbox launcher:"):
        return True
    # bwrap's own errors (before the command started) begin with "bwrap: ".
    return returncode == 1 and stderr.startswith("bwrap: ")


def _hand_over(workdir: Path, uid: int, gid: int | None, whole: bool, outputs: list[str]) -> None:
    """Give the sandbox user what it may write: the whole work directory, or only the outputs."""
    gid = gid if gid is not None else uid
    if not whole:
        for name in outputs:
            os.chown(workdir / name, uid, gid)
        return
    for root, _dirs, files in os.walk(workdir):
        os.chown(root, uid, gid)
        for name in files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)
    # Traversable by others: bwrap started as root has dropped its capabilities when it enters it.
    os.chmod(workdir, 0o711)


def remove_tree(path: Path) -> None:
    """Remove a run's work directory, even where the submission took its own permissions away."""
    import shutil

    def retry(function: Callable[[str], object], failed_path: str, _exc_info: object) -> None:
        try:
            parent = os.path.dirname(failed_path)
            os.chmod(parent, stat.S_IRWXU)
            if os.path.isdir(failed_path) and not os.path.islink(failed_path):
                os.chmod(failed_path, stat.S_IRWXU)
            function(failed_path)
        except OSError:
            pass

    shutil.rmtree(path, onerror=retry)
    if os.path.exists(path):
        shutil.rmtree(path, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
