"""Read a submission (.ipynb, .py or a .zip holding one) into code cells, or say plainly why not.

Only the file format is handled here, on the trusted side: nothing in the submission runs. The code
itself is parsed and executed by the harness, inside the sandbox.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import tokenize
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

MAX_SUBMISSION_BYTES = 20 * 1024 * 1024
MAX_EXTRA_FILE_BYTES = 1024 * 1024
MAX_TEXT_FILE_BYTES = 64 * 1024  # an answer.txt / answer.md in a zip
MAX_TEXT_FILES = 8
# Encodings tried, in order, for a .py file with no PEP 263 declaration that is not UTF-8: Japanese
# Windows editors save cp932.
FALLBACK_ENCODINGS = ("cp932", "euc_jp")


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


def student_id_for(path: Path) -> str:
    """A file-system-safe id from the file name (LMS importers pass their own)."""
    stem = path.name
    for suffix in (".ipynb", ".py", ".zip"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    cleaned = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._")
    return cleaned or "submission"


def read_submission(path: Path, student_id: str | None = None) -> Submission:
    """Read `path`, raising `InvalidSubmission` with a reason a student can act on."""
    path = Path(path)
    if not path.is_file():
        raise InvalidSubmission("submission.not_found", file=path.name)
    size = path.stat().st_size
    if size > MAX_SUBMISSION_BYTES:
        raise InvalidSubmission("submission.too_large", file=path.name, size_mb=size / 2**20, limit_mb=MAX_SUBMISSION_BYTES / 2**20)
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    sid = student_id or student_id_for(path)
    parsed = _parse_by_suffix(path.name, data)
    return Submission(path=path, student_id=sid, sha256=sha256, **parsed)


def _parse_by_suffix(name: str, data: bytes) -> dict:
    suffix = PurePosixPath(name).suffix.lower()
    if suffix == ".ipynb":
        return _parse_notebook(name, data)
    if suffix == ".py":
        return _parse_module(name, data)
    if suffix == ".zip":
        return _parse_zip(name, data)
    raise InvalidSubmission("submission.unknown_type", file=name)


def _parse_notebook(name: str, data: bytes) -> dict:
    import nbformat

    if not data.strip():
        raise InvalidSubmission("submission.empty", file=name)
    try:
        raw = json.loads(data)  # detects UTF-8/16/32 and a BOM by itself
    except UnicodeDecodeError:
        raise InvalidSubmission("submission.bad_encoding", file=name) from None
    except json.JSONDecodeError as exc:
        raise InvalidSubmission("submission.bad_json", file=name, line=exc.lineno, column=exc.colno) from None
    except RecursionError:
        raise InvalidSubmission("submission.not_notebook", file=name) from None
    if not isinstance(raw, dict) or "cells" not in raw and "worksheets" not in raw:
        raise InvalidSubmission("submission.not_notebook", file=name)
    try:
        notebook = nbformat.convert(nbformat.from_dict(raw), 4)
    except Exception:  # nbformat raises many kinds on malformed documents
        raise InvalidSubmission("submission.not_notebook", file=name) from None
    code: list[Cell] = []
    markdown: list[Cell] = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        if not isinstance(source, str):
            continue
        kind = cell.get("cell_type")
        if kind == "code":
            code.append(Cell(number, source))
        elif kind == "markdown":
            tags = (cell.get("metadata") or {}).get("tags") if isinstance(cell.get("metadata"), dict) else None
            markdown.append(Cell(number, source, tuple(str(t)[:100] for t in tags[:20]) if isinstance(tags, list) else ()))
    if not code:
        raise InvalidSubmission("submission.no_code", file=name)
    return {"kind": "notebook", "main_file": name, "cells": tuple(code), "markdown": tuple(markdown)}


def decode_python_source(name: str, data: bytes) -> tuple[str, tuple[str, ...]]:
    """Decode as PEP 263 says; fall back to Japanese Windows encodings, saying so."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), ()
    except (SyntaxError, UnicodeDecodeError, LookupError):
        pass
    for encoding in FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding), (f"encoding:{encoding}",)
        except UnicodeDecodeError:
            continue
    raise InvalidSubmission("submission.bad_encoding", file=name)


def _parse_module(name: str, data: bytes) -> dict:
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


def _is_junk(member: str) -> bool:
    parts = PurePosixPath(member).parts
    return any(p.startswith(".") or p == "__MACOSX" or p == "__pycache__" for p in parts)


def _parse_zip(name: str, data: bytes) -> dict:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir() and not _is_junk(m.filename)]
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidSubmission("submission.bad_zip", file=name) from None
    notebooks = [m for m in members if m.filename.lower().endswith(".ipynb")]
    modules = [m for m in members if m.filename.lower().endswith(".py")]
    candidates = notebooks or modules
    if not candidates:
        raise InvalidSubmission("submission.zip_empty", file=name)
    if len(candidates) > 1 and notebooks:
        raise InvalidSubmission("submission.zip_ambiguous", file=name, files=", ".join(m.filename for m in candidates))
    # Several modules: grade the one that is not imported by the others is guesswork; take the
    # shallowest, then alphabetical first, and ship the rest as importable helpers.
    main = sorted(candidates, key=lambda m: (m.filename.count("/"), m.filename))[0]
    parsed = _parse_by_suffix(main.filename, _read_member(archive, main, MAX_SUBMISSION_BYTES, name))
    extras: dict[str, str] = {}
    for member in modules:
        base = PurePosixPath(member.filename).name
        if member is main or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*\.py", base):
            continue
        text, _ = decode_python_source(base, _read_member(archive, member, MAX_EXTRA_FILE_BYTES, name))
        extras[base] = text
    texts: dict[str, str] = {}
    for member in members:
        base = PurePosixPath(member.filename).name
        if len(texts) >= MAX_TEXT_FILES or PurePosixPath(base).suffix.lower() not in (".txt", ".md"):
            continue
        if member.file_size > MAX_TEXT_FILE_BYTES:
            continue
        try:
            raw = _read_member(archive, member, MAX_TEXT_FILE_BYTES, name)
        except InvalidSubmission:  # a text file that lies about its size is skipped, not the submission
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


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int, zip_name: str) -> bytes:
    # The size in the directory can lie (zip bomb): read at most limit + 1 bytes and check.
    try:
        with archive.open(member) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError):
        raise InvalidSubmission("submission.bad_zip", file=zip_name) from None
    if len(data) > limit:
        raise InvalidSubmission("submission.too_large", file=member.filename, size_mb=len(data) / 2**20, limit_mb=limit / 2**20)
    return data
