"""One control group per sandboxed run: the memory and process-count limits student code cannot
dodge, the OOM verdict, and a way to kill every process of the run.

cgroup v2 (`memory.max`, `pids.max`, `memory.events`, `cgroup.kill`) and v1 (separate `memory` and
`pids` hierarchies, `memory.oom_control`, `pids.events`) are both supported. v1 groups are made
under the grader's own group of each hierarchy, so a container's limits still hold; v2 groups under
`/sys/fs/cgroup/grader` (the root is the one place v2 lets a controller be enabled next to
processes). Only root (or a delegated tree) can do this; elsewhere `available()` says why not.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
V2_BASE = ROOT / "grader"
PREFIX = "grader-run-"
_counter = itertools.count()


def version() -> str | None:
    """'v2', 'v1' or None: which kind of cgroup this process can create with memory and pids."""
    controllers = ROOT / "cgroup.controllers"
    if controllers.is_file():
        have = set(controllers.read_text().split())
        if {"memory", "pids"} <= have and os.access(ROOT, os.W_OK):
            return "v2"
    if all(_v1_parent(name) is not None for name in ("memory", "pids")):
        return "v1"
    return None


def unavailable_reason() -> str | None:
    if version() is not None:
        return None
    if os.geteuid() != 0:
        return "creating control groups needs root (or a delegated cgroup tree)"
    if (ROOT / "cgroup.controllers").is_file():
        return "the cgroup v2 tree has no memory and pids controllers"
    return "no writable cgroup v1 memory and pids hierarchies under /sys/fs/cgroup"


def probe() -> str | None:
    """Make and remove one run group: None when that works here, else why not."""
    kind = version()
    if kind is None:
        return unavailable_reason()
    group = RunGroup.create(64 * 1024 * 1024, 16)
    if group is None:
        return f"cgroup {kind} is mounted but a group with memory and pids limits could not be made here"
    group.remove()
    return None


def run_parents() -> list[Path]:
    """The folders run groups are made in (for the fork server, whose children join them)."""
    kind = version()
    if kind == "v2":
        _ensure_v2_base()
        return [V2_BASE]
    if kind == "v1":
        return [p for p in (_v1_parent("memory"), _v1_parent("pids")) if p is not None]
    return []


def _v1_parent(controller: str) -> Path | None:
    mount = ROOT / controller
    if not (mount / "cgroup.procs").is_file():
        return None
    own = _own_v1_path(controller)
    parent = mount / own.lstrip("/") if own else mount
    return parent if os.access(parent, os.W_OK) else None


def _own_v1_path(controller: str) -> str | None:
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path
    except OSError:
        pass
    return None


@dataclass
class RunGroup:
    """The cgroup(s) of one run. `procs_files` are what the launcher writes its pid into."""

    kind: str
    dirs: list[Path] = field(default_factory=list)

    @property
    def procs_files(self) -> list[str]:
        return [str(d / "cgroup.procs") for d in self.dirs]

    @classmethod
    def create(cls, memory_bytes: int | None, processes: int | None) -> RunGroup | None:
        kind = version()
        if kind is None:
            return None
        name = f"{PREFIX}{os.getpid()}-{next(_counter)}"
        group = cls(kind)
        try:
            if kind == "v2":
                _ensure_v2_base()
                path = V2_BASE / name
                path.mkdir()
                group.dirs.append(path)
                if memory_bytes:
                    _write(path / "memory.max", memory_bytes)
                    _write_try(path / "memory.swap.max", 0)
                if processes:
                    _write(path / "pids.max", processes)
            else:
                for controller in ("memory", "pids"):
                    parent = _v1_parent(controller)
                    assert parent is not None
                    _sweep_stale(parent)
                    path = parent / name
                    path.mkdir()
                    group.dirs.append(path)
                if memory_bytes:
                    _write(group.dirs[0] / "memory.limit_in_bytes", memory_bytes)
                    # Without this, the kernel could swap the overflow instead of killing.
                    _write_try(group.dirs[0] / "memory.memsw.limit_in_bytes", memory_bytes)
                if processes:
                    _write(group.dirs[1] / "pids.max", processes)
        except OSError:
            group.remove()
            return None
        return group

    # -- after the run ------------------------------------------------------------------------
    def oom_killed(self) -> bool:
        name = "memory.events" if self.kind == "v2" else "memory.oom_control"
        return _counter_value(self.dirs[0] / name, "oom_kill") > 0 if self.dirs else False

    def process_limit_hit(self) -> bool:
        if not self.dirs:
            return False
        events = (self.dirs[0] if self.kind == "v2" else self.dirs[-1]) / "pids.events"
        return _counter_value(events, "max") > 0

    def pids(self) -> list[int]:
        found: set[int] = set()
        for directory in self.dirs:
            try:
                found.update(int(p) for p in (directory / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(found)

    def kill_all(self, wait_s: float = 2.0) -> None:
        """SIGKILL every process of the run, including any that left its process group."""
        if not self.dirs:
            return
        if self.kind == "v2" and (self.dirs[0] / "cgroup.kill").exists():
            _write_try(self.dirs[0] / "cgroup.kill", 1)
        deadline = time.monotonic() + wait_s
        while True:
            remaining = self.pids()
            if not remaining:
                return
            for pid in remaining:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)

    def remove(self) -> None:
        for directory in reversed(self.dirs):
            for _ in range(200):
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # EBUSY while the last killed processes are reaped
                    time.sleep(0.005)
        self.dirs = []


def _ensure_v2_base() -> None:
    if not V2_BASE.is_dir():
        try:
            V2_BASE.mkdir()
        except FileExistsError:
            pass
    enabled = set((V2_BASE / "cgroup.subtree_control").read_text().split())
    if not {"memory", "pids"} <= enabled:
        _write_try(ROOT / "cgroup.subtree_control", "+memory +pids")
        _write(V2_BASE / "cgroup.subtree_control", "+memory +pids")
    _sweep_stale(V2_BASE)


def _sweep_stale(parent: Path) -> None:
    """Remove empty run groups left by a grader process that no longer exists."""
    try:
        entries = list(parent.glob(f"{PREFIX}*"))
    except OSError:
        return
    for entry in entries:
        try:
            owner = int(entry.name[len(PREFIX):].split("-", 1)[0])
        except ValueError:
            continue
        if owner != os.getpid() and not Path(f"/proc/{owner}").exists():
            try:
                entry.rmdir()
            except OSError:
                pass


def _write(path: Path, value: object) -> None:
    with open(path, "w") as handle:
        handle.write(str(value))


def _write_try(path: Path, value: object) -> None:
    try:
        _write(path, value)
    except OSError:
        pass


def _counter_value(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == key:
                return int(parts[1])
    except (OSError, ValueError):
        pass
    return 0
