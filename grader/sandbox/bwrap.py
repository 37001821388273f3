"""bubblewrap's command line for one run, or for a worker's fork server: what the sandbox sees.

Inside bwrap the sandbox sees: /usr (read-only), the Python runtime and the grader package
(read-only, each at its own path, nothing else of the repository or the home they live in), a
private /proc and /dev, a private size-limited /tmp and /dev/shm, and its work directory. No
network but `lo`.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from grader.sandbox.isolation import Isolation

SETPRIV = "/usr/bin/setpriv"


@lru_cache(maxsize=1)
def runtime_paths() -> tuple[str, ...]:
    """What the harness needs to run, read-only: the interpreter's prefix (a pyenv Python lives
    outside the venv), the venv, and the grader package. Not the repository, not any home."""
    package = Path(__file__).resolve().parents[1]
    wanted = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix, str(package),
              str(Path(sys.executable).parent)]
    paths: list[str] = []
    for raw in wanted:
        path = os.path.abspath(raw)
        if path in ("/", "/usr") or path.startswith("/usr/") or not os.path.isdir(path):
            continue
        paths.append(path)
    # Drop paths inside another one (the venv's bin inside the venv).
    paths = sorted(set(paths))
    kept = [p for p in paths if not any(p != q and p.startswith(q + os.sep) for q in paths)]
    return tuple(kept)


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


# What the fork server keeps (bwrap-root only): enough for each child to build its own mount
# namespace and drop to the sandbox user; the child loses them all with root.
FORK_SERVER_CAPS = ("CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP")
FORK_SERVER_RUNS = "/grader-runs"


def bwrap_argv(isolation: Isolation, command: list[str], workdir: Path, runtime_paths: list[str] | tuple[str, ...],
               env: dict[str, str], tmp_bytes: int, seccomp_fd: int | None, outputs: list[str] | None,
               fork_server_binds: tuple[str, ...] | None = None) -> list[str]:
    """bwrap ... -- [setpriv ...] COMMAND.

    With `outputs` None the work directory is bound writable. Otherwise the work directory inside is
    a private size-limited tmpfs: what the grader put there is bound read-only, and only the files
    named in `outputs` are bound writable (they come back); everything else written is dropped.
    `fork_server_binds`: build the fork server's sandbox instead (`grader.harness.zygote`): it stays
    root with FORK_SERVER_CAPS, keeps the host's cgroup namespace (its children join run groups),
    and these paths (the cgroup parents) are bound writable; each child drops to the user itself.
    The work directory, where the runs' folders are made, is bound at FORK_SERVER_RUNS.
    """
    assert isolation.bwrap is not None
    fork_server = fork_server_binds is not None
    a = [isolation.bwrap, "--die-with-parent", "--new-session",
         "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    if not fork_server:
        a.append("--unshare-cgroup-try")
    if isolation.tier == "bwrap-userns":
        a += ["--unshare-user", "--disable-userns"]
    # The system: /usr read-only, the merged-/usr links, the loader cache and the font configuration
    # (without it matplotlib's first text writes "Fontconfig error" lines); nothing else of /etc.
    a += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = f"/{name}"
        if os.path.islink(host):
            a += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            a += ["--ro-bind", host, host]
    a += ["--perms", "0755", "--dir", "/etc"]
    for name in ("/etc/ld.so.cache", "/etc/localtime", "/etc/fonts"):
        a += ["--ro-bind-try", name, name]
    a += ["--proc", "/proc", "--dev", "/dev",
          "--perms", "01777", "--size", str(tmp_bytes), "--tmpfs", "/dev/shm",
          "--perms", "01777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
    made: set[str] = {"/", "/usr", "/etc", "/tmp", "/dev", "/proc"}
    work = str(workdir)
    for path in [*runtime_paths, *([] if fork_server else [work]), *(fork_server_binds or ())]:
        for parent in _parents(path):
            if parent not in made:
                # bwrap run as root would make these 0700: unreadable for the sandbox user.
                a += ["--perms", "0755", "--dir", parent]
                made.add(parent)
    for path in runtime_paths:
        a += ["--ro-bind", path, path]
    for path in fork_server_binds or ():
        a += ["--bind", path, path]
    if fork_server:
        a += ["--bind", work, FORK_SERVER_RUNS]
        work = FORK_SERVER_RUNS
    elif outputs is None:
        a += ["--bind", work, work]
    else:
        a += ["--perms", "01777", "--size", str(tmp_bytes), "--tmpfs", work]
        for entry in sorted(os.listdir(work)):
            source = os.path.join(work, entry)
            a += ["--bind" if entry in outputs else "--ro-bind", source, source]
    a += ["--chdir", work, "--remount-ro", "/", "--hostname", "sandbox", "--clearenv"]
    for key, value in env.items():
        a += ["--setenv", key, value]
    a += ["--cap-drop", "ALL"]
    if fork_server:
        assert isolation.tier == "bwrap-root", "the fork server needs bwrap started as root"
        for cap in FORK_SERVER_CAPS:
            a += ["--cap-add", cap]
    elif isolation.tier == "bwrap-root":
        a += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    if seccomp_fd is not None:
        a += ["--seccomp", str(seccomp_fd)]
    a.append("--")
    if isolation.tier == "bwrap-root" and not fork_server:
        uid, gid = isolation.uid if isolation.uid is not None else 65534, isolation.gid if isolation.gid is not None else 65534
        a += [SETPRIV, f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--inh-caps=-all",
              "--bounding-set=-all", "--no-new-privs", "--"]
    return a + command
