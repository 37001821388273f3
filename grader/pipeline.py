"""One submission end to end: intake -> sandboxed run -> observations -> checks -> `Result`.

The one place a `Result` is assembled (graded, invalid, or a grader fault), and the fault barrier
every front end goes through (`grader check`, `grader grade`'s local workers and Dask tasks,
`grader serve`, the Gradescope runner): `grade_safely` and `render_report_safely` turn whatever the
grader itself raises, while grading or while rendering the report, into an `error` result with a
plain message, never a traceback or a stopped batch. KeyboardInterrupt and SystemExit are not caught.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import time
import traceback
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from grader.checks.base import ModelError, ModelEvidence
from grader.checks.checks_file import CheckFunctions
from grader.checks.custom import declaration_problems
from grader.checks.registry import grade_model, max_points, spec_problems
from grader.checks.written import written_answers
from grader.evaluate.evaluator import Evaluator, RunFailed
from grader.evaluate.execute import Execution, execute, wire_recipe
from grader.evaluate.observations import Observations
from grader.evaluate.source_check import class_named_at, classes_defined_in
from grader.evaluate.verify import ModelRunner, model_facts
from grader.i18n import Lang, Messages, overlay_problems
from grader.intake.files import file_sha256, student_id_for
from grader.intake.submission import (
    IntakeLimits,
    InvalidSubmission,
    Submission,
    read_submission,
)
from grader.protocol.wire import CellError, ErrorInfo, ExecError, Failed
from grader.protocol.wire import Recipe as WireRecipe
from grader.result import (
    CodeCell,
    CodeError,
    Graded,
    Incident,
    ModelOutcome,
    Result,
    Skip,
    SubmissionInfo,
    Verification,
)
from grader.sandbox.forkserver import ForkServer
from grader.sandbox.slots import SandboxSlots
from grader.spec import Assignment, LoadedAssignment, Mode, ModelSpec
from grader.spec import load as spec_load
from grader.spec.datasets import Split
from grader.spec.probe_points import probe_points_for
from grader.version import __version__

log = logging.getLogger("grader")
MAX_CODE_ERRORS = 50  # statements that raised, in the result: a notebook of errors shows the first ones


def load_assignment(name_or_path: str, assignments: Sequence[Path] = ()) -> LoadedAssignment:
    """`grader.spec.load_assignment` (`assignments`: the `--assignments` folders, searched first), with
    what the spec says of checks checked against the checks there are (a `points` key or a check no
    check has is an `AssignmentError` naming the key), and its messages against the catalogue."""
    return checked_assignment(spec_load.load_assignment(name_or_path, assignments))


def parse_assignment(raw: bytes, folder: Path, messages: bytes | None = None,
                     checks: bytes | None = None, data_files: Mapping[str, bytes] | None = None) -> LoadedAssignment:
    return checked_assignment(spec_load.parse_assignment(raw, folder, messages, checks, data_files))


def checked_assignment(assignment: LoadedAssignment) -> LoadedAssignment:
    problems = (spec_problems(assignment.spec) + overlay_problems(assignment.messages)
                + declaration_problems(assignment))
    if problems:
        path = assignment.folder / spec_load.SPEC_FILE
        raise spec_load.AssignmentError("\n".join([f"{path}: {len(problems)} problem(s) in the assignment spec",
                                                   *(f"  {problem}" for problem in problems)]))
    return assignment


def grade_safely(path: Path, assignment: LoadedAssignment, lang: Lang | None = None, mode: Mode | None = None,
                 student_id: str | None = None, stop: threading.Event | None = None,
                 fork_server: ForkServer | SandboxSlots | None = None, evaluator: Evaluator | None = None) -> Graded:
    """`grade_file` behind the fault barrier: a fault of the grader becomes an `error` result, and the
    result returned always survives its own JSON (what every front end writes and reads back)."""
    started = time.perf_counter()
    try:
        graded = grade_file(path, assignment, lang=lang, mode=mode, student_id=student_id, stop=stop,
                            fork_server=fork_server, evaluator=evaluator)
        Result.model_validate_json(graded.result.to_json())
        return graded
    except Exception as exc:
        log.debug("grader fault on %s", path, exc_info=True)
        path = Path(path)
        return Graded(grader_fault_result(student_id or student_id_for(path), path.name, assignment, lang, mode,
                                          fault_detail(exc), sha256=file_sha256(path),
                                          duration_s=round(time.perf_counter() - started, 2)))


def render_report_safely(graded: Graded, assignment: LoadedAssignment) -> tuple[Graded, str]:
    """The HTML report, behind the same barrier: when it cannot be rendered, the result becomes an
    `error` (returned with the report of that error), so that no front end writes a result without
    its report."""
    from grader.outputs.report import (
        html as report_html,  # looked up at each call: tests replace render_report
    )
    from grader.pipeline import fault_graded

    try:
        return graded, report_html.render_report(graded, assignment)
    except Exception as exc:
        log.debug("the report of %s could not be rendered", graded.result.submission.student_id, exc_info=True)
        if graded.result.status == "error":  # already a fault: its own message says more than this one
            return graded, report_html.plain_report(graded.result)
        fault = fault_graded(graded.result, assignment, exc)
        try:
            return fault, report_html.render_report(fault, assignment)
        except Exception:
            return fault, report_html.plain_report(fault.result)


@dataclass(frozen=True)
class StudentReports:
    """The reports a student may see of a result that has something only instructors see: before the
    assignment's due date, and after it (the same where it has none)."""

    before_due: str
    after_due: str

    def at(self, past_due: bool) -> str:
        return self.after_due if past_due else self.before_due


