"""One grading session inside the sandbox: load the submission, then observe each model in turn."""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from grader.harness.loader import ClassHistory, ClassRecord, run_plan
from grader.harness.protocol import Emitter
from grader.harness.source import plan_cells

MODULE_NAME = "__main__"


def prepare_process(job: dict[str, Any]) -> None:
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
    if job.get("files_dir"):
        sys.path.append(job["files_dir"])


def load_submission(job: dict[str, Any], emitter: Emitter) -> tuple[dict[str, Any], ClassHistory]:
    plan = plan_cells([(c["number"], c["source"]) for c in job["cells"]], job["mode"])
    emitter.emit(
        "plan",
        executed=len(plan.statements),
        skipped=[vars(s) for s in plan.skipped][:500],
        problems=[vars(p) for p in plan.problems][:100],
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


@contextmanager
def probes_marked(emitter: Emitter, model_id: str) -> Iterator[None]:
    """Emit the `probes` phase line when the first forward pass is traced.

    `probes.observe_model` builds the instance and probes it in one call; its first traced forward
    comes right after the constructor has returned a module, so that is where construction ends
    and the probes begin (a hang in either then gets the right name).
    """
    from grader.harness import probes

    traced = probes.record_layers
    marked = False

    def record_layers(*args: Any, **kwargs: Any) -> Any:
        nonlocal marked
        if not marked:
            marked = True
            emitter.emit("phase", phase="probes", model=model_id)
        return traced(*args, **kwargs)

    probes.record_layers = record_layers
    try:
        yield
    finally:
        probes.record_layers = traced


def observe_models(job: dict[str, Any], namespace: dict[str, Any], history: ClassHistory, emitter: Emitter) -> None:
    """Observe the job's models in order; `observe` (when present) names the ones still to observe, after a
    run that hung on an earlier one. Every model still takes part in choosing the classes, so that each
    model is played by the same class as in the first run."""
    from grader.harness.probes import choose_classes, observe_model
    from grader.harness.training import train_model

    emitter.emit("classes", classes=[r.describe() for r in history.records][:100])
    choices = choose_classes(job["models"], history.records)
    observe = job.get("observe")
    for model in job["models"]:
        if observe is not None and model["id"] not in observe:
            continue
        choice = choices[model["id"]]
        described = {**choice[0].describe(), "matched_by": choice[1]} if choice else None
        # Before each phase, a line the grader times the phase by (it ends the run past the budget).
        emitter.emit("phase", phase="construct", model=model["id"], **{"class": described})
        with bound_as_defined(namespace, choice[0] if choice else None):
            with probes_marked(emitter, model["id"]):
                observation = observe_model(model, choice)
            emitter.emit("model", **observation)
            if choice is not None and "construct" in observation and "error" not in observation["construct"]:
                emitter.emit("phase", phase="training", model=model["id"])
                # The same budget as the grader's: training gives up on its own where it can.
                runs = train_model(model, choice[0], time.monotonic() + model["budget_s"])
                emitter.emit("training", model=model["id"], runs=runs)


def run_session(job: dict[str, Any], emitter: Emitter) -> None:
    prepare_process(job)
    emitter.emit("phase", phase="load")
    namespace, history = load_submission(job, emitter)
    observe_models(job, namespace, history, emitter)
