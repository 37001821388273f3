"""Full mode: execute the whole notebook with nbclient, in a kernel inside the same sandbox.

The kernel talks over ZeroMQ `ipc` sockets (files in the working directory), since the sandbox has
no network. Cells that raise do not stop the run (`allow_errors`); each error is reported.
"""

from __future__ import annotations

import os
from typing import Any

from grader.harness.emit import Emitter
from grader.protocol.wire import (
    JOB_FILE,
    OBSERVATIONS_FILE,
    HarnessError,
    Job,
    Plan,
)

# A cell that runs longer is stopped by nbclient; the run's wall clock bounds the whole notebook anyway.
CELL_TIMEOUT_S = 600

SETUP = (
    "import grader.harness.kernel as _grader_kernel\n"
    "_grader_session = _grader_kernel.install(get_ipython(), {job!r}, {observations!r})"
)
FINISH = "_grader_session.finish()"


def build_notebook(job: Job, job_path: str, observations_path: str) -> Any:
    import nbformat

    cells = [nbformat.v4.new_code_cell(SETUP.format(job=job_path, observations=observations_path))]
    cells += [nbformat.v4.new_code_cell(cell.source) for cell in job.cells]
    cells.append(nbformat.v4.new_code_cell(FINISH))
    return nbformat.v4.new_notebook(cells=cells)


def run_full_notebook(job: Job, emitter: Emitter) -> None:
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    workdir = os.getcwd()
    job_path = os.path.join(workdir, JOB_FILE)
    observations_path = os.path.join(workdir, OBSERVATIONS_FILE)
    notebook = build_notebook(job, job_path, observations_path)
    emitter.emit(Plan, executed=len(job.cells))
    os.environ.setdefault("IPYTHONDIR", os.path.join(workdir, ".ipython"))
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(workdir, ".jupyter"))
    manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(workdir, "kernel-ipc"))
    client = NotebookClient(
        notebook, km=manager, timeout=CELL_TIMEOUT_S, allow_errors=True,
        resources={"metadata": {"path": workdir}}, record_timing=False,
    )
    client.execute()  # each cell's error is written by the kernel (grader.harness.kernel), with its line
    finish_errors = [o for o in notebook.cells[-1].get("outputs", []) if o.get("output_type") == "error"]
    if finish_errors:
        emitter.emit(HarnessError, message=str(finish_errors[0].get("evalue", ""))[:2000])
