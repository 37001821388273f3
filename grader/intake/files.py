"""What counts as a submission file, what is junk, and the names and hashes made from files.

Defined once here for every reader: the submission reader, the batch's input collection (folders,
LMS downloads), the upload service and the Gradescope runner.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

SUBMISSION_SUFFIXES = (".ipynb", ".py", ".zip")
# What operating systems and editors leave beside the files a student meant to hand in.
JUNK_NAMES = frozenset({"__MACOSX", "__pycache__", "Thumbs.db", "desktop.ini"})


def is_submission_file(name: str) -> bool:
    return name.lower().endswith(SUBMISSION_SUFFIXES)


def is_junk(parts: Iterable[str]) -> bool:
    """A path (as its parts) under a hidden or system folder, or a hidden, backup or system file."""
    return any(part.startswith((".", "~")) or part in JUNK_NAMES for part in parts)


def student_id_for(path: Path) -> str:
    """A file-system-safe id from the file name (LMS importers pass their own)."""
    stem = path.name
    for suffix in SUBMISSION_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    cleaned = re.sub(r"[^\w.-]+", "_", stem, flags=re.UNICODE).strip("._")
    return cleaned or "submission"


def file_sha256(path: Path) -> str | None:
    """The file's sha256 (read in chunks), or None when it cannot be read."""
    try:
        digest = hashlib.sha256()
        with Path(path).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None
