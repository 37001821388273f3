"""The fork server inside the sandbox: import torch once, then fork one fresh child per run.

Started by `grader.sandbox.forkserver` inside bubblewrap (new pid, net, mount, ipc and uts namespaces,
read-only system) as root with only CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID and CAP_SETPCAP: what a
child needs to build its own sandbox before it drops them all. It never runs student code and never
reads a job: a request names a run folder, and only the forked child reads what is in it, so the
server's memory, which every later child inherits, holds nothing of any submission.

    python -I -u -m grader.harness.zygote CONFIG_JSON

Per request (one JSON message and two file descriptors, the run's stdout and stderr, on a Unix
SEQPACKET socket) the child, still root, in this order: leaves for its own session; joins the
run's cgroups; reads the job and opens the observations file; gets its own IPC namespace (no SysV
object or POSIX message queue of one run outlives it or reaches the next, as in a cold run's own
bwrap) and its own mount namespace with a fresh size-limited /tmp (its working directory) and
/dev/shm, the submission's files read-only at /tmp/files, and the run folders and cgroup file
systems unmounted; sets the rlimits; empties the capability bounding, inheritable and ambient sets
(as `setpriv --bounding-set=-all --inh-caps=-all` in a cold run) and drops to the sandbox user
(the permitted and effective sets go with root); sets no-new-privs, the parent-death signal and
the seccomp filter; closes every other descriptor; and only then runs the harness. The server
answers `{"forked": pid}` and, when the child ends, `{"exited": code}` (negative: killed by that
signal).
"""

from __future__ import annotations

import base64
import ctypes
import dataclasses
import errno
import json
import os
import re
import signal
import socket
import sys
import traceback
from typing import Any

from grader.protocol import seccomp
from grader.protocol.wire import (
    FORK_CHILD_FILES,
    FORK_CHILD_WORK,
    JOB_FILE,
    OBSERVATIONS_FILE,
    Job,
    decode,
)

CLONE_NEWNS, CLONE_NEWIPC = 0x00020000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
LINUX_CAPABILITY_VERSION_3 = 0x20080522
WORK, FILES = FORK_CHILD_WORK, FORK_CHILD_FILES
LAUNCH_FAILED = 125  # the same status as the cold launcher's: the sandbox, not the student, failed


