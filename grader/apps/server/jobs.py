"""The service's worker pool: threads that take queued submissions from storage and grade them.

Each worker claims the next queued job, grades it in its sandboxed subprocess (the batch's
`grader.apps.pool.run_task`, so a grader fault becomes an `error` result, never a crash), writes the
report and the result JSON (atomically), and only then marks the job done. A job cut off by a stop
stays `running` in storage and is graded again at the next start.

A worker never dies of the machine's faults: where the disk or the database fails (a full disk, a
read-only folder), the job goes back to the queue, the pool's `fault` says why (`/health` reports
`degraded`, uploads are answered 503), and the worker tries again after `fault_retry_s`; the first job
that is written clears the fault, and grading goes on by itself.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from grader.apps.server.storage import Row, Storage, write_atomic
from grader.i18n import Lang
from grader.spec import LoadedAssignment

if TYPE_CHECKING:
    from grader.evaluate.evaluator import Evaluator
    from grader.pipeline import StudentReports
    from grader.result import Result
    from grader.sandbox.forkserver import ForkServer

log = logging.getLogger("grader.server")
FAULT_RETRY_S = 5.0  # how long a worker waits after a disk or database fault before it tries again
STORAGE_ERRORS = (OSError, sqlite3.Error)


class WorkerPool:
    def __init__(self, storage: Storage, assignments: dict[str, LoadedAssignment], workers: int,
                 lang: Lang | None = None, on_graded: Callable[[str, Result], None] | None = None,
                 fault_retry_s: float = FAULT_RETRY_S) -> None:
        self.storage = storage
        self.fault_retry_s = fault_retry_s
        self.on_graded = on_graded  # told of every result stored (the LTI grade passback)
        self.assignments = assignments
        self.size = max(0, workers)
        self.lang = lang
        self.stop = threading.Event()
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self.fault: str | None = None  # a disk or database fault that stops the grading, until it clears
        self._unreleased: set[str] = set()  # jobs a fault cut off that could not be put back in the queue yet

    def start(self) -> None:
        requeued, given_up = self.storage.recover()
        if requeued:
            log.info("requeued %d submission(s) cut off by the last stop", len(requeued))
        for submission_id in given_up:
            row = self.storage.get(submission_id)
            if row is not None:
                self._record_fault(row, "grading was cut off too many times (the grader stopped or crashed)")
        for index in range(self.size):
            thread = threading.Thread(target=self._loop, name=f"grader-worker-{index + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def notify(self) -> None:
        with self._wake:
            self._wake.notify()

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()  # running sandboxes are killed; their jobs stay `running` and are redone next start
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def _loop(self) -> None:
        from grader.evaluate.evaluator import Evaluator
        from grader.sandbox.forkserver import ForkServer

        # This worker's warm start and trusted evaluation process, for as long as it runs.
        with ForkServer() as fork_server, Evaluator() as evaluator:
            self._serve_queue(fork_server, evaluator)

    def _serve_queue(self, fork_server: ForkServer, evaluator: Evaluator) -> None:
        while not self.stop.is_set():
            problem = self.storage.problem()
            if problem is not None:  # grading into a database no one will read again loses the results
                self._faulted(None, problem)
                continue
            try:
                for submission_id in sorted(self._unreleased):
                    self.storage.release(submission_id)
                    self._unreleased.discard(submission_id)
                row = self.storage.claim()
            except STORAGE_ERRORS as exc:
                self._faulted(None, f"the database could not be used: {exc}")
                continue
            if row is None:
                with self._wake:
                    self._wake.wait(timeout=1.0)
                continue
            try:
                self._grade(row, fork_server, evaluator)
                self.fault = None
            except STORAGE_ERRORS as exc:
                log.exception("grading %s: the disk or the database failed", row.id)
                self._faulted(row, f"the result could not be stored: {exc}")
            except Exception:
                log.exception("grading %s failed", row.id)
                if not self.stop.is_set():
                    try:
                        self._record_fault(row, "the grader failed while writing the result")
                    except STORAGE_ERRORS as exc:
                        self._faulted(row, f"the result could not be stored: {exc}")

    def _faulted(self, row: Row | None, reason: str) -> None:
        """The machine failed, not the submission: the job waits in the queue (it is graded once the
        fault clears, not given up) and this worker waits before it tries again."""
        self.fault = reason
        log.error("grading paused: %s", reason)
        if row is not None:
            try:
                self.storage.release(row.id)
            except STORAGE_ERRORS as exc:  # the database cannot be written either: put it back once it can
                log.error("could not put %s back in the queue yet (%s): trying again with the next job", row.id, exc)
                self._unreleased.add(row.id)
        self.stop.wait(self.fault_retry_s)

    def _grade(self, row: Row, fork_server: ForkServer, evaluator: Evaluator) -> None:
        from grader.apps.pool import make_task, run_task
        from grader.result import Result

        assignment = self.assignments.get(row.assignment)
        if assignment is None:
            self._record_fault(row, f"assignment {row.assignment!r} is no longer served")
            return
        task = make_task(self.storage.file_path(row), row.student_id, assignment, row.lang or self.lang, None,
                         ship_file=False)
        output = run_task(task, self.stop, fork_server, evaluator)  # behind the fault barrier: its JSON validates
        if self.stop.is_set():
            return  # cut off: not a result
        result = Result.model_validate_json(output.result_json)
        self._write(row.id, output.result_json, output.report_html, output.student_reports)
        self.storage.finish(row.id, result.status, result.score, result.max_score)
        if self.on_graded is not None:
            try:
                self.on_graded(row.id, result)
            except Exception:  # the result is stored; what it is owed elsewhere is that part's to retry
                log.exception("after grading %s: telling of the result failed", row.id)

    def _write(self, submission_id: str, result_json: str, report_html: str,
               student_reports: StudentReports | None = None) -> None:
        # The reports first: a result without its reports is never taken for a finished one.
        if student_reports is not None:
            for past_due in (False, True):
                write_atomic(self.storage.student_report_path(submission_id, past_due), student_reports.at(past_due))
        write_atomic(self.storage.report_path(submission_id), report_html)
        write_atomic(self.storage.result_path(submission_id), result_json)

    def _record_fault(self, row: Row, detail: str) -> None:
        from grader.pipeline import grader_fault_result, render_report_safely
        from grader.result import Graded

        assignment = self.assignments.get(row.assignment)
        if assignment is None:
            self.storage.finish(row.id, "error", 0.0, 0.0)
            return
        result = grader_fault_result(row.student_id, Path(row.file_name).name, assignment, row.lang or self.lang,
                                     None, detail)
        graded, report = render_report_safely(Graded(result), assignment)
        self._write(row.id, graded.result.to_json(), report)
        self.storage.finish(row.id, "error", graded.result.score, graded.result.max_score)
