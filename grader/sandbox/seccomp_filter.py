"""The sandbox's seccomp filter: a deny-list built with libseccomp (PyPI `pyseccomp`), exported as BPF.

Everything ordinary Python, numpy and torch need stays allowed (threads, fork, pipes, mmap,
Unix sockets and /dev/shm files for a DataLoader). Refused with EPERM: debugging other processes,
mounting, new namespaces, kernel keyrings, BPF, loading modules, rebooting, changing the clock,
io_uring, SysV IPC and POSIX message queues, and every socket that is not a Unix socket (no
network, even where no network namespace exists).
The one exception, `allow_loopback=True`, is for full mode inside a network namespace: the Jupyter
kernel's ZeroMQ insists on a TCP socket of its own, and the namespace's loopback reaches nothing.
Syscalls of a foreign ABI (x32, i386 on x86_64) kill the process: libseccomp's default.

The filter is built once per grader process and handed to each sandbox as raw BPF through a pipe:
to `bwrap --seccomp FD`, or, without bubblewrap, loaded by the launcher with prctl before exec.
"""

from __future__ import annotations

import errno
import tempfile
from functools import lru_cache
from types import ModuleType
from typing import Any

DENIED_SYSCALLS = (
    # other processes' memory
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # file systems and namespaces
    "mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns", "mount_setattr", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "open_by_handle_at", "name_to_handle_at",
    "fanotify_init", "quotactl", "quotactl_fd",
    # kernel interfaces with a history of bugs
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "io_uring_setup",
    "io_uring_enter", "io_uring_register", "lookup_dcookie", "syslog", "vhangup", "iopl", "ioperm",
    # the machine itself
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "create_module",
    "reboot", "swapon", "swapoff", "acct", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "nfsservctl", "uselib", "sysfs", "_sysctl",
)

# SysV shared memory, message queues and semaphores, and POSIX message queues: objects that outlive
# the process that made them, for as long as their IPC namespace lives. Each run has a namespace of
# its own (bwrap's, or the warm child's), but in the `none` tier that namespace is the host's, and
# msg_msg is a favourite heap-spraying tool of kernel exploits. Nothing a submission needs uses them:
# torch's DataLoader and multiprocessing share memory through /dev/shm files (shm_open) and sockets.
IPC_SYSCALLS = (
    "shmget", "shmat", "shmdt", "shmctl", "msgget", "msgsnd", "msgrcv", "msgctl", "semget", "semop",
    "semtimedop", "semctl", "ipc",
    "mq_open", "mq_unlink", "mq_timedsend", "mq_timedreceive", "mq_notify", "mq_getsetattr",
)

AF_UNIX = 1
TIOCSTI = 0x5412
CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)


def unavailable_reason() -> str | None:
    """None when a filter can be built here, else why not (for `grader doctor`)."""
    try:
        bpf_program()
    except Exception as exc:  # ImportError, OSError from libseccomp, RuntimeError
        return f"{type(exc).__name__}: {exc}"
    return None


@lru_cache(maxsize=2)
def bpf_program(allow_loopback: bool = False) -> bytes:
    """The filter as raw BPF (an array of `struct sock_filter`). Raises when libseccomp is missing."""
    import pyseccomp as seccomp

    allow = seccomp.ALLOW
    deny = seccomp.ERRNO(errno.EPERM)
    filt = seccomp.SyscallFilter(allow)
    for name in (*DENIED_SYSCALLS, *IPC_SYSCALLS):
        _add(filt, seccomp, deny, name)
    # No network: only Unix sockets (file-like, and inside the sandbox's own file system).
    if not allow_loopback:
        _add(filt, seccomp, seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    # No typing into the controlling terminal of someone else.
    _add(filt, seccomp, deny, "ioctl", seccomp.Arg(1, seccomp.MASKED_EQ, 0xFFFFFFFF, TIOCSTI))
    # clone() may make threads and processes, never namespaces; clone3() takes its flags in memory
    # a filter cannot read, so it answers ENOSYS and the C library falls back to clone().
    for flag in CLONE_NAMESPACE_FLAGS:
        _add(filt, seccomp, deny, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    _add(filt, seccomp, seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as handle:
        filt.export_bpf(handle)
        handle.seek(0)
        program = handle.read()
    if not program or len(program) % 8:
        raise RuntimeError("libseccomp exported an empty or malformed BPF program")
    return program


def _add(filt: Any, seccomp: ModuleType, action: int, name: str, *args: Any) -> None:
    try:
        filt.add_rule(action, name, *args)
    except (OSError, ValueError, RuntimeError):
        pass  # a syscall this architecture does not have (create_module, _sysctl ...)


def program_fd(allow_loopback: bool = False) -> int:
    """A pipe's read end holding the BPF program; the caller passes it on and closes it."""
    import os

    program = bpf_program(allow_loopback)
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few hundred bytes: far below the pipe's buffer
    finally:
        os.close(write_end)
    return read_end
