"""The data sets an assignment can be graded on, by the name its spec gives (`[dataset] name`).

Each data set is a module of this package that makes, for every model of a spec, its `Split`:

    CLASS_NAMES: tuple[str, ...]                  its classes, in the order of their labels
    COLUMNS: tuple[str, ...]                      the columns a model's features and target may name
    def load() -> Table                           its rows (grader.spec.datasets.table), which
                                                  `Table.split_for` splits for each model

Adding a data set is adding such a module and its line in `MODULES`. A module is imported when a
spec names it, so that reading a spec costs no data.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from grader.spec.datasets.table import Table
    from grader.spec.schema import Assignment

MODULES = MappingProxyType({name: f"grader.spec.datasets.{name}" for name in ("iris", "wine", "breast_cancer", "digits", "diabetes")})
# Data the assignment's own `data.py` makes (grader.spec.datasets.generated): no columns or classes
# are known before it runs, so the spec's checks of them wait for the assignment's loading.
GENERATED = "generated"
# A CSV or NPZ file of the assignment's (grader.spec.datasets.files): the same, once it is read.
FILE = "file"
MADE = frozenset({GENERATED, FILE})  # the data sets an assignment brings, known once loaded


@dataclass(frozen=True)
class Split:
    """One model's data: what the sandbox may see (training inputs and targets, test inputs) and what
    it may not (the test targets and classes, from which every metric is computed)."""

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray  # never leaves the trusted side
    test_classes: np.ndarray  # the class of each test row (an index into class_names), for accuracy and plots
    class_names: tuple[str, ...]  # the data set's own names of its classes; an assignment may name them itself


def dataset_module(name: str) -> ModuleType:
    if name in MADE:
        raise ValueError(f"{name} data has no module of its own: its table comes from the assignment's file")
    if name not in MODULES:
        raise ValueError(f"unknown data set {name!r} (known: {', '.join(sorted(MODULES))})")
    return importlib.import_module(MODULES[name])


def class_names(name: str) -> tuple[str, ...]:
    """The classes of the data set `name`, in the order of their labels (none known for generated data)."""
    return () if name in MADE else tuple(dataset_module(name).CLASS_NAMES)


def columns(name: str) -> tuple[str, ...]:
    """The columns of the data set `name` that a spec's features and targets index."""
    return tuple(dataset_module(name).COLUMNS)


def table_for(spec: Assignment, data_source: bytes | None = None, path: str | None = None) -> Table:
    """The rows of the spec's data set: a bundled one, what its `data.py` makes, or what its file
    holds (`data_source`: the bytes of either; `path`: the file as messages name it)."""
    if spec.dataset.name == GENERATED:
        from grader.spec.datasets.generated import DATA_FILE, generate

        return generate(spec.dataset, data_source, path or DATA_FILE)
    if spec.dataset.name == FILE:
        from grader.spec.datasets.files import read_table

        return read_table(spec.dataset, data_source, path or str(spec.dataset.file))
    table: Table = dataset_module(spec.dataset.name).load()
    return table


def splits_for(spec: Assignment, data_source: bytes | None = None) -> dict[str, Split]:
    """Every model's split of the data set the spec names, by model id (`data_source`: the bytes of
    the assignment's data.py, for generated data)."""
    table = table_for(spec, data_source)
    return {model.id: table.split_for(model, spec.dataset) for model in spec.models}
