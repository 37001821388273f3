"""A warm start for sandboxed runs: a fork server that has imported torch once.

Starting a sandboxed `python -m grader.harness` costs about a second before any student code
runs, most of it `import torch`. In a batch, each worker keeps one `ForkServer`: a bubblewrap
sandbox running `grader.harness.zygote`, which imports and warms torch once and then forks a fresh
child per submission. The child builds the same walls as a cold run before it runs anything of the
student's (its own IPC and mount namespaces and private /tmp, the run's cgroup, rlimits, empty
capability sets, the sandbox user, no-new-privs, seccomp; see the zygote's docstring), so the two
paths give the same isolation and the same observations; the cold path (`grader.sandbox.process.run_process`)
stays for single checks and for machines where this one is not available.

Available only in the `bwrap-root` tier with cgroups and seccomp: the child needs root to build its
mount namespace and drop to the sandbox user, and the cgroup is what kills every process of a run
(the server is their parent, not the grader).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from grader.protocol.wire import JOB_FILE, OBSERVATIONS_FILE
from grader.sandbox import cgroups, tiers
from grader.sandbox.bwrap import FORK_SERVER_RUNS, bwrap_argv, runtime_paths
from grader.sandbox.isolation import Isolation
from grader.sandbox.process import (
    BoundedReader,
    ProcessLimits,
    ProcessOutcome,
    collect_outcome,
    isolated_python_flags,
    remove_tree,
    rlimits,
    scrubbed_environment,
)
from grader.sandbox.seccomp_filter import bpf_program

T = TypeVar("T")

START_TIMEOUT_S = 60
EXIT_GRACE_S = 5  # after the run's cgroup is killed, how long the server may take to report it
NOTE = "started from a warm fork server (torch imported once per worker)"


class ForkServerUnavailable(RuntimeError):
    """The fork server cannot run here, or failed to start: use the cold path."""


def unavailable_reason(isolation: Isolation) -> str | None:
    if isolation.tier != "bwrap-root":
        return f"needs the bwrap-root tier (this machine gives {isolation.tier})"
    if not isolation.cgroup:
        return "needs cgroups to kill every process of a run"
    if not isolation.seccomp:
        return "needs the seccomp filter"
    return None


class ForkServer:
    """One warm sandboxed interpreter that runs one job at a time. Not thread-safe: one per worker."""

    def __init__(self, isolation: Isolation | None = None) -> None:
        self.isolation = isolation or tiers.detect()
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._stderr: BoundedReader | None = None
        self._runs: Path | None = None
        self.runs_started = 0
        self.broken: str | None = None  # why it could not start; then it is not tried again

    # -- lifetime ------------------------------------------------------------------------------------
    def __enter__(self) -> ForkServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start(self) -> None:
        reason = self.broken or unavailable_reason(self.isolation)
        if reason:
            self.broken = reason
            raise ForkServerUnavailable(reason)
        self._runs = Path(tempfile.mkdtemp(prefix="grader-forkserver-"))
        cgroup_parents = tuple(str(p) for p in cgroups.run_parents())
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        config = {
            "control_fd": theirs.fileno(),
            "seccomp": base64.b64encode(bpf_program()).decode(),
            "detach": [FORK_SERVER_RUNS, *cgroup_parents],
        }
        env = scrubbed_environment(self._runs)
        zygote = [sys.executable, *isolated_python_flags(), "-u", "-m", "grader.harness.zygote", json.dumps(config)]
        command = bwrap_argv(self.isolation, zygote, self._runs, runtime_paths(), env, 64 * 1024 * 1024, None, None,
                             fork_server_binds=cgroup_parents)
        try:
            self._process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()
        self._control = ours
        assert self._process.stderr is not None  # a PIPE
        self._stderr = BoundedReader(self._process.stderr, 64 * 1024)
        self._stderr.start()
        reply = self._receive(START_TIMEOUT_S)
        if reply is None or "ready" not in reply:
            problem = (reply or {}).get("error") or self._stderr_tail() or "no answer"
            self.close()
            self.broken = f"the fork server did not start: {problem}"
            raise ForkServerUnavailable(f"the fork server did not start: {problem}")

    def close(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            try:
                os.killpg(self._process.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            self._process.wait()
            self._process = None
        if self._runs is not None:
            remove_tree(self._runs)
            self._runs = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- one run ---------------------------------------------------------------------------------------
    def run(self, job: dict[str, Any], files: dict[str, str], limits: ProcessLimits, env: dict[str, str],
            collect: Callable[[Path, ProcessOutcome], T], stop: threading.Event | None = None,
            watch: Callable[[Path], bool] | None = None) -> T:
        """Run one job; returns what `collect` makes of the run's observations file and what happened
        to its process (called before the run's folder is removed).

        `watch`: called with the run's observations file about every 0.2 s while it runs; when it
        returns True the run is killed as on `stop` (`grader.evaluate.execute.PhaseWatch`).
        Raises ForkServerUnavailable when the server cannot be started (the caller runs cold)."""
        if not self.running:
            self.close()
            self.start()
        assert self._runs is not None and self._control is not None
        started = time.perf_counter()
        self.runs_started += 1
        run_dir = self._runs / f"run-{self.runs_started}"
        # Readable by the sandbox user, which the child drops to before the submission imports its
        # helper modules from here (0o700 made every helper of a warm run a ModuleNotFoundError).
        (run_dir / "files").mkdir(parents=True, mode=0o755)
        try:
            for name, text in files.items():
                (run_dir / "files" / name).write_text(text, encoding="utf-8")
            (run_dir / JOB_FILE).write_text(json.dumps(job), encoding="utf-8")
            observations = run_dir / OBSERVATIONS_FILE
            observations.touch()
            group = cgroups.RunGroup.create(limits.memory_bytes, limits.processes)
            if group is None:
                raise ForkServerUnavailable("a cgroup for the run could not be made")
            outcome = self._run_in(run_dir, group, limits, env, started, stop,
                                   (lambda: watch(observations)) if watch is not None else None)
            return collect(observations, outcome)
        finally:
            remove_tree(run_dir)

    def _run_in(self, run_dir: Path, group: cgroups.RunGroup, limits: ProcessLimits, env: dict[str, str], started: float,
                stop: threading.Event | None, watch: Callable[[], bool] | None = None) -> ProcessOutcome:
        assert self._control is not None
        request = {
            "run_dir": f"{FORK_SERVER_RUNS}/{run_dir.name}", "cgroups": group.procs_files, "tmp_bytes": limits.tmp_bytes, "env": env,
            "rlimits": rlimits(limits, dedicated_uid=True, have_pids_cgroup=True),
            "uid": self.isolation.uid, "gid": self.isolation.gid,
        }
        out_read, out_write = os.pipe()
        err_read, err_write = os.pipe()
        try:
            socket.send_fds(self._control, [json.dumps(request).encode()], [out_write, err_write])
        except OSError as exc:
            for fd in (out_read, out_write, err_read, err_write):
                os.close(fd)
            group.remove()
            self.close()
            raise ForkServerUnavailable(f"the fork server is gone: {exc}") from exc
        # Only the child holds the write ends now: end of file when its last process is gone.
        os.close(out_write)
        os.close(err_write)
        readers = [BoundedReader(os.fdopen(out_read, "rb", buffering=0), limits.output_bytes),
                   BoundedReader(os.fdopen(err_read, "rb", buffering=0), limits.output_bytes)]
        for reader in readers:
            reader.start()
        returncode, timed_out, stopped = self._wait(started + limits.timeout_s, group, stop, watch)
        group.kill_all()  # whatever the child left running
        if returncode is None and not (timed_out or stopped):
            returncode = 125  # the server died under the run: the grader's fault, as a failed launch
            readers[1].kept += b"grader sandbox launcher: the fork server ended during the run\n"
        return collect_outcome(returncode, timed_out, stopped, started, readers, group, self.isolation, limits,
                               signalled_via_bwrap=False, notes=(NOTE,))

    def _wait(self, deadline: float, group: cgroups.RunGroup, stop: threading.Event | None,
              watch: Callable[[], bool] | None = None) -> tuple[int | None, bool, bool]:
        """(exit code, timed out, stopped). On a timeout or a stop (or `watch` saying so) the run's
        cgroup is killed and the server's report of the exit awaited; a server that does not report
        it is closed."""
        timed_out = stopped = False
        while True:
            reply = self._receive(max(0.0, min(deadline - time.perf_counter(), 0.2)))
            if reply is not None and "exited" in reply:
                return reply["exited"], False, False
            if reply is None and not self.running:
                self.close()
                return None, False, False
            if (stop is not None and stop.is_set()) or (watch is not None and watch()):
                stopped = True
            elif time.perf_counter() >= deadline:
                timed_out = True
            if timed_out or stopped:
                break
        group.kill_all()
        give_up = time.perf_counter() + EXIT_GRACE_S
        while time.perf_counter() < give_up:
            reply = self._receive(0.2)
            if reply is not None and "exited" in reply:
                return None, timed_out, stopped
            if reply is None and not self.running:
                break
        self.close()
        return None, timed_out, stopped

    def _receive(self, timeout_s: float) -> dict[str, Any] | None:
        """The server's next message, or None after `timeout_s` or when it has gone."""
        if self._control is None:
            return None
        self._control.settimeout(max(timeout_s, 0.001))
        try:
            data = self._control.recv(1 << 16)
        except TimeoutError:
            return None
        except OSError:
            return None
        if not data:  # the server closed its end: it is gone, or going
            if self._process is not None:
                try:
                    self._process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.close()
            return None
        message: dict[str, Any] = json.loads(data)
        return message

    def _stderr_tail(self) -> str:
        if self._process is not None and self._process.poll() is None:
            return ""
        if self._stderr is not None:
            self._stderr.join(timeout=2)
            lines = self._stderr.text().strip().splitlines()
            return lines[-1][:300] if lines else ""
        return ""
