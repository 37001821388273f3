"""Run one command in its own process tree with a wall-clock timeout and bounded output.

This is the process boundary between the grader and the student's code: the child gets a scrubbed
environment, a private working directory, its own session (so the whole tree can be killed), and
its stdout/stderr are read through bounded buffers. Stronger isolation (namespaces, cgroups,
seccomp) layers on top of the command built here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_OUTPUT_LIMIT = 256 * 1024


@dataclass(frozen=True)
class ProcessLimits:
    timeout_s: float
    output_bytes: int = DEFAULT_OUTPUT_LIMIT


@dataclass(frozen=True)
class ProcessOutcome:
    returncode: int | None
    timed_out: bool
    duration_s: float
    stdout: str
    stderr: str
    output_truncated: bool


class _BoundedReader(threading.Thread):
    """Drains a pipe to the end, keeping only the first `limit` bytes (the child never blocks)."""

    def __init__(self, pipe, limit: int) -> None:
        super().__init__(daemon=True)
        self._pipe, self._limit = pipe, limit
        self.kept = bytearray()
        self.dropped = 0

    def run(self) -> None:
        while chunk := self._pipe.read(65536):
            room = self._limit - len(self.kept)
            self.kept += chunk[:room]
            self.dropped += max(0, len(chunk) - room)
        self._pipe.close()

    def text(self) -> str:
        return self.kept.decode("utf-8", errors="replace")


def scrubbed_environment(workdir: Path) -> dict[str, str]:
    """Only what Python needs: no tokens, no proxies, no home directory of the instructor."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "TMPDIR": str(workdir),
    }


def run_process(argv: list[str], workdir: Path, limits: ProcessLimits, env: dict[str, str]) -> ProcessOutcome:
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    readers = [_BoundedReader(process.stdout, limits.output_bytes), _BoundedReader(process.stderr, limits.output_bytes)]
    for reader in readers:
        reader.start()
    timed_out = False
    try:
        process.wait(timeout=limits.timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
    finally:
        # Kill the whole session: children the submission started must not outlive it.
        _kill_group(process.pid)
        process.wait()
    for reader in readers:
        reader.join(timeout=5)
    stdout, stderr = readers
    return ProcessOutcome(
        returncode=None if timed_out else process.returncode,
        timed_out=timed_out,
        duration_s=time.perf_counter() - started,
        stdout=stdout.text(),
        stderr=stderr.text(),
        output_truncated=bool(stdout.dropped or stderr.dropped),
    )


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
