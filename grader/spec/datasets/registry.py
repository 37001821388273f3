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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from grader.spec.datasets.table import Table
    from grader.spec.schema import Assignment, Dataset

MODULES = MappingProxyType({name: f"grader.spec.datasets.{name}" for name in ("iris", "wine", "breast_cancer", "digits", "diabetes")})
# Data the assignment's own `data.py` makes (grader.spec.datasets.generated): no columns or classes
# are known before it runs, so the spec's checks of them wait for the assignment's loading.
GENERATED = "generated"
# A CSV or NPZ file of the assignment's (grader.spec.datasets.files): the same, once it is read.
FILE = "file"
MADE = frozenset({GENERATED, FILE})  # the data sets an assignment brings, known once loaded
DATA_FILE = "data.py"  # generated data's generator, beside the spec


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
    indices: bool = False  # the inputs are indices (whole numbers an embedding reads), not values


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


def table_for(spec: Assignment, files: Mapping[str, bytes] = MappingProxyType({}),
              where: Callable[[str], str] = str) -> Table:
    """The rows of the spec's data set: a bundled one, what its `data.py` makes, or what its file
    holds, with the rows its index files list (`files`: the assignment's data files by name, as
    `data_file_names` lists them; `where`: a file's name as messages give it)."""
    if spec.dataset.name == FILE:
        from grader.spec.datasets.files import read_table

        return read_table(spec.dataset, files, where)  # its one-hot columns are fitted on the listed rows
    if spec.dataset.name == GENERATED:
        from grader.spec.datasets.generated import generate

        table: Table = generate(spec.dataset, files.get(DATA_FILE), where(DATA_FILE))
    else:
        table = dataset_module(spec.dataset.name).load()
    if spec.dataset.split != "index_files":
        return table
    from grader.spec.datasets.index_files import listed_rows

    return replace(table, listed_rows=listed_rows(spec.dataset, files, len(table.labels), where))


def data_file_names(dataset: Dataset) -> list[str]:
    """The files beside the spec its data is read from: data.py or the data file, then the index files."""
    own = {GENERATED: [DATA_FILE], FILE: [str(dataset.file)]}.get(dataset.name, [])
    return own + dataset.index_files


def splits_for(spec: Assignment, files: Mapping[str, bytes] = MappingProxyType({})) -> dict[str, Split]:
    """Every model's split of the data set the spec names, by model id (`files`: the assignment's data
    files by name)."""
    table = table_for(spec, files)
    return {model.id: table.split_for(model, spec.dataset) for model in spec.models}
