"""Does a captured graph belong to the submission's own source? A forged capture line (code in a
class body can reach the harness's emitter and write one) may describe a model the file never
defines. The trusted side reads the submission itself: the class the capture names must be
defined (`class NAME`) in the cell it names (or a helper module of the zip), and every layer,
parameter and buffer's attribute name (the first part of its path: `l1` of `l1.weight`, `net` of
`net.0`) must appear in the source. A real class satisfies both without trying; a graph that
fails them is refused."""

from __future__ import annotations

import re

from grader.intake.submission import CLASS_STATEMENT, Submission
from grader.protocol.wire import CapturedModel, ClassInfo


def class_problem(submission: Submission, claimed: ClassInfo | None) -> str | None:
    """Why the class the harness says plays a model is not the submission's own, or None."""
    if claimed is None:
        return "the observations name no class"
    cells = {cell.number: cell.source for cell in submission.cells}
    texts = [cells[claimed.cell]] if claimed.cell in cells else []
    texts += list(submission.extra_files.values())
    definition = re.compile(rf"^[ \t]*class[ \t]+{re.escape(claimed.name)}\b", re.MULTILINE)
    if not any(definition.search(text) for text in texts):
        return f"no class {claimed.name} is defined in cell {claimed.cell}"
    return None


def class_named_at(submission: Submission, cell: int, line: int) -> str | None:
    """The name of the class whose statement starts at `line` of `cell` (after its decorators), or None."""
    source = next((c.source for c in submission.cells if c.number == cell), "")
    for text in source.splitlines()[max(line - 1, 0):line + 20]:
        match = CLASS_STATEMENT.match(text)
        if match:
            return match.group(1)
        if not text.lstrip().startswith("@"):
            return None
    return None


def classes_defined_in(submission: Submission, cell: int) -> set[str]:
    """The names of the classes a cell's top level defines (`class NAME` at its start of line)."""
    source = next((c.source for c in submission.cells if c.number == cell), "")
    return {match.group(1) for match in CLASS_STATEMENT.finditer(source)}


def graph_problem(submission: Submission, graph: CapturedModel) -> str | None:
    """Why a captured graph's layers and tensors are not named in the submission's source, or None."""
    everything = "\n".join([*(cell.source for cell in submission.cells), *submission.extra_files.values()])
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", everything))
    names = {path.split(".")[0] for path in [*(layer.path for layer in graph.layers),
                                             *(t.path for seed in graph.seeds[:1] for t in seed.tensors)]}
    unknown = sorted(name for name in names if not name.isdigit() and name not in words)
    if unknown:
        return f"{', '.join(unknown[:5])}: not named anywhere in the source"
    return None
