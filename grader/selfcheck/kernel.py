"""The model classes a running kernel (or script) defines, read as the grader reads a submission:
each class's own source becomes a cell of a `Submission`, and the class a record for the harness.

The kernel keeps only the classes as they are now (a class defined twice is its second
definition); the saved notebook's grading sees every definition in order.
"""

from __future__ import annotations

import hashlib
import inspect
import linecache
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.harness.loader import ClassRecord
from grader.intake.submission import Cell, Submission

KERNEL_FILE = "kernel"  # the submission's file name in the result: no file was read


@dataclass(frozen=True)
class KernelCode:
    submission: Submission
    records: tuple[ClassRecord, ...]


def read_kernel(namespace: dict[str, Any]) -> KernelCode:
    """Every `torch.nn.Module` subclass `namespace` defines (not imported ones), in the order the
    namespace first bound them, one cell each with its source."""
    import torch

    module = namespace.get("__name__", "__main__")
    classes: list[tuple[str, type]] = []
    seen: set[int] = set()
    for name, value in list(namespace.items()):
        if (isinstance(value, type) and issubclass(value, torch.nn.Module) and id(value) not in seen
                and getattr(value, "__module__", None) == module):
            seen.add(id(value))
            classes.append((name, value))
    cells = tuple(Cell(number, class_source(cls)) for number, (_, cls) in enumerate(classes, start=1))
    records = tuple(ClassRecord(name, number, 1, cls) for number, (name, cls) in enumerate(classes, start=1))
    digest = hashlib.sha256("\0".join(cell.source for cell in cells).encode("utf-8")).hexdigest()
    submission = Submission(path=Path(KERNEL_FILE), student_id="self-check", sha256=digest, kind="notebook",
                            main_file=KERNEL_FILE, cells=cells)
    return KernelCode(submission, records)


def class_source(cls: type) -> str:
    """The class statement's source. `inspect.getsource` finds it for a module's class; a class of a
    Jupyter cell is found through the cell's lines, which IPython keeps in `linecache` under the file
    name its methods' code carries. A class with no source to find gets its bare statement."""
    try:
        return textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        pass
    statement = re.compile(rf"^\s*class\s+{re.escape(cls.__name__)}\b")
    for value in vars(cls).values():
        code = getattr(getattr(value, "__func__", value), "__code__", None)
        if code is None:
            continue
        lines = linecache.getlines(code.co_filename)
        for start in range(min(code.co_firstlineno, len(lines)) - 1, -1, -1):
            if statement.match(lines[start]):
                return textwrap.dedent("".join(inspect.getblock(lines[start:])))
    return f"class {cls.__name__}:\n    ...  # no source found in this kernel\n"
