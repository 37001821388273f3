"""What a batch grades: the files and folders given on the command line -> one item per submission.

Each item names the file to grade and the student it belongs to. Plain files take the id from their
name; LMS downloads carry the id in their own naming scheme:

- a Moodle "Download all submissions" zip (or the folder it unpacks to): the participant id
  (`Jane Doe_1234567_assignsubmission_file/...`, all three layouts, see `grader.outputs.lms.moodle`);
- a Canvas "Download Submissions" zip (or folder): the user id, or `anon_XXXXX` under anonymous
  grading (`doejane_LATE_12345_67890_hw1.ipynb`, see `grader.outputs.lms.canvas`).

Only the inputs given here (what the instructor names) can be downloads; a zip or folder found inside
a folder, or anything inside a student's submission, never is: the naming is easy to copy, and a
student's own zip read as a download would put files in other students' rows. A zip given here is a
download when its names say so; a folder given here when its own entries do (not a subfolder's), and
in both at least half of the files have to be in the naming. `lms` ("moodle" or "canvas", the
`--lms` of `grader grade`) recognises that layout alone. A submission time later than tomorrow is not
believed (kept as unknown): it would otherwise always win "keep the latest".

Downloads are unpacked into a folder this module manages (a temporary one unless the caller names
one). What real downloads hold besides submissions is tolerated: `__MACOSX/`, dot files, several files
per student (their notebooks and modules are packed into one zip that the submission reader takes
apart), names with spaces or Japanese characters (also in zips without the UTF-8 flag). A file no
student can be told from is not graded and is listed in `unattributed`.
"""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from grader.intake.downloads import canvas, moodle
from grader.intake.files import is_junk, is_submission_file, student_id_for

# An LMS download is unpacked only this far: a zip bomb stops here, with what it held so far listed.
MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_EXTRACT_BYTES = 4 * 1024**3
FIXED_ZIP_TIME = (2000, 1, 1, 0, 0, 0)  # packed zips are byte-identical from run to run (reuse by sha256)
LMS_KINDS = ("moodle", "canvas")
LMS_TITLES = {"moodle": "Moodle", "canvas": "Canvas"}
# Zip times are local and without a zone, file times may come from another machine's clock: a day of slack.
FUTURE_SLACK = timedelta(days=1)


@dataclass(frozen=True)
class BatchItem:
    path: Path
    student_id: str  # unique in the batch: OUT/results/<student_id>.json
    # The person: the same for every submission of one student (resubmissions), so that the
    # gradebook keeps one of them. Defaults to `student_id`.
    student: str = ""
    name: str = ""              # the name the LMS download gives ("Jane Doe", "doejane")
    lms: str | None = None      # "moodle" | "canvas" | None (a plain file)
    # What the LMS needs to take a grade back: {"participant_id": ...} or {"user_id": ..., ...}.
    lms_ref: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    submitted_at: datetime | None = None  # file time (in the zip, or on disk); orders resubmissions
    late: bool = False
    source: str = ""            # the download or folder the item came from
    files: tuple[str, ...] = ()  # the download's entries this item was built from

    def __post_init__(self) -> None:
        if not self.student:
            object.__setattr__(self, "student", self.student_id)


@dataclass(frozen=True)
class Unattributed:
    source: str  # the download or folder
    path: str    # the entry in it
    reason: str


class BatchItems(list[BatchItem]):
    """The items (a list, as before), with what the LMS import found beside them."""

    def __init__(self, items: Iterable[BatchItem] = (), unattributed: list[Unattributed] | None = None,
                 not_graded: list[Unattributed] | None = None, lms: set[str] | None = None,
                 notes: list[str] | None = None) -> None:
        super().__init__(items)
        self.unattributed: list[Unattributed] = unattributed or []
        # Files that belong to a student but were not graded because another of theirs was.
        self.not_graded: list[Unattributed] = not_graded or []
        self.lms: set[str] = lms or set()
        # What the instructor should know about how the inputs were read (printed after the batch).
        self.notes: list[str] = notes or []