def warm_up(training: bool = True) -> None:
    """Import and exercise what every run needs, so that each child starts with it in memory.
    `training`: the run trains a model (its first optimizer imports torch._dynamo, about 1.3 s, which
    a run that only captures never needs)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import numpy  # noqa: F401
    import torch

    torch.set_num_threads(1)
    import grader.harness.loader  # noqa: F401
    import grader.harness.probes  # noqa: F401
    import grader.harness.session  # noqa: F401
    import grader.harness.source  # noqa: F401
    import grader.harness.training  # noqa: F401

    if training:
        # One tiny training step: the first forward, backward and Adam step initialise lazily.
        layer = torch.nn.Linear(3, 2)
        optimizer = torch.optim.Adam(layer.parameters(), lr=0.01)
        torch.nn.functional.mse_loss(torch.sigmoid(layer(torch.zeros(4, 3))), torch.zeros(4, 2)).backward()
        optimizer.step()
    # One capture: torch.fx's first trace pays for its own lazy set-up.
    from grader.harness.capture import warm_up as warm_up_capture

    warm_up_capture()


def serve(config: dict[str, Any]) -> None:
    control = socket.socket(fileno=config["control_fd"])
    warm_up()
    # Forking is only safe from a single-threaded process.
    if len(os.listdir("/proc/self/task")) != 1:
        control.send(json.dumps({"error": "the warmed-up interpreter runs more than one thread"}).encode())
        return
    control.send(json.dumps({"ready": os.getpid()}).encode())
    while True:
        message, fds, _flags, _address = socket.recv_fds(control, 1 << 16, 2)
        if not message:
            return  # the grader closed its end
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            control.close()
            _child(config, request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        control.send(json.dumps({"forked": pid}).encode())
        _, status = os.waitpid(pid, 0)
        control.send(json.dumps({"exited": os.waitstatus_to_exitcode(status)}).encode())


def _child(config: dict[str, Any], request: dict[str, Any], fds: list[int]) -> None:
    try:
        stdout_fd, stderr_fd = fds
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.setsid()
        for path in request["cgroups"]:
            with open(path, "w") as handle:
                handle.write(str(os.getpid()))
        run_dir = request["run_dir"]
        with open(os.path.join(run_dir, JOB_FILE), encoding="utf-8") as handle:
            job = dataclasses.replace(decode(Job, json.load(handle)), files_dir=FILES)
        observations_fd = os.open(os.path.join(run_dir, OBSERVATIONS_FILE), os.O_WRONLY | os.O_APPEND)
        libc = ctypes.CDLL(None, use_errno=True)
        _check(libc.unshare(CLONE_NEWIPC), "unshare(CLONE_NEWIPC)")
        _private_mounts(run_dir, request["tmp_bytes"], config["detach"])
        import resource

        for name, soft, hard in request["rlimits"]:
            resource.setrlimit(getattr(resource, name), (soft, hard))
        _drop_bounding_set(libc)
        _drop_inheritable_and_ambient(libc)
        os.setgroups([])
        os.setresgid(request["gid"], request["gid"], request["gid"])
        os.setresuid(request["uid"], request["uid"], request["uid"])
        _prctl(libc, PR_SET_PDEATHSIG, signal.SIGKILL)  # after the uid change, which clears it
        _prctl(libc, PR_SET_NO_NEW_PRIVS, 1)
        if config["seccomp"]:
            seccomp.install(base64.b64decode(config["seccomp"]))
        os.dup2(observations_fd, 3)
        os.closerange(4, 1 << 16)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(WORK)
        sys.argv = ["grader.harness"]
    except BaseException as exc:  # noqa: BLE001 - nothing of the student's has run yet
        os.write(2, f"grader sandbox launcher: {type(exc).__name__}: {exc}\n".encode())
        os._exit(LAUNCH_FAILED)
    from grader.harness.__main__ import finish, run_job

    try:
        with os.fdopen(3, "a", encoding="utf-8") as stream:
            status = run_job(job, stream)
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends `python -m grader.harness`
        traceback.print_exc()
        status = 1
    finish(status)


def _private_mounts(run_dir: str, tmp_bytes: int, detach: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    _check(libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _mount(libc, None, "/", None, MS_REC | MS_PRIVATE)
    # The runtime may be bound below /tmp (a checkout in a temporary folder): hold those mounts open
    # before the fresh /tmp covers them, and bind them again, read-only, at the same places.
    covered = [(path, os.open(path, os.O_PATH)) for path in _mounts_below(WORK)]
    for target in (WORK, "/dev/shm"):
        _mount(libc, "tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
    for path, held in covered:
        os.makedirs(path, 0o755, exist_ok=True)
        _mount(libc, f"/proc/self/fd/{held}", path, None, MS_BIND | MS_REC)
        _mount(libc, None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(held)
    os.mkdir(FILES, 0o755)
    _mount(libc, os.path.join(run_dir, "files"), FILES, None, MS_BIND)
    _mount(libc, None, FILES, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for target in detach:
        _check(libc.umount2(target.encode(), MNT_DETACH), f"umount {target}")


def _mounts_below(folder: str) -> list[str]:
    """Mount points strictly below `folder`, outermost only (a recursive bind carries the rest)."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            # Field 5 is the mount point, with space, tab, newline and backslash escaped in octal.
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])
            if point.startswith(folder.rstrip("/") + "/"):
                points.append(point)
    return [p for p in sorted(set(points)) if not any(p.startswith(q + "/") for q in points if q != p)]


def _drop_bounding_set(libc) -> None:
    """As `setpriv --bounding-set=-all` in a cold run: no capability can ever come back."""
    for cap in range(64):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == errno.EINVAL:  # past the last capability this kernel knows
                return
            _check(-1, f"prctl(PR_CAPBSET_DROP, {cap})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_inheritable_and_ambient(libc) -> None:
    """As `setpriv --inh-caps=-all`: the server's inheritable set (what bwrap's --cap-add put there)
    survives the uid change, which clears only the permitted, effective and ambient sets. The
    effective and permitted sets stay as they are here: the uid change still needs CAP_SETUID."""
    _prctl(libc, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()  # version 3: two 32-bit words of each set
    _check(libc.capget(ctypes.byref(header), data), "capget")
    for word in data:
        word.inheritable = 0
    _check(libc.capset(ctypes.byref(header), data), "capset")


def _mount(libc, source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda value: value.encode() if value is not None else None  # noqa: E731
    _check(libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
           f"mount {target}")


def _prctl(libc, option: int, value: int) -> None:
    _check(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), f"prctl({option})")


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]))
