"""Find and load an assignment spec (`assignment.toml`) into a `LoadedAssignment`.

A wrong key or type becomes an `AssignmentError` that names the file and the key path
(`models.2.metric.full_credit`), never a traceback.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import tomllib
from pydantic import BaseModel, ConfigDict, ValidationError

from grader.spec.schema import Assignment

ASSIGNMENTS_DIR = Path(__file__).resolve().parent.parent.parent / "assignments"
SPEC_FILE = "assignment.toml"


class AssignmentError(Exception):
    """The assignment could not be found or its spec is invalid."""


class LoadedAssignment(BaseModel):
    """A validated spec together with where it came from and the hash that identifies it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: Assignment
    folder: Path
    spec_sha256: str


def resolve_folder(name_or_path: str) -> Path:
    """`-a` takes a name under `assignments/` or a path to a folder (or its `assignment.toml`)."""
    candidate = Path(name_or_path)
    if candidate.name == SPEC_FILE:
        candidate = candidate.parent
    if (candidate / SPEC_FILE).is_file():
        return candidate
    by_name = ASSIGNMENTS_DIR / name_or_path
    if (by_name / SPEC_FILE).is_file():
        return by_name
    known = sorted(p.parent.name for p in ASSIGNMENTS_DIR.glob(f"*/{SPEC_FILE}"))
    raise AssignmentError(
        f"assignment {name_or_path!r} not found: not a folder with {SPEC_FILE}, "
        f"nor a name under {ASSIGNMENTS_DIR} (known: {', '.join(known) or 'none'})"
    )


def load_assignment(name_or_path: str = "iris_basics") -> LoadedAssignment:
    folder = resolve_folder(name_or_path)
    return parse_assignment((folder / SPEC_FILE).read_bytes(), folder)


def parse_assignment(raw: bytes, folder: Path) -> LoadedAssignment:
    """Validate the bytes of an `assignment.toml` (a remote worker gets them, not the folder)."""
    path = folder / SPEC_FILE
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AssignmentError(f"{path}: not valid TOML: {exc}") from None
    try:
        spec = Assignment.model_validate(data)
    except ValidationError as exc:
        raise AssignmentError(_describe_validation_error(path, exc)) from None
    return LoadedAssignment(spec=spec, folder=folder, spec_sha256=hashlib.sha256(raw).hexdigest())


def _describe_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s) in the assignment spec"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)
