"""Submission -> sandboxed harness -> observations.

Builds the job the harness needs (the code cells, and per model its arguments and probe inputs),
runs the harness in the sandbox (forked from a batch worker's warm fork server,
`grader.sandbox.forkserver`, or started cold in a fresh working directory, `grader.sandbox.process`), and reads
back what it observed. A captured model gets no data at all: the trusted side trains and tests its
graph. Only a model the harness could not capture is observed the old way, in a second run whose job
carries its training data and test *inputs*; the test targets never leave this side.

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
from grader.spec import LoadedAssignment, Mode, ModelSpec, Recipe
from grader.spec.datasets import Split
from grader.spec.probe_points import probe_points_for

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
                       seeds=recipe.seeds, train_seeds_together=recipe.train_seeds_together, loss=recipe.loss,
                       momentum=recipe.momentum, nesterov=recipe.nesterov, weight_decay=recipe.weight_decay,
                       schedule=recipe.schedule, step_epochs=recipe.step_epochs, gamma=recipe.gamma,
                       clip_norm=recipe.clip_norm, class_weights=recipe.class_weights)


def build_job(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: Mode,
              files_dir: str, observe: list[str] | None = None, uncaptured: frozenset[str] = frozenset()) -> wire.Job:
    """The job for one run of the harness. `observe`: the ids of the models still to observe (all when
    None); a run after a hang observes only the models after the one that hung. `uncaptured`: the
    captured models whose capture failed, observed and trained the old way (with their data)."""
    spec = assignment.spec
    models = []
    for model in spec.models:
        split, recipe = splits[model.id], spec.recipe_for(model)
        capture = captured_in_job(model, uncaptured)
        no_rows: list[list[float]] = []
        models.append(wire.ModelJob(
            id=model.id, class_names=model.class_names, match_methods=model.match_methods, args=model.args,
            hidden_arg=model.structure.hidden_arg, probe_hidden=model.structure.probe_hidden,
            project_method=model.project.method if model.project else None,
            recipe=wire_recipe(recipe),
            budget_s=spec.model_timeout_for(model),  # training stops early on its own within it
            capture=capture,
            train_x=no_rows if capture else split.train_x.tolist(),
            train_y=no_rows if capture else split.train_y.tolist(),
            test_x=no_rows if capture else split.test_x.tolist(),
            probe_x=probe_points_for(model).tolist(),
            input_shape=list(model.row_shape), output_width=model.output_width,
            keyword_names=list(model.parameter_names) if model.keyword_args else None,
            indices=True if model.inputs == "indices" else None,
        ))
    return wire.Job(
        version=wire.VERSION, mode=mode, kind=submission.kind,
        cells=[wire.CodeCell(c.number, c.source) for c in submission.cells], files_dir=files_dir, models=models,
        observe=list(observe) if observe is not None else [model.id for model in spec.models],
    )


def captured_in_job(model: ModelSpec, uncaptured: frozenset[str]) -> bool:
    """A run's job has the harness capture the model (and train none of it), or observe it the old way."""
    return model.captured and model.id not in uncaptured


def execute(submission: Submission, assignment: LoadedAssignment, mode: Mode | None = None,
            stop: threading.Event | None = None, fork_server: ForkServer | None = None) -> Execution:
    """Run the harness on `submission` in the sandbox: from `fork_server` when one is given and
    works here (a warm start), else in a fresh interpreter.

    Each phase has a budget (`Budgets`). A model whose phase runs past its budget is stopped with a
    `PhaseTimeout`, and a fresh run (the harness loads the submission again) observes the models
    after it; the observations of all runs are merged. The models whose capture failed are then
    observed the old way in one more series of runs. The wall clock `timeout_s` bounds all the runs
    together. A hang while loading ends the grading there: a fresh run would hang the same way.
    """
    spec = assignment.spec
    mode = mode or spec.mode
    runner = _Runner(submission, assignment, assignment.splits(), mode, stop, fork_server,
                     deadline=time.monotonic() + spec.timeout_s)
    runner.series([model.id for model in spec.models], frozenset())
    observations = merged(runner.runs, runner.timeouts)
    uncaptured = [model.id for model in spec.models if model.captured and capture_failed(observations, model.id)]
    if uncaptured and runner.time_left():
        runner.series(uncaptured, frozenset(uncaptured))
        observations = merged(runner.runs, runner.timeouts)
    return Execution(observations=observations, splits=runner.splits, mode=mode)