def collect_inputs(inputs: list[Path], extract_dir: Path | None = None, lms: str | None = None) -> BatchItems:
    """Files as given; folders searched recursively for submissions (hidden and checkpoint folders
    skipped); an input that is itself a Moodle or Canvas download (zip or unpacked folder; with `lms`,
    only that LMS's) read by its naming. Ids are unique within the batch: a second `alice.py` becomes
    `alice-2`, a second submission of Moodle participant 1234567 becomes `1234567-2` (both keep
    `student` = the first id)."""
    if lms is not None and lms not in LMS_KINDS:
        raise ValueError(f"lms must be one of {LMS_KINDS}, not {lms!r}")
    collector = _Collector(extract_dir)
    for item in inputs:
        item = Path(item)
        if item.is_dir():
            files = _folder_files(item)
            relatives = [p.relative_to(item).as_posix() for p in files]
            # The folder itself must be the download: a wrapper folder is allowed in zips only.
            kind = collector.accepted_kind(item, detect_lms(relatives, lms, wrapped=False), lms)
            if kind:
                collector.add_tree(item, str(item), kind, [(r, p, _mtime(p)) for r, p in zip(relatives, files)],
                                   wrapped=False)
            else:
                collector.add_folder(item, files)
        elif item.suffix.lower() == ".zip" and (kind := collector.accepted_kind(item, lms_zip_kind(item, lms), lms)):
            collector.add_download(item, kind)
        else:
            collector.add_plain(item)
    return collector.finish()


