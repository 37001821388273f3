"""Where a batch's grading runs: a local pool of threads (a Dask cluster: `grader.dask_pool`).

Every submission is graded in its own sandboxed subprocess, so local workers are threads: they
start that subprocess, wait for it, and turn its observations into a result and a report. A task
carries everything a worker needs as plain bytes (the submission file and the assignment spec), so
a Dask worker on another machine needs only the grader installed, not the instructor's files.
"""

from __future__ import annotations

import queue
import tempfile
import threading
import traceback
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import SPEC_FILE, LoadedAssignment, parse_assignment
from grader.forkserver import ForkServer


@dataclass(frozen=True)
class GradeTask:
    student_id: str
    file_name: str
    file_bytes: bytes | None  # None: read `local_path` (same machine)
    local_path: str | None
    spec_bytes: bytes
    assignment_folder: str
    lang: str | None
    mode: str | None


@dataclass(frozen=True)
class TaskOutput:
    student_id: str
    result_json: str
    report_html: str


def make_task(path: Path, student_id: str, assignment: LoadedAssignment, lang: str | None, mode: str | None,
              ship_file: bool) -> GradeTask:
    return GradeTask(
        student_id=student_id, file_name=path.name,
        file_bytes=path.read_bytes() if ship_file else None, local_path=None if ship_file else str(path),
        spec_bytes=(assignment.folder / SPEC_FILE).read_bytes(), assignment_folder=str(assignment.folder),
        lang=lang, mode=mode,
    )


def run_task(task: GradeTask, stop: threading.Event | None = None, fork_server: ForkServer | None = None) -> TaskOutput:
    """Grade one submission and render its report. Never raises: a grader fault becomes an `error` result.
    `fork_server`: the calling worker's, for a warm start (see `grader.forkserver`)."""
    from grader.grading import grade_file
    from grader.report.html import render_report

    assignment = parse_assignment(task.spec_bytes, Path(task.assignment_folder))
    with tempfile.TemporaryDirectory(prefix="grader-task-") as scratch:
        if task.file_bytes is not None:
            path = Path(scratch) / Path(task.file_name).name
            path.write_bytes(task.file_bytes)
        else:
            path = Path(task.local_path or task.file_name)
        try:
            graded = grade_file(path, assignment, lang=task.lang, mode=task.mode, student_id=task.student_id, stop=stop,
                                fork_server=fork_server)
            return TaskOutput(task.student_id, graded.result.to_json(), render_report(graded, assignment))
        except Exception as exc:  # a grader fault on one file must not stop the batch
            return fault_output(task, exc)


def fault_output(task: GradeTask, exc: BaseException) -> TaskOutput:
    from grader.grading import Graded, grader_fault_result
    from grader.report.html import render_report

    assignment = parse_assignment(task.spec_bytes, Path(task.assignment_folder))
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    result = grader_fault_result(task.student_id, task.file_name, assignment, task.lang, task.mode, detail)
    return TaskOutput(task.student_id, result.to_json(), render_report(Graded(result), assignment))


class ForkServers:
    """One fork server per worker thread: a worker borrows one for each task and gives it back."""

    def __init__(self, count: int, warm: bool = True) -> None:
        self._free: queue.SimpleQueue[ForkServer | None] = queue.SimpleQueue()
        self._all = [ForkServer() for _ in range(count)] if warm else []
        for server in self._all or [None] * count:
            self._free.put(server)

    def run(self, task: GradeTask, stop: threading.Event | None) -> TaskOutput:
        server = self._free.get()
        try:
            return run_task(task, stop, server)
        finally:
            self._free.put(server)

    def close(self) -> None:
        for server in self._all:
            server.close()


class LocalPool:
    """`jobs` threads, each grading one submission at a time, warm from its own fork server unless
    `warm` is False (every sandbox then starts a fresh interpreter)."""

    def __init__(self, jobs: int, warm: bool = True) -> None:
        self.jobs = max(1, jobs)
        self.warm = warm
        self.stop = threading.Event()

    def run(self, tasks: list[GradeTask]) -> Iterator[TaskOutput]:
        servers = ForkServers(self.jobs, self.warm)
        executor = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader")
        try:
            pending: set[Future[TaskOutput]] = {executor.submit(servers.run, task, self.stop) for task in tasks}
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            # On Ctrl-C (or any early exit): nothing new starts, running sandboxes are killed.
            self.stop.set()
            executor.shutdown(wait=True, cancel_futures=True)
            servers.close()