def student_reports_safely(graded: Graded, assignment: LoadedAssignment) -> StudentReports | None:
    """The students' reports of `graded` behind the same barrier (None: the instructor's report is
    the students' too, nothing of it is withheld)."""
    if not graded.result.has_instructor_only:
        return None
    _, before = render_report_safely(graded.for_students(past_due=False), assignment)
    if assignment.spec.due is None:
        return StudentReports(before, before)
    _, after = render_report_safely(graded.for_students(past_due=True), assignment)
    return StudentReports(before, after)


def fault_graded(result: Result, assignment: LoadedAssignment, exc: BaseException) -> Graded:
    """`result`'s submission, graded `error` because of `exc` (a fault after grading: the report, the summary)."""
    info = result.submission
    return Graded(grader_fault_result(info.student_id, info.file, assignment, result.lang, result.mode,
                                      fault_detail(exc), sha256=info.sha256, duration_s=result.duration_s))


def fault_detail(exc: BaseException) -> str:
    """The exception in one plain line (a student reads it in the report; no traceback)."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(f"{'.'.join(str(part) for part in error['loc']) or '?'}: {error['msg']}"
                             for error in exc.errors(include_url=False)[:3])
        text = f"{exc.title} did not validate: {problems}"
    else:
        text = "".join(traceback.format_exception_only(type(exc), exc))
    return " ".join(text.split())[:500]


def grade_file(path: Path, assignment: LoadedAssignment, lang: Lang | None = None, mode: Mode | None = None,
               student_id: str | None = None, stop: threading.Event | None = None,
               fork_server: ForkServer | SandboxSlots | None = None, evaluator: Evaluator | None = None) -> Graded:
    """Grade one file. `stop`, when set from another thread, kills the sandboxed run (Ctrl-C in a batch);
    `fork_server` starts the run warm (`SandboxSlots`: the run waits for a slot of a batch's, and its
    fork server), `evaluator` is the trusted evaluation process to use (a batch worker's or a batch's
    `GroupingEvaluator`; without one, a fresh one starts beside the sandboxed run and ends with the grading)."""
    started = time.perf_counter()
    lang = lang or assignment.spec.lang
    messages = Messages(lang, assignment.messages)
    try:
        model_classes = [name for model in assignment.spec.models for name in model.class_names]
        submission = read_submission(path, student_id, intake_limits(assignment), model_classes)
    except InvalidSubmission as exc:
        return Graded(_invalid_result(path, student_id, assignment, messages, exc, started, mode))
    with contextlib.ExitStack() as stack:
        if evaluator is None:  # one submission: its models evaluated two at a time where there are two cores
            evaluator = stack.enter_context(Evaluator(workers=min(2, os.cpu_count() or 1)))
        if any(model.captured for model in assignment.spec.models):
            evaluator.start()  # it imports torch while the sandbox runs
        with fork_server.lease() if isinstance(fork_server, SandboxSlots) else contextlib.nullcontext(fork_server) as server:
            if stop is not None and stop.is_set():  # stopped while it waited for a slot: no run starts
                raise Stopped("the batch was stopped before this submission ran")
            execution = execute(submission, assignment, mode=mode, stop=stop, fork_server=server)
        return grade_execution(submission, assignment, execution, messages, started, evaluator)


class Stopped(Exception):
    """The grading was stopped (Ctrl-C in a batch) before its sandboxed run began."""


def intake_limits(assignment: LoadedAssignment) -> IntakeLimits:
    limits = assignment.spec.limits
    return IntakeLimits.from_mb(limits.zip_members, limits.zip_total_mb)


def grade_execution(submission: Submission, assignment: LoadedAssignment, execution: Execution,
                    messages: Messages, started: float, evaluator: Evaluator | None = None) -> Graded:
    """The checks and the result of one run's observations (`evaluator`: as `grade_file` says)."""
    if evaluator is None:
        with Evaluator() as own:
            return grade_execution(submission, assignment, execution, messages, started, own)
    spec = assignment.spec
    observations = execution.observations
    if not observations.started:
        # The harness writes "started" before any student code runs: without it the sandbox or the
        # harness itself failed, which is the grader's fault, not the student's.
        return Graded(_fault_result(submission, assignment, execution, messages, started), cells=_code_cells(submission))
    skipped_names = _skipped_names(observations)
    outcomes: dict[str, ModelOutcome] = {}
    checks, metrics = [], {}
    trainings = []
    verifications: dict[str, Verification | None] = {}
    def evidence_of(model: ModelSpec) -> ModelEvidence:
        return model_evidence(observations, submission, model.id, skipped_names, assignment,
                              execution.splits[model.id], evaluator)

    # Each model's graph is evaluated on its own: with more than one worker, several at a time.
    with ThreadPoolExecutor(max_workers=evaluator.parallel_models, thread_name_prefix="evidence") as threads:
        evidences = list(threads.map(evidence_of, spec.models))
    functions = CheckFunctions.load(assignment)  # the instructor's checks.py, afresh for this submission
    for model, evidence in zip(spec.models, evidences, strict=True):
        outcome = grade_model(assignment, model, execution.splits[model.id], evidence, messages, functions)
        trainings.append(evidence.training)
        verifications[model.id] = evidence.verification
        outcomes[model.id] = outcome
        checks += outcome.checks
        # An MSE that overflowed (huge, finite predictions) is no value: the JSON could not hold it.
        metrics[f"{model.id}.{model.metric.name}"] = _finite_or_none(outcome.metric_value)
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
        incidents=(_incidents(observations, messages, spec.timeout_s) + _graph_incidents(verifications, messages)
                   + _unexpected_lines(observations, spec, messages)),
        unverified=[model for model, v in verifications.items() if v is not None and v.status == "unverified"],
        module_classes=[found.name for found in observations.classes],
        notes=[messages.text("note.encoding", encoding=n.split(":", 1)[1]) for n in submission.notes if n.startswith("encoding:")],
        skipped=[Skip(cell=s.cell, line=s.line, text=s.text) for s in (observations.plan.skipped if observations.plan else [])],
        code_errors=_code_errors(observations, submission),
        missing_packages=list(observations.missing_packages),
        stdout=observations.process.stdout if observations.process else "",
        stderr=observations.process.stderr if observations.process else "",
        seeds=sorted({s for m in spec.models for s in spec.recipe_for(m).seeds}),
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        training_s=round(sum(run.seconds for line in trainings if line is not None for run in line.runs), 2),
        duration_s=round(time.perf_counter() - started, 2),
        written=written_answers(submission, assignment),  # found and matched here, scored by a person
    )
    return Graded(result, outcomes, _code_cells(submission))