@dataclass
class _Runner:
    """The runs of one execution, in order, and the phases it stopped."""

    submission: Submission
    assignment: LoadedAssignment
    splits: dict[str, Split]
    mode: Mode
    stop: threading.Event | None
    fork_server: ForkServer | None
    deadline: float
    runs: list[Run] = dataclasses.field(default_factory=list)
    timeouts: list[PhaseTimeout] = dataclasses.field(default_factory=list)

    def time_left(self) -> bool:
        stopped = self.stop is not None and self.stop.is_set()
        return not stopped and self.deadline - time.monotonic() >= MIN_RESTART_S

    def series(self, observe: list[str], uncaptured: frozenset[str]) -> None:
        """Runs that observe `observe` in order: after a model's hang, a fresh run goes on after it."""
        limits = _process_limits(self.assignment)
        budgets = Budgets.of(self.assignment, self.mode)
        while True:
            watch = PhaseWatch(observe, budgets)
            left = dataclasses.replace(limits, timeout_s=max(self.deadline - time.monotonic(), 0.001))
            observations = _execute_once(self.submission, self.assignment, self.splits, self.mode, left, self.stop,
                                         self.fork_server, observe, watch, uncaptured)
            captured = tuple(model.id for model in self.assignment.spec.models
                             if model.id in observe and captured_in_job(model, uncaptured))
            self.runs.append(Run(observations, tuple(observe), captured))
            expired = _confirmed(watch.expired, observations)
            if expired is None:
                return
            after = observe[observe.index(expired.model) + 1:] if expired.model is not None else []
            if not after or not self.time_left():
                self.timeouts.append(expired)
                return
            self.timeouts.append(dataclasses.replace(expired, restarted=True))
            observe = after


def _execute_once(submission: Submission, assignment: LoadedAssignment, splits: dict[str, Split], mode: Mode,
                  limits: ProcessLimits, stop: threading.Event | None, fork_server: ForkServer | None,
                  observe: list[str], watch: PhaseWatch, uncaptured: frozenset[str]) -> Observations:
    # Full mode runs a Jupyter kernel, which needs the job and observations as files: always cold.
    if fork_server is not None and mode == "definitions":
        job = build_job(submission, assignment, splits, mode, FORK_CHILD_FILES, observe, uncaptured)
        try:
            return fork_server.run(wire.encode(job), submission.extra_files, limits,
                                   scrubbed_environment(Path(FORK_CHILD_WORK)), read_observations, stop=stop,
                                   watch=watch)
        except ForkServerUnavailable:
            pass
    return _execute_cold(submission, assignment, splits, mode, limits, stop, observe, watch, uncaptured)


def _confirmed(expired: PhaseTimeout | None, observations: Observations) -> PhaseTimeout | None:
    """The timeout, unless what the phase was to produce came after all (the run ended as the budget
    did), with the class's name when the harness said which class plays the model."""
    if expired is None or observations.finished:
        return None
    if expired.phase in ("construct", "probes") and expired.model in observations.models:
        return None
    if expired.phase == "training" and expired.model in observations.training:
        return None
    phase = observations.phases.get(expired.model or "")
    name = phase.class_.name if phase is not None and phase.class_ is not None else None
    return dataclasses.replace(expired, class_name=name)


def capture_failed(observations: Observations, model: str) -> bool:
    """The harness said why it could not capture the model, and sent no graph. (It trains nothing in
    a run that captures: a training line there is forged, and is no reason to skip the second run,
    whose own training line replaces it.)"""
    capture = observations.captures.get(model)
    return capture is not None and capture.failure is not None


@dataclass(frozen=True)
class Run:
    """One run's observations, the models its job had it observe, and those of them it had captured
    (a run trains none of those: the trusted side does)."""

    observations: Observations
    observe: tuple[str, ...]
    captured: tuple[str, ...]


def merged(runs: list[Run], timeouts: list[PhaseTimeout]) -> Observations:
    """The runs' observations as one: each model's lines from the last run whose job observed it (a
    fresh run after a hang observes the models after it; the second series observes again the models
    whose capture failed), a capture line from the first; a run's lines for a model its job did not
    observe count for nothing, and so does a training line for a model it captured (named in
    `unexpected_training`). The first run's view of the submission (plan, errors while loading,
    classes) stands; later runs load it again."""
    first, last = runs[0].observations, runs[-1].observations
    forged = sorted({model for run in runs for model in run.observations.training if model in run.captured})
    if len(runs) == 1 and not timeouts:
        training = {model: line for model, line in first.training.items() if model not in runs[0].captured}
        return dataclasses.replace(first, training=training, unexpected_training=forged)
    every = [run.observations for run in runs]
    result = dataclasses.replace(
        first, process=_merged_process([run.process for run in every if run.process is not None]),
        finished=last.finished, models={}, training={}, captures={}, phases={}, timeouts=list(timeouts),
        malformed_lines=sum(run.malformed_lines for run in every), truncated=any(run.truncated for run in every),
        duplicate_lines=sum(run.duplicate_lines for run in every), unexpected_training=forged,
    )
    for run in runs:
        lines, observed = run.observations, set(run.observe)
        result.models.update((model, line) for model, line in lines.models.items() if model in observed)
        result.training.update((model, line) for model, line in lines.training.items()
                               if model in observed and model not in run.captured)
        result.phases.update((model, line) for model, line in lines.phases.items() if model in observed)
        for model, capture in lines.captures.items():
            if model in observed:
                result.captures.setdefault(model, capture)
    return result


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
                  watch: PhaseWatch | None = None, uncaptured: frozenset[str] = frozenset()) -> Observations:
    workdir = Path(tempfile.mkdtemp(prefix="grader-run-"))
    try:
        files_dir = workdir / "files"
        files_dir.mkdir()
        for name, text in submission.extra_files.items():
            (files_dir / name).write_text(text, encoding="utf-8")
        job = build_job(submission, assignment, splits, mode, str(files_dir), observe, uncaptured)
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
