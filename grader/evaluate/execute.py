"""Submission -> sandboxed harness -> observations.

Builds the job the harness needs (the code cells, and per model the training data and the test
*inputs*), runs the harness in the sandbox (forked from a batch worker's warm fork server,
`grader.sandbox.forkserver`, or started cold in a fresh working directory, `grader.sandbox.process`), and reads
back what it observed. The test targets stay here.

A hang costs one model, not the run: the harness writes a phase line before loading the
submission and before each model's construction, probes and training, and `PhaseWatch` times them
against their budgets (`model_timeout_s`, `load_timeout_s`) while the run goes. A model past its
budget is stopped, gets a `PhaseTimeout`, and a fresh run (a new fork, or a new interpreter when
cold) observes the models after it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from grader.evaluate.observations import Observations, read_observations
from grader.intake.submission import Submission
from grader.protocol import wire
from grader.protocol.wire import (
    FORK_CHILD_FILES,
    FORK_CHILD_WORK,
    JOB_FILE,
    MAX_OBSERVATION_BYTES,
    MODEL_PHASES,
    OBSERVATIONS_FILE,
    PhaseLine,
    PhaseTimeout,
    WireError,
)
from grader.sandbox import tiers
from grader.sandbox.forkserver import ForkServer, ForkServerUnavailable
from grader.sandbox.process import (
    ProcessLimits,
    ProcessOutcome,
    isolated_python_flags,
    remove_tree,
    run_process,
    scrubbed_environment,
)
from grader.spec import LoadedAssignment, Mode, Recipe
from grader.spec.datasets import Split, splits_for
from grader.spec.probe_points import probe_inputs

# A fresh run with less of the wall clock left than this would not get past loading: not started.
MIN_RESTART_S = 2.0


@dataclass(frozen=True)
class Execution:
    observations: Observations
    splits: dict[str, Split]
    mode: Mode


@dataclass(frozen=True)
class Budgets:
    """How long each phase of a run may take, in seconds. None: only the run's wall clock bounds it."""

    load_s: float | None
    model_s: dict[str, float]

    @classmethod
    def of(cls, assignment: LoadedAssignment, mode: Mode) -> Budgets:
        spec = assignment.spec
        # Full mode's loading is the whole notebook, its own training loops included: as today, only
        # the wall clock bounds it.
        return cls(load_s=spec.load_timeout if mode == "definitions" else None,
                   model_s={model.id: spec.model_timeout_for(model) for model in spec.models})

    def of_phase(self, model: str | None, phase: str) -> float | None:
        return self.load_s if model is None else self.model_s.get(model)


class PhaseWatch:
    """Follows the harness's phase lines in a run's observations file while the run goes, and says
    when the phase under way has used its budget (the caller then ends the run).

    The file is the submission's to write as well: only a phase later than the current one (in the
    order the job sets) restarts the clock, so forged lines can move it on a few times at most, and
    the run's wall clock bounds everything anyway. Reading is bounded like `read_observations`.
    """

    MAX_LINE = 4096  # a phase line is short; a longer unfinished line is not one

    def __init__(self, observe: list[str], budgets: Budgets, clock: Callable[[], float] = time.monotonic) -> None:
        self._order: list[tuple[str | None, str]] = [(None, "load")]
        self._order += [(model, phase) for model in observe for phase in MODEL_PHASES]
        self._budgets, self._clock = budgets, clock
        self._position, self._since = -1, 0.0
        self._offset, self._partial, self._skip_to_newline = 0, b"", False
        self.expired: PhaseTimeout | None = None

    def __call__(self, path: Path) -> bool:
        """True when the run must end: the current phase is over its budget."""
        if self.expired is not None:
            return True
        for line in self._new_lines(path):
            self._advance(line)
        if self._position < 0:
            return False
        model, phase = self._order[self._position]
        budget = self._budgets.of_phase(model, phase)
        if budget is not None and self._clock() - self._since > budget:
            self.expired = PhaseTimeout(phase=phase, model=model, budget_s=budget)  # type: ignore[arg-type]
            return True
        return False

    def _new_lines(self, path: Path) -> list[bytes]:
        if self._offset >= MAX_OBSERVATION_BYTES:
            return []
        try:
            with path.open("rb") as handle:
                handle.seek(self._offset)
                chunk = handle.read(MAX_OBSERVATION_BYTES - self._offset)
        except OSError:
            return []
        self._offset += len(chunk)
        lines = (self._partial + chunk).split(b"\n")
        self._partial = lines.pop()
        if self._skip_to_newline and lines:
            lines.pop(0)  # the end of a line too long to be a phase line
            self._skip_to_newline = False
        if len(self._partial) > self.MAX_LINE:
            self._partial, self._skip_to_newline = b"", True
        return lines

    def _advance(self, raw: bytes) -> None:
        if not raw.startswith(b'{"kind": "phase"'):  # how the harness's Emitter writes it
            return
        try:
            line = wire.decode_line(raw)
        except WireError:
            return
        if not isinstance(line, PhaseLine):
            return
        key = (line.model, line.phase)
        if key in self._order and self._order.index(key) > self._position:
            self._position, self._since = self._order.index(key), self._clock()


