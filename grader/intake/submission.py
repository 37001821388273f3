"""Read a submission (.ipynb, .py or a .zip holding one) into code cells, or say plainly why not.

Only the file format is handled here, on the trusted side: nothing in the submission runs. The code
itself is parsed and executed by the harness, inside the sandbox.

Everything read here is bounded: the file's size; a zip's entries and unpacked bytes (`IntakeLimits`,
from the assignment's `[limits]`), checked from the central directory before anything is unpacked and
counted again while each member streams; a notebook's structure, checked here rather than trusted to
nbformat, so that JSON of any shape ends in `InvalidSubmission` with a plain reason.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TypeVar

from grader.intake.files import is_junk, student_id_for

T = TypeVar("T")

MAX_SUBMISSION_BYTES = 20 * 1024 * 1024
MAX_EXTRA_FILE_BYTES = 1024 * 1024
MAX_TEXT_FILE_BYTES = 64 * 1024  # an answer.txt / answer.md in a zip
MAX_TEXT_FILES = 8
# Encodings tried, in order, for a .py file with no PEP 263 declaration that is not UTF-8: Japanese
# Windows editors save cp932.
FALLBACK_ENCODINGS = ("cp932", "euc_jp")
# A central directory larger than this per allowed entry holds more entries than allowed (each is at
# least 46 bytes plus its name): refused before zipfile parses it into objects.
MAX_DIRECTORY_BYTES_PER_ENTRY = 1024
READ_CHUNK = 64 * 1024
# What reading a zip member can raise besides BadZipFile: a damaged stream of each compression
# method, an encrypted member, an unsupported method, a truncated file.
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, RuntimeError,
                   NotImplementedError, ValueError, struct.error)
NOTEBOOK_CELL_TYPES = ("code", "markdown", "raw", "heading")
CLASS_STATEMENT = re.compile(r"^[ \t]*class[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


@dataclass(frozen=True)
class IntakeLimits:
    """How much of a zip is read: its entries (files and folders) and its unpacked bytes in all."""

    zip_members: int = 200
    zip_total_bytes: int = 50 * 1024 * 1024

    @classmethod
    def from_mb(cls, zip_members: int, zip_total_mb: float) -> IntakeLimits:
        return cls(zip_members=zip_members, zip_total_bytes=int(zip_total_mb * 1024 * 1024))

    @property
    def zip_total_mb(self) -> float:
        return self.zip_total_bytes / 2**20


@dataclass(frozen=True)
class Cell:
    """One code cell. `number` is its 1-based position among all the notebook's cells."""

    number: int
    source: str
    tags: tuple[str, ...] = ()  # the notebook cell's metadata tags (markdown cells: where a written answer is)


@dataclass(frozen=True)
class Submission:
    path: Path
    student_id: str
    sha256: str
    kind: Literal["notebook", "module"]
    main_file: str  # the notebook or module graded (inside the zip, for a zip)
    cells: tuple[Cell, ...]
    markdown: tuple[Cell, ...] = ()
    # Prose a written answer may be in (grader/written.py): a module's docstring, small text files of a zip.
    docstring: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    # Other small .py files that came in the zip, so that `import helpers` works in the sandbox.
    extra_files: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # things worth telling the student, e.g. the encoding guessed


