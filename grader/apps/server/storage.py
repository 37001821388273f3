"""The upload service's state: one SQLite file, with the files on disk beside it.

    DATA/grader.sqlite3           the submissions table (the queue is its `state` column)
    DATA/files/<id>/<file name>   each upload, written (and fsynced) before it is recorded
    DATA/results/<id>.json        the result JSON, once graded
    DATA/reports/<id>.html        the HTML report, once graded (the instructor's: everything)
    DATA/reports/<id>.student.html, <id>.student-after-due.html
                                  what a student may see, before and after the due date, where a
                                  result has checks not shown to students (or an instructor's note)

A submission is recorded in one transaction after its file is on disk, and only then answered 202:
what was accepted is never lost. A job found `running` when the service starts was cut off by a stop
or a crash and goes back to the queue; one that was cut off `MAX_ATTEMPTS` times is graded `error`.
The same file from the same student for the same assignment is stored once (unique index).
One connection, serialised by a lock: every statement is short, and the workers and request threads
share it safely.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from grader.i18n import Lang

DB_FILE = "grader.sqlite3"
MAX_ATTEMPTS = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    assignment    TEXT NOT NULL,
    student_id    TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    size          INTEGER NOT NULL,
    lang          TEXT,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done')),
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    attempts      INTEGER NOT NULL DEFAULT 0,
    result_status TEXT,
    score         REAL,
    max_score     REAL,
    UNIQUE (assignment, student_id, sha256)
);
CREATE INDEX IF NOT EXISTS submissions_by_state ON submissions (state, seq);
CREATE INDEX IF NOT EXISTS submissions_by_student ON submissions (assignment, student_id, seq);
"""


FAIR_NEXT = """
SELECT queued.* FROM (
    SELECT *, ROW_NUMBER() OVER (PARTITION BY assignment, student_id ORDER BY seq) AS place
    FROM submissions WHERE state = 'queued'
) AS queued
ORDER BY queued.place + (SELECT COUNT(*) FROM submissions AS running WHERE running.state = 'running'
                         AND running.assignment = queued.assignment AND running.student_id = queued.student_id),
         queued.seq
LIMIT 1
"""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Row:
    seq: int
    id: str
    assignment: str
    student_id: str
    sha256: str
    file_name: str
    size: int
    lang: Lang | None
    state: Literal["queued", "running", "done"]
    created_at: str
    started_at: str | None
    finished_at: str | None
    attempts: int
    result_status: Literal["graded", "invalid", "error"] | None
    score: float | None
    max_score: float | None


class StorageError(RuntimeError):
    """The data folder cannot be served as it is (its database is missing while submissions are on disk)."""


def missing_database(data: Path) -> str | None:
    """Why `data` must not be served: submissions on disk and no database to say what became of them
    (a new, empty one would forget every accepted submission), or None."""
    files = Path(data) / "files"
    held = sum(1 for _ in files.iterdir()) if files.is_dir() else 0
    if held and not (Path(data) / DB_FILE).exists():
        return (f"{Path(data) / DB_FILE} is missing, but {files} holds {held} submission(s): restore the database "
                "from a backup before starting (a new one would forget every one of them)")
    return None


