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

from dataclasses import dataclass, field

TIERS = ("bwrap-root", "bwrap-userns", "none")


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
