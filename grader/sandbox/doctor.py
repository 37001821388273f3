"""`grader doctor`: which isolation this machine gives student code, and why.

It detects the tier (see `grader.sandbox.tiers`), then runs a small script through the real sandbox and
reports what that script could and could not do: which user it ran as, whether it saw the grader's
processes, the invoking user's home, the repository, a listener on the host's loopback.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from grader.sandbox.isolation import Isolation

CHECK_SCRIPT = r"""
import json, os, socket, sys
facts = {"uid": os.getuid(), "pid": os.getpid()}
host_pid, port, home, paths = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
try:
    os.kill(host_pid, 0)
    facts["sees_grader_process"] = True
except OSError:
    facts["sees_grader_process"] = False
facts["visible_paths"] = [p for p in paths if os.path.exists(p)]
try:
    facts["home_entries"] = sorted(os.listdir(home))[:20]
except OSError:
    facts["home_entries"] = None
try:
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        facts["loopback"] = "connected"
except OSError as exc:
    facts["loopback"] = exc.strerror or type(exc).__name__
writable = []
for directory in ("/usr", "/etc", os.path.dirname(sys.executable)):
    try:
        with open(os.path.join(directory, ".grader-doctor-probe"), "w"):
            pass
        writable.append(directory)
        os.unlink(os.path.join(directory, ".grader-doctor-probe"))
    except OSError:
        pass
facts["writable_system_dirs"] = writable
status = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("CapEff", "NoNewPrivs", "Seccomp"):
        status[key] = value.strip()