def wire_recipe(recipe: Recipe) -> wire.Recipe:
    return wire.Recipe(optimizer=recipe.optimizer, lr=recipe.lr, epochs=recipe.epochs, batch_size=recipe.batch_size,
                       seeds=recipe.seeds, train_seeds_together=recipe.train_seeds_together)


def build_job(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: Mode,
              files_dir: str, observe: list[str] | None = None) -> wire.Job:
    """The job for one run of the harness. `observe`: the ids of the models still to observe (all when
    None); a run after a hang observes only the models after the one that hung."""
    spec = assignment.spec
    models = []
    for model in spec.models:
        split, recipe = splits[model.id], spec.recipe_for(model)
        models.append(wire.ModelJob(
            id=model.id, class_names=model.class_names, match_methods=model.match_methods, args=model.args,
            hidden_arg=model.structure.hidden_arg, probe_hidden=model.structure.probe_hidden,
            project_method=model.project.method if model.project else None,
            recipe=wire_recipe(recipe),
            budget_s=spec.model_timeout_for(model),  # training stops early on its own within it
            capture=model.captured,
            train_x=split.train_x.tolist(), train_y=split.train_y.tolist(), test_x=split.test_x.tolist(),
            probe_x=probe_inputs(model.args[0]).tolist(),
        ))
    return wire.Job(
        version=wire.VERSION, mode=mode, kind=submission.kind,
        cells=[wire.CodeCell(c.number, c.source) for c in submission.cells], files_dir=files_dir, models=models,
        observe=list(observe) if observe is not None else [model.id for model in spec.models],
    )


def execute(submission: Submission, assignment: LoadedAssignment, mode: Mode | None = None,
            stop: threading.Event | None = None, fork_server: ForkServer | None = None) -> Execution:
    """Run the harness on `submission` in the sandbox: from `fork_server` when one is given and
    works here (a warm start), else in a fresh interpreter.

    Each phase has a budget (`Budgets`). A model whose phase runs past its budget is stopped with a
    `PhaseTimeout`, and a fresh run (the harness loads the submission again) observes the models
    after it; the observations of all runs are merged. The wall clock `timeout_s` bounds all the
    runs together. A hang while loading ends the grading there: a fresh run would hang the same way.
    """
    spec = assignment.spec
    mode = mode or spec.mode
    splits = splits_for(spec)
    limits = _process_limits(assignment)
    budgets = Budgets.of(assignment, mode)
    deadline = time.monotonic() + spec.timeout_s
    observe = [model.id for model in spec.models]
    runs: list[Observations] = []
    timeouts: list[PhaseTimeout] = []
    while True:
        watch = PhaseWatch(observe, budgets)
        left = dataclasses.replace(limits, timeout_s=max(deadline - time.monotonic(), 0.001))
        observations = _execute_once(submission, assignment, splits, mode, left, stop, fork_server, observe, watch)
        runs.append(observations)
        expired = _confirmed(watch.expired, observations)
        if expired is None:
            break
        after = observe[observe.index(expired.model) + 1:] if expired.model is not None else []
        if not after or (stop is not None and stop.is_set()) or deadline - time.monotonic() < MIN_RESTART_S:
            timeouts.append(expired)
            break
        timeouts.append(dataclasses.replace(expired, restarted=True))
        observe = after
    return Execution(observations=_merged(runs, timeouts), splits=splits, mode=mode)


def _execute_once(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: Mode,
                  limits: ProcessLimits, stop: threading.Event | None, fork_server: ForkServer | None,
                  observe: list[str], watch: PhaseWatch) -> Observations:
    # Full mode runs a Jupyter kernel, which needs the job and observations as files: always cold.
    if fork_server is not None and mode == "definitions":
        job = build_job(submission, assignment, splits, mode, FORK_CHILD_FILES, observe)
        try:
            return fork_server.run(wire.encode(job), submission.extra_files, limits,
                                   scrubbed_environment(Path(FORK_CHILD_WORK)), read_observations, stop=stop,
                                   watch=watch)
        except ForkServerUnavailable:
            pass
    return _execute_cold(submission, assignment, splits, mode, limits, stop, observe, watch)


