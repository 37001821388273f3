"""The result contract every output (table, report, CSV, LMS export) is built from.

`Result` is the result JSON; `Graded` is a result with what the report draws (each model's curves and
predictions, the submission's code cells) beside it; `for_students` is what a student may see of
either. Depends on nothing of the grader but the spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from grader.spec.schema import Visibility

Status = Literal["passed", "failed", "error", "skipped"]


class CheckResult(BaseModel):
    id: str  # `<model>.<check>`
    model: str
    status: Status
    score: float
    max_score: float
    message: str
    hint: str = ""
    expected: str | None = None
    found: str | None = None
    # Who sees it (`Result.for_students`): a hidden check is graded and shown to instructors only.
    visibility: Visibility = "visible"
    title: str = ""  # an instructor's check's name (the library's are in the catalogue)
    note: str = ""  # for instructors only: the traceback of an instructor's check that raised
    section: str = ""  # the lesson's section the check is about (the spec's `sections`)


class SubmissionInfo(BaseModel):
    student_id: str
    file: str
    sha256: str | None = None


class Incident(BaseModel):
    kind: Literal["timeout", "memory", "cpu_time", "processes", "output_truncated", "exited", "not_isolated",
                  "malformed_observations", "forged_observations", "suspicious_constant", "seed_independent",
                  "grader_fault"]
    message: str


class Skip(BaseModel):
    cell: int
    line: int
    text: str


class CodeError(BaseModel):
    """A top-level statement (or, in full mode, a notebook cell) of the submission that raised."""

    cell: int
    line: int  # of the statement, or of the cell's line the error came from (0: not known)
    text: str  # that line of the student's code
    error: str  # `TypeError: ...`, in one line


class WrittenAnswer(BaseModel):
    """A written question's answer: found by the grader, scored by a person (OUT/review.csv).

    `covered` is provisional (rubric phrases found in the text), never a score. `points` stays None
    until a person sets it; `status` is then `reviewed`.
    """

    id: str
    answer: str = ""  # cut at the question's max_chars
    length: int = 0  # characters of the whole answer found
    found_in: str | None = None  # where: "tag", "heading", "docstring", "file:answer.txt"
    covered: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    status: Literal["pending_review", "reviewed", "missing"] = "pending_review"
    points: float | None = None
    max_points: float = 0.0
    comment: str = ""


class Result(BaseModel):
    assignment: str
    grader_version: str
    spec_sha256: str
    submission: SubmissionInfo
    status: Literal["graded", "invalid", "error"]
    lang: Literal["ja", "en"]
    mode: Literal["definitions", "full"]
    score: float
    max_score: float
    checks: list[CheckResult] = Field(default_factory=list)
    metrics: dict[str, float | None] = Field(default_factory=dict)
    incidents: list[Incident] = Field(default_factory=list)
    # Models graded the old way, inside the sandbox, because they could not be captured as a graph:
    # their scores rest on what the student's process reported (the `capture` check says why).
    unverified: list[str] = Field(default_factory=list)
    # The torch.nn.Module classes the run found in the submission, by name (what a class summary
    # names when none of them is a required model).
    module_classes: list[str] = Field(default_factory=list)
    message: str | None = None  # why an invalid submission could not be graded
    notes: list[str] = Field(default_factory=list)
    skipped: list[Skip] = Field(default_factory=list)
    code_errors: list[CodeError] = Field(default_factory=list)
    # Full mode: packages the submission imported that the sandbox does not have (a stand-in was bound).
    missing_packages: list[str] = Field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    seeds: list[int] = Field(default_factory=list)
    graded_at: str = ""
    reviewed_at: str = ""  # when a person's review last changed the written points (the grade's time then)
    training_s: float = 0.0  # of duration_s, the time the grader's own training took in the sandbox
    duration_s: float = 0.0
    # Written questions. `score`/`max_score` are the automatic score only; the properties below add
    # the points a person gave (see grader/written.py).
    written: list[WrittenAnswer] = Field(default_factory=list)
    # A student's view (`for_students`) of a result with checks not shown yet: its score and maximum
    # are those of the checks shown.
    withheld: bool = False

    @property
    def has_instructor_only(self) -> bool:
        """Something of it is not for students: a check they do not see (yet), or an instructor's note."""
        return any(check.visibility != "visible" or check.note for check in self.checks)

    def for_students(self, past_due: bool) -> Result:
        """What a student may see of this result: no check that is `hidden` (nor, before the due date,
        `after_due_date`), neither its points nor its metric, and no instructor's note."""
        if not self.has_instructor_only:
            return self
        shown = [check for check in self.checks if shown_to_students(check.visibility, past_due)]
        withheld = {check.id for check in self.checks} - {check.id for check in shown}
        return self.model_copy(update={
            "checks": [check.model_copy(update={"note": ""}) for check in shown],
            "score": round(sum(check.score for check in shown), 2),
            "max_score": round(sum(check.max_score for check in shown), 2),
            "metrics": {key: value for key, value in self.metrics.items() if key not in withheld},
            "withheld": self.withheld or bool(withheld)})

    @property
    def written_score(self) -> float:
        return round(sum(w.points or 0.0 for w in self.written if w.status == "reviewed"), 2)

    @property
    def written_max(self) -> float:
        return round(sum(w.max_points for w in self.written), 2)

    @property
    def pending_points(self) -> float:
        return round(sum(w.max_points for w in self.written if w.status != "reviewed"), 2)

    @property
    def total_score(self) -> float:
        return round(self.score + self.written_score, 2)

    @property
    def total_max(self) -> float:
        return round(self.max_score + self.written_max, 2)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)


