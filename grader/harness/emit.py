"""Observations leave the sandbox as JSON lines (`grader.protocol.wire`), written and flushed one
at a time.

Streaming matters: if the student's code later hangs or kills the process, what was already
observed (the models graded before it) still reaches the grader.
"""

from __future__ import annotations

import traceback
from types import FrameType
from typing import Any, TextIO

from grader.protocol.wire import (
    MAX_TEXT,
    HarnessError,
    Line,
    WireError,
    build,
    encode_line,
)

MAX_MESSAGE = MAX_TEXT


class Emitter:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def emit(self, kind: type[Line], **fields: Any) -> None:
        """One line of `kind`, checked against the schema before it is written: the grader would
        refuse a line that does not fit, so a harness bug shows as a harness error, not a lost line."""
        try:
            line: Line = build(kind, fields)
        except (WireError, TypeError) as exc:
            line = HarnessError(message=f"the harness made a {kind.KIND} line that does not fit the wire: {exc}"[:MAX_TEXT])
        self._stream.write(encode_line(line) + "\n")
        self._stream.flush()


def describe_error(exc: BaseException) -> dict[str, Any]:
    """The exception with only the frames of the student's own cells, which the report shows."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith("<cell "):
            frames.append({"cell": int(frame.filename[6:-1]), "line": frame.lineno or 0})
    error: dict[str, Any] = {"type": type(exc).__name__, "message": _safe_str(exc)[:MAX_MESSAGE], "frames": frames[-5:]}
    if isinstance(exc, NameError) and getattr(exc, "name", None):
        error["name"] = str(exc.name)[:MAX_MESSAGE]
    if isinstance(exc, SyntaxError):
        error["frames"] = [{"cell": _cell_of(exc.filename), "line": exc.lineno or 0}]
    return error


def innermost_cell_line(frame: FrameType | None) -> tuple[int, int]:
    """The innermost frame of the student's cells from `frame` outwards: (cell, line), or (0, 0)."""
    while frame is not None:
        name = frame.f_code.co_filename
        if name.startswith("<cell "):
            return int(name[6:-1]), frame.f_lineno
        frame = frame.f_back
    return 0, 0


def _cell_of(filename: str | None) -> int:
    if filename and filename.startswith("<cell "):
        return int(filename[6:-1])
    return 0


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a student's exception class can break __str__
        return type(exc).__name__
