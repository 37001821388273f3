"""Where a batch's grading runs: a local pool of threads (a Dask cluster: `grader.apps.dask_pool`).

Every submission is graded in its own sandboxed subprocess, so local workers are threads: they
start that subprocess, wait for it, and turn its observations into a result and a report. A task
carries everything a worker needs as plain bytes (the submission file, the assignment spec and its
messages file), so
a Dask worker on another machine needs only the grader installed, not the instructor's files.
"""

from __future__ import annotations

import queue
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.evaluate.evaluator import Evaluator
from grader.evaluate.grouping import GroupingEvaluator
from grader.i18n import Lang
from grader.pipeline import StudentReports, parse_assignment
from grader.sandbox.forkserver import ForkServer
from grader.sandbox.slots import SandboxSlots
from grader.spec import SPEC_FILE, LoadedAssignment, Mode
from grader.spec.messages import read_messages

if TYPE_CHECKING:
    from grader.result import Graded


@dataclass(frozen=True)
class GradeTask:
    student_id: str
    file_name: str
    file_bytes: bytes | None  # None: read `local_path` (same machine)
    local_path: str | None
    spec_bytes: bytes
    assignment_folder: str
    messages_bytes: bytes | None  # the assignment's messages.toml (None: it has none)
    checks_bytes: bytes | None  # its checks.py, as loaded (None: it has none)
    data_files: dict[str, bytes]  # the files its data is read from, by name (grader.spec.load)
    lang: Lang | None
    mode: Mode | None


@dataclass(frozen=True)
class TaskOutput:
    student_id: str
    result_json: str
    report_html: str  # the instructor's: everything
    student_reports: StudentReports | None = None  # what students may see, where that differs


def make_task(path: Path, student_id: str, assignment: LoadedAssignment, lang: Lang | None, mode: Mode | None,
              ship_file: bool) -> GradeTask:
    return GradeTask(
        student_id=student_id, file_name=path.name,
        file_bytes=path.read_bytes() if ship_file else None, local_path=None if ship_file else str(path),
        spec_bytes=(assignment.folder / SPEC_FILE).read_bytes(), assignment_folder=str(assignment.folder),
        messages_bytes=read_messages(assignment.folder), checks_bytes=assignment.checks_source,
        data_files=assignment.data_files, lang=lang, mode=mode,
    )


def run_task(task: GradeTask, stop: threading.Event | None = None, fork_server: ForkServer | SandboxSlots | None = None,
             evaluator: Evaluator | None = None) -> TaskOutput:
    """Grade one submission and render its report. Never raises Exception: a grader fault becomes an
    `error` result (`grader.pipeline.grade_safely`), and the result JSON returned always validates, so
    that the batch writing it goes on. `fork_server`: the calling worker's, for a warm start (see
    `grader.sandbox.forkserver`); `evaluator`: its trusted evaluation process (`grader.evaluate.evaluator`)."""
    from grader.pipeline import grade_safely

    assignment = parse_assignment(task.spec_bytes, Path(task.assignment_folder), task.messages_bytes,
                                  task.checks_bytes, task.data_files)
    try:
        with tempfile.TemporaryDirectory(prefix="grader-task-") as scratch:
            if task.file_bytes is not None:
                path = Path(scratch) / Path(task.file_name).name
                path.write_bytes(task.file_bytes)
            else:
                path = Path(task.local_path or task.file_name)
            graded = grade_safely(path, assignment, lang=task.lang, mode=task.mode, student_id=task.student_id,
                                  stop=stop, fork_server=fork_server, evaluator=evaluator)
            return _output(task, graded, assignment)
    except Exception as exc:  # the scratch file could not be written or removed (disk full ...)
        return fault_output(task, exc)


def fault_output(task: GradeTask, exc: BaseException) -> TaskOutput:
    """The output of a task that failed outside grading (a Dask worker lost, no scratch space)."""
    from grader.pipeline import fault_detail, grader_fault_result
    from grader.result import Graded

    assignment = parse_assignment(task.spec_bytes, Path(task.assignment_folder), task.messages_bytes,
                                  task.checks_bytes, task.data_files)
    result = grader_fault_result(task.student_id, task.file_name, assignment, task.lang, task.mode, fault_detail(exc))
    return _output(task, Graded(result), assignment)


