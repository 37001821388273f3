"""CSV cells a spreadsheet cannot take for a formula (CSV injection, as OWASP describes it).

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return (or their full-width forms,
which Japanese spreadsheets accept too) gets a leading `'`: Excel, LibreOffice and Google Sheets
then show the text as it is. File names, names and ids come from students, so every CSV the grader
writes passes its cells through here.

A number the grader formatted itself is a `Number` and is written as it is, so a genuinely negative
number (`-0.5`) stays a number; the same characters from anywhere else (a file named `-2.py`) are
text and get the quote. Provenance decides, not the look of the cell.

`unguard` undoes `guard` exactly, for a file the grader reads back (OUT/review.csv).
"""

from __future__ import annotations

import csv
import math
import unicodedata
from collections.abc import Iterable
from typing import Any, TextIO

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


class Number(str):
    """A cell holding a finite number that the grader formatted: written without a guard."""


def number_cell(value: float, spec: str = "g") -> str:
    """`value` formatted with `spec` (`g`, `.2f`, ...) as a `Number`; `-0` never appears. A value that
    is not finite (which the protocol boundary should never let through) is plain text, not a number."""
    value = float(value) + 0.0
    text = format(value, spec)
    return Number(text) if math.isfinite(value) else text


def _starts_formula(text: str) -> bool:
    # NFKC folds the full-width `＝＋－＠` (and the small forms) onto the ASCII characters.
    return unicodedata.normalize("NFKC", text[:1]).startswith(FORMULA_STARTS)


def _needs_guard(text: str) -> bool:
    # A cell that already begins with quotes before a formula character gets one more, so that
    # `unguard` can tell the grader's quote from the student's own.
    return _starts_formula(text.lstrip(QUOTE))


def guard(text: str) -> str:
    """`text` with a leading `'` where a spreadsheet would read it as a formula."""
    return QUOTE + text if _needs_guard(text) else text


def unguard(text: str) -> str:
    """The text `guard` was given."""
    return text[1:] if text.startswith(QUOTE) and _needs_guard(text[1:]) else text


def safe_cell(value: Any) -> Any:
    """What to hand the csv module for one cell: the grader's numbers as they are, text guarded."""
    if isinstance(value, Number) or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        return value
    return guard("" if value is None else str(value))


class SafeWriter:
    """`csv.writer` whose every cell goes through `safe_cell`."""

    def __init__(self, handle: TextIO, **options: Any) -> None:
        self._writer = csv.writer(handle, **options)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow([safe_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(handle: TextIO, **options: Any) -> SafeWriter:
    return SafeWriter(handle, **options)