def shown_to_students(visibility: Visibility, past_due: bool) -> bool:
    return visibility == "visible" or (visibility == "after_due_date" and past_due)


@dataclass(frozen=True)
class Verification:
    """How a model's facts were obtained. `reason`: the harness's reason code for an unverified model
    (`trace`, `not_allowed`, ... or `absent`: no capture line came), or the trusted side's refusal;
    `detail` and `cell`/`line` say what and where."""

    status: Literal["verified", "unverified", "refused"]
    reason: str = ""
    detail: str = ""
    cell: int = 0
    line: int = 0
    student_init: bool = False  # its standard layers' initial values were not PyTorch's defaults
    seed_independent: tuple[str, ...] = ()  # plain parameters that do not change with the seed
    suspicious: str = ""  # a constant of the graph that may carry answers: the metric scores nothing


@dataclass
class ModelOutcome:
    """Everything graded about one model, for the result JSON and the report's plots."""

    checks: list[CheckResult]
    metric_name: str
    metric_value: float | None = None
    per_seed: list[float | None] = field(default_factory=list)
    chosen_seed: int | None = None
    loss_history: list[float | None] | None = None
    predictions: np.ndarray | None = None
    code: np.ndarray | None = None
    class_name: str | None = None
    # The test set's targets and classes, and the data set's names of its classes, for the report's
    # plots (trusted side only).
    test_targets: np.ndarray | None = None
    test_classes: np.ndarray | None = None
    class_names: tuple[str, ...] = ()
    test_inputs: np.ndarray | None = None  # a sequence model's inputs, for its sequence plot
    # Where one output that decides between two classes turns to the second (grader.checks.metrics.class_scores).
    decision_threshold: float | None = None


@dataclass(frozen=True)
class CodeCell:
    """One code cell of the submission (its 1-based position among all cells), for the report's
    quotes of the lines an error points to."""

    number: int
    source: str


@dataclass
class Graded:
    """The result JSON and what the report draws from (curves, predictions) beside it."""

    result: Result
    outcomes: dict[str, ModelOutcome] = field(default_factory=dict)
    cells: tuple[CodeCell, ...] = ()

    def for_students(self, past_due: bool) -> Graded:
        """`Result.for_students`, with what the report would draw of a withheld metric left out (the
        test predictions and the code: a confusion matrix tells the accuracy)."""
        view = self.result.for_students(past_due)
        if view is self.result:
            return self
        shown = {check.id for check in view.checks}
        outcomes = {}
        for model, outcome in self.outcomes.items():
            checks = [check for check in outcome.checks if check.id in shown]
            if f"{model}.{outcome.metric_name}" in shown:
                outcomes[model] = replace(outcome, checks=checks)
            else:
                outcomes[model] = replace(outcome, checks=checks, metric_value=None, per_seed=[], chosen_seed=None,
                                          predictions=None, code=None)
        return Graded(view, outcomes, self.cells)
