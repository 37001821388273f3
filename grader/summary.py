"""Terminal summaries with rich: one submission's checks, or a batch's scores."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from grader.i18n import Messages
from grader.result import Result

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "magenta", "skipped": "yellow"}


def print_result(console: Console, result: Result) -> None:
    messages = Messages(result.lang)
    title = f"{result.submission.student_id} — {result.assignment} ({result.submission.file})"
    if result.status in ("invalid", "error"):
        console.print(f"[bold]{title}[/bold]")
        console.print(f"[red]{messages.text('status.' + result.status)}[/red]: {result.message}")
        console.print(f"{messages.text('label.total')}: 0 / {result.max_score:g}")
        return
    table = Table(title=title, show_lines=False)
    table.add_column(messages.text("label.check"))
    table.add_column(messages.text("label.result"))
    table.add_column(messages.text("label.points"), justify="right")
    table.add_column(messages.text("label.message"), overflow="fold")
    for check in result.checks:
        style = STATUS_STYLE[check.status]
        table.add_row(check.id, f"[{style}]{messages.text('status.' + check.status)}[/{style}]",
                      f"{check.score:g}/{check.max_score:g}", check.message)
    console.print(table)
    for incident in result.incidents:
        if incident.kind != "not_isolated":
            console.print(f"[yellow]! {incident.kind}[/yellow]: {incident.message}")
    console.print(f"[bold]{messages.text('label.total')}: {result.score:g} / {result.max_score:g}[/bold]"
                  f"  ({result.duration_s:.1f} s)")
