"""The harness, run in the student's own process on the classes of their kernel: the observations
a sandboxed run would write, written to a temporary file and read back as the pipeline reads a
run's. No sandbox, no budgets: it is the student's own code on their own machine (an endless loop
is theirs to interrupt), and nothing it reports decides a grade.

The kernel is left as it was found: the random generators' states and torch's thread count are
put back after the harness seeded and set them as it does in the sandbox.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from grader.evaluate.execute import Execution, Run, build_job, capture_failed, captured_in_job, merged
from grader.evaluate.observations import Observations, read_observations
from grader.harness.emit import Emitter
from grader.harness.loader import ClassHistory
from grader.harness.session import MODULE_NAME, observe_models
from grader.protocol.wire import VERSION, Finished, Started
from grader.sandbox.process import ProcessOutcome
from grader.selfcheck.kernel import KernelCode
from grader.spec import LoadedAssignment
from grader.spec.datasets import Split

NOT_SANDBOXED = "self-check: the student's own process, no sandbox"


def observe_in_kernel(code: KernelCode, assignment: LoadedAssignment, namespace: dict[str, Any],
                      models: list[str]) -> Execution:
    """`models` observed in this process; a captured model whose capture failed observed again the
    old way (trained by the harness), as a sandboxed execution does."""
    spec, splits = assignment.spec, assignment.splits()
    runs = []
    with kernel_state_kept():
        observations = _observe_once(code, assignment, splits, namespace, models, frozenset())
        runs.append(Run(observations, tuple(models), _captured(assignment, models, frozenset())))
        uncaptured = frozenset(model.id for model in spec.models
                               if model.id in models and model.captured and capture_failed(observations, model.id))
        if uncaptured:
            again = [model for model in models if model in uncaptured]
            runs.append(Run(_observe_once(code, assignment, splits, namespace, again, uncaptured), tuple(again),
                            _captured(assignment, again, uncaptured)))
    return Execution(observations=merged(runs, []), splits=splits, mode="definitions")


def _captured(assignment: LoadedAssignment, observe: list[str], uncaptured: frozenset[str]) -> tuple[str, ...]:
    return tuple(model.id for model in assignment.spec.models if model.id in observe and captured_in_job(model, uncaptured))


def _observe_once(code: KernelCode, assignment: LoadedAssignment, splits: dict[str, Split], namespace: dict[str, Any],
                  observe: list[str], uncaptured: frozenset[str]) -> Observations:
    job = build_job(code.submission, assignment, splits, "definitions", files_dir="", observe=observe,
                    uncaptured=uncaptured)
    history = ClassHistory(namespace.get("__name__", MODULE_NAME))
    history.records = list(code.records)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="grader-selfcheck-") as folder:
        path = Path(folder) / "observations.jsonl"
        with path.open("w", encoding="utf-8") as stream:
            emitter = Emitter(stream)
            emitter.emit(Started, version=VERSION, pid=os.getpid())
            observe_models(job, namespace, history, emitter)
            emitter.emit(Finished, seconds=round(time.monotonic() - started, 3))
        process = ProcessOutcome(returncode=0, timed_out=False, duration_s=round(time.monotonic() - started, 3),
                                 stdout="", stderr="", output_truncated=False, isolation_notes=(NOT_SANDBOXED,))
        return read_observations(path, process)


@contextmanager
def kernel_state_kept() -> Iterator[None]:
    """The harness seeds every generator and runs torch on one thread, as in the sandbox (the same
    observations); the kernel gets its own states back afterwards."""
    import torch

    threads = torch.get_num_threads()
    python_state = random.getstate()
    numpy = sys.modules.get("numpy")
    numpy_state = numpy.random.get_state() if numpy is not None else None
    with torch.random.fork_rng(devices=[]):
        torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(threads)
            random.setstate(python_state)
            if numpy is not None:
                numpy.random.set_state(numpy_state)
