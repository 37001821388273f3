"""Data an instructor brings: a CSV or NPZ file in the assignment folder (`[dataset] name = "file"`,
`file = "penguins.csv"`). Its bytes travel with the assignment (batch workers, kits) and are part
of the spec's hash.

A CSV has a header line of column names and one row per sample; every column is a number but the
`class_column`, whose values (any text) are the classes, in the order of `class_names` (default:
their natural order: numbers by value, then words), the `split_column` (split = "column"), and the
`onehot` columns of categories, each read as one 0/1 column per category of the training rows. A
model names its `features` and `target` columns by name or index, or `"all"` (every column but the
class and split columns); names are read into indexes when the spec loads.

An NPZ holds arrays as a generator returns them (grader.spec.datasets.generated): `x` (one input per
row, any shape), `y` (values) and/or `classes` (an index per row) with `class_names`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from grader.spec.datasets.generated import GeneratedDataError, table_of
from grader.spec.datasets.index_files import listed_rows
from grader.spec.datasets.table import Table
from grader.spec.schema import Dataset

MAX_FILE_BYTES = 200 * 1024 * 1024


class DataFileError(ValueError):
    """A data file that cannot be read, or whose columns do not fit the spec."""


def read_table(dataset: Dataset, files: Mapping[str, bytes], where: Callable[[str], str]) -> Table:
    """The table of the spec's file (`files`: the assignment's data files by name; `where`: a file's
    name as messages give it), with the rows its index files list where the split reads some."""
    name = str(dataset.file)
    source = files.get(name)
    if source is None:
        raise DataFileError(f"{where(name)}: not found: [dataset] file names it")
    if len(source) > MAX_FILE_BYTES:
        raise DataFileError(f"{where(name)}: {len(source)} bytes, more than {MAX_FILE_BYTES}")
    if name.endswith(".npz"):
        table = _npz(source, where(name))
        if dataset.split != "index_files":
            return table
        return replace(table, listed_rows=listed_rows(dataset, files, len(table.labels), where))
    header, rows = csv_rows(source, where(name))
    listed = listed_rows(dataset, files, len(rows), where) if dataset.split == "index_files" else None
    return _csv_table(header, rows, dataset, where(name), listed)


def column_names(dataset: Dataset, files: Mapping[str, bytes], where: Callable[[str], str]) -> list[str]:
    """The columns a model may read as features or values: a CSV's without the class and split
    columns (a one-hot column as one per category: `island=Biscoe`), an NPZ's numbers of one input
    (`"0"`, `"1"`, ...)."""
    table = read_table(dataset, files, where)
    return list(table.columns) or [str(index) for index in range(table.features.shape[1])]


def csv_rows(source: bytes, path: str) -> tuple[list[str], list[list[str]]]:
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path}: not UTF-8 text: {exc}") from None
    lines = [row for row in csv.reader(io.StringIO(text)) if row and any(cell.strip() for cell in row)]
    if len(lines) < 3:
        raise DataFileError(f"{path}: a header line and at least two rows are needed")
    header = [name.strip() for name in lines[0]]
    if len(set(header)) != len(header):
        raise DataFileError(f"{path}: a column name twice in the header")
    for number, row in enumerate(lines[1:], 2):
        if len(row) != len(header):
            raise DataFileError(f"{path}: line {number} has {len(row)} values for {len(header)} columns")
    return header, [[cell.strip() for cell in row] for row in lines[1:]]


def _csv_table(header: list[str], rows: list[list[str]], dataset: Dataset, path: str,
               listed: tuple[np.ndarray, np.ndarray] | None) -> Table:
    named = [("class_column", dataset.class_column), ("split_column", dataset.split_column)]
    for key, name in named + [("onehot", name) for name in dataset.onehot]:
        if name is not None and name not in header:
            raise DataFileError(f"{path}: no column {name!r} ({key}); the columns: {', '.join(header)}")
    labels, names = _classes(header, rows, dataset, path)
    groups = np.array([row[header.index(dataset.split_column)] for row in rows]) if dataset.split_column else None
    # The categories are those of the grading's training rows (what the test rows hold is not fitted).
    train, _ = Table(np.zeros((len(rows), 0), np.float32), labels, names, groups=groups, listed_rows=listed).rows(dataset)
    columns: list[str] = []
    blocks: list[np.ndarray] = []
    indicators: set[int] = set()
    for index, name in enumerate(header):
        if name in (dataset.class_column, dataset.split_column):
            continue
        cells = np.array([row[index] for row in rows])
        if name in dataset.onehot:
            for category in sorted(set(cells[train].tolist()), key=natural_order):
                indicators.add(len(columns))
                columns.append(f"{name}={category}")
                blocks.append((cells == category).astype(np.float32))
        else:
            columns.append(name)
            blocks.append(_numbers(cells, name, path))
    values = np.stack(blocks, axis=1) if blocks else np.zeros((len(rows), 0), np.float32)
    return Table(values, labels, names, columns=tuple(columns), groups=groups, indicators=frozenset(indicators),
                 listed_rows=listed)


def _numbers(cells: np.ndarray, name: str, path: str) -> np.ndarray:
    values = np.empty(len(cells), dtype=np.float32)
    for row, cell in enumerate(cells.tolist()):
        try:
            values[row] = float(cell)
        except ValueError:
            raise DataFileError(f"{path}: line {row + 2}, column {name!r}: {cell[:40]!r} is not a number") from None
    if not np.isfinite(values).all():
        raise DataFileError(f"{path}: column {name!r}: a value that is not finite")
    return values


def _classes(header: list[str], rows: list[list[str]], dataset: Dataset, path: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Each row's class (an index into the class names) and the names: the spec's, else the values
    found in their natural order (numbers by value)."""
    if dataset.class_column is None:
        return np.zeros(len(rows), dtype=np.int64), ()
    found = [row[header.index(dataset.class_column)] for row in rows]
    names = tuple(dataset.class_names) if dataset.class_names else tuple(sorted(set(found), key=natural_order))
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise DataFileError(f"{path}: class_column {dataset.class_column!r} holds {', '.join(map(repr, unknown[:5]))}, "
                            f"not among class_names ({', '.join(names)})")
    return np.array([names.index(value) for value in found], dtype=np.int64), names


def natural_order(value: str) -> tuple[int, float, str]:
    """Numbers by their value ("2" before "10"), before words in the order of their letters."""
    try:
        return 0, float(value), value
    except ValueError:
        return 1, 0.0, value


def _npz(source: bytes, path: str) -> Table:
    try:
        with np.load(io.BytesIO(source), allow_pickle=False) as archive:
            arrays: dict[str, Any] = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{path}: not a readable .npz: {exc}") from None
    if "class_names" in arrays:
        arrays["class_names"] = [str(name) for name in arrays["class_names"]]
    try:
        return table_of(arrays, path)
    except GeneratedDataError as exc:
        raise DataFileError(str(exc)) from None
