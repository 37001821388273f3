"""The class summary, `OUT/index.html`: score distribution, pass rate per check, a sortable table of
students linking to their reports, and the submissions that need a person.

Built from the list of `Result`s alone (what `grade_batch` keeps), so it can be rebuilt from
`OUT/results/*.json`. Same rules as the student report: autoescaped, no request leaves the page,
the one script is allowed by its hash.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from grader.checks.registry import check_names
from grader.i18n import CATALOGUE, Lang, Messages
from grader.outputs.report import plots
from grader.outputs.report.html import check_name, content_security_policy, environment
from grader.outputs.similarity import SimilarPair
from grader.result import CheckResult, Result
from grader.spec import LoadedAssignment
from grader.version import __version__

# A pass rate below this is marked as an idea the class has missed.
LOW_PASS_RATE = 0.6
# An MSE this many times below the full-credit threshold is worth a person's look: the reference
# solutions sit at about half the threshold, and a model that looks answers up scores near zero.
TOO_GOOD_FACTOR = 10.0


@dataclass
class CheckRate:
    id: str
    model_id: str
    model: str
    name: str
    idea: str
    passed: int
    graded: int
    mean_points: float | None
    max_points: float

    @property
    def rate(self) -> float | None:
        return self.passed / self.graded if self.graded else None

    @property
    def low(self) -> bool:
        return self.rate is not None and self.rate < LOW_PASS_RATE


@dataclass
class StudentRow:
    result: Result
    href: str
    status: str
    model_points: dict[str, float | None]
    reasons: list[str] = field(default_factory=list)


def report_href(student_id: str, instructors: bool = False) -> str:
    """The link to a student's report: the students' view, or the instructor's where it differs."""
    return f"reports/{quote(student_id, safe='')}{INSTRUCTOR_SUFFIX if instructors else '.html'}"


INSTRUCTOR_SUFFIX = ".instructor.html"


def instructor_report_path(report: Path) -> Path:
    """Where the instructor's report of `report` (the students' view) is, where they differ."""
    return report.with_name(report.name.removesuffix(".html") + INSTRUCTOR_SUFFIX)


def attention_reasons(result: Result, assignment: LoadedAssignment, messages: Messages) -> list[str]:
    """Why a person should look at this submission; empty when nothing stands out."""
    reasons: list[str] = []
    if result.status == "invalid":
        reasons.append(messages.text("attention.invalid", message=result.message or ""))
    elif result.status == "error":
        reasons.append(messages.text("attention.error", message=result.message or ""))
    for incident in result.incidents:
        if incident.kind != "not_isolated":
            key = f"incident.{incident.kind}"
            kind = messages.text(key) if key in CATALOGUE else incident.kind
            reasons.append(messages.text("attention.incident", kind=kind, message=incident.message))
    if result.status == "graded":
        defined = [c for c in result.checks if c.id.endswith(".defined")]
        if defined and all(c.status != "passed" for c in defined):
            reasons.append(_no_model_reason(defined, result.module_classes, messages))
        for model in assignment.spec.models:
            value = result.metrics.get(f"{model.id}.{model.metric.name}")
            if model.metric.kind == "mse" and value is not None and value < model.metric.full_credit / TOO_GOOD_FACTOR:
                reasons.append(messages.text("attention.too_good", model=model.title.get(messages.lang, model.id),
                                             value=f"{value:.3g}", full=f"{model.metric.full_credit:g}"))
        # An unverified model that earned nothing past its definition has no score to doubt.
        doubtful = [model for model in result.unverified
                    if any(c.model == model and c.score > 0 and not c.id.endswith(".defined") for c in result.checks)]
        if doubtful:
            reasons.append(messages.text("attention.unverified", models=", ".join(doubtful)))
        if result.score < 0 or result.score > result.max_score + 1e-9:
            reasons.append(messages.text("attention.bad_score", score=f"{result.score:g}", max=f"{result.max_score:g}"))
    return reasons


