"""Which isolation tier this machine gives (`grader.sandbox.isolation` says what each tier is).

Each tier is probed once per grader process by starting the harness package through the tier's
real command line; the first that works wins, and the notes say why the others did not.
`GRADER_ISOLATION` (auto, bwrap-root, bwrap-userns, none) forces a tier, for tests and debugging.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import TypedDict

from grader.sandbox import cgroups
from grader.sandbox.bwrap import SETPRIV
from grader.sandbox.isolation import TIERS, Isolation
from grader.sandbox.process import (
    ProcessLimits,
    isolated_python_flags,
    remove_tree,
    run_process,
    scrubbed_environment,
)
from grader.sandbox.seccomp_filter import (
    unavailable_reason as seccomp_unavailable_reason,
)

SANDBOX_USER = os.environ.get("GRADER_SANDBOX_USER", "grader-sandbox")
NOBODY = "nobody"
PROBE_TIMEOUT_S = 10


def requested_tier() -> str:
    value = os.environ.get("GRADER_ISOLATION", "auto").strip().lower() or "auto"
    if value not in ("auto", *TIERS):
        raise ValueError(f"GRADER_ISOLATION must be auto, {', '.join(TIERS)}; got {value!r}")
    return value


def detect(requested: str | None = None) -> Isolation:
    """The best tier this machine gives (or the one requested), probed once per process."""
    return _detect(requested or requested_tier())


class _Common(TypedDict):
    """What every tier of this machine shares (the fields of `Isolation` but its tier, bwrap, notes)."""

    uid: int | None
    gid: int | None
    seccomp: bool
    cgroup: str | None


@cache
def _detect(requested: str) -> Isolation:
    notes: list[str] = []
    is_root = os.geteuid() == 0
    uid = gid = None
    if is_root:
        uid, gid, note = _sandbox_user()
        if note:
            notes.append(note)
    seccomp_missing = seccomp_unavailable_reason()
    if seccomp_missing:
        notes.append(f"no seccomp filter: {seccomp_missing} (scripts/setup-sandbox.sh installs pyseccomp)")
    cgroup_problem = cgroups.probe()
    cgroup = cgroups.version() if cgroup_problem is None else None
    if cgroup is None:
        notes.append(f"no cgroup: {cgroup_problem}; memory is bounded by RLIMIT_DATA only, the process count "
                     "by RLIMIT_NPROC where a dedicated sandbox user exists, else by nothing but the timeout")
    common = _Common(uid=uid, gid=gid, seccomp=seccomp_missing is None, cgroup=cgroup)

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


def _fallback(bwrap: str | None, notes: list[str], common: _Common) -> Isolation:
    """No namespaces. Drop to the sandbox user if it can run the interpreter, else say it cannot."""
    if common["uid"] is not None:
        without_cgroup: _Common = {**common, "cgroup": None}
        problem = _probe(Isolation("none", **without_cgroup))
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
    workdir = Path(tempfile.mkdtemp(prefix="grader-probe-"))
    try:
        # The harness's own flags, not -I: -I ignores the PYTHONPATH scrubbed_environment gives where
        # the grader is found through one (a Gradescope image), and the probe failed where the harness
        # would have run.
        outcome = run_process([sys.executable, *isolated_python_flags(), "-c", "import grader.harness.emit"], workdir,
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