def _output(task: GradeTask, graded: Graded, assignment: LoadedAssignment) -> TaskOutput:
    from grader.pipeline import render_report_safely, student_reports_safely

    graded, report = render_report_safely(graded, assignment)
    return TaskOutput(task.student_id, graded.result.to_json(), report, student_reports_safely(graded, assignment))


class ForkServers:
    """One fork server and one trusted evaluation process per worker thread: a worker borrows a pair
    for each task and gives it back."""

    def __init__(self, count: int, warm: bool = True) -> None:
        self.threads = count  # one grading thread per pair
        self._free: queue.SimpleQueue[tuple[ForkServer | None, Evaluator]] = queue.SimpleQueue()
        self._servers = [ForkServer() for _ in range(count)] if warm else []
        self._evaluators = [Evaluator() for _ in range(count)]
        cold: list[ForkServer | None] = [None] * count  # no fork server: each run starts a fresh interpreter
        for server, evaluator in zip(self._servers or cold, self._evaluators):
            self._free.put((server, evaluator))

    def run(self, task: GradeTask, stop: threading.Event | None) -> TaskOutput:
        server, evaluator = self._free.get()
        try:
            return run_task(task, stop, server, evaluator)
        finally:
            self._free.put((server, evaluator))

    def answer_waiting(self) -> None:
        """Nothing waits here but for a pair, which the pool's stop frees."""

    def close(self) -> None:
        for server in self._servers:
            server.close()
        for evaluator in self._evaluators:
            evaluator.close()


class Together:
    """The submissions of a batch graded so that their models train together: `jobs` sandboxed runs
    at a time (`SandboxSlots`), many more submissions waiting for their models' answers, which one
    `GroupingEvaluator` (half as many evaluation workers as runs: the training is the cheap part
    now) sends as groups."""

    THREADS_PER_JOB = 16

    def __init__(self, jobs: int, warm: bool) -> None:
        self.threads = jobs * self.THREADS_PER_JOB
        self._slots = SandboxSlots(jobs, warm)
        self._evaluator = GroupingEvaluator(workers=max(1, jobs // 2))

    def run(self, task: GradeTask, stop: threading.Event | None) -> TaskOutput:
        return run_task(task, stop, self._slots, self._evaluator)

    def answer_waiting(self) -> None:
        """Every thread waiting for its models' answers gets them (errors) and can end (a stopped batch)."""
        self._evaluator.close()

    def close(self) -> None:
        self._evaluator.close()
        self._slots.close()


class LocalPool:
    """Local threads grading a batch: with `together` (the default) as `Together` says; else
    `jobs` threads, each grading one submission at a time with its own evaluation process. Warm
    from fork servers unless `warm` is False (every sandbox then starts a fresh interpreter)."""

    def __init__(self, jobs: int, warm: bool = True, together: bool = True) -> None:
        self.jobs = max(1, jobs)
        self.warm = warm
        self.together = together
        self.stop = threading.Event()

    def run(self, tasks: list[GradeTask]) -> Iterator[TaskOutput]:
        servers: Together | ForkServers = Together(self.jobs, self.warm) if self.together else ForkServers(self.jobs, self.warm)
        executor = ThreadPoolExecutor(max_workers=servers.threads, thread_name_prefix="grader")
        try:
            pending: set[Future[TaskOutput]] = {executor.submit(servers.run, task, self.stop) for task in tasks}
            # `stop` is set from outside (the batch's signal handler) and looked at here at least
            # every 0.2 s: a run that ends after it was cut short, and is never handed out as a result.
            while pending and not self.stop.is_set():
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                for future in done:
                    if self.stop.is_set():
                        return
                    yield future.result()
        finally:
            # On Ctrl-C (or any early exit): nothing new starts, running sandboxes are killed.
            self.stop.set()
            servers.answer_waiting()  # threads waiting for their models' answers get them (errors) and end
            executor.shutdown(wait=True, cancel_futures=True)
            servers.close()
