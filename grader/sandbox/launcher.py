"""The launcher: the first process of every sandboxed run, before bwrap or the command.

It joins the run's cgroups (so nothing the run starts escapes them), sets the rlimits, and in the
`none` tier also drops to the sandbox user and installs the seccomp filter itself, with
`grader/protocol/seccomp.py` loaded by its path (the launcher runs `python -I -S`, without the grader
on its path; the warm children install the filter with the same module). Standard library only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping

from grader.protocol import seccomp

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
        # Loaded before the uid drop: the grader's files may be unreadable after it.
        import importlib.util
        spec = importlib.util.spec_from_file_location("grader_seccomp", c["seccomp_module"])
        seccomp = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(seccomp)
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
        seccomp.install(b"".join(chunks))
    os.execv(argv[0], argv)
except BaseException as exc:
    sys.stderr.write("grader sandbox launcher: %s: %s\n" % (type(exc).__name__, exc))
    sys.stderr.flush()
    os._exit(125)
"""
LAUNCHER_FAILED = 125


def launcher_argv(config: Mapping[str, object], command: list[str]) -> list[str]:
    config = {**config, "seccomp_module": seccomp.__file__}
    return [sys.executable, "-I", "-S", "-c", LAUNCHER, json.dumps(config), *command]
