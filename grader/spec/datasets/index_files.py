"""Row numbers an instructor lists (`split = "index_files"`): `test_index = "test_rows.txt"` beside
the spec names the test rows, `train_index` the training rows (by default every row the test file
does not list). A file holds row numbers of the data set, counted from 0 in its order, separated by
commas, spaces or line breaks; `#` starts a comment. Its bytes travel with the assignment and are
part of the spec's hash, like a data file's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np

from grader.spec.schema import Dataset

MAX_INDEX_BYTES = 20 * 1024 * 1024


class IndexFileError(ValueError):
    """An index file that is missing, unreadable, or lists rows the data does not have."""


def listed_rows(dataset: Dataset, files: Mapping[str, bytes], rows: int,
                where: Callable[[str], str]) -> tuple[np.ndarray, np.ndarray]:
    """The training and test masks over `rows` rows that the spec's index files list; they never overlap."""
    if dataset.test_index is None:
        raise IndexFileError("split = \"index_files\" needs a test_index file")
    test = _listed(dataset.test_index, "test_index", files, rows, where)
    train = _listed(dataset.train_index, "train_index", files, rows, where) if dataset.train_index else ~test
    both = np.flatnonzero(train & test)
    if len(both):
        raise IndexFileError(f"{where(dataset.test_index)} and {where(str(dataset.train_index))} both list the rows "
                             f"{', '.join(map(str, both[:5].tolist()))}{' ...' if len(both) > 5 else ''}: students "
                             "would be scored on rows they trained on")
    return train, test


def _listed(name: str, key: str, files: Mapping[str, bytes], rows: int, where: Callable[[str], str]) -> np.ndarray:
    source = files.get(name)
    if source is None:
        raise IndexFileError(f"{where(name)}: not found: [dataset] {key} names it")
    if len(source) > MAX_INDEX_BYTES:
        raise IndexFileError(f"{where(name)}: {len(source)} bytes, more than {MAX_INDEX_BYTES}")
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IndexFileError(f"{where(name)}: not UTF-8 text: {exc}") from None
    mask = np.zeros(rows, dtype=bool)
    for number, line in enumerate(text.splitlines(), 1):
        for token in re.split(r"[\s,]+", line.split("#", 1)[0].strip()):
            if not token:
                continue
            if not token.isdigit():
                raise IndexFileError(f"{where(name)}: line {number}: {token[:40]!r} is not a row number (0, 1, 2, ...)")
            row = int(token)
            if row >= rows:
                raise IndexFileError(f"{where(name)}: line {number}: row {row}, but the data has {rows} rows "
                                     f"(0 to {rows - 1})")
            if mask[row]:
                raise IndexFileError(f"{where(name)}: line {number}: row {row} is listed twice")
            mask[row] = True
    if not mask.any():
        raise IndexFileError(f"{where(name)}: lists no rows")
    return mask
