"""Data an instructor brings: a CSV or NPZ file in the assignment folder (`[dataset] name = "file"`,
`file = "penguins.csv"`). Its bytes travel with the assignment (batch workers, kits) and are part
of the spec's hash.

A CSV has a header line of column names and one row per sample; every column is a number but the
`class_column`, whose values (any text) are the classes, in the order of `class_names` (default:
sorted). A model names its `features` and `target` columns by name or index, or `"all"` (every
column but the class column); names are read into indexes when the spec loads.

An NPZ holds arrays as a generator returns them (grader.spec.datasets.generated): `x` (one input per
row, any shape), `y` (values) and/or `classes` (an index per row) with `class_names`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import numpy as np

from grader.spec.datasets.generated import GeneratedDataError, table_of
from grader.spec.datasets.table import Table
from grader.spec.schema import Dataset

MAX_FILE_BYTES = 200 * 1024 * 1024


class DataFileError(ValueError):
    """A data file that cannot be read, or whose columns do not fit the spec."""


def read_table(dataset: Dataset, source: bytes | None, path: str) -> Table:
    if source is None:
        raise DataFileError(f"{path}: not found: [dataset] file names it")
    if len(source) > MAX_FILE_BYTES:
        raise DataFileError(f"{path}: {len(source)} bytes, more than {MAX_FILE_BYTES}")
    if str(dataset.file).endswith(".npz"):
        return _npz(source, path)
    header, rows = _csv(source, path)
    return _csv_table(header, rows, dataset, path)


def column_names(source: bytes, dataset: Dataset, path: str) -> list[str]:
    """The columns a model may read as features or values: a CSV's header without the class column,
    an NPZ's numbers of one input (`"0"`, `"1"`, ...)."""
    if str(dataset.file).endswith(".npz"):
        return [str(index) for index in range(_npz(source, path).features.shape[1])]
    header, _ = _csv(source, path)
    if dataset.class_column is not None and dataset.class_column not in header:
        raise DataFileError(f"{path}: no column {dataset.class_column!r} (class_column); the columns: {', '.join(header)}")
    return [name for name in header if name != dataset.class_column]


def _csv(source: bytes, path: str) -> tuple[list[str], list[list[str]]]:
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


def _csv_table(header: list[str], rows: list[list[str]], dataset: Dataset, path: str) -> Table:
    if dataset.class_column is not None and dataset.class_column not in header:
        raise DataFileError(f"{path}: no column {dataset.class_column!r} (class_column); the columns: {', '.join(header)}")
    numeric = [index for index, name in enumerate(header) if name != dataset.class_column]
    values = np.empty((len(rows), len(numeric)), dtype=np.float32)
    for number, row in enumerate(rows, 2):
        for column, index in enumerate(numeric):
            try:
                values[number - 2, column] = float(row[index])
            except ValueError:
                raise DataFileError(f"{path}: line {number}, column {header[index]!r}: {row[index][:40]!r} is not "
                                    "a number") from None
    if not np.isfinite(values).all():
        raise DataFileError(f"{path}: a value that is not finite")
    if dataset.class_column is None:
        return Table(values, np.zeros(len(rows), dtype=np.int64), ())
    found = [row[header.index(dataset.class_column)] for row in rows]
    names = tuple(dataset.class_names) if dataset.class_names else tuple(sorted(set(found)))
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise DataFileError(f"{path}: class_column {dataset.class_column!r} holds {', '.join(map(repr, unknown[:5]))}, "
                            f"not among class_names ({', '.join(names)})")
    return Table(values, np.array([names.index(value) for value in found], dtype=np.int64), names)


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
