"""Terminal summaries with rich: one submission's checks, or a batch's scores.

Messages, class names, file names and ids come from the submission: they are printed as `Text`
(never read as markup) after `safe_text` has removed their control characters and escape sequences.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.i18n import Messages
from grader.outputs.terminal import safe_line, safe_text
from grader.result import Result
from grader.spec import MessageOverlay

STATUS_STYLE = {"passed": "green", "failed": "red", "error": "magenta", "skipped": "yellow"}


def result_title(result: Result) -> str:
    return (f"{safe_line(result.submission.student_id)} — {safe_line(result.assignment)} "
            f"({safe_line(result.submission.file)})")


def print_result(console: Console, result: Result, overlay: MessageOverlay = MessageOverlay()) -> None:
    """`overlay`: the texts of the result's assignment (its messages file) over the catalogue's."""
    messages = Messages(result.lang, overlay)
    title = result_title(result)
    if result.status in ("invalid", "error"):
        console.print(Text(title, style="bold"))
        console.print(Text.assemble((messages.text("status." + result.status), "red"), ": ",
                                    safe_text(result.message or "")))
        console.print(Text(f"{messages.text('label.total')}: 0 / {result.max_score:g}"))
        return
    table = Table(title=Text(title), show_lines=False)
    table.add_column(messages.text("label.check"))
    table.add_column(messages.text("label.result"))
    table.add_column(messages.text("label.points"), justify="right")
    table.add_column(messages.text("label.message"), overflow="fold")
    for check in result.checks:
        table.add_row(Text(safe_line(check.id)),
                      Text(messages.text("status." + check.status), style=STATUS_STYLE.get(check.status, "")),
                      Text(f"{check.score:g}/{check.max_score:g}"), Text(safe_text(check.message)))
    console.print(table)
    for error in result.code_errors[:5]:
        where = messages.text("where.cell", cell=error.cell, line=error.line) if error.line else \
            messages.text("where.cell_only", cell=error.cell)
        console.print(Text.assemble((f"! {messages.text('label.code_errors')}", "yellow"), f" ({where}): ",
                                    safe_text(error.error)))
    if result.missing_packages:
        console.print(Text(messages.text("report.missing_packages", names=", ".join(map(safe_line, result.missing_packages)))))
    for incident in result.incidents:
        if incident.kind != "not_isolated":
            console.print(Text.assemble((f"! {safe_line(incident.kind)}", "yellow"), ": ", safe_text(incident.message)))
    console.print(Text.assemble((f"{messages.text('label.total')}: {result.score:g} / {result.max_score:g}", "bold"),
                                f"  ({result.duration_s:.1f} s)"))
    if result.withheld:
        console.print(Text(messages.text("report.withheld")))
