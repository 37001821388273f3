"""The launcher: the first process of every sandboxed run, before bwrap or the command."""

from __future__ import annotations

import json
import sys

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
