"""Install a seccomp filter (raw BPF, as `grader.sandbox.seccomp_filter` exports it) on this process.

Standard library only (ctypes), and importable without the grader package: the cold run's launcher
(`grader.sandbox.launcher`, run with `python -I -S`, before bwrap) loads this file by its path, and
the warm fork server's children (`grader.harness.zygote`) import it. Both then set no-new-privs
and the filter the same way.
"""

from __future__ import annotations

import ctypes

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
BPF_INSTRUCTION_BYTES = 8  # one `struct sock_filter`


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(program: bytes) -> None:
    """Set no-new-privs (required for a filter without CAP_SYS_ADMIN, and kept for every child), then
    the filter; raises OSError when the kernel refuses either."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    buffer = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // BPF_INSTRUCTION_BYTES, ctypes.addressof(buffer))
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
