"""A self-check's verdicts where the student ran it (`grader.check` in a notebook): an HTML
fragment for the output cell (jinja2, autoescaped; the figures are the SVG we draw) and plain
text for a terminal (control characters and escape sequences removed)."""

from __future__ import annotations

from grader.i18n import Messages
from grader.outputs.report.html import environment, model_views
from grader.outputs.terminal import safe_line, safe_text
from grader.result import Graded, Result
from grader.spec import LoadedAssignment


def self_check_html(graded: Graded, assignment: LoadedAssignment) -> str:
    result = graded.result
    messages = Messages(result.lang, assignment.messages)
    return environment().get_template("self_check.html.j2").render(
        lang=result.lang, t=messages.text, title=_title(result, assignment), score=result.score,
        max_score=result.max_score, message=result.message if result.status != "graded" else "",
        models=model_views(graded, assignment, messages) if result.status == "graded" else [],
        notes=notes(result, messages))


def self_check_text(graded: Graded, assignment: LoadedAssignment) -> str:
    result = graded.result
    messages = Messages(result.lang, assignment.messages)
    lines = [f"{messages.text('selfcheck.heading', title=_title(result, assignment))}: "
             f"{result.score:g} / {result.max_score:g}", messages.text("selfcheck.unsandboxed")]
    if result.status != "graded":
        lines.append(safe_text(result.message or ""))
    for model in model_views(graded, assignment, messages) if result.status == "graded" else []:
        lines.append(f"\n{safe_line(model.title)}: {model.score:g} / {model.max_score:g}")
        for check in model.checks:
            lines.append(f"  {check.mark} {check.verdict:<8} {safe_line(check.name)}  "
                         f"({check.score:g} / {check.max_score:g})")
            lines.append(f"      {safe_text(check.message)}")
            if check.hint and check.status in ("failed", "error"):
                lines.append(f"      {check.hint_label}: {safe_text(check.hint)}")
    said = notes(result, messages)
    return "\n".join([*lines, "", *said] if said else lines)


def notes(result: Result, messages: Messages) -> list[str]:
    """What else the student should know: statements that raised, packages missing, checks withheld
    (the sandbox's absence is said once, at the top)."""
    found = [f"{messages.text('label.code_errors')}: {safe_text(error.error)}" for error in result.code_errors[:5]]
    found += [safe_text(incident.message) for incident in result.incidents if incident.kind != "not_isolated"]
    if result.withheld:
        found.append(messages.text("selfcheck.withheld"))
    return found


def _title(result: Result, assignment: LoadedAssignment) -> str:
    return assignment.spec.title.get(result.lang) or assignment.spec.id
