"""The data a kit carries: an instructor's file without its test rows' targets.

A kit's self-checks score on the validation rows, which are training rows: the test rows' labels
and values are the grading's alone. So where the spec holds validation rows out, the kit's copy of
a CSV or NPZ file has each test row's class set to the first class and its target columns to 0,
and its spec splits by index files that list the grading's rows as they are (a split drawn again
from changed labels would draw other rows); the split column, if any, is left out. Everything a
self-check reads (the training rows, the categories and scalings fitted on them) is unchanged.
Without validation rows a self-check scores on the test rows, and the file goes as it is.
Generated data (the instructor's data.py) and the bundled data sets go as they are: code and
public tables.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import tomlkit.items

from grader.spec import LoadedAssignment
from grader.spec.datasets.files import csv_rows
from grader.spec.datasets.registry import FILE, table_for

KIT_TEST_ROWS, KIT_TRAIN_ROWS = "kit_test_rows.txt", "kit_train_rows.txt"


def public_data(loaded: LoadedAssignment, dataset: tomlkit.items.Table) -> tuple[dict[str, bytes], list[str]]:
    """The kit's data files by name, and what they leave out; `dataset`, the kit spec's `[dataset]`,
    is rewritten to split by the index files written beside the file."""
    spec = loaded.spec
    if spec.dataset.name != FILE or spec.dataset.validation is None:
        return dict(loaded.data_files), []
    table = table_for(spec, loaded.data_files)
    train, test = table.rows(spec.dataset)
    name = str(spec.dataset.file)
    targets = sorted({column for model in spec.models if isinstance(model.target, list) for column in model.target})
    source = loaded.data_files[name]
    if name.endswith(".npz"):
        blanked = _npz_without_targets(source, test)
    else:
        blanked = _csv_without_targets(source, name, test, [table.columns[c] for c in targets], spec.dataset.class_column,
                                       table.class_names[0] if table.class_names else "", spec.dataset.split_column)
        if spec.dataset.class_column is not None and spec.dataset.class_names is None:
            dataset["class_names"] = list(table.class_names)  # as the grading orders them, whatever the kit's rows hold
    test_name, train_name = spec.dataset.test_index or KIT_TEST_ROWS, spec.dataset.train_index or KIT_TRAIN_ROWS
    for key in ("train_rows", "test_rows", "test_fraction", "split_column", "test_values", "train_values"):
        dataset.pop(key, None)
    dataset.update({"split": "index_files", "test_index": test_name, "train_index": train_name})
    files = {name: blanked, test_name: _listed(test), train_name: _listed(train)}
    return files, [f"the classes and target values of the {int(test.sum())} test rows of {name} (self-checks score "
                   "on validation rows)"]


def _listed(rows: np.ndarray) -> bytes:
    return ("\n".join(map(str, np.flatnonzero(rows).tolist())) + "\n").encode("utf-8")


def _csv_without_targets(source: bytes, name: str, test: np.ndarray, targets: list[str], class_column: str | None,
                         first_class: str, split_column: str | None) -> bytes:
    header, rows = csv_rows(source, name)
    blank = {header.index(column): "0" for column in targets}
    if class_column is not None:
        blank[header.index(class_column)] = first_class
    kept = [index for index, column in enumerate(header) if column != split_column]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([header[index] for index in kept])
    for number, row in enumerate(rows):
        cells = [blank.get(index, cell) if test[number] else cell for index, cell in enumerate(row)]
        writer.writerow([cells[index] for index in kept])
    return out.getvalue().encode("utf-8")


def _npz_without_targets(source: bytes, test: np.ndarray) -> bytes:
    with np.load(io.BytesIO(source), allow_pickle=False) as archive:
        arrays: dict[str, Any] = {key: np.array(archive[key]) for key in archive.files}
    for key in ("y", "classes"):
        if key in arrays:
            arrays[key][test] = 0
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()
