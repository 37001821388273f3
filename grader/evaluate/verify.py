"""Which facts of a model the checks are handed: those the trusted side computed on its captured
graph (verified), or, where the harness could not capture it, those the harness observed
(unverified, and marked so everywhere), or none beyond its construction (a graph that does not
validate: refused)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from grader.evaluate.evaluator import Evaluator
from grader.evaluate.observations import Observations
from grader.evaluate.source_check import class_problem, graph_problem
from grader.intake.submission import Submission
from grader.protocol.wire import Capture, ModelObservation, Recipe, Training
from grader.result import Verification
from grader.spec.datasets import Split

# The model's phase budget stops student code that hangs; a validated graph's training is bounded by
# its sizes, and a busy machine must not cost a student the metric: it gets at least this long.
MIN_TRUSTED_BUDGET_S = 60.0


@dataclass(frozen=True)
class ModelRunner:
    """A verified model's captured graph, to be run on the batches an instructor's check makes: in
    the trusted evaluation process, with the model's recipe, training rows and budget."""

    evaluator: Evaluator
    capture: Capture
    recipe: Recipe
    data: dict[str, np.ndarray]
    budget_s: float
    keep_student_init: bool

    def outputs(self, inputs: list[np.ndarray], trained: bool, seed: int) -> list[np.ndarray]:
        """Raises `grader.evaluate.evaluator.RunFailed` (the model's failure, or the evaluation's)."""
        return self.evaluator.run(self.capture, self.recipe, self.data, inputs, trained, seed, self.budget_s,
                                  self.keep_student_init)


@dataclass(frozen=True)
class ModelFacts:
    observation: ModelObservation | None
    training: Training | None
    verification: Verification | None  # None: the model was never constructed (nothing to capture)
    runner: ModelRunner | None = None  # a verified model's graph, for the instructor's checks


def model_facts(observations: Observations, submission: Submission, model_id: str, recipe: Recipe, split: Split,
                probe_x: np.ndarray, budget_s: float, evaluator: Evaluator, keep_student_init: bool = False,
                max_constant: int = 256, captured: bool = True) -> ModelFacts:
    """`captured`: the spec has the model captured (else it is graded the old way, and no
    verification is said of it; a capture line for it is forged, and counted as such elsewhere)."""
    claimed = observations.models.get(model_id)
    capture = observations.captures.get(model_id) if captured else None
    if not captured:
        return ModelFacts(claimed, observations.training.get(model_id), None)
    if claimed is not None and claimed.class_ is not None:
        # Observations of a class the file does not define are forged, whatever path they take.
        mismatch = class_problem(submission, claimed.class_)
        if mismatch is not None:  # nothing of it counts: the model is not defined
            return ModelFacts(None, None, Verification("refused", "not_in_source", mismatch))
    if capture is None or capture.failure is not None:
        training = observations.training.get(model_id)
        if capture is None and (claimed is None or training is None):
            return ModelFacts(claimed, training, None)  # not constructed, or stopped before its training
        failure = capture.failure if capture is not None else None
        unverified = Verification("unverified", failure.reason if failure else "absent",
                                  failure.detail if failure else "", failure.cell if failure else 0,
                                  failure.line if failure else 0)
        return ModelFacts(claimed, training, unverified)
    assert capture.graph is not None  # a capture line has a graph or a failure (wire)
    # The class (when the observations name one) was checked above; a graph needs one, in the source.
    mismatch = (class_problem(submission, None) if claimed is None or claimed.class_ is None
                else graph_problem(submission, capture.graph))
    if mismatch is not None:
        return ModelFacts(claimed, None, Verification("refused", "not_in_source", mismatch))
    data: dict[str, Any] = {"train_x": split.train_x, "train_y": split.train_y, "test_x": split.test_x,
                            "probe_x": probe_x}
    if split.indices:  # an embedding's inputs: the trusted side runs the graph on whole numbers
        data["input_dtype"] = "int64"
    evaluated = evaluator.evaluate(capture, claimed, recipe, data, max(budget_s, MIN_TRUSTED_BUDGET_S),
                                   keep_student_init, max_constant)
    if evaluated.error:
        cell, line = evaluated.where
        return ModelFacts(claimed, None, Verification("refused", "invalid_graph", evaluated.error, cell, line))
    budget = max(budget_s, MIN_TRUSTED_BUDGET_S)
    return ModelFacts(evaluated.observation, evaluated.training,
                      Verification("verified", student_init=evaluated.student_init,
                                   seed_independent=evaluated.seed_independent, suspicious=evaluated.suspicious),
                      ModelRunner(evaluator, capture, recipe, data, budget, keep_student_init))
