"""Submission -> sandboxed harness -> observations.

Builds the job the harness needs (the code cells, and per model the training data and the test
*inputs*), runs the harness in the sandbox (forked from a batch worker's warm fork server,
`grader.forkserver`, or started cold in a fresh working directory, `grader.sandbox`), and reads
back what it observed. The test targets stay here.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from grader.assignment import LoadedAssignment
from grader.checks import probe_inputs
from grader.dataset import IrisTable, Split
from grader.forkserver import ForkServer, ForkServerUnavailable
from grader.harness.zygote import FILES as FILES_INSIDE_FORK_SERVER, WORK as WORK_INSIDE_FORK_SERVER
from grader.observations import Observations, read_observations
from grader.sandbox import ProcessLimits, isolated_python_flags, remove_tree, run_process, scrubbed_environment
from grader.submission import Submission

JOB_FILE = "job.json"
OBSERVATIONS_FILE = "observations.jsonl"


@dataclass(frozen=True)
class Execution:
    observations: Observations
    splits: dict[str, Split]
    mode: str


def build_job(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: str,
              files_dir: str) -> dict:
    spec = assignment.spec
    models = []
    for model in spec.models:
        split = splits[model.id]
        models.append({
            "id": model.id,
            "class_names": model.class_names,
            "match_methods": model.match_methods,
            "args": model.args,
            "hidden_arg": model.structure.hidden_arg,
            "probe_hidden": model.structure.probe_hidden,
            "project_method": model.project.method if model.project else None,
            "recipe": spec.recipe_for(model).model_dump(),
            "train_x": split.train_x.tolist(),
            "train_y": split.train_y.tolist(),
            "test_x": split.test_x.tolist(),
            "probe_x": probe_inputs(model.args[0]).tolist(),
        })
    return {
        "mode": mode,
        "kind": submission.kind,
        "cells": [{"number": c.number, "source": c.source} for c in submission.cells],
        "files_dir": files_dir,
        "model_budget_s": spec.timeout_s / max(len(spec.models), 1),
        "models": models,
    }


def execute(submission: Submission, assignment: LoadedAssignment, mode: str | None = None,
            table: IrisTable | None = None, stop: threading.Event | None = None,
            fork_server: ForkServer | None = None) -> Execution:
    """Run the harness on `submission` in the sandbox: from `fork_server` when one is given and
    works here (a warm start), else in a fresh interpreter."""
    spec = assignment.spec
    mode = mode or spec.mode
    table = table or IrisTable.load()
    splits = {model.id: table.split_for(model, spec.dataset) for model in spec.models}
    limits = _process_limits(assignment)
    observations = None
    # Full mode runs a Jupyter kernel, which needs the job and observations as files: always cold.
    if fork_server is not None and mode == "definitions":
        job = build_job(submission, assignment, splits, mode, FILES_INSIDE_FORK_SERVER)
        try:
            observations = fork_server.run(job, submission.extra_files, limits,
                                           scrubbed_environment(Path(WORK_INSIDE_FORK_SERVER)), stop=stop)
        except ForkServerUnavailable:
            observations = None
    if observations is None:
        observations = _execute_cold(submission, assignment, splits, mode, limits, stop)
    return Execution(observations=observations, splits=splits, mode=mode)


def _process_limits(assignment: LoadedAssignment) -> ProcessLimits:
    spec, mb = assignment.spec, 1024 * 1024
    return ProcessLimits(
        timeout_s=spec.timeout_s, output_bytes=spec.limits.output_kb * 1024, cpu_s=spec.limits.cpu_s,
        memory_bytes=spec.limits.memory_mb * mb, processes=spec.limits.processes,
        file_size_bytes=spec.limits.file_size_mb * mb, open_files=spec.limits.open_files,
        tmp_bytes=spec.limits.tmp_mb * mb,
    )


def _execute_cold(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: str,
                  limits: ProcessLimits, stop: threading.Event | None) -> Observations:
    workdir = Path(tempfile.mkdtemp(prefix="grader-run-"))
    try:
        files_dir = workdir / "files"
        files_dir.mkdir()
        for name, text in submission.extra_files.items():
            (files_dir / name).write_text(text, encoding="utf-8")
        job = build_job(submission, assignment, splits, mode, str(files_dir))
        (workdir / JOB_FILE).write_text(json.dumps(job), encoding="utf-8")
        # -u: what the submission printed reaches the grader even if it is killed a moment later.
        argv = [sys.executable, *isolated_python_flags(), "-u", "-m", "grader.harness", JOB_FILE, OBSERVATIONS_FILE]
        # Only the observations file is writable and comes back; the job and the submission's
        # files are read-only inside, and anything else the submission writes vanishes with the run.
        outcome = run_process(argv, workdir, limits, scrubbed_environment(workdir), outputs=[OBSERVATIONS_FILE],
                              stop=stop, loopback_sockets=mode == "full")
        return read_observations(workdir / OBSERVATIONS_FILE, outcome)
    finally:
        remove_tree(workdir)
