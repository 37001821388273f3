"""Quotas of the upload service: how fast one student may upload, and how many jobs may wait.

    uploads per window      per student principal (assignment + student id), in memory
    waiting jobs (queued or running) per student, and in all: counted in storage

A refused upload is answered 429 with `Retry-After`. A student principal is the same whichever
token it came with: a `[[students]]` token of tokens.toml and every signed link of that student
share one count. Instructor tokens (an LMS or a CI job handing in for a whole class) are not rate
limited, and the per-student queue limit does not apply to what they hand in: refusing an LMS's
hook would lose a student's hand-in that the LMS will not send again. The total queue length
applies to everyone, instructors included: it bounds the disk (jobs x the upload size limit) and
the time to grade what is waiting.

The rate is kept in memory: one `grader serve` holds the data folder's lock, so one process sees
every upload, and a restart forgetting the last minute gives a student a few uploads more at worst.
The waiting jobs are counted in storage, so a restart never frees a student's queue.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from grader.apps.server.auth import Principal
    from grader.apps.server.storage import Storage

# A job takes 1-20 s to grade (more for a submission that runs into its time limit): in 30 s
# a few are done, and a client that honours the header does not poll the service in a loop.
QUEUE_RETRY_AFTER_S = 30


@dataclass(frozen=True)
class Quotas:
    """The limits of one service; 0 turns a limit off.

    The defaults suit a course: a student hands in, reads the report and hands in again, which is
    a few uploads a minute at most, so 10 leave room for a flaky connection's retries and stop a
    script at once. Only the latest or best submission counts, so a student gains nothing from
    more than 3 waiting, and each one may hold a worker for its whole time limit. 500 waiting jobs
    are a class of a few hundred handing in at the deadline, each once, and at most
    500 x 20 MB = 10 GB of uploads."""

    uploads_per_window: int = 10
    window_s: float = 60.0
    max_queued_per_student: int = 3
    max_queue: int = 500


@dataclass(frozen=True)
class Refusal:
    error: str
    detail: str
    retry_after_s: int


def rate_key(who: Principal) -> Hashable | None:
    """What the upload rate is counted by; None for a principal that is not rate limited."""
    if who.kind != "student":
        return None
    return ("student", who.assignment, who.student_id)


class UploadRate:
    """A sliding-window log: the times of each principal's admitted uploads in the last window.

    Exact ("at most N in any W seconds"), and its `Retry-After` is exact too: when the oldest
    admission leaves the window. A refused attempt is not logged, so retrying early never pushes
    the wait further. Memory: N floats per student who uploaded in the last window."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window_s, self._clock = limit, window_s, clock
        self._log: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def admit(self, who: Principal) -> Refusal | None:
        key = rate_key(who)
        if key is None or self.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            self._sweep(now)
            times = self._log.setdefault(key, deque())
            while times and now - times[0] >= self.window_s:
                times.popleft()
            if len(times) >= self.limit:
                wait = max(1, math.ceil(times[0] + self.window_s - now))
                return Refusal("rate_limited", f"too many uploads: at most {self.limit} every {self.window_s:g} s "
                                               f"for student {who.student_id} of {who.assignment}; try again in "
                                               f"{wait} s", wait)
            times.append(now)
        return None

    @property
    def tracked(self) -> frozenset[Hashable]:
        """The keys held in memory now."""
        with self._lock:
            return frozenset(self._log)

    def _sweep(self, now: float) -> None:
        # Students who stopped uploading are forgotten, so the log never grows past one window's.
        if now - self._last_sweep < self.window_s:
            return
        self._last_sweep = now
        for key in [k for k, times in self._log.items() if not times or now - times[-1] >= self.window_s]:
            del self._log[key]


def queue_refusal(quotas: Quotas, storage: Storage, who: Principal, assignment: str, student_id: str
                  ) -> Refusal | None:
    """Whether one more waiting job is over a queue limit (call it only for an upload that adds one)."""
    if who.kind == "student" and quotas.max_queued_per_student > 0:
        waiting = storage.waiting(assignment, student_id)
        if waiting >= quotas.max_queued_per_student:
            return Refusal("too_many_queued", f"student {student_id} already has {waiting} submission"
                                              f"{'s' if waiting != 1 else ''} of {assignment} waiting to be graded, "
                                              "the most this service queues for one student; try again when one "
                                              "is graded", QUEUE_RETRY_AFTER_S)
    if quotas.max_queue > 0:
        waiting = storage.waiting()
        if waiting >= quotas.max_queue:
            return Refusal("queue_full", f"the service already has {waiting} submission{'s' if waiting != 1 else ''} "
                                         "waiting to be graded, the most it queues; try again later",
                           QUEUE_RETRY_AFTER_S)
    return None