facts["status"] = status
print(json.dumps(facts))
"""


def collect() -> dict[str, Any]:
    """Everything `grader doctor` prints, as data."""
    from grader.sandbox import cgroups
    from grader.sandbox import tiers as isolation
    from grader.sandbox.bwrap import runtime_paths
    from grader.sandbox.process import (
        ProcessLimits,
        remove_tree,
        run_process,
        scrubbed_environment,
    )
    from grader.sandbox.seccomp_filter import unavailable_reason

    iso = isolation.detect()
    info: dict[str, Any] = {
        "tier": iso.tier,
        "isolated": iso.isolated,
        "summary": iso.summary(),
        "notes": list(iso.notes),
        "running_as_root": os.geteuid() == 0,
        "sandbox_uid": iso.uid,
        "bwrap": iso.bwrap,
        "bwrap_version": _bwrap_version(iso.bwrap),
        "user_namespaces": _userns_setting(),
        "seccomp": unavailable_reason() or "available (libseccomp via pyseccomp)",
        "cgroup": f"{iso.cgroup} (a memory and a pids limit per run)" if iso.cgroup else cgroups.probe(),
        "readonly_paths": list(runtime_paths()) if iso.isolated else [],
        "warm_starts": _warm_starts(iso),
    }
    # The checkout around the package (grader/sandbox/doctor.py -> the repository). The bundled
    # assignments are package data, shipped in the wheel for anyone to read: not secrets.
    repo = Path(__file__).resolve().parents[2]
    secrets = [str(repo / name) for name in ("solutions", "tests", "pyproject.toml")]
    secrets += ["/etc/shadow", "/etc/passwd", "/var", "/home"]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.1)
    workdir = Path(tempfile.mkdtemp(prefix="grader-doctor-"))
    try:
        argv = [sys.executable, "-I", "-c", CHECK_SCRIPT, str(os.getpid()), str(listener.getsockname()[1]), str(Path.home()), *secrets]
        outcome = run_process(argv, workdir, ProcessLimits(timeout_s=30, memory_bytes=512 * 2**20, processes=64),
                              scrubbed_environment(workdir), outputs=[], isolation=iso)
        try:
            info["inside"] = json.loads(outcome.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            info["inside"] = {"error": (outcome.stderr.strip() or f"exit status {outcome.returncode}")[-500:]}
        try:
            listener.accept()[0].close()
            info["listener_reached"] = True
        except OSError:
            info["listener_reached"] = False
    finally:
        listener.close()
        remove_tree(workdir)
    return info


def _warm_starts(iso: Isolation) -> str:
    """Whether batch workers can fork runs from a warm fork server (`grader.sandbox.forkserver`)."""
    from grader.sandbox.forkserver import (
        ForkServer,
        ForkServerUnavailable,
        unavailable_reason,
    )

    reason = unavailable_reason(iso)
    if reason:
        return f"no, each run starts a fresh interpreter: the fork server {reason}"
    try:
        with ForkServer(iso) as server:
            server.start()
    except ForkServerUnavailable as exc:
        return f"no, each run starts a fresh interpreter: {exc}"
    return "yes (a fork server per batch worker, torch imported once)"


def _bwrap_version(path: str | None) -> str | None:
    if not path:
        return None
    import subprocess

    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _userns_setting() -> str:
    try:
        value = Path("/proc/sys/user/max_user_namespaces").read_text().strip()
    except OSError:
        return "unknown (no /proc/sys/user/max_user_namespaces)"
    text = f"max_user_namespaces={value}"
    for extra in ("/proc/sys/kernel/unprivileged_userns_clone", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns"):
        try:
            text += f", {Path(extra).name}={Path(extra).read_text().strip()}"
        except OSError:
            pass
    return text


TIER_TEXT = {
    "bwrap-root": ("bubblewrap started as root without a user namespace (new pid, net, mount, ipc, uts and cgroup "
                   "namespaces), then setpriv drops to the unprivileged sandbox user"),
    "bwrap-userns": "bubblewrap as this user, in new user, pid, net, mount, ipc, uts and cgroup namespaces",
    "none": "NOT ISOLATED: a separate process with resource limits and a time limit only",
}


WHY = {
    "bwrap-root": ("the grader runs as root and bubblewrap works here: it binds the runtime as root (so a Python "
                   "under a private home is usable without showing that home) and setpriv drops to the sandbox user"),
    "bwrap-userns": "the grader runs as an ordinary user and this kernel lets it create user namespaces",
    "none": "no namespace sandbox could be started (see below)",
}


def render(info: dict[str, Any]) -> str:
    lines = [f"Isolation: {info['tier']} - {TIER_TEXT[info['tier']]}", f"  ({info['summary']})",
             f"  why: {WHY[info['tier']]}", ""]
    lines.append(f"running as root:   {'yes' if info['running_as_root'] else 'no'}")
    lines.append(f"sandbox uid:       {info['sandbox_uid'] if info['sandbox_uid'] is not None else 'the grader user'}")
    lines.append(f"bubblewrap:        {info['bwrap'] or 'not installed'}" + (f" ({info['bwrap_version']})" if info["bwrap_version"] else ""))
    lines.append(f"user namespaces:   {info['user_namespaces']}")
    lines.append(f"seccomp:           {info['seccomp']}")
    lines.append(f"cgroup:            {info['cgroup']}")
    lines.append(f"warm starts:       {info['warm_starts']}")
    if info["readonly_paths"]:
        lines.append(f"visible read-only: /usr, {', '.join(info['readonly_paths'])}")
    inside = info.get("inside", {})
    lines.append("")
    lines.append("A test run in the sandbox:")
    if "error" in inside:
        lines.append(f"  failed: {inside['error']}")
    else:
        lines.append(f"  ran as uid {inside.get('uid')}, pid {inside.get('pid')}")
        lines.append(f"  saw the grader's process: {'yes' if inside.get('sees_grader_process') else 'no'}")
        visible = inside.get("visible_paths") or []
        lines.append(f"  saw the repository's solutions, tests, /etc/shadow, /var, /home: {', '.join(visible) if visible else 'none of them'}")
        home = inside.get("home_entries")
        lines.append(f"  saw in the grader user's home: {', '.join(home) if home else 'nothing'}"
                     + (" (only the way to the bound Python)" if info["isolated"] and home else ""))
        lines.append(f"  connecting to a listener on the host's 127.0.0.1: {inside.get('loopback')}"
                     + (" (the listener WAS reached)" if info.get("listener_reached") else ""))
        writable = inside.get("writable_system_dirs") or []
        lines.append(f"  could write to system folders: {', '.join(writable) if writable else 'no'}")
        status = inside.get("status", {})
        lines.append(f"  capabilities {status.get('CapEff', '?')}, no_new_privs {status.get('NoNewPrivs', '?')}, "
                     f"seccomp mode {status.get('Seccomp', '?')}")
    if info["notes"]:
        lines.append("")
        lines.append("Why not more:" if info["isolated"] else "Why not isolated:")
        lines += [f"  - {note}" for note in info["notes"]]
    if not info["isolated"]:
        lines.append("")
        lines.append("Results graded here carry a 'not_isolated' incident. On Debian/Ubuntu, as root: "
                     "scripts/setup-sandbox.sh installs bubblewrap, libseccomp and the sandbox user.")
    return "\n".join(lines)


def main(as_json: bool = False, strict: bool = False) -> int:
    info = collect()
    print(json.dumps(info, indent=2) if as_json else render(info))
    return 1 if strict and not info["isolated"] else 0