class InvalidSubmission(Exception):
    """The file cannot be graded. `key` names a message of the catalogue, `params` fill it in."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


def read_submission(path: Path, student_id: str | None = None, limits: IntakeLimits | None = None,
                    model_classes: Collection[str] = ()) -> Submission:
    """Read `path`, raising `InvalidSubmission` with a reason a student can act on. `limits`: the
    assignment's (`grading.grade_file` passes them); the defaults of `[limits]` otherwise.
    `model_classes`: the class names the assignment asks for, which decide the file a zip of several
    is graded by."""
    path = Path(path)
    if not path.is_file():
        raise InvalidSubmission("submission.not_found", file=path.name)
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise InvalidSubmission("submission.too_large", file=path.name, size_mb=size / 2**20, limit_mb=MAX_SUBMISSION_BYTES / 2**20)
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    sid = student_id or student_id_for(path)
    parsed = _parse_by_suffix(path.name, data, limits or IntakeLimits(), frozenset(model_classes))
    return Submission(path=path, student_id=sid, sha256=sha256, **parsed)


def _parse_by_suffix(name: str, data: bytes, limits: IntakeLimits, model_classes: frozenset[str]) -> dict[str, Any]:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".ipynb":
        return _parse_notebook(name, data)
    if suffix == ".py":
        return _parse_module(name, data)
    if suffix == ".zip":
        return _parse_zip(name, data, limits, model_classes)
    raise InvalidSubmission("submission.unknown_type", file=name)


def _parse_notebook(name: str, data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise InvalidSubmission("submission.empty", file=name)
    try:
        raw = json.loads(data)  # detects UTF-8/16/32 and a BOM by itself
    except UnicodeDecodeError:
        raise InvalidSubmission("submission.bad_encoding", file=name) from None
    except json.JSONDecodeError as exc:
        raise InvalidSubmission("submission.bad_json", file=name, line=exc.lineno, column=exc.colno) from None
    except (ValueError, RecursionError):  # an integer of over 4300 digits, nesting too deep
        raise InvalidSubmission("submission.not_notebook", file=name) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise InvalidSubmission("submission.not_notebook", file=name)
    code: list[Cell] = []
    markdown: list[Cell] = []
    for number, (kind, source, tags) in enumerate(notebook_cells(name, raw), start=1):
        if kind == "code":
            code.append(Cell(number, source))
        elif kind == "markdown":
            markdown.append(Cell(number, source, tags))
    if not code:
        raise InvalidSubmission("submission.no_code", file=name)
    return {"kind": "notebook", "main_file": name, "cells": tuple(code), "markdown": tuple(markdown)}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(type(value), "?")


def _expect(name: str, field: str, value: object, kind: type[T]) -> T:
    if not isinstance(value, kind) or isinstance(value, bool):  # no field of a notebook is a boolean we read
        raise InvalidSubmission("submission.notebook_field", file=name, field=field, found=_json_type(value))
    return value


def notebook_cells(name: str, raw: dict[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(cell type, source, tags) of every cell in order, nbformat 4 or the worksheets of 3 and earlier
    (code in `input`, headings as markdown), as nbformat's upgrade reads them. Anything of the wrong
    shape raises InvalidSubmission naming where it is."""
    _expect(name, "metadata", raw.get("metadata", {}), dict)
    if "cells" in raw:
        located = [(f"cells[{i}]", cell) for i, cell in enumerate(_expect(name, "cells", raw["cells"], list))]
        legacy = False
    else:
        located = []
        for w, sheet in enumerate(_expect(name, "worksheets", raw["worksheets"], list)):
            _expect(name, f"worksheets[{w}]", sheet, dict)
            cells = _expect(name, f"worksheets[{w}].cells", sheet.get("cells", []), list)
            located += [(f"worksheets[{w}].cells[{i}]", cell) for i, cell in enumerate(cells)]
        legacy = True
    return [_cell(name, where, cell, legacy) for where, cell in located]


def _cell(name: str, where: str, cell: Any, legacy: bool) -> tuple[str, str, tuple[str, ...]]:
    _expect(name, where, cell, dict)
    if "cell_type" not in cell:
        raise InvalidSubmission("submission.notebook_cell_type", file=name, field=where)
    kind = _expect(name, f"{where}.cell_type", cell["cell_type"], str)
    field = "input" if legacy and kind == "code" else "source"
    source = _source_text(name, f"{where}.{field}", cell.get(field, ""))
    metadata = _expect(name, f"{where}.metadata", cell.get("metadata", {}), dict)
    tags = _expect(name, f"{where}.metadata.tags", metadata.get("tags", []), list)
    for index, tag in enumerate(tags):
        _expect(name, f"{where}.metadata.tags[{index}]", tag, str)
    if kind == "heading":  # nbformat 3: a heading cell is markdown from 4 on
        level = _expect(name, f"{where}.level", cell.get("level", 1), int)
        kind, source = "markdown", "#" * min(max(level, 1), 6) + " " + source
    return kind, source, tuple(tag[:100] for tag in tags[:20])


def _source_text(name: str, field: str, source: Any) -> str:
    """A cell's source: one string, or a list of strings (lines) joined."""
    if isinstance(source, list):
        for index, part in enumerate(source):
            _expect(name, f"{field}[{index}]", part, str)
        return "".join(source)
    return _expect(name, field, source, str)