def lms_zip_kind(path: Path, lms: str | None = None) -> str | None:
    """"moodle" or "canvas" when the zip is laid out as an LMS download, None for anything else (a
    student's zip). Only a zip the instructor names is asked: see `collect_inputs`."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [_member_name(m) for m in archive.infolist() if not _is_folder(m)]
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    return detect_lms([n for n in names if not is_junk(PurePosixPath(n).parts)], lms)


def detect_lms(relatives: list[str], lms: str | None = None, wrapped: bool = True) -> str | None:
    """The LMS whose download these paths are laid out as; with `lms`, tried first (the other is
    still reported, so that the caller can say why it read the input as plain files)."""
    tests = {"moodle": lambda: moodle.looks_like(relatives, wrapped), "canvas": lambda: canvas.looks_like(relatives)}
    order = [lms, *(k for k in LMS_KINDS if k != lms)] if lms else list(LMS_KINDS)
    return next((kind for kind in order if tests[kind]()), None)


def _folder_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and not is_junk(p.relative_to(folder).parts)]


def _believable(when: datetime | None) -> datetime | None:
    if when is not None and when > datetime.now() + FUTURE_SLACK:
        return None
    return when


# -- the collector -------------------------------------------------------------------------------
@dataclass
class _Entry:
    student_id: str
    name: str
    lms: str
    ref: dict[str, Any]
    late: bool
    files: list[tuple[str, Path, str]]  # (entry in the download, file on disk, name inside the submission)
    submitted_at: datetime | None


class _Collector:
    def __init__(self, extract_dir: Path | None) -> None:
        self._extract_dir = extract_dir
        self._pending: list[dict[str, Any]] = []  # BatchItem fields, ids not yet unique
        self.unattributed: list[Unattributed] = []
        self.not_graded: list[Unattributed] = []
        self.lms: set[str] = set()
        self.notes: list[str] = []
        self._future = 0
        self._downloads = 0

    @property
    def extract_dir(self) -> Path:
        if self._extract_dir is None:
            self._extract_dir = Path(tempfile.mkdtemp(prefix="grader-lms-"))
            atexit.register(shutil.rmtree, self._extract_dir, True)
        self._extract_dir.mkdir(parents=True, exist_ok=True)
        return self._extract_dir

    def accepted_kind(self, path: Path, layout: str | None, lms: str | None) -> str | None:
        """The layout, unless `--lms` names another LMS: then the input is read as plain files, and
        a note says so."""
        if layout is None or lms is None or layout == lms:
            return layout
        self.notes.append(f"{path}: laid out as a {LMS_TITLES[layout]} download, but --lms {lms} says the downloads "
                          f"are {LMS_TITLES[lms]}'s: read as plain submissions")
        return None

    def _when(self, when: datetime | None) -> datetime | None:
        believed = _believable(when)
        self._future += believed is None and when is not None
        return believed

    # plain files and folders
    def add_plain(self, path: Path, source: str = "") -> None:
        self._pending.append({"path": path, "student_id": student_id_for(path), "source": source or str(path.parent),
                              "submitted_at": self._when(_mtime(path))})

    def add_folder(self, folder: Path, files: list[Path] | None = None) -> None:
        """A plain folder: every notebook, module and zip in it is one student's submission. A zip here
        is never unpacked as a download, whatever its names (a student chose them)."""
        for path in _folder_files(folder) if files is None else files:
            if not is_submission_file(path.name):
                continue
            if path.suffix.lower() == ".zip" and (layout := lms_zip_kind(path)):
                # A download someone put in a folder is read as one submission: say how to read it instead.
                self.notes.append(f"{path}: laid out as a {LMS_TITLES[layout]} download, but inside a folder a zip is "
                                  f"one student's submission; give the zip itself as an input to read it as a download")
            self.add_plain(path, str(folder))

    # LMS downloads
    def add_download(self, path: Path, kind: str) -> None:
        self._downloads += 1
        target = self.extract_dir / f"{self._downloads:02d}-{_safe_component(path.stem)}"
        extracted = self._extract(path, target)
        self.add_tree(target, path.name, kind, extracted, wrapped=True)

    def _extract(self, path: Path, target: Path) -> list[tuple[str, Path, datetime | None]]:
        """Unpack what is safe to unpack; the rest goes to `unattributed` with the reason."""
        files: list[tuple[str, Path, datetime | None]] = []
        total = 0
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                name = _member_name(member)
                parts = PurePosixPath(name).parts
                if _is_folder(member):
                    continue
                if name.startswith("/") or ".." in parts or "\\" in name or not parts:
                    self.unattributed.append(Unattributed(path.name, name, "unsafe path in the zip: not unpacked"))
                    continue
                if is_junk(parts):
                    continue
                if stat.S_ISLNK(member.external_attr >> 16):
                    self.unattributed.append(Unattributed(path.name, name, "a symbolic link: not unpacked"))
                    continue
                if total + member.file_size > MAX_EXTRACT_BYTES or member.file_size > MAX_MEMBER_BYTES:
                    self.unattributed.append(Unattributed(path.name, name, "too large to unpack"))
                    continue
                destination = target.joinpath(*(_safe_component(p) for p in parts))
                try:
                    with archive.open(member) as stream:
                        data = stream.read(MAX_MEMBER_BYTES + 1)
                    if len(data) > MAX_MEMBER_BYTES:
                        raise ValueError("larger than its directory entry says")
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    destination.write_bytes(data)
                except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError, EOFError) as exc:
                    self.unattributed.append(Unattributed(path.name, name, f"could not be unpacked ({exc})"))
                    continue
                total += len(data)
                files.append((name, destination, _zip_time(member)))
        return files

    def add_tree(self, root: Path, source: str, kind: str, files: list[tuple[str, Path, datetime | None]],
                 wrapped: bool = True) -> None:
        """Group a download's files by student, then make one item per student. Everything a student
        handed in (a zip, folders in Moodle's naming) stays that student's."""
        self.lms.add(kind)
        entries: dict[str, _Entry] = {}
        for relative, path, when in files:
            when = self._when(when)
            if kind == "moodle":
                found = moodle.parse_path(relative, wrapped)
                if found is None:
                    self.unattributed.append(Unattributed(
                        source, relative, "not in Moodle's naming <name>_<participant id>_assignsubmission_<plugin>"))
                    continue
                key, name, inner = found.participant_id, found.name, found.inner_path
                ref: dict[str, Any] = {"participant_id": found.participant_id, "name": found.name}
                late = False
            else:
                found_c = canvas.parse_name(relative) if "/" not in relative else None
                if found_c is None:
                    self.unattributed.append(Unattributed(
                        source, relative, "not in Canvas's naming <name>[_LATE]_<user id>_<attachment id>_<file>"))
                    continue
                key, name, inner, late = found_c.student_id, found_c.name, found_c.filename, found_c.late
                ref = {"user_id": found_c.user_id, "anonymous_id": found_c.anonymous_id, "name": found_c.name,
                       "attachment_ids": []}
            entry = entries.setdefault(key, _Entry(key, name, kind, ref, late, [], None))
            entry.files.append((relative, path, inner))
            entry.late = entry.late or late
            if kind == "canvas" and found_c is not None and found_c.attachment_id:
                entry.ref["attachment_ids"].append(found_c.attachment_id)
            if when is not None and (entry.submitted_at is None or when > entry.submitted_at):
                entry.submitted_at = when
        for entry in entries.values():
            self._add_entry(root, source, entry)

    def _add_entry(self, root: Path, source: str, entry: _Entry) -> None:
        gradeable = [f for f in entry.files if is_submission_file(f[2])]
        if len(gradeable) == 1:
            path = gradeable[0][1]
        elif gradeable:
            # Several notebooks or modules: one zip, which the submission reader takes apart (it grades
            # the one notebook, or says which ones it could not choose between).
            packed = self.extract_dir / "packed" / f"{entry.lms}-{_safe_component(entry.student_id)}-{len(self._pending)}.zip"
            pack_files([(inner, file) for _, file, inner in gradeable], packed)
            path = packed
        else:
            # Nothing gradeable (a PDF, online text only): the grader says why, in the student's report.
            path = sorted(entry.files)[0][1]
        used = {f[1] for f in gradeable} or {path}
        for relative, file, _ in entry.files:
            if file not in used:
                self.not_graded.append(Unattributed(source, relative, f"{entry.lms} {entry.student_id}: not a notebook or module"))
        self._pending.append({
            "path": path, "student_id": entry.student_id, "name": entry.name, "lms": entry.lms, "lms_ref": entry.ref,
            "submitted_at": entry.submitted_at, "late": entry.late, "source": source,
            "files": tuple(sorted(f[0] for f in entry.files)),
        })

    def finish(self) -> BatchItems:
        ids = unique_ids([p["student_id"] for p in self._pending])
        items = [BatchItem(**{**fields, "student_id": sid, "student": fields["student_id"]})
                 for fields, sid in zip(self._pending, ids)]
        notes = list(self.notes)
        if self._future:
            notes.append(f"{self._future} file(s) carry a time later than tomorrow: not believed, so they do not count "
                         f"as the latest submission")
        return BatchItems(items, self.unattributed, self.not_graded, self.lms, notes)


def unique_ids(ids: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    taken = set(ids)
    unique = []
    for base in ids:
        seen[base] = seen.get(base, 0) + 1
        candidate, count = base, seen[base]
        if count > 1:
            candidate = f"{base}-{count}"
            while candidate in taken:  # an `alice-2.py` of its own is not overwritten
                count += 1
                candidate = f"{base}-{count}"
            seen[base] = count
        taken.add(candidate)
        unique.append(candidate)
    return unique


def pack_files(files: list[tuple[str, Path]], destination: Path) -> Path:
    """(name inside, file) -> a zip with fixed times, so the same files always make the same bytes."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for inner, file in sorted(files):
            info = zipfile.ZipInfo(inner.lstrip("/"), date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    destination.write_bytes(buffer.getvalue())
    return destination


def _is_folder(member: zipfile.ZipInfo) -> bool:
    # Not ZipInfo.is_dir(): it raises IndexError on an entry with an empty name.
    return member.filename.endswith("/")


def _member_name(member: zipfile.ZipInfo) -> str:
    """The entry's name as its author wrote it. Without the UTF-8 flag Python reads the bytes as cp437;
    zips made on Japanese Windows hold cp932, and many tools write UTF-8 without setting the flag."""
    name = member.filename
    if member.flag_bits & 0x800:
        return name
    try:
        raw = name.encode("cp437")
    except UnicodeEncodeError:
        return name
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return name


def _safe_component(part: str) -> str:
    cleaned = re.sub(r"[\x00-\x1f/\\]", "_", part).strip() or "_"
    # Keep each name within the 255 bytes a file system allows.
    while len(cleaned.encode("utf-8")) > 200:
        cleaned = cleaned[:-1]
    return cleaned


def _zip_time(member: zipfile.ZipInfo) -> datetime | None:
    try:
        return datetime(*member.date_time)
    except ValueError:
        return None


def _mtime(path: Path) -> datetime | None:
    try:
        return datetime.fromtimestamp(os.stat(path).st_mtime).replace(microsecond=0)
    except OSError:
        return None
