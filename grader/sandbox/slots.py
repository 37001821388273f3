"""A batch's sandboxed runs, a few at a time, for more grading threads than that.

When a class's models train together (`grader.evaluate.grouping`), a grading thread spends most of
its time waiting for its group, and the batch needs many submissions between their sandboxed run
and their answers. The runs themselves stay `count` at a time (each borrows a slot, with its warm
fork server where the pool keeps them), as many as there were workers before.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator

from grader.sandbox.forkserver import ForkServer


class SandboxSlots:
    """`count` slots, each with its own fork server when `warm` (else runs start cold)."""

    def __init__(self, count: int, warm: bool = True) -> None:
        self._servers = [ForkServer() for _ in range(count)] if warm else []
        self._free: queue.SimpleQueue[ForkServer | None] = queue.SimpleQueue()
        leases: list[ForkServer | None] = [*self._servers] if warm else [None] * count
        for server in leases:
            self._free.put(server)

    @contextlib.contextmanager
    def lease(self) -> Iterator[ForkServer | None]:
        """A slot for one sandboxed run: its fork server (None: run cold), given back after it."""
        server = self._free.get()
        try:
            yield server
        finally:
            self._free.put(server)

    def close(self) -> None:
        for server in self._servers:
            server.close()
