"""What the LTI tool remembers: DATA/lti/lti.sqlite3.

    states   one per OIDC login: its nonce, used once (a replayed id_token finds it used)
    links    the latest launch of each (assignment, student): where that student's grade goes
             (the AGS line item, the platform's user id) and the course roster's URL (NRPS)
    outbox   every score owed to a platform, kept until the platform took it: a platform that is
             down gets it later (backoff), a restart loses nothing
    tickets  a deep-linking request waiting for the instructor's choice
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DB_FILE = "lti.sqlite3"
STATE_TTL_S = 600.0  # an OIDC login must come back within this
TICKET_TTL_S = 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS states (
    state TEXT PRIMARY KEY, nonce TEXT NOT NULL, issuer TEXT NOT NULL, client_id TEXT NOT NULL,
    created REAL NOT NULL, used INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS links (
    assignment TEXT NOT NULL, student_id TEXT NOT NULL, issuer TEXT NOT NULL, client_id TEXT NOT NULL,
    sub TEXT NOT NULL, name TEXT NOT NULL, instructor INTEGER NOT NULL, context_id TEXT NOT NULL,
    resource_link_id TEXT NOT NULL, ags TEXT, nrps_url TEXT, updated REAL NOT NULL,
    PRIMARY KEY (assignment, student_id)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT, submission_id TEXT NOT NULL, assignment TEXT NOT NULL,
    student_id TEXT NOT NULL, issuer TEXT NOT NULL, client_id TEXT NOT NULL, ags TEXT NOT NULL,
    resource_link_id TEXT NOT NULL, score TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sent', 'superseded')),
    attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL, last_error TEXT, created REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_try);
CREATE TABLE IF NOT EXISTS tickets (
    ticket TEXT PRIMARY KEY, issuer TEXT NOT NULL, client_id TEXT NOT NULL, deployment_id TEXT NOT NULL,
    return_url TEXT NOT NULL, data TEXT, created REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Link:
    assignment: str
    student_id: str
    issuer: str
    client_id: str
    sub: str
    name: str
    instructor: bool
    context_id: str
    resource_link_id: str
    ags: dict[str, Any] | None  # the launch's AGS endpoint claim: lineitem, lineitems, scope
    nrps_url: str | None
    updated: float


@dataclass(frozen=True)
class Owed:
    """A score owed to a platform."""
    id: int
    submission_id: str
    assignment: str
    student_id: str
    issuer: str
    client_id: str
    ags: dict[str, Any]
    resource_link_id: str
    score: dict[str, Any]  # the AGS score body, as sent
    state: str
    attempts: int
    next_try: float
    last_error: str | None


@dataclass(frozen=True)
class Ticket:
    issuer: str
    client_id: str
    deployment_id: str
    return_url: str
    data: str | None


class LtiRecords:
    def __init__(self, folder: Path) -> None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(Path(folder) / DB_FILE, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, params)

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # -- OIDC states ---------------------------------------------------------------------------
    def new_state(self, issuer: str, client_id: str) -> tuple[str, str]:
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        now = time.time()
        self._run("DELETE FROM states WHERE created < ?", (now - 10 * STATE_TTL_S,))
        self._run("INSERT INTO states (state, nonce, issuer, client_id, created) VALUES (?, ?, ?, ?, ?)",
                  (state, nonce, issuer, client_id, now))
        return state, nonce

    def pending_state(self, state: str) -> tuple[str, str, str] | None:
        """(nonce, issuer, client_id) of a state not used and not expired, or None."""
        rows = self._rows("SELECT nonce, issuer, client_id FROM states WHERE state=? AND used=0 AND created >= ?",
                          (state, time.time() - STATE_TTL_S))
        return (rows[0]["nonce"], rows[0]["issuer"], rows[0]["client_id"]) if rows else None

    def use_state(self, state: str) -> bool:
        """Mark a state used; False when it already was (two posts of one id_token: one wins)."""
        return self._run("UPDATE states SET used=1 WHERE state=? AND used=0", (state,)).rowcount == 1

    # -- launches ------------------------------------------------------------------------------
    def remember(self, link: Link) -> None:
        self._run("INSERT OR REPLACE INTO links (assignment, student_id, issuer, client_id, sub, name, instructor, "
                  "context_id, resource_link_id, ags, nrps_url, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                  (link.assignment, link.student_id, link.issuer, link.client_id, link.sub, link.name,
                   int(link.instructor), link.context_id, link.resource_link_id,
                   json.dumps(link.ags) if link.ags is not None else None, link.nrps_url, link.updated))

    def link(self, assignment: str, student_id: str) -> Link | None:
        rows = self._rows("SELECT * FROM links WHERE assignment=? AND student_id=?", (assignment, student_id))
        return _link(rows[0]) if rows else None

    def links(self, assignment: str) -> list[Link]:
        return [_link(r) for r in self._rows("SELECT * FROM links WHERE assignment=? ORDER BY student_id", (assignment,))]

    def set_lineitem(self, issuer: str, client_id: str, resource_link_id: str, lineitem: str) -> None:
        """A line item found or made for a link that launched without one: every later score of that
        resource link goes to it."""
        for table in ("links", "outbox"):
            for row in self._rows(f"SELECT rowid AS number, ags FROM {table} WHERE issuer=? AND client_id=? "
                                  "AND resource_link_id=?", (issuer, client_id, resource_link_id)):
                ags = json.loads(row["ags"]) if row["ags"] else {}
                if not ags.get("lineitem"):
                    ags["lineitem"] = lineitem
                    self._run(f"UPDATE {table} SET ags=? WHERE rowid=?", (json.dumps(ags), row["number"]))

    # -- scores owed ---------------------------------------------------------------------------
    def owe(self, submission_id: str, link: Link, score: dict[str, Any]) -> None:
        """Queue a score; an older one for the same student and assignment not sent yet is superseded
        (the platform keeps the latest, and must never get an older one after a newer)."""
        assert link.ags is not None
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("UPDATE outbox SET state='superseded' WHERE assignment=? AND student_id=? "
                                 "AND state='pending'", (link.assignment, link.student_id))
                self._db.execute(
                    "INSERT INTO outbox (submission_id, assignment, student_id, issuer, client_id, ags, resource_link_id,"
                    " score, next_try, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (submission_id, link.assignment, link.student_id, link.issuer, link.client_id, json.dumps(link.ags),
                     link.resource_link_id, json.dumps(score), time.time(), time.time()))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def due(self, now: float | None = None) -> list[Owed]:
        return [_owed(r) for r in self._rows("SELECT * FROM outbox WHERE state='pending' AND next_try <= ? ORDER BY id",
                                             (time.time() if now is None else now,))]

    def sent(self, owed_id: int) -> None:
        self._run("UPDATE outbox SET state='sent', sent_at=?, last_error=NULL WHERE id=?", (time.time(), owed_id))

    def failed(self, owed_id: int, error: str, next_try: float) -> None:
        self._run("UPDATE outbox SET attempts=attempts+1, last_error=?, next_try=? WHERE id=? AND state='pending'",
                  (error[:500], next_try, owed_id))

    def latest_owed(self, assignment: str) -> dict[str, Owed]:
        """Each student's latest score of this assignment (sent or not), by student id."""
        rows = self._rows("SELECT * FROM outbox WHERE id IN (SELECT MAX(id) FROM outbox WHERE assignment=? "
                          "GROUP BY student_id)", (assignment,))
        return {r["student_id"]: _owed(r) for r in rows}

    def pending_count(self) -> int:
        count: int = self._rows("SELECT COUNT(*) FROM outbox WHERE state='pending'")[0][0]
        return count

    # -- deep linking --------------------------------------------------------------------------
    def new_ticket(self, issuer: str, client_id: str, deployment_id: str, return_url: str, data: str | None) -> str:
        ticket = secrets.token_urlsafe(24)
        self._run("DELETE FROM tickets WHERE created < ?", (time.time() - TICKET_TTL_S,))
        self._run("INSERT INTO tickets VALUES (?, ?, ?, ?, ?, ?, ?)",
                  (ticket, issuer, client_id, deployment_id, return_url, data, time.time()))
        return ticket

    def take_ticket(self, ticket: str) -> Ticket | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM tickets WHERE ticket=? AND created >= ?",
                                   (ticket, time.time() - TICKET_TTL_S)).fetchone()
            self._db.execute("DELETE FROM tickets WHERE ticket=?", (ticket,))
        return Ticket(row["issuer"], row["client_id"], row["deployment_id"], row["return_url"], row["data"]) if row else None


def _link(row: sqlite3.Row) -> Link:
    return Link(row["assignment"], row["student_id"], row["issuer"], row["client_id"], row["sub"], row["name"],
                bool(row["instructor"]), row["context_id"], row["resource_link_id"],
                json.loads(row["ags"]) if row["ags"] else None, row["nrps_url"], row["updated"])


def _owed(row: sqlite3.Row) -> Owed:
    return Owed(row["id"], row["submission_id"], row["assignment"], row["student_id"], row["issuer"], row["client_id"],
                json.loads(row["ags"]), row["resource_link_id"], json.loads(row["score"]), row["state"],
                row["attempts"], row["next_try"], row["last_error"])
