"""One grading session inside the sandbox: load the submission, then observe each model in turn."""

from __future__ import annotations

import os
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from grader.harness.emit import Emitter, innermost_cell_line
from grader.harness.loader import ClassHistory, ClassRecord, run_plan
from grader.harness.source import cell_filename, plan_cells
from grader.protocol.wire import (
    Capture,
    Classes,
    Job,
    MissingPackage,
    ModelObservation,
    PhaseLine,
    Plan,
    Training,
)

MODULE_NAME = "__main__"


def prepare_process(job: Job) -> None:
    """Deterministic (one thread, seeded generators), no display; the submission's helper files importable."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import torch

    # One thread on the CPU makes every kernel deterministic. torch.use_deterministic_algorithms adds
    # nothing here (it guards CUDA kernels) and costs ~0.8 s of imports per submission.
    torch.set_num_threads(1)
    # The submission's own top-level code may draw random numbers (a layer built at module level, a
    # notebook's training): from fixed seeds, the same draws on every run, cold or warm.
    random.seed(0)
    torch.manual_seed(0)
    numpy = sys.modules.get("numpy")  # torch loads NumPy where it is installed
    if numpy is not None:
        numpy.random.seed(0)
    if job.files_dir:
        sys.path.append(job.files_dir)
    warnings.showwarning = _at_the_students_line(warnings.showwarning)


GRADER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _at_the_students_line(show: Callable[..., None]) -> Callable[..., None]:
    """A warning torch attributes to the grader's frame that called it (`stacklevel=2` from inside
    the layer recorder's TorchFunctionMode) is shown at the student's innermost line on the stack."""

    def shown(message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None,
              line: str | None = None) -> None:
        if os.path.abspath(filename).startswith(GRADER_DIR + os.sep):
            cell, at = innermost_cell_line(sys._getframe(1))
            if cell:
                filename, lineno, line = cell_filename(cell), at, ""
        show(message, category, filename, lineno, file, line)

    return shown


def load_submission(job: Job, emitter: Emitter) -> tuple[dict[str, Any], ClassHistory]:
    plan = plan_cells([(c.number, c.source) for c in job.cells], job.mode)
    emitter.emit(
        Plan,
        executed=len(plan.statements),
        skipped=plan.skipped[:500],
        problems=plan.problems[:100],
    )
    namespace: dict[str, Any] = {"__name__": MODULE_NAME, "__builtins__": __builtins__}
    history = ClassHistory(MODULE_NAME)
    run_plan(plan, namespace, history, emitter)
    return namespace, history


@contextmanager
def bound_as_defined(namespace: dict[str, Any], record: ClassRecord | None) -> Iterator[None]:
    """Bind the class's name to this very class while it is graded.

    The lesson redefines `MLPR`; the first definition's `super(MLPR, self)` looks the name up at
    call time and would find the second class. While the first is graded, the name means it again.
    """
    if record is None:
        yield
        return
    missing = object()
    previous = namespace.get(record.name, missing)
    namespace[record.name] = record.cls
    try:
        yield
    finally:
        if previous is missing:
            namespace.pop(record.name, None)
        else:
            namespace[record.name] = previous


def observe_models(job: Job, namespace: dict[str, Any], history: ClassHistory, emitter: Emitter) -> None:
    """Observe the job's models in order, those `job.observe` names (a run after a hang skips the
    ones before it). Every model still takes part in choosing the classes, so that each model is
    played by the same class as in the first run.

    Before each phase a phase line goes out, which the grader times the phase by (it ends the run
    when the phase passes its budget): construction, then the probes (from the first traced forward
    pass on, once the constructor has returned a module; for a captured model, its capture), then
    the training (not for a captured model: the trusted side trains it)."""
    from grader.harness.capture import capture_model
    from grader.harness.probes import as_built, candidates, choose_classes, observe_model
    from grader.harness.training import train_model

    emitter.emit(Classes, classes=[r.describe() for r in history.records][:100])
    choices = choose_classes(job.models, history.records)
    chosen = {id(choice[0].cls) for choice in choices.values() if choice is not None}
    for model in job.models:
        if model.id not in job.observe:
            continue
        choice = choices[model.id]
        described = {**choice[0].describe(), "matched_by": choice[1]} if choice else None
        emitter.emit(PhaseLine, phase="construct", model=model.id, **{"class": described})
        with bound_as_defined(namespace, choice[0] if choice else None):
            observation = observe_model(model, choice, on_probes=lambda: emitter.emit(PhaseLine, phase="probes",
                                                                                      model=model.id))
            if choice is None:
                observation["candidates"] = candidates(model, history.records, chosen)
            model = as_built(model, observation)
            built = "construct" in observation and "error" not in observation["construct"]
            record = choice[0] if choice is not None and built else None  # the class, where it built a module
            if model.capture:
                # The capture is a captured model's probes (the trusted side probes, trains and tests
                # the graph; this job has no data for it): the observation follows it, as it follows
                # the probes. Where the capture fails, a second run observes the model the old way.
                if record is not None:
                    emitter.emit(PhaseLine, phase="probes", model=model.id)
                    emitter.emit(Capture, **capture_model(model, record.cls))
                emitter.emit(ModelObservation, **observation)
                continue
            emitter.emit(ModelObservation, **observation)
            if record is not None:
                emitter.emit(PhaseLine, phase="training", model=model.id)
                # The same budget as the grader's: training gives up on its own where it can.
                runs = train_model(model, record, time.monotonic() + model.budget_s)
                emitter.emit(Training, model=model.id, runs=runs)


def run_session(job: Job, emitter: Emitter) -> None:
    prepare_process(job)
    if job.mode == "full":  # definitions mode binds a proxy that imports on first use instead
        from grader.harness import stand_ins

        stand_ins.install(lambda package: emitter.emit(MissingPackage, name=package))
    emitter.emit(PhaseLine, phase="load")
    namespace, history = load_submission(job, emitter)
    observe_models(job, namespace, history, emitter)