def decode_python_source(name: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """Decode as PEP 263 says; fall back to Japanese Windows encodings, saying so."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), ()
    except (SyntaxError, UnicodeError, LookupError, ValueError):  # also a declared codec that is no text encoding
        pass
    for encoding in FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding), (f"encoding:{encoding}",)
        except UnicodeDecodeError:
            continue
    raise InvalidSubmission("submission.bad_encoding", file=name)


def _parse_module(name: str, data: bytes) -> dict[str, Any]:
    if not data.strip():
        raise InvalidSubmission("submission.empty", file=name)
    if b"\x00" in data:
        raise InvalidSubmission("submission.binary", file=name)
    source, notes = decode_python_source(name, data)
    source = source.removeprefix("\ufeff")
    return {"kind": "module", "main_file": name, "cells": (Cell(1, source),), "notes": notes,
            "docstring": module_docstring(source)}


def module_docstring(source: str, limit: int = 200_000) -> str:
    """The module's docstring, read with the tokenizer (nothing is parsed or run; a syntax error later
    in the file does not matter)."""
    import ast

    try:
        for token in tokenize.generate_tokens(io.StringIO(source[:limit]).readline):
            if token.type in (tokenize.ENCODING, tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT):
                continue
            if token.type != tokenize.STRING or len(token.string) > limit:
                return ""
            value = ast.literal_eval(token.string)
            return value if isinstance(value, str) else ""
    except (tokenize.TokenError, SyntaxError, ValueError, MemoryError, RecursionError):
        return ""
    return ""


class _ReadBudget:
    """The bytes a zip may still unpack to, counted as they stream (a directory entry can lie)."""

    def __init__(self, zip_name: str, limits: IntakeLimits) -> None:
        self.zip_name = zip_name
        self.limits = limits
        self.remaining = limits.zip_total_bytes

    def take(self, count: int) -> None:
        self.remaining -= count
        if self.remaining < 0:
            raise self.exceeded()

    def exceeded(self) -> InvalidSubmission:
        return InvalidSubmission("submission.zip_too_large", file=self.zip_name,
                                 limit_mb=f"{self.limits.zip_total_mb:g}")


def _end_of_central_directory(data: bytes) -> tuple[int, int] | None:
    """(entries, directory bytes) that the zip's end record declares, read where and as zipfile reads
    them (zip64's record, where there is one, replaces the plain one's); None when there is none."""
    position = len(data) - 22
    if position < 0 or data[position:position + 4] != b"PK\x05\x06":
        position = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - (1 << 16)))
    if position < 0 or len(data) - position < 22:
        return None
    entries, directory_bytes = struct.unpack_from("<HL", data, position + 10)
    locator = position - 20
    zip64 = locator - 56
    if zip64 >= 0 and data[locator:locator + 4] == b"PK\x06\x07" and data[zip64:zip64 + 4] == b"PK\x06\x06":
        entries, directory_bytes = struct.unpack_from("<QQ", data, zip64 + 32)
    return entries, directory_bytes


def _open_zip(name: str, data: bytes, limits: IntakeLimits) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The archive and its entries, once the central directory is known to be within the limits."""
    declared = _end_of_central_directory(data)
    if declared is None:  # zipfile would not find one either
        raise InvalidSubmission("submission.bad_zip", file=name)
    too_many = InvalidSubmission("submission.zip_too_many", file=name, limit=limits.zip_members)
    if declared[0] > limits.zip_members or declared[1] > limits.zip_members * MAX_DIRECTORY_BYTES_PER_ENTRY:
        raise too_many  # before zipfile builds an object per entry
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except ZIP_READ_ERRORS:
        raise InvalidSubmission("submission.bad_zip", file=name) from None
    if len(entries) > limits.zip_members:
        raise too_many
    if sum(entry.file_size for entry in entries) > limits.zip_total_bytes:
        raise _ReadBudget(name, limits).exceeded()
    return archive, entries


