"""Data an assignment makes itself: a function of its own `data.py` (the instructor's trusted code,
like `checks.py`), called with a numpy generator seeded by `[dataset] seed` and the keyword
arguments of `[dataset.options]`:

    def sine_waves(rng, n=600, length=20):
        ...
        return {"x": inputs, "y": targets}   # or {"x": ..., "classes": labels, "class_names": [...]}

`x` holds one input per row, of any shape (`(n, 20, 1)`: sequences of 20 steps of one value), `y`
the values a model predicts (`target = [0]` is its first column), `classes` an index per row for a
class target. The same seed makes the same data on every machine; the bytes of `data.py` are part of
the spec's hash. What it returns is checked when the assignment loads, with the file named.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from grader.spec.datasets.registry import DATA_FILE
from grader.spec.datasets.table import Table
from grader.spec.schema import Dataset

MAX_ROWS = 100_000
MAX_NUMBERS = 20_000_000


class GeneratedDataError(ValueError):
    """The generator is missing, raised, or made data that cannot be graded."""


def generate(dataset: Dataset, source: bytes | None, path: str = DATA_FILE) -> Table:
    """The table the spec's generator makes (its inputs flattened: `Table.split_for` shapes them)."""
    if source is None:
        raise GeneratedDataError(f"{path}: not found: [dataset] generator = {dataset.generator!r} is a function "
                                 "written in that file")
    namespace: dict[str, Any] = {"__name__": "grader_assignment_data"}
    try:
        exec(compile(source, path, "exec"), namespace)  # noqa: S102 - the instructor's own file
        function = namespace.get(dataset.generator or "")
        if not callable(function):
            raise GeneratedDataError(f"{path}: no function {dataset.generator!r}")
        made = function(np.random.default_rng(dataset.seed), **dataset.options)
    except GeneratedDataError:
        raise
    except Exception as exc:  # noqa: BLE001 - the instructor's code may raise anything: say it plainly
        raise GeneratedDataError(f"{path}: {dataset.generator}(...) raised {type(exc).__name__}: {exc}") from None
    return table_of(made, f"{path}: {dataset.generator}(...)")


def table_of(made: Any, where: str) -> Table:
    """The table of what a generator returned (or an NPZ file holds): `x`, and `y` or `classes`."""
    if not isinstance(made, dict) or "x" not in made or not ("y" in made or "classes" in made):
        raise GeneratedDataError(f"{where} must return a dict with \"x\" and \"y\" (values) or \"classes\"")
    x = np.asarray(made["x"], dtype=np.float32)
    n = len(x)
    if x.ndim < 2 or not 2 <= n <= MAX_ROWS or x.size > MAX_NUMBERS:
        raise GeneratedDataError(f"{where}: \"x\" must hold 2 to {MAX_ROWS} rows of inputs, at most {MAX_NUMBERS} "
                                 f"numbers in all (got the shape {x.shape})")
    values = None
    if "y" in made:
        values = np.asarray(made["y"], dtype=np.float32).reshape(n, -1) if np.size(made["y"]) % n == 0 else None
        if values is None:
            raise GeneratedDataError(f"{where}: \"y\" must have one row per row of \"x\" ({n})")
    if "classes" in made:
        labels = np.asarray(made["classes"])
        names = tuple(str(name) for name in made.get("class_names", range(int(labels.max()) + 1)))
        if labels.shape != (n,) or labels.min() < 0 or labels.max() >= len(names) or not np.issubdtype(labels.dtype, np.integer):
            raise GeneratedDataError(f"{where}: \"classes\" must be one whole number per row, each below the "
                                     f"number of class names ({len(names)})")
    else:
        labels, names = np.zeros(n, dtype=np.int64), ()
    numbers = [x] + ([values] if values is not None else [])
    if not all(np.isfinite(a).all() for a in numbers):
        raise GeneratedDataError(f"{where}: a value that is not finite")
    return Table(x.reshape(n, -1), labels.astype(np.int64), names, values)