def _confirmed(expired: PhaseTimeout | None, observations: Observations) -> PhaseTimeout | None:
    """The timeout, unless what the phase was to produce came after all (the run ended as the budget
    did), with the class's name when the harness said which class plays the model."""
    if expired is None or observations.finished:
        return None
    if expired.phase in ("construct", "probes") and expired.model in observations.models:
        return None
    if expired.phase == "training" and (expired.model in observations.training or _captured(observations, expired.model)):
        return None
    phase = observations.phases.get(expired.model or "")
    name = phase.class_.name if phase is not None and phase.class_ is not None else None
    return dataclasses.replace(expired, class_name=name)


def _captured(observations: Observations, model: str | None) -> bool:
    """The harness sent the model's graph: its training is the trusted side's, not the run's."""
    capture = observations.captures.get(model or "")
    return capture is not None and capture.failure is None


def _merged(runs: list[Observations], timeouts: list[PhaseTimeout]) -> Observations:
    """One run's observations after another's: each model from the run that observed it. The first run's
    view of the submission (plan, errors while loading, classes) stands; later runs load it again."""
    first, last = runs[0], runs[-1]
    if len(runs) == 1 and not timeouts:
        return first
    merged = dataclasses.replace(
        first, process=_merged_process([run.process for run in runs if run.process is not None]),
        finished=last.finished, models={}, training={}, captures={}, phases={}, timeouts=list(timeouts),
        malformed_lines=sum(run.malformed_lines for run in runs), truncated=any(run.truncated for run in runs),
        duplicate_lines=sum(run.duplicate_lines for run in runs),
    )
    for run in runs:
        for model, line in run.models.items():
            merged.models.setdefault(model, line)
        for model, training in run.training.items():
            merged.training.setdefault(model, training)
        for model, capture in run.captures.items():
            merged.captures.setdefault(model, capture)
        for model, phase in run.phases.items():
            merged.phases.setdefault(model, phase)
    return merged


def _merged_process(outcomes: list[ProcessOutcome]) -> ProcessOutcome | None:
    """The last run's ending, with what any run hit (memory, CPU, processes, output) and all runs' output."""
    if not outcomes:
        return None
    last = outcomes[-1]
    return dataclasses.replace(
        last,
        duration_s=sum(outcome.duration_s for outcome in outcomes),
        stdout="".join(outcome.stdout for outcome in outcomes),
        stderr="".join(outcome.stderr for outcome in outcomes),
        output_truncated=any(outcome.output_truncated for outcome in outcomes),
        oom_killed=any(outcome.oom_killed for outcome in outcomes),
        cpu_exceeded=any(outcome.cpu_exceeded for outcome in outcomes),
        process_limit_hit=any(outcome.process_limit_hit for outcome in outcomes),
    )


def _process_limits(assignment: LoadedAssignment) -> ProcessLimits:
    spec, mb = assignment.spec, 1024 * 1024
    return ProcessLimits(
        timeout_s=spec.timeout_s, output_bytes=spec.limits.output_kb * 1024, cpu_s=spec.limits.cpu_s,
        memory_bytes=spec.limits.memory_mb * mb, processes=spec.limits.processes,
        file_size_bytes=spec.limits.file_size_mb * mb, open_files=spec.limits.open_files,
        tmp_bytes=spec.limits.tmp_mb * mb,
    )


def _execute_cold(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: Mode,
                  limits: ProcessLimits, stop: threading.Event | None, observe: list[str] | None = None,
                  watch: PhaseWatch | None = None) -> Observations:
    workdir = Path(tempfile.mkdtemp(prefix="grader-run-"))
    try:
        files_dir = workdir / "files"
        files_dir.mkdir()
        for name, text in submission.extra_files.items():
            (files_dir / name).write_text(text, encoding="utf-8")
        job = build_job(submission, assignment, splits, mode, str(files_dir), observe)
        (workdir / JOB_FILE).write_text(json.dumps(wire.encode(job)), encoding="utf-8")
        observations = workdir / OBSERVATIONS_FILE
        # -u: what the submission printed reaches the grader even if it is killed a moment later.
        argv = [sys.executable, *isolated_python_flags(), "-u", "-m", "grader.harness", JOB_FILE, OBSERVATIONS_FILE]
        # Only the observations file is writable and comes back; the job and the submission's
        # files are read-only inside, and anything else the submission writes vanishes with the run.
        outcome = run_process(argv, workdir, limits, scrubbed_environment(workdir), isolation=tiers.detect(),
                              outputs=[OBSERVATIONS_FILE],
                              stop=stop, loopback_sockets=mode == "full",
                              watch=(lambda: watch(observations)) if watch is not None else None)
        return read_observations(observations, outcome)
    finally:
        remove_tree(workdir)