def model_evidence(observations: Observations, submission: Submission, model_id: str,
                   skipped_names: dict[str, tuple[int, int]], assignment: LoadedAssignment,
                   split: Split, evaluator: Evaluator) -> ModelEvidence:
    """What the checks of one model are handed: the facts the trusted side computed on its captured
    graph, or (unverified) what the run observed of it."""
    timeout = next((t for t in observations.timeouts if t.model == model_id), None)
    if timeout is None and observations.models.get(model_id) is None:
        # The loading of the submission ran past its budget, in the run that was to observe this model.
        timeout = next((t for t in observations.timeouts if t.phase == "load"), None)
    spec = assignment.spec
    model = next(m for m in spec.models if m.id == model_id)
    recipe = spec.recipe_for(model)
    facts = model_facts(observations, submission, model_id, wire_recipe(recipe), split, probe_points_for(model),
                        spec.model_timeout_for(model), evaluator, keep_student_init=recipe.init == "student",
                        max_constant=spec.limits.graph_constant_numbers, captured=model.captured)
    return ModelEvidence(
        observation=facts.observation, training=facts.training, verification=facts.verification,
        construct_phase=observations.phases.get(model_id), timeout=timeout, run_finished=observations.finished,
        plan_problems=tuple(observations.plan.problems) if observations.plan else (),
        class_errors=_class_errors_of(model, observations, submission, spec),
        skipped_names=skipped_names, runner=RunnerForChecks(facts.runner) if facts.runner is not None else None,
    )