def _parse_zip(name: str, data: bytes, limits: IntakeLimits, model_classes: frozenset[str]) -> dict[str, Any]:
    archive, entries = _open_zip(name, data, limits)
    budget = _ReadBudget(name, limits)
    # Not ZipInfo.is_dir(): it raises IndexError on an entry with an empty name.
    members = [m for m in entries if m.filename and not m.filename.endswith("/") and not is_junk(PurePosixPath(m.filename).parts)]
    notebooks = [m for m in members if m.filename.lower().endswith(".ipynb")]
    modules = [m for m in members if m.filename.lower().endswith(".py")]
    candidates = notebooks or modules
    if not candidates:
        raise InvalidSubmission("submission.zip_empty", file=name)
    main, read = _graded_file(archive, candidates, name, budget, limits, model_classes)
    parsed = read[main.filename]
    extras: dict[str, str] = {}
    for member in modules:
        base = PurePosixPath(member.filename).name
        if member is main or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.py", base):
            continue
        if member.filename in read:  # read as a candidate already
            extras[base] = read[member.filename]["cells"][0].source
            continue
        text, _ = decode_python_source(base, _read_member(archive, member, MAX_EXTRA_FILE_BYTES, name, budget))
        extras[base] = text
    texts: dict[str, str] = {}
    for member in members:
        base = PurePosixPath(member.filename).name
        if len(texts) >= MAX_TEXT_FILES or PurePosixPath(base).suffix.lower() not in (".txt", ".md"):
            continue
        if member.file_size > MAX_TEXT_FILE_BYTES:
            continue
        try:
            raw = _read_member(archive, member, MAX_TEXT_FILE_BYTES, name, budget)
        except InvalidSubmission as exc:  # a text file that lies about its size is skipped, not the submission
            if exc.key == "submission.zip_too_large":
                raise
            continue
        for encoding in ("utf-8-sig", *FALLBACK_ENCODINGS):
            try:
                texts.setdefault(base, raw.decode(encoding))
                break
            except UnicodeDecodeError:
                continue
    parsed["main_file"] = f"{name}/{main.filename}"
    parsed["extra_files"] = extras
    parsed["texts"] = texts
    return parsed


def _graded_file(archive: zipfile.ZipFile, candidates: list[zipfile.ZipInfo], zip_name: str, budget: _ReadBudget,
                 limits: IntakeLimits, model_classes: frozenset[str]) -> tuple[zipfile.ZipInfo, dict[str, dict[str, Any]]]:
    """The notebook or module of a zip that is graded, and every candidate read (by name); the other
    modules are its helpers. Of
    several, the one that defines the most of the assignment's classes, then the most classes; a tie
    is the student's to settle (`submission.zip_ambiguous`), never the alphabet's."""
    parsed: dict[str, dict[str, Any]] = {}
    problems: dict[str, InvalidSubmission] = {}
    for member in candidates:
        try:
            parsed[member.filename] = _parse_by_suffix(
                member.filename, _read_member(archive, member, MAX_SUBMISSION_BYTES, zip_name, budget), limits,
                model_classes)
        except InvalidSubmission as exc:
            if exc.key == "submission.zip_too_large" or len(candidates) == 1:
                raise
            problems[member.filename] = exc  # a broken helper loses nothing; a broken only file is the answer
    if not parsed:
        raise next(iter(problems.values()))

    defined: dict[str, tuple[int, int]] = {}  # per file: the assignment's classes it defines, all its classes
    for file_name, read in parsed.items():
        names = {match.group(1) for cell in read["cells"] for match in CLASS_STATEMENT.finditer(cell.source)}
        defined[file_name] = (len(names & model_classes), len(names))
    best = max(defined.values())
    tied = [m for m in candidates if defined.get(m.filename) == best]
    if len(tied) > 1:
        raise InvalidSubmission("submission.zip_ambiguous", file=zip_name, files=", ".join(m.filename for m in tied))
    return tied[0], parsed


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, zip_name: str,
                 budget: _ReadBudget) -> bytes:
    # The size in the directory can lie (zip bomb): read in chunks, at most limit + 1 bytes, each
    # counted against what the whole zip may unpack to.
    chunks: list[bytes] = []
    read = 0
    try:
        with archive.open(member) as stream:
            while read <= limit and (chunk := stream.read(min(READ_CHUNK, limit + 1 - read))):
                budget.take(len(chunk))
                chunks.append(chunk)
                read += len(chunk)
    except ZIP_READ_ERRORS:
        raise InvalidSubmission("submission.bad_zip", file=zip_name) from None
    if read > limit:
        raise InvalidSubmission("submission.too_large", file=member.filename, size_mb=read / 2**20, limit_mb=limit / 2**20)
    return b"".join(chunks)
