"""Render a student's report as one self-contained HTML file (jinja2, autoescaped).

The page makes no request of its own: styles, the one small script and the figures (SVG we draw
ourselves) are inline, and a Content-Security-Policy says so to the browser (no fetches at all; only
the script whose hash we computed may run). Everything that came from a submission (its output,
error messages, code, file name, student id) reaches the page through autoescaping only: the SVG
figures are the one thing marked safe, and their text comes from the catalogue and numbers.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from grader.checks.metrics import KINDS, class_scores
from grader.i18n import CATALOGUE, Lang, Messages
from grader.outputs.report import plots
from grader.result import CheckResult, Graded, ModelOutcome, Result
from grader.spec import LoadedAssignment, ModelSpec

# What the report shows of the submission's output; the rest is cut with a note.
MAX_OUTPUT_CHARS = 6000
SNIPPET_CONTEXT = 2  # lines either side of the one an error points to
MAX_SNIPPETS_PER_CHECK = 2
VERDICT_MARK = {"passed": "✓", "failed": "✗", "error": "!", "skipped": "–"}


@functools.cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("grader.outputs.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    env.filters["points"] = lambda value: f"{value:g}"
    return env


@functools.cache
def script_source(name: str) -> str:
    """The inline script exactly as the page holds it (an include of templates/<name>)."""
    return environment().get_template(name).render()


def script_hash(name: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(script_source(name).encode("utf-8")).digest()).decode("ascii")


def content_security_policy(*scripts: str) -> str:
    sources = " ".join(f"'{script_hash(name)}'" for name in scripts) or "'none'"
    return (f"default-src 'none'; script-src {sources}; style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


# -- the view: what the template shows, computed here so the template stays plain ---------------
@dataclass
class Snippet:
    where: str
    first: int
    lines: list[tuple[int, str, bool]]  # (line number, text, the line the error points to)


@dataclass
class CheckView:
    id: str
    name: str
    status: str
    verdict: str
    mark: str
    score: float
    max_score: float
    message: str
    hint: str
    hint_label: str
    expected: str | None
    found: str | None
    snippets: list[Snippet] = field(default_factory=list)
    visibility: str = "visible"
    note: str = ""  # an instructor's view only (a student's result has none)
    section: str = ""  # the lesson's section it is about


@dataclass
class ModelView:
    id: str
    title: str
    score: float
    max_score: float
    state: str  # full | partial | zero
    class_name: str | None
    checks: list[CheckView]
    plots: list[plots.Plot]

    @property
    def percent(self) -> float:
        return 100.0 * self.score / self.max_score if self.max_score else 0.0


@dataclass
class OutputView:
    label: str
    text: str
    note: str | None


def score_state(score: float, max_score: float) -> str:
    if max_score and score >= max_score - 1e-9:
        return "full"
    return "partial" if score > 0 else "zero"


def check_name(check_id: str, messages: Messages) -> str:
    key = "check." + check_id.split(".", 1)[-1]
    return messages.text(key) if key in CATALOGUE else check_id


def _idea(check_id: str, messages: Messages) -> str:
    key = "idea." + check_id.split(".", 1)[-1]
    return messages.text(key) if key in CATALOGUE else ""


@functools.cache
def location_patterns(lang: Lang) -> tuple[re.Pattern[str], ...]:
    """Regexes for "cell N, line L" as every catalogue message in `lang` writes it."""
    found: dict[str, re.Pattern[str]] = {}
    for entry in CATALOGUE.values():
        template = entry.get(lang, "")
        start, end = template.find("{cell}"), template.find("{line}")
        if start < 0 or end < start:
            continue
        middle = template[start + len("{cell}"):end]
        if "{" in middle:
            continue
        before = re.search(r"[^\s}]*\s*$", template[:start])
        literal = (before.group(0) if before else "") + "{cell}" + middle + "{line}"
        pattern = re.escape(literal).replace(re.escape("{cell}"), r"(\d+)").replace(re.escape("{line}"), r"(\d+)")
        found[pattern] = re.compile(pattern, re.IGNORECASE)
    return tuple(found.values())


def error_locations(text: str, lang: Lang) -> list[tuple[int, int]]:
    """(cell, line) pairs a message points to, in order, without repeats."""
    spots: list[tuple[int, tuple[int, int]]] = []
    for pattern in location_patterns(lang):
        for match in pattern.finditer(text):
            spots.append((match.start(), (int(match.group(1)), int(match.group(2)))))
    ordered: list[tuple[int, int]] = []
    for _, spot in sorted(spots):
        if spot not in ordered:
            ordered.append(spot)
    return ordered


def snippet(cells: dict[int, str], cell: int, line: int, messages: Messages) -> Snippet | None:
    source = cells.get(cell)
    if source is None:
        return None
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return None
    first, last = max(1, line - SNIPPET_CONTEXT), min(len(lines), line + SNIPPET_CONTEXT)
    shown = [(number, lines[number - 1][:300], number == line) for number in range(first, last + 1)]
    return Snippet(messages.text("report.your_code", where=messages.text("where.cell", cell=cell, line=line)), first, shown)


def check_view(check: CheckResult, cells: dict[int, str], messages: Messages) -> CheckView:
    hint, hint_label = check.hint, messages.text("label.hint")
    if not hint and check.status in ("failed", "error"):
        hint, hint_label = _idea(check.id, messages), messages.text("report.lesson_idea")
    snippets: list[Snippet] = []
    if check.status in ("failed", "error"):
        for cell, line in error_locations(check.message, messages.lang):
            found = snippet(cells, cell, line, messages)
            if found is not None and len(snippets) < MAX_SNIPPETS_PER_CHECK:
                snippets.append(found)
    return CheckView(
        id=check.id, name=check.title or check_name(check.id, messages), status=check.status,
        verdict=messages.text(f"status.{check.status}"), mark=VERDICT_MARK.get(check.status, "?"),
        score=check.score, max_score=check.max_score, message=check.message, hint=hint, hint_label=hint_label,
        expected=check.expected, found=check.found, snippets=snippets, visibility=check.visibility, note=check.note,
        section=check.section,
    )


def model_plots(model: ModelSpec, loss: str, outcome: ModelOutcome | None, messages: Messages) -> list[plots.Plot]:
    if outcome is None:
        return []
    drawn = [plots.loss_plot(outcome.loss_history, outcome.chosen_seed, loss, messages, f"{model.id}-loss")]
    names = messages.class_names(outcome.class_names)  # the assignment's names, else the data set's
    if model.project is not None:
        drawn.append(plots.latent_plot(outcome.code, outcome.test_classes, names, messages, f"{model.id}-latent"))
    elif KINDS[model.metric.kind].on_classes:
        scores = class_scores(outcome.predictions, outcome.decision_threshold) if outcome.predictions is not None else None
        drawn.append(plots.confusion_plot(outcome.test_classes, scores, names, messages, f"{model.id}-confusion"))
    else:
        drawn.append(plots.yy_plot(outcome.test_targets, outcome.predictions, messages, f"{model.id}-yy"))
        if len(model.row_shape) == 2:  # sequences of steps: what the prediction continues
            drawn.append(plots.sequence_plot(outcome.test_inputs, outcome.test_targets, outcome.predictions, messages,
                                             f"{model.id}-sequence"))
    return [p for p in drawn if p is not None]


def model_views(graded: Graded, assignment: LoadedAssignment, messages: Messages) -> list[ModelView]:
    result = graded.result
    cells = {cell.number: cell.source for cell in graded.cells}
    views = []
    for model in assignment.spec.models:
        checks = [c for c in result.checks if c.model == model.id]
        if not checks:
            continue
        outcome = graded.outcomes.get(model.id)
        score = round(sum(c.score for c in checks), 2)
        max_score = round(sum(c.max_score for c in checks), 2)
        views.append(ModelView(
            id=model.id, title=model.title.get(messages.lang) or model.id, score=score, max_score=max_score,
            state=score_state(score, max_score), class_name=outcome.class_name if outcome else None,
            checks=[check_view(c, cells, messages) for c in checks],
            plots=model_plots(model, assignment.spec.recipe_for(model).loss, outcome, messages),
        ))
    return views


def output_view(label_key: str, text: str, messages: Messages) -> OutputView | None:
    if not text:
        return None
    note = None
    if len(text) > MAX_OUTPUT_CHARS:
        note = messages.text("report.truncated", shown=MAX_OUTPUT_CHARS, total=len(text))
        text = text[:MAX_OUTPUT_CHARS]
    return OutputView(messages.text(label_key), text, note)


@dataclass
class WrittenView:
    id: str
    title: str
    status: str
    status_label: str
    answer: str
    length: int
    shown: int
    cut: bool
    where: str | None
    heading: str
    covered: list[str]
    not_covered: list[str]
    points: float | None
    max_points: float
    comment: str


def written_context(result: Result, assignment: LoadedAssignment, messages: Messages) -> dict[str, Any]:
    """What templates/written.html.j2 shows: each answer (escaped by the template), the rubric points it
    seems to mention (provisional) and the points a person set, or "pending review"."""
    questions = {q.id: q for q in assignment.spec.written}
    views = []
    for entry in result.written:
        question = questions.get(entry.id)
        labels = {p.id: p.label.get(messages.lang) or p.id for p in question.rubric} if question else {}
        if entry.found_in is None:
            where = None
        elif entry.found_in.startswith("file:"):
            where = messages.text("written.where.file", file=entry.found_in[5:])
        else:
            key = f"written.where.{entry.found_in}"
            where = messages.text(key) if key in CATALOGUE else entry.found_in
        status_key = {"reviewed": "written.reviewed", "missing": "written.missing"}.get(entry.status, "written.pending")
        views.append(WrittenView(
            id=entry.id, title=(question.title.get(messages.lang) if question else None) or entry.id, status=entry.status,
            status_label=messages.text(status_key), answer=entry.answer, length=entry.length, shown=len(entry.answer),
            cut=entry.length > len(entry.answer), where=where,
            heading=(question.find.headings[0] if question and question.find.headings else entry.id),
            covered=[labels.get(i, i) for i in entry.covered], not_covered=[labels.get(i, i) for i in entry.missing],
            points=entry.points, max_points=entry.max_points, comment=entry.comment,
        ))
    totals = {"score": result.written_score, "max": result.written_max, "pending": result.pending_points,
              "total": result.total_score, "total_max": result.total_max}
    return {"written": views, "written_totals": totals}


def render_written_section(result: Result, assignment: LoadedAssignment) -> str:
    """The written section alone, as the report holds it between its markers (grader/written.py splices it)."""
    messages = Messages(result.lang, assignment.messages)
    return environment().get_template("written.html.j2").render(
        t=messages.text, **written_context(result, assignment, messages))


def render_report(graded: Graded, assignment: LoadedAssignment) -> str:
    result = graded.result
    messages = Messages(result.lang, assignment.messages)
    outputs = [o for o in (output_view("report.stdout", result.stdout, messages),
                           output_view("report.stderr", result.stderr, messages)) if o]
    return environment().get_template("report.html.j2").render(
        result=result, spec=assignment.spec, lang=result.lang, t=messages.text,
        title=assignment.spec.title.get(result.lang) or assignment.spec.id,
        state=score_state(result.score, result.max_score),
        models=model_views(graded, assignment, messages) if result.status == "graded" else [],
        outputs=outputs,
        incidents=[(messages.text(f"incident.{i.kind}") if f"incident.{i.kind}" in CATALOGUE else i.kind, i)
                   for i in result.incidents],
        csp=content_security_policy("report.js"), script="report.js",
        **written_context(result, assignment, messages),
    )


def write_report(path: Path, graded: Graded, assignment: LoadedAssignment) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(graded, assignment), encoding="utf-8")


def plain_report(result: Result) -> str:
    """A report page that cannot fail: the student, the status and the message, escaped."""
    title = html.escape(f"{result.submission.student_id}: {result.status}")
    return (f'<!DOCTYPE html>\n<html lang="{html.escape(result.lang)}"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
            f"<title>{title}</title></head><body><h1>{title}</h1><p>{html.escape(result.message or '')}</p>"
            f"<p>{html.escape(result.submission.file)} · {html.escape(result.assignment)} · "
            f"{html.escape(result.grader_version)}</p></body></html>\n")


