"""Find and load an assignment (`assignment.toml`, and `messages.toml` beside it) into a `LoadedAssignment`.

`-a NAME` is looked for on a search path: the folders given (`--assignments DIR`), then those of
`GRADER_ASSIGNMENTS` (separated by `os.pathsep`), then the students' kits installed
(`grader kit`: packages that declare a `grader.assignments` entry point), then the assignments
bundled with the grader as package data (`grader/assignments/`), so that an installed wheel grades
them too. A path to a folder
holding `assignment.toml` (or to the file) is taken as it is.

A wrong key or type becomes an `AssignmentError` that names the file and the key path
(`models.2.metric.full_credit`), never a traceback.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import tomllib
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from grader.spec.datasets.registry import class_names
from grader.spec.messages import (
    CLASS_NAMES,
    MESSAGES_FILE,
    MessageOverlay,
    MessagesError,
    parse_messages,
    read_messages,
)
from grader.spec.schema import Assignment

BUNDLED_ASSIGNMENTS = Path(__file__).resolve().parent.parent / "assignments"
SEARCH_PATH_VARIABLE = "GRADER_ASSIGNMENTS"
SPEC_FILE = "assignment.toml"
CHECKS_FILE = "checks.py"  # the instructor's own checks, trusted code (grader.checks.custom)


class AssignmentError(Exception):
    """The assignment could not be found or its spec is invalid."""


class LoadedAssignment(BaseModel):
    """A validated spec together with where it came from, the hash that identifies it, and the
    assignment's own texts over the grader's catalogue (its `messages.toml`; empty without one)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    spec: Assignment
    folder: Path
    spec_sha256: str
    messages: MessageOverlay = MessageOverlay()
    checks_source: bytes | None = None  # the bytes of its checks.py (None: it has none)

    def public(self) -> LoadedAssignment:
        """As a student's self-check grades it (`Assignment.public`: on the validation rows, if any)."""
        return self.model_copy(update={"spec": self.spec.public()})


def search_path(assignments: Sequence[Path] = ()) -> list[tuple[Path, str]]:
    """The folders `-a NAME` is looked for in, in order, each with where it came from."""
    found = [(Path(folder), "--assignments") for folder in assignments]
    found += [(Path(folder), SEARCH_PATH_VARIABLE)
              for folder in os.environ.get(SEARCH_PATH_VARIABLE, "").split(os.pathsep) if folder]
    found += [(folder, "kit") for folder in installed_kits()]
    found.append((BUNDLED_ASSIGNMENTS, "bundled"))
    return found


KIT_ENTRY_POINTS = "grader.assignments"


def installed_kits() -> list[Path]:
    """The folders of the students' kits installed here: each kit's package holds its assignment
    folder, and names the package in a `grader.assignments` entry point (found without importing it)."""
    folders = []
    for point in entry_points(group=KIT_ENTRY_POINTS):
        try:
            found = importlib.util.find_spec(point.value)
        except (ImportError, ValueError):  # a broken kit is not on the path; the others are
            continue
        locations = found.submodule_search_locations if found is not None else None
        if locations:
            folders.append(Path(list(locations)[0]))
    return folders


def resolve_folder(name_or_path: str, assignments: Sequence[Path] = ()) -> Path:
    """The folder of `name_or_path`: a folder (or its `assignment.toml`), else the first folder of the
    search path (`assignments` first) that holds an assignment of that name."""
    candidate = Path(name_or_path)
    if candidate.name == SPEC_FILE:
        candidate = candidate.parent
    if (candidate / SPEC_FILE).is_file():
        return candidate
    searched = search_path(assignments)
    for folder, _ in searched:
        if (folder / name_or_path / SPEC_FILE).is_file():
            return folder / name_or_path
    known = known_assignments(assignments)
    where = "; ".join(f"{folder} ({origin})" for folder, origin in searched)
    raise AssignmentError(
        f"assignment {name_or_path!r} not found: not a folder with {SPEC_FILE}, nor a name in the folders "
        f"searched: {where} (known: {', '.join(known) or 'none'})"
    )


def known_assignments(assignments: Sequence[Path] = ()) -> list[str]:
    """The names of the assignments in the search path's folders."""
    return sorted({path.parent.name for folder, _ in search_path(assignments) for path in folder.glob(f"*/{SPEC_FILE}")})


def load_assignment(name_or_path: str = "iris_basics", assignments: Sequence[Path] = ()) -> LoadedAssignment:
    folder = resolve_folder(name_or_path, assignments)
    return parse_assignment((folder / SPEC_FILE).read_bytes(), folder, read_messages(folder), read_checks(folder))


def read_checks(folder: Path) -> bytes | None:
    path = folder / CHECKS_FILE
    return path.read_bytes() if path.is_file() else None


def parse_assignment(raw: bytes, folder: Path, messages: bytes | None = None,
                     checks: bytes | None = None) -> LoadedAssignment:
    """Validate the bytes of an `assignment.toml` and of its `messages.toml` (None: it has none), with
    the bytes of its `checks.py` (None: it has none); a remote worker gets the bytes, not the folder."""
    path = folder / SPEC_FILE
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise AssignmentError(f"{path}: not valid TOML: {exc}") from None
    try:
        spec = Assignment.model_validate(data)
    except ValidationError as exc:
        raise AssignmentError(_describe_validation_error(path, exc)) from None
    try:
        overlay = parse_messages(messages, folder / MESSAGES_FILE)
    except MessagesError as exc:
        raise AssignmentError(str(exc)) from None
    _check_class_names(overlay, spec, folder / MESSAGES_FILE)
    if spec.checks and checks is None:
        raise AssignmentError(f"{folder / CHECKS_FILE}: not found: the spec declares {len(spec.checks)} check(s) "
                              f"of its own ({', '.join(c.id for c in spec.checks)}), written in that file")
    # The hash covers the spec and the instructor's checks (both decide scores), not the messages: a
    # cached result is reused after a change of wording only, with the old texts (`grader grade
    # --force` grades again). An assignment without checks.py hashes as it did before there were any.
    digest = hashlib.sha256(raw)
    if checks is not None:
        digest.update(b"\0" + CHECKS_FILE.encode() + b"\0" + checks)
    return LoadedAssignment(spec=spec, folder=folder, spec_sha256=digest.hexdigest(), messages=overlay,
                            checks_source=checks)


def _check_class_names(overlay: MessageOverlay, spec: Assignment, path: Path) -> None:
    expected = class_names(spec.dataset.name)
    for lang, names in overlay.class_names.items():
        if len(names) != len(expected):
            raise AssignmentError(f"{path}: {CLASS_NAMES}.{lang}: {len(names)} names, but the data set "
                                  f"{spec.dataset.name!r} has {len(expected)} classes ({', '.join(expected)})")


def _describe_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: {exc.error_count()} problem(s) in the assignment spec"]
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"  {key}: {error['msg']}")
    return "\n".join(lines)
