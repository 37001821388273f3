"""Grade one submission end to end: read -> execute in the sandbox -> check -> result."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from grader import __version__
from grader.assignment import LoadedAssignment
from grader.checks import ModelGrader, ModelOutcome
from grader.dataset import IrisTable
from grader.execution import Execution, execute
from grader.i18n import Lang, Messages
from grader.observations import Observations
from grader.result import Incident, Result, Skip, SubmissionInfo
from grader.submission import InvalidSubmission, Submission, read_submission


@dataclass
class Graded:
    """The result JSON and what the report draws from (curves, predictions) beside it."""

    result: Result
    outcomes: dict[str, ModelOutcome] = field(default_factory=dict)


def grade_file(path: Path, assignment: LoadedAssignment, lang: Lang | None = None, mode: str | None = None,
               student_id: str | None = None, table: IrisTable | None = None) -> Graded:
    started = time.perf_counter()
    lang = lang or assignment.spec.lang
    messages = Messages(lang)
    try:
        submission = read_submission(path, student_id)
    except InvalidSubmission as exc:
        return Graded(_invalid_result(path, student_id, assignment, messages, exc, started, mode))
    execution = execute(submission, assignment, mode=mode, table=table)
    return grade_execution(submission, assignment, execution, messages, started)


def grade_execution(submission: Submission, assignment: LoadedAssignment, execution: Execution,
                    messages: Messages, started: float) -> Graded:
    spec = assignment.spec
    observations = execution.observations
    skipped_names = _skipped_names(observations)
    outcomes: dict[str, ModelOutcome] = {}
    checks, metrics = [], {}
    for model in spec.models:
        grader = ModelGrader(model, spec.recipe_for(model), execution.splits[model.id], observations, messages, skipped_names)
        outcome = grader.grade()
        outcomes[model.id] = outcome
        checks += outcome.checks
        metrics[f"{model.id}.{model.metric.name}"] = outcome.metric_value
    result = Result(
        assignment=spec.id,
        grader_version=__version__,
        spec_sha256=assignment.spec_sha256,
        submission=SubmissionInfo(student_id=submission.student_id, file=submission.main_file, sha256=submission.sha256),
        status="graded",
        lang=messages.lang,
        mode=execution.mode,
        score=round(sum(c.score for c in checks), 2),
        max_score=round(sum(c.max_score for c in checks), 2),
        checks=checks,
        metrics=metrics,
        incidents=_incidents(observations, messages, spec.timeout_s),
        notes=[messages.text("note.encoding", encoding=n.split(":", 1)[1]) for n in submission.notes if n.startswith("encoding:")],
        skipped=[Skip(cell=s.cell, line=s.line, text=s.text) for s in (observations.plan.skipped if observations.plan else [])],
        stdout=observations.process.stdout if observations.process else "",
        stderr=observations.process.stderr if observations.process else "",
        seeds=sorted({s for m in spec.models for s in spec.recipe_for(m).seeds}),
        graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 2),
    )
    return Graded(result, outcomes)


def _skipped_names(observations: Observations) -> dict[str, tuple[int, int]]:
    names: dict[str, tuple[int, int]] = {}
    for skipped in observations.plan.skipped if observations.plan else []:
        for name in skipped.names:
            names.setdefault(name, (skipped.cell, skipped.line))
    return names


def _incidents(observations: Observations, messages: Messages, timeout_s: float) -> list[Incident]:
    incidents = []
    process = observations.process
    if process is not None:
        if process.timed_out:
            incidents.append(Incident(kind="timeout", message=messages.text("run.timeout", seconds=timeout_s)))
        elif process.returncode not in (0, None) or not observations.finished:
            incidents.append(Incident(kind="exited", message=messages.text("run.exited", code=process.returncode)))
        if process.output_truncated:
            incidents.append(Incident(kind="output_truncated", message=messages.text("run.output_truncated")))
    if observations.malformed_lines:
        incidents.append(Incident(kind="malformed_observations", message=messages.text("run.malformed", count=observations.malformed_lines)))
    incidents.append(Incident(kind="not_isolated", message=messages.text("run.not_isolated")))
    return incidents


def _file_sha256(path: Path) -> str | None:
    try:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None


def _invalid_result(path: Path, student_id: str | None, assignment: LoadedAssignment, messages: Messages,
                    error: InvalidSubmission, started: float, mode: str | None) -> Result:
    from grader.checks import max_points
    from grader.submission import student_id_for

    return Result(
        assignment=assignment.spec.id,
        grader_version=__version__,
        spec_sha256=assignment.spec_sha256,
        submission=SubmissionInfo(student_id=student_id or student_id_for(Path(path)), file=Path(path).name,
                                  sha256=_file_sha256(Path(path))),
        status="invalid",
        lang=messages.lang,
        mode=mode or assignment.spec.mode,
        score=0.0,
        max_score=round(sum(max_points(m) for m in assignment.spec.models), 2),
        message=messages.text(error.key, **error.params),
        graded_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 2),
    )
