"""Grading on a Dask distributed cluster: `grader grade --scheduler tcp://HOST:PORT`.

Each task carries the submission's bytes and the spec (`grader.apps.pool.GradeTask`), so a worker
needs only the grader installed. Each worker keeps one fork server per thread for as long as it
lives (`ForkServerPlugin`), as the local pool does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from distributed.diagnostics.plugin import WorkerPlugin

from grader.apps.pool import ForkServers, GradeTask, TaskOutput, fault_output, run_task

if TYPE_CHECKING:
    from distributed import Client, Worker


class ForkServerPlugin(WorkerPlugin):
    """A Dask worker's fork servers, one per worker thread, for as long as the worker lives."""

    name = "grader-fork-servers"

    def setup(self, worker: Worker) -> None:
        self.servers = ForkServers(worker.state.nthreads)

    def teardown(self, worker: Worker) -> None:
        self.servers.close()


def run_task_on_dask_worker(task: GradeTask) -> TaskOutput:
    from distributed import get_worker

    plugin = get_worker().plugins.get(ForkServerPlugin.name)
    if not isinstance(plugin, ForkServerPlugin):  # None: the worker has not set it up
        return run_task(task)
    return plugin.servers.run(task, None)


class DaskPool:
    """Sends each task to a Dask distributed scheduler; results come back as they finish."""

    def __init__(self, address: str, connect: Callable[..., Client] | None = None) -> None:
        from distributed import Client

        self.client = (connect or Client)(address, timeout="30s")
        self.client.register_plugin(ForkServerPlugin())

    def run(self, tasks: list[GradeTask]) -> Iterator[TaskOutput]:
        from distributed import as_completed

        # pure=False: two tasks with the same bytes (a resubmission) are still two gradings.
        futures = [self.client.submit(run_task_on_dask_worker, task, pure=False, key=f"grade-{task.student_id}-{index}")
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
