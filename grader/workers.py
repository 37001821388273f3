"""Where a batch's grading runs: a local pool of threads, or the workers of a Dask cluster.

Every submission is graded in its own sandboxed subprocess, so local workers are threads: they
start that subprocess, wait for it, and turn its observations into a result and a report. A task
carries everything a worker needs as plain bytes (the submission file and the assignment spec), so
a Dask worker on another machine needs only the grader installed, not the instructor's files.
"""

from __future__ import annotations

import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import SPEC_FILE, LoadedAssignment, parse_assignment


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


def run_task(task: GradeTask, stop: threading.Event | None = None) -> TaskOutput:
    """Grade one submission and render its report. Never raises: a grader fault becomes an `error` result."""
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
            graded = grade_file(path, assignment, lang=task.lang, mode=task.mode, student_id=task.student_id, stop=stop)
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


class LocalPool:
    """`jobs` threads, each grading one submission at a time."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.stop = threading.Event()

    def run(self, tasks: list[GradeTask]) -> Iterator[TaskOutput]:
        executor = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader")
        try:
            pending: set[Future[TaskOutput]] = {executor.submit(run_task, task, self.stop) for task in tasks}
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            # On Ctrl-C (or any early exit): nothing new starts, running sandboxes are killed.
            self.stop.set()
            executor.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    """Sends each task to a Dask distributed scheduler; results come back as they finish."""

    def __init__(self, address: str, connect: Callable | None = None) -> None:
        from distributed import Client

        self.client = (connect or Client)(address, timeout="30s")

    def run(self, tasks: list[GradeTask]) -> Iterator[TaskOutput]:
        from distributed import as_completed

        # pure=False: two tasks with the same bytes (a resubmission) are still two gradings.
        futures = [self.client.submit(run_task, task, pure=False, key=f"grade-{task.student_id}-{index}")
                   for index, task in enumerate(tasks)]
        task_of = {future.key: task for future, task in zip(futures, tasks)}
        try:
            for future in as_completed(futures):
                try:
                    yield future.result()
                except Exception as exc:  # a worker died (KilledWorker) or could not be reached
                    yield fault_output(task_of[future.key], exc)
        finally:
            for future in futures:
                future.cancel()
            self.client.close()
