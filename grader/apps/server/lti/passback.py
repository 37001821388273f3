"""Grades back to the LMS (AGS): a thread that sends every score owed, as soon as it is owed.

A finished submission of a student who launched from a platform owes that platform a score
(`owe_score`, called by the worker pool, and again when a review changes the points). The outbox
keeps it until the platform took it: a platform that is down or refuses is tried again after 2, 4,
8 ... seconds, at most `retry_max_s` apart, for as long as it takes; a newer score of the same
student supersedes an older one not sent yet.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

from grader.apps.server.lti.platforms import Platform, Platforms
from grader.apps.server.lti.records import LtiRecords, Owed
from grader.apps.server.lti.services import PlatformServices, ServiceError
from grader.result import Result
from grader.spec import LoadedAssignment

log = logging.getLogger("grader.server.lti")
RETRY_BASE_S = 2.0
RETRY_MAX_S = 900.0


def score_body(result: Result, user_id: str) -> dict[str, Any] | None:
    """The AGS score of a result; None for a grader fault (the fault is the grader's: the
    submission is graded again, and the platform's grade stays as it was)."""
    if result.status == "error":
        return None
    moment = max(result.graded_at, result.reviewed_at) or datetime.now(UTC).isoformat(timespec="seconds")
    body: dict[str, Any] = {"userId": user_id, "activityProgress": "Completed", "timestamp": moment}
    if result.status == "invalid":  # not a submission the grader could read: no grade, and why
        body.update(gradingProgress="Failed", comment=f"Not graded: {result.message or 'the file could not be read'}")
        return body
    pending = result.pending_points > 0
    body.update(scoreGiven=result.total_score, scoreMaximum=result.total_max,
                gradingProgress="PendingManual" if pending else "FullyGraded",
                comment=f"Autograder: {result.total_score:g} / {result.total_max:g}"
                        + (" (written answers still to be reviewed)" if pending else "")
                        + ". Open the assignment again to see the report.")
    return body


class Passback:
    def __init__(self, records: LtiRecords, platforms: Platforms, services: PlatformServices,
                 assignments: dict[str, LoadedAssignment], retry_base_s: float = RETRY_BASE_S,
                 retry_max_s: float = RETRY_MAX_S) -> None:
        self.records, self.platforms, self.services = records, platforms, services
        self.assignments = assignments
        self.retry_base_s, self.retry_max_s = retry_base_s, retry_max_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def owe_score(self, submission_id: str, result: Result) -> None:
        link = self.records.link(result.assignment, result.submission.student_id)
        if link is None or link.instructor or not link.ags:
            return  # not launched from a platform that takes grades
        body = score_body(result, link.sub)
        if body is not None:
            self.records.owe(submission_id, link, body)
            self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="grader-lti-passback", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                for owed in self.records.due():
                    if self._stop.is_set():
                        return
                    self._send(owed)
            except Exception:  # the outbox itself failed (a disk fault): what is owed stays owed on disk
                log.exception("the grade passback could not read or update its outbox; trying again")
                self._stop.wait(self.retry_base_s)
            self._wake.wait(timeout=min(1.0, self.retry_base_s))
            self._wake.clear()

    def _send(self, owed: Owed) -> None:
        platform = self.platforms.find(owed.issuer, owed.client_id)
        try:
            if platform is None:
                raise ServiceError(f"the platform {owed.issuer} is no longer registered")
            lineitem = owed.ags.get("lineitem")
            if not lineitem:
                lineitem = self._make_lineitem(owed, platform)
            self.services.post_score(platform, lineitem, owed.score)
        except Exception as exc:  # the platform's fault or ours: tried again later, never dropped
            if not isinstance(exc, ServiceError):
                log.exception("sending the score of %s for %s failed", owed.student_id, owed.assignment)
            delay = min(self.retry_max_s, self.retry_base_s * 2 ** owed.attempts)
            log.warning("score of %s for %s not taken (try %d, again in %.0f s): %s", owed.student_id,
                        owed.assignment, owed.attempts + 1, delay, exc)
            self.records.failed(owed.id, f"{type(exc).__name__}: {exc}" if not isinstance(exc, ServiceError)
                                else str(exc), time.time() + delay)
            return
        self.records.sent(owed.id)
        log.info("score of %s for %s sent to %s", owed.student_id, owed.assignment, owed.issuer)

    def _make_lineitem(self, owed: Owed, platform: Platform) -> str:
        lineitems = owed.ags.get("lineitems")
        if not lineitems:
            raise ServiceError("the launch named no line item and no line item container")
        assignment = self.assignments.get(owed.assignment)
        label = assignment.spec.title.get("en", owed.assignment) if assignment else owed.assignment
        lineitem = self.services.lineitem_for(platform, lineitems, owed.resource_link_id, label,
                                              float(owed.score.get("scoreMaximum", 0) or 0), owed.assignment)
        self.records.set_lineitem(owed.issuer, owed.client_id, owed.resource_link_id, lineitem)
        return lineitem
