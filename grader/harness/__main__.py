"""Entry point inside the sandbox: `python -I -m grader.harness JOB.json OBSERVATIONS.jsonl`."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TextIO

from grader.protocol.wire import VERSION, Finished, Job, PhaseLine, Started, decode


def run_job(job: Job, stream: TextIO) -> int:
    """Grade one job, writing observations to `stream` (opened before any student code runs)."""
    from grader.harness.emit import Emitter

    emitter = Emitter(stream)
    emitter.emit(Started, version=VERSION, pid=os.getpid())
    if job.mode == "full" and job.kind == "notebook":
        from grader.harness.notebook import run_full_notebook

        emitter.emit(PhaseLine, phase="load")
        run_full_notebook(job, emitter)
    else:
        from grader.harness.session import run_session

        run_session(job, emitter)
    emitter.emit(Finished, seconds=round(time.perf_counter(), 3))
    return 0


def finish(status: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (about 0.6 s with torch loaded): everything is written and flushed.
    os._exit(status)


def main(argv: list[str]) -> int:
    from grader.harness.zygote import warm_up

    job_path, observations_path = argv[1], argv[2]
    with open(job_path, encoding="utf-8") as handle:
        job = decode(Job, json.load(handle))
    if job.mode != "full":
        # What a warm child gets from the fork server, here before any phase is timed: the first
        # model's budget is then the student's code's, not torch's lazy start (1-2 s of its first
        # training). Full mode trains in its kernel, another process. A run whose models are all
        # captured trains none of them: no optimizer to warm up.
        observed = set(job.observe)
        warm_up(training=any(not model.capture for model in job.models if model.id in observed))
    # What is written stays written, even if the student's code later kills the process.
    with open(observations_path, "a", encoding="utf-8") as stream:
        return run_job(job, stream)


if __name__ == "__main__":
    finish(main(sys.argv))
