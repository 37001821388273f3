"""Which isolation this machine gives, and the command line that applies it.

Three tiers, best first (measured facts behind them: shared/sandbox-notes.md):

`bwrap-root`   the grader runs as root: bubblewrap, started as root *without* a user namespace,
               builds new pid, net, mount, ipc, uts and cgroup namespaces, then `setpriv` drops to
               the unprivileged `grader-sandbox` user inside. Binding as root lets the sandbox see
               a Python that lives under a private home (pyenv under /root) without making that
               home visible. Plus a cgroup (memory, pids), rlimits and a seccomp filter.
`bwrap-userns` the grader runs as an ordinary user (a laptop): bubblewrap as that user, in a new
               user namespace too. rlimits and seccomp; no cgroup unless delegated. As root (where
               bwrap-root fails) the launcher first drops to the sandbox user, which must then be
               able to read the runtime itself.
`none`         namespaces are unavailable: a separate process with rlimits, a wall-clock timeout,
               the uid drop and a cgroup where root allows them, and the seccomp filter. Files are
               then protected only by their permissions; results say the run was not isolated.

Inside bwrap the sandbox sees: /usr (read-only), the Python runtime and the grader package
(read-only, each at its own path, nothing else of the repository or the home they live in), a
private /proc and /dev, a private size-limited /tmp, and its work directory. No network but `lo`.

`GRADER_ISOLATION` (auto, bwrap-root, bwrap-userns, none) forces a tier, for tests and debugging.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

TIERS = ("bwrap-root", "bwrap-userns", "none")
SANDBOX_USER = os.environ.get("GRADER_SANDBOX_USER", "grader-sandbox")
NOBODY = "nobody"
SETPRIV = "/usr/bin/setpriv"
PROBE_TIMEOUT_S = 10


@dataclass(frozen=True)
class Isolation:
    tier: str
    uid: int | None = None  # the uid student code runs as, when the grader can switch to it
    gid: int | None = None
    bwrap: str | None = None
    seccomp: bool = False
    cgroup: str | None = None  # "v1", "v2" or None
    notes: tuple[str, ...] = field(default_factory=tuple)  # why this tier, what is missing

    @property
    def isolated(self) -> bool:
        return self.tier != "none"

    def summary(self) -> str:
        parts = [self.tier]
        if self.uid is not None:
            parts.append(f"uid {self.uid}")
        parts.append("seccomp" if self.seccomp else "no seccomp")
        parts.append(f"cgroup {self.cgroup}" if self.cgroup else "no cgroup")
        return ", ".join(parts)


def requested_tier() -> str:
    value = os.environ.get("GRADER_ISOLATION", "auto").strip().lower() or "auto"
    if value not in ("auto", *TIERS):
        raise ValueError(f"GRADER_ISOLATION must be auto, {', '.join(TIERS)}; got {value!r}")
    return value


def detect(requested: str | None = None) -> Isolation:
    """The best tier this machine gives (or the one requested), probed once per process."""
    return _detect(requested or requested_tier())


@lru_cache(maxsize=None)
def _detect(requested: str) -> Isolation:
    from grader import cgroups
    from grader.seccomp_filter import unavailable_reason

    notes: list[str] = []
    is_root = os.geteuid() == 0
    uid = gid = None
    if is_root:
        uid, gid, note = _sandbox_user()
        if note:
            notes.append(note)
    seccomp_missing = unavailable_reason()
    if seccomp_missing:
        notes.append(f"no seccomp filter: {seccomp_missing} (scripts/setup-sandbox.sh installs pyseccomp)")
    cgroup_problem = cgroups.probe()
    cgroup = cgroups.version() if cgroup_problem is None else None
    if cgroup is None:
        notes.append(f"no cgroup: {cgroup_problem}; memory is bounded by RLIMIT_DATA only, the process count "
                     "by RLIMIT_NPROC where a dedicated sandbox user exists, else by nothing but the timeout")
    common = dict(uid=uid, gid=gid, seccomp=seccomp_missing is None, cgroup=cgroup)

    bwrap = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.path.exists("/usr/bin/bwrap") else None)
    if requested == "none":
        return _fallback(bwrap, [*notes, "namespaces turned off by GRADER_ISOLATION=none"], common)
    if not sys.platform.startswith("linux"):
        return _fallback(bwrap, [*notes, f"namespaces are Linux-only (this is {sys.platform})"], common)
    if bwrap is None:
        return _fallback(bwrap, [*notes, "bubblewrap (bwrap) is not installed: run scripts/setup-sandbox.sh"], common)
    # As root, bwrap-userns means: drop to the sandbox user first, then bubblewrap as that user.
    candidates = ["bwrap-root", "bwrap-userns"] if is_root else ["bwrap-userns"]
    if requested in TIERS:
        candidates = [requested]
    for tier in candidates:
        if tier == "bwrap-root" and not is_root:
            notes.append("bwrap-root needs the grader to run as root")
            continue
        if tier == "bwrap-root" and not os.path.exists(SETPRIV):
            notes.append(f"bwrap-root needs {SETPRIV} (util-linux) to drop to the sandbox user")
            continue
        problem = _probe(Isolation(tier, bwrap=bwrap, **common))
        if problem is None:
            return Isolation(tier, bwrap=bwrap, notes=tuple(notes), **common)
        notes.append(f"{tier} does not work here: {problem}")
    return _fallback(bwrap, notes, common)


def _fallback(bwrap: str | None, notes: list[str], common: dict) -> Isolation:
    """No namespaces. Drop to the sandbox user if it can run the interpreter, else say it cannot."""
    if common["uid"] is not None:
        problem = _probe(Isolation("none", **{**common, "cgroup": None}))
        if problem is not None:
            notes.append(f"the sandbox user (uid {common['uid']}) cannot run {sys.executable} ({problem}): "
                         "student code runs as the grader's own user; install Python and the grader where "
                         "every user can read them")
            common = {**common, "uid": None, "gid": None}
    return Isolation("none", bwrap=bwrap, notes=tuple(notes), **common)


def _sandbox_user() -> tuple[int, int, str | None]:
    try:
        entry = pwd.getpwnam(SANDBOX_USER)
        return entry.pw_uid, entry.pw_gid, None
    except KeyError:
        pass
    try:
        entry = pwd.getpwnam(NOBODY)
        return entry.pw_uid, entry.pw_gid, (f"user {SANDBOX_USER} does not exist (scripts/setup-sandbox.sh creates it); "
                                            f"student code runs as {NOBODY} (uid {entry.pw_uid})")
    except KeyError:
        return 65534, 65534, f"neither {SANDBOX_USER} nor {NOBODY} exists; student code runs as uid 65534"


def _probe(isolation: Isolation) -> str | None:
    """Start the grader's harness package through the tier's real command line (launcher, bwrap,
    uid drop, seccomp): None when it works, else the complaint. Once per grader process."""
    import tempfile

    from grader.sandbox import ProcessLimits, remove_tree, run_process, scrubbed_environment

    workdir = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    try:
        outcome = run_process([sys.executable, "-I", "-c", "import grader.harness.protocol"], workdir,
                              ProcessLimits(timeout_s=PROBE_TIMEOUT_S), scrubbed_environment(workdir),
                              outputs=[], isolation=isolation)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        remove_tree(workdir)
    if outcome.timed_out:
        return f"a test run did not finish in {PROBE_TIMEOUT_S} s"
    if outcome.returncode != 0:
        lines = outcome.stderr.strip().splitlines()
        return (lines[-1] if lines else f"exit status {outcome.returncode}")[:300]
    return None


@lru_cache(maxsize=1)
def runtime_paths() -> tuple[str, ...]:
    """What the harness needs to run, read-only: the interpreter's prefix (a pyenv Python lives
    outside the venv), the venv, and the grader package. Not the repository, not any home."""
    import grader

    wanted = [sys.base_prefix, sys.base_exec_prefix, sys.prefix, sys.exec_prefix,
              str(Path(grader.__file__).resolve().parent), str(Path(sys.executable).parent)]
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
    # The system: /usr read-only, the merged-/usr links, the loader cache; nothing else of /etc.
    a += ["--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = f"/{name}"
        if os.path.islink(host):
            a += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            a += ["--ro-bind", host, host]
    a += ["--perms", "0755", "--dir", "/etc"]
    for name in ("/etc/ld.so.cache", "/etc/localtime"):
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


# The launcher: the first process of every run, before bwrap or the command. It joins the run's
# cgroups (so nothing the run starts escapes them), sets the rlimits, and in the `none` tier also
# drops to the sandbox user and loads the seccomp filter itself. Standard library only; `-I -S`.
LAUNCHER = r"""
import json, os, sys
c = json.loads(sys.argv[1])
argv = sys.argv[2:]
try:
    for path in c["cgroups"]:
        with open(path, "w") as handle:
            handle.write(str(os.getpid()))
    import resource
    if c["seccomp_fd"] is not None:
        import ctypes  # before the uid drop: the interpreter's files may be unreadable after it
    for name, soft, hard in c["rlimits"]:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if c["gid"] is not None:
        os.setgroups([])
        os.setresgid(c["gid"], c["gid"], c["gid"])
    if c["uid"] is not None:
        os.setresuid(c["uid"], c["uid"], c["uid"])
    if c["seccomp_fd"] is not None:
        fd, chunks = c["seccomp_fd"], []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        os.close(fd)
        program = b"".join(chunks)
        class Prog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
        buffer = ctypes.create_string_buffer(program, len(program))
        prog = Prog(len(program) // 8, ctypes.addressof(buffer))
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
    os.execv(argv[0], argv)
except BaseException as exc:
    sys.stderr.write("grader sandbox launcher: %s: %s\n" % (type(exc).__name__, exc))
    sys.stderr.flush()
    os._exit(125)
"""
LAUNCHER_FAILED = 125


def launcher_argv(config: dict, command: list[str]) -> list[str]:
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(config), *command]