class Storage:
    def __init__(self, data: Path) -> None:
        self.data = Path(data)
        problem = missing_database(self.data)
        if problem is not None:
            raise StorageError(problem)
        for sub in ("files", "results", "reports", "incoming"):
            (self.data / sub).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.data / DB_FILE, check_same_thread=False, isolation_level=None, timeout=30)
        self._db_inode = os.stat(self.data / DB_FILE).st_ino
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)

    def problem(self) -> str | None:
        """Why the database open here is no longer the data folder's (deleted or replaced while the
        service runs: what it records would be lost), or None."""
        try:
            inode = os.stat(self.data / DB_FILE).st_ino
        except FileNotFoundError:
            return f"{self.data / DB_FILE} was deleted while the service runs: restore it and restart"
        if inode != self._db_inode:
            return f"{self.data / DB_FILE} was replaced while the service runs: restart to serve the new one"
        return None

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- paths ---------------------------------------------------------------------------------
    def file_path(self, row: Row) -> Path:
        return self.data / "files" / row.id / row.file_name

    def result_path(self, submission_id: str) -> Path:
        return self.data / "results" / f"{submission_id}.json"

    def report_path(self, submission_id: str) -> Path:
        return self.data / "reports" / f"{submission_id}.html"

    def student_report_path(self, submission_id: str, past_due: bool) -> Path:
        return self.data / "reports" / f"{submission_id}.student{'-after-due' if past_due else ''}.html"

    def incoming_path(self) -> Path:
        return self.data / "incoming" / secrets.token_hex(12)

    # -- writing -------------------------------------------------------------------------------
    def add(self, assignment: str, student_id: str, file_name: str, sha256: str, size: int,
            incoming: Path, lang: Lang | None = None) -> tuple[Row, bool]:
        """Record an upload whose bytes are in `incoming`; (row, True) when new, (the earlier row,
        False) for a file this student already handed in for this assignment."""
        existing = self.find(assignment, student_id, sha256)
        if existing is not None:
            incoming.unlink(missing_ok=True)
            return existing, False
        submission_id = secrets.token_hex(10)
        folder = self.data / "files" / submission_id
        folder.mkdir(parents=True)
        target = folder / file_name
        os.replace(incoming, target)
        _fsync_dir(folder)
        try:
            with self._lock:
                self._db.execute(
                    "INSERT INTO submissions (id, assignment, student_id, sha256, file_name, size, lang, state, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
                    (submission_id, assignment, student_id, sha256, file_name, size, lang, now()))
        except sqlite3.IntegrityError:  # the same file arrived twice at once: the first one stays
            target.unlink(missing_ok=True)
            folder.rmdir()
            existing = self.find(assignment, student_id, sha256)
            assert existing is not None
            return existing, False
        except sqlite3.Error:  # not recorded (a full disk): no file is left that no row accounts for
            try:
                target.unlink(missing_ok=True)
                folder.rmdir()
            except OSError:
                pass
            raise
        row = self.get(submission_id)
        assert row is not None
        return row, True

    def requeue(self, submission_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE submissions SET state='queued', attempts=0, result_status=NULL, score=NULL, "
                             "max_score=NULL, finished_at=NULL WHERE id=?", (submission_id,))

    def recover(self) -> tuple[list[str], list[str]]:
        """At start: jobs left `running` go back to the queue; those cut off too often are returned
        to be graded `error`. Returns (requeued ids, given-up ids)."""
        with self._lock:
            rows = self._db.execute("SELECT id, attempts FROM submissions WHERE state='running'").fetchall()
            requeued = [r["id"] for r in rows if r["attempts"] < MAX_ATTEMPTS]
            given_up = [r["id"] for r in rows if r["attempts"] >= MAX_ATTEMPTS]
            self._db.executemany("UPDATE submissions SET state='queued' WHERE id=?", [(i,) for i in requeued])
        return requeued, given_up

    def claim(self) -> Row | None:
        """Take the next queued job and mark it running. The queue interleaves students: a job's turn
        is its place among its student's queued jobs plus that student's jobs running now, and the
        earliest turn goes first (then the oldest), so one student's twenty uploads hold back
        everyone else's first by one job at most."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                found = self._db.execute(FAIR_NEXT).fetchone()
                if found is None:
                    self._db.execute("COMMIT")
                    return None
                self._db.execute("UPDATE submissions SET state='running', started_at=?, attempts=attempts+1 WHERE id=?",
                                 (now(), found["id"]))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return self.get(found["id"])

    def release(self, submission_id: str) -> None:
        """Put a running job back in the queue, its attempt not counted (the machine failed, not it)."""
        with self._lock:
            self._db.execute("UPDATE submissions SET state='queued', attempts=MAX(attempts - 1, 0) "
                             "WHERE id=? AND state='running'", (submission_id,))

    def finish(self, submission_id: str, result_status: str, score: float, max_score: float) -> None:
        with self._lock:
            self._db.execute("UPDATE submissions SET state='done', finished_at=?, result_status=?, score=?, max_score=? "
                             "WHERE id=?", (now(), result_status, score, max_score, submission_id))

    # -- reading -------------------------------------------------------------------------------
    def _rows(self, sql: str, params: tuple[str, ...] = ()) -> list[Row]:
        with self._lock:
            return [Row(**dict(r)) for r in self._db.execute(sql, params).fetchall()]

    def get(self, submission_id: str) -> Row | None:
        rows = self._rows("SELECT * FROM submissions WHERE id=?", (submission_id,))
        return rows[0] if rows else None

    def find(self, assignment: str, student_id: str, sha256: str) -> Row | None:
        rows = self._rows("SELECT * FROM submissions WHERE assignment=? AND student_id=? AND sha256=?",
                          (assignment, student_id, sha256))
        return rows[0] if rows else None

    def list(self, assignment: str, student_id: str | None = None) -> list[Row]:
        if student_id is None:
            return self._rows("SELECT * FROM submissions WHERE assignment=? ORDER BY seq", (assignment,))
        return self._rows("SELECT * FROM submissions WHERE assignment=? AND student_id=? ORDER BY seq",
                          (assignment, student_id))

    def waiting(self, assignment: str | None = None, student_id: str | None = None) -> int:
        """Jobs not graded yet (queued or running): of one student of one assignment, or in all."""
        params: tuple[str, ...]
        if assignment is None or student_id is None:
            sql, params = "SELECT COUNT(*) FROM submissions WHERE state IN ('queued', 'running')", ()
        else:
            sql, params = ("SELECT COUNT(*) FROM submissions WHERE assignment=? AND student_id=? "
                           "AND state IN ('queued', 'running')", (assignment, student_id))
        with self._lock:
            count: int = self._db.execute(sql, params).fetchone()[0]
        return count

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) AS n FROM submissions GROUP BY state").fetchall()
        counts = {"queued": 0, "running": 0, "done": 0}
        counts.update({r["state"]: r["n"] for r in rows})
        return counts


def write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:  # a full disk: the half-written copy must not keep its space
        try:
            temporary.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def _fsync_dir(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
