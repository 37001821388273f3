"""Render a student's report as one self-contained HTML file (jinja2, autoescaped)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from grader.assignment import LoadedAssignment
from grader.grading import Graded
from grader.i18n import Messages


def _environment() -> Environment:
    return Environment(loader=PackageLoader("grader.report", "templates"), autoescape=select_autoescape(["html", "j2"]))


def render_report(graded: Graded, assignment: LoadedAssignment) -> str:
    result = graded.result
    messages = Messages(result.lang)
    by_model = {model.id: [c for c in result.checks if c.model == model.id] for model in assignment.spec.models}
    return _environment().get_template("report.html.j2").render(
        result=result, spec=assignment.spec, by_model=by_model, t=messages.text, lang=result.lang,
    )


def write_report(path: Path, graded: Graded, assignment: LoadedAssignment) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(graded, assignment), encoding="utf-8")