def _no_model_reason(defined: list[CheckResult], module_classes: list[str], messages: Messages) -> str:
    """Why no model was graded: classes that were found and did not build, classes under other
    names than the assignment's, or no model class at all (perhaps the wrong file)."""
    unbuilt = list(dict.fromkeys(c.found for c in defined if c.found and c.found != "—"))
    if unbuilt:
        return messages.text("attention.not_built", classes=", ".join(unbuilt[:10]))
    if module_classes:
        return messages.text("attention.other_names", classes=", ".join(module_classes[:10]))
    return messages.text("attention.no_model")


def check_rates(results: list[Result], assignment: LoadedAssignment, messages: Messages) -> list[CheckRate]:
    graded = [r for r in results if r.status == "graded"]
    rates = []
    for model in assignment.spec.models:
        for name in check_names(assignment.spec, model):
            check_id = f"{model.id}.{name}"
            found = [c for r in graded for c in r.checks if c.id == check_id]
            idea_key = f"idea.{name}"
            max_points = max((c.max_score for c in found), default=0.0)
            rates.append(CheckRate(
                id=check_id, model_id=model.id, model=model.title.get(messages.lang, model.id), name=found[0].title if found and found[0].title else check_name(check_id, messages),
                idea=messages.text(idea_key) if idea_key in CATALOGUE else "",
                passed=sum(c.status == "passed" for c in found), graded=len(graded),
                mean_points=(sum(c.score for c in found) / len(graded)) if graded else None, max_points=max_points,
            ))
    return rates


def student_rows(results: list[Result], assignment: LoadedAssignment, messages: Messages) -> list[StudentRow]:
    rows = []
    for result in results:
        points: dict[str, float | None] = {}
        for model in assignment.spec.models:
            scores = [c.score for c in result.checks if c.model == model.id]
            points[model.id] = round(sum(scores), 2) if scores else None
        rows.append(StudentRow(result=result, href=report_href(result.submission.student_id, result.has_instructor_only),
                               status=messages.text(f"status.{result.status}"), model_points=points,
                               reasons=attention_reasons(result, assignment, messages)))
    return rows


def similarity_reasons(rows: list[StudentRow], similar: list[SimilarPair], messages: Messages) -> None:
    """Both students of a similar pair need a person: "similar to X (0.93)"."""
    by_id = {row.result.submission.student_id: row for row in rows}
    for pair in similar:
        for mine, other in ((pair.student_a, pair.student_b), (pair.student_b, pair.student_a)):
            if mine in by_id:
                by_id[mine].reasons.append(messages.text("attention.similar", other=other, score=f"{pair.score:.2f}"))


def render_summary_page(results: list[Result], assignment: LoadedAssignment, lang: Lang | None = None,
                        similar: list[SimilarPair] | None = None) -> str:
    spec = assignment.spec
    messages = Messages(lang or spec.lang, assignment.messages)
    graded = [r for r in results if r.status == "graded"]
    scores = [r.score for r in graded]
    max_score = max((r.max_score for r in results), default=0.0)
    rows = student_rows(results, assignment, messages)
    similarity_reasons(rows, similar or [], messages)
    histogram = plots.histogram_plot(scores, max_score, messages) if scores else None
    return environment().get_template("summary.html.j2").render(
        spec=spec, lang=messages.lang, t=messages.text, title=spec.title.get(messages.lang) or spec.id,
        counts=messages.text("summary.counts", total=len(results), graded=len(graded),
                             invalid=sum(r.status == "invalid" for r in results),
                             errors=sum(r.status == "error" for r in results)),
        stats=messages.text("summary.stats", mean=f"{statistics.fmean(scores):.2f}", median=f"{statistics.median(scores):g}",
                            max=f"{max_score:g}") if scores else None,
        histogram=histogram, rates=check_rates(results, assignment, messages), rows=rows,
        attention=[row for row in rows if row.reasons], models=spec.models, similar=similar or [],
        hrefs={row.result.submission.student_id: row.href for row in rows},
        version=__version__, spec_sha256=assignment.spec_sha256,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        csp=content_security_policy("summary.js"),
    )


def write_summary_page(path: Path, results: list[Result], assignment: LoadedAssignment, lang: Lang | None = None,
                       similar: list[SimilarPair] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_summary_page(results, assignment, lang, similar), encoding="utf-8")