@dataclass(frozen=True)
class RunnerForChecks:
    """A verified graph's runner as the checks use it (`grader.checks.base.GraphRunner`): what the
    evaluation could not run is the model's `ModelError`."""

    runner: ModelRunner

    @property
    def recipe(self) -> WireRecipe:
        return self.runner.recipe

    def outputs(self, inputs: list[np.ndarray], trained: bool, seed: int) -> list[np.ndarray]:
        try:
            return self.runner.outputs(inputs, trained, seed)
        except RunFailed as exc:
            raise ModelError(str(exc)) from None


def _finite_or_none(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _fault_result(submission: Submission, assignment: LoadedAssignment, execution: Execution, messages: Messages,
                  started: float) -> Result:
    process = execution.observations.process
    detail = (process.stderr.strip().splitlines() or ["?"])[-1] if process else "?"
    return grader_fault_result(submission.student_id, submission.main_file, assignment, messages.lang, execution.mode,
                               detail, sha256=submission.sha256, duration_s=round(time.perf_counter() - started, 2))


def _code_cells(submission: Submission) -> tuple[CodeCell, ...]:
    return tuple(CodeCell(cell.number, cell.source) for cell in submission.cells)


def _skipped_names(observations: Observations) -> dict[str, tuple[int, int]]:
    names: dict[str, tuple[int, int]] = {}
    for skipped in observations.plan.skipped if observations.plan else []:
        for name in skipped.names:
            names.setdefault(name, (skipped.cell, skipped.line))
    return names


def _code_errors(observations: Observations, submission: Submission) -> list[CodeError]:
    """Every top-level statement that raised, and in full mode every cell, at the student's line."""
    sources = {cell.number: cell.source.splitlines() for cell in submission.cells}

    def text_at(cell: int, line: int) -> str:
        lines = sources.get(cell, [])
        return lines[line - 1].strip()[:200] if 0 < line <= len(lines) else ""

    def one_line(error: ErrorInfo) -> str:
        return f"{error.type}: {error.message}".strip().rstrip(":").splitlines()[0][:300]

    found = [CodeError(cell=e.cell, line=e.line, text=text_at(e.cell, e.line), error=one_line(e.error))
             for e in observations.exec_errors]
    for cell_error in observations.cell_errors:
        line = _line_in_cell(cell_error)
        found.append(CodeError(cell=cell_error.cell, line=line, text=text_at(cell_error.cell, line),
                               error=one_line(cell_error.error)))
    return found[:MAX_CODE_ERRORS]


def _class_errors_of(model: ModelSpec, observations: Observations, submission: Submission,
                     spec: Assignment) -> tuple[ExecError, ...]:
    """The class statements that raised and belong to `model`: its own class's, and those of classes
    no model of the assignment is named after (a renamed model, or a helper it may use); never
    another model's (a NameError in class MLPC is MLPC's, not MLR's)."""
    others = {name for other in spec.models if other.id != model.id for name in other.class_names} - set(model.class_names)
    statements = [error for error in observations.exec_errors if error.statement == "class"
                  and class_named_at(submission, error.cell, error.line) not in others]
    # Full mode: a cell that raised, where it defines a class of this model's (or of no model's).
    cells = [ExecError(cell=error.cell, line=_line_in_cell(error), statement="cell", error=error.error)
             for error in observations.cell_errors if classes_defined_in(submission, error.cell) - others]
    return tuple(statements + cells)


def _line_in_cell(error: CellError) -> int:
    """The innermost line of the cell that raised, among the error's frames (0: none there)."""
    return next((frame.line for frame in reversed(error.error.frames) if frame.cell == error.cell), 0)


def _unexpected_lines(observations: Observations, spec: Assignment, messages: Messages) -> list[Incident]:
    """A capture line for a model the spec does not have captured, a training line from a run that
    captured the model: the harness writes neither."""
    captured = {model.id for model in spec.models if model.captured}
    unexpected = sorted(set(observations.captures) - captured)
    incidents = []
    if unexpected:
        incidents.append(Incident(kind="forged_observations", message=messages.text(
            "run.unexpected_capture", models=", ".join(unexpected[:10]))))
    if observations.unexpected_training:
        incidents.append(Incident(kind="forged_observations", message=messages.text(
            "run.unexpected_training", models=", ".join(observations.unexpected_training[:10]))))
    return incidents


def _graph_incidents(verifications: dict[str, Verification | None], messages: Messages) -> list[Incident]:
    """What the trusted side found in the captured graphs: a graph the source does not define, a
    tensor that may carry answers, initial values that do not depend on the seed."""
    incidents = []
    for model, verification in verifications.items():
        if verification is None:
            continue
        if verification.status == "refused" and verification.reason == "not_in_source":
            incidents.append(Incident(kind="forged_observations", message=messages.text(
                "run.not_in_source", model=model, detail=verification.detail)))
        if verification.suspicious:
            incidents.append(Incident(kind="suspicious_constant", message=messages.text(
                "run.suspicious_constant", model=model, detail=verification.suspicious)))
        if verification.seed_independent:
            incidents.append(Incident(kind="seed_independent", message=messages.text(
                "run.seed_independent", model=model, names=", ".join(verification.seed_independent[:5]))))
    return incidents


def _incidents(observations: Observations, messages: Messages, timeout_s: float) -> list[Incident]:
    incidents = []
    process = observations.process
    if process is not None:
        if process.launch_failed and not observations.started:
            error = (process.stderr.strip().splitlines() or ["?"])[-1][:300]
            incidents.append(Incident(kind="grader_fault", message=messages.text("run.sandbox_failed", error=error)))
        if process.timed_out:
            incidents.append(Incident(kind="timeout", message=messages.text("run.timeout", seconds=timeout_s)))
        incidents += _phase_timeouts(observations, messages)
        if process.oom_killed:  # the cgroup's counter: student code cannot fake or hide it
            limit_mb = round((process.memory_limit_bytes or 0) / 2**20)
            incidents.append(Incident(kind="memory", message=messages.text("run.memory", limit_mb=limit_mb)))
        if process.cpu_exceeded and not process.timed_out:
            incidents.append(Incident(kind="cpu_time", message=messages.text("run.cpu_time", seconds=process.cpu_limit_s or 0)))
        # A run the grader itself ended at a phase's budget did not exit: its timeout says why it ended.
        ended_at_a_budget = bool(observations.timeouts) and process.returncode is None
        if (not (process.timed_out or process.oom_killed or process.cpu_exceeded or process.launch_failed
                 or ended_at_a_budget)
                and (process.returncode not in (0, None) or not observations.finished)):
            incidents.append(Incident(kind="exited", message=messages.text("run.exited", code=process.returncode)))
        if process.process_limit_hit:
            incidents.append(Incident(kind="processes", message=messages.text("run.processes", limit=process.process_limit or "?")))
        if process.output_truncated:
            incidents.append(Incident(kind="output_truncated", message=messages.text("run.output_truncated")))

    # One huge allocation fails inside the sandbox (RLIMIT_DATA) instead of killing it.
    errors = [e.error for e in observations.exec_errors] + [e.error for e in observations.cell_errors]
    for line in observations.models.values():
        for value in (line.construction, line.forward, line.forward_one, line.probe, line.grad_flow, line.hidden_probe, line.project):
            if isinstance(value, Failed):
                errors.append(value.error)
    for training in observations.training.values():
        errors += [run.error for run in training.runs if run.error is not None]
    if not (process and process.oom_killed) and any(
            e.type == "MemoryError" or "allocate memory" in e.message for e in errors):
        incidents.append(Incident(kind="memory", message=messages.text("run.memory_error")))
    if observations.duplicate_lines:
        incidents.append(Incident(kind="forged_observations",
                                  message=messages.text("run.duplicate_lines", count=observations.duplicate_lines)))
    if observations.malformed_lines:
        incidents.append(Incident(kind="malformed_observations", message=messages.text("run.malformed", count=observations.malformed_lines)))
    if process is None or not process.isolated:
        reason = "; ".join(process.isolation_notes) if process is not None and process.isolation_notes else "?"
        incidents.append(Incident(kind="not_isolated", message=messages.text("run.not_isolated_fallback", reason=reason)))
    return incidents


def _phase_timeouts(observations: Observations, messages: Messages) -> list[Incident]:
    """A `timeout` incident for each phase the grader stopped at its budget, naming the model and the phase."""
    incidents = []
    for timeout in observations.timeouts:
        if timeout.model is None:
            incidents.append(Incident(kind="timeout", message=messages.text("run.load_timeout", seconds=timeout.budget_s)))
            continue
        after = messages.text("run.model_timeout.restarted") if timeout.restarted else ""
        incidents.append(Incident(kind="timeout", message=messages.text(
            f"run.model_timeout.{timeout.phase}", model=timeout.model, name=timeout.class_name or timeout.model,
            seconds=timeout.budget_s, after=after)))
    return incidents


def grader_fault_result(student_id: str, file_name: str, assignment: LoadedAssignment, lang: Lang | None,
                        mode: Mode | None, detail: str, sha256: str | None = None, duration_s: float = 0.0) -> Result:
    """The result of a submission the grader itself failed on: `error`, never the student's fault."""
    messages = Messages(lang or assignment.spec.lang, assignment.messages)
    return Result(
        assignment=assignment.spec.id, grader_version=__version__, spec_sha256=assignment.spec_sha256,
        submission=SubmissionInfo(student_id=student_id, file=file_name, sha256=sha256), status="error", lang=messages.lang,
        mode=mode or assignment.spec.mode, score=0.0,
        max_score=round(sum(max_points(assignment.spec, m) for m in assignment.spec.models), 2),
        message=messages.text("run.grader_fault", error=detail[:500]),
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=duration_s,
    )


def _invalid_result(path: Path, student_id: str | None, assignment: LoadedAssignment, messages: Messages,
                    error: InvalidSubmission, started: float, mode: Mode | None) -> Result:
    return Result(
        assignment=assignment.spec.id,
        grader_version=__version__,
        spec_sha256=assignment.spec_sha256,
        submission=SubmissionInfo(student_id=student_id or student_id_for(Path(path)), file=Path(path).name,
                                  sha256=file_sha256(Path(path))),
        status="invalid",
        lang=messages.lang,
        mode=mode or assignment.spec.mode,
        score=0.0,
        max_score=round(sum(max_points(assignment.spec, m) for m in assignment.spec.models), 2),
        message=messages.text(error.key, **error.params),
        graded_at=datetime.now(UTC).isoformat(timespec="seconds"),
        duration_s=round(time.perf_counter() - started, 2),
        written=written_answers(None, assignment),
    )
