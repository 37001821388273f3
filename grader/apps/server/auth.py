"""Who may call the upload service: instructor tokens, per-student tokens and signed student links.

Tokens live in DATA/tokens.toml (created by `grader serve --init-tokens`, mode 600):

    link_secret = "9f1c..."            # signs student links (HMAC-SHA256); change it to revoke them all

    [[instructors]]
    name = "sato"
    token_sha256 = "5e88..."           # the sha256 of the token (or `token = "..."` in clear)
    assignments = ["*"]                # or ["iris_basics"]: the assignments this token sees

    [[students]]
    student_id = "alice"
    assignment = "iris_basics"
    token_sha256 = "..."

and in the environment (for a CI job or a container): GRADER_INSTRUCTOR_TOKEN (sees every
assignment) and GRADER_LINK_SECRET (overrides `link_secret`).

A signed link carries `st1.<payload>.<signature>` as its token: the payload names the
assignment, the student (or, for a link of an LTI launch by the course's staff, the instructor of
that one assignment) and an expiry; the signature is an HMAC of it with the link secret. No
server state is needed to check it. An instructor token sees everything of its assignments; a
student token sees only that student's submissions of that one assignment.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TOKENS_FILE = "tokens.toml"
SIGNED_PREFIX = "st1."


class AuthConfigError(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    kind: str  # "instructor" | "student"
    name: str
    assignments: frozenset[str] = field(default_factory=frozenset)  # instructors; "*" = all
    assignment: str | None = None   # students
    student_id: str | None = None   # students

    def is_instructor_of(self, assignment: str) -> bool:
        return self.kind == "instructor" and ("*" in self.assignments or assignment in self.assignments)

    def may_see(self, assignment: str, student_id: str) -> bool:
        if self.kind == "instructor":
            return self.is_instructor_of(assignment)
        return self.assignment == assignment and self.student_id == student_id


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Tokens:
    def __init__(self, instructors: dict[str, Principal], students: dict[str, Principal], link_secret: bytes | None) -> None:
        self._instructors = instructors  # sha256 of token -> principal
        self._students = students
        self._link_secret = link_secret

    @classmethod
    def load(cls, data: Path, environ: dict[str, str] | None = None) -> Tokens:
        environ = dict(os.environ if environ is None else environ)
        path = Path(data) / TOKENS_FILE
        config: dict[str, Any] = {}
        if path.is_file():
            try:
                config = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise AuthConfigError(f"{path}: not valid TOML: {exc}") from None
        instructors: dict[str, Principal] = {}
        students: dict[str, Principal] = {}
        try:
            for index, entry in enumerate(config.get("instructors", [])):
                digest = _digest_of(entry, f"{path}: instructors[{index}]")
                assignments = entry.get("assignments", ["*"])
                if not isinstance(assignments, list) or not all(isinstance(a, str) for a in assignments):
                    raise AuthConfigError(f"{path}: instructors[{index}].assignments must be a list of names")
                instructors[digest] = Principal("instructor", str(entry.get("name", f"instructor {index + 1}")),
                                                frozenset(assignments))
            for index, entry in enumerate(config.get("students", [])):
                digest = _digest_of(entry, f"{path}: students[{index}]")
                if not isinstance(entry.get("student_id"), str) or not isinstance(entry.get("assignment"), str):
                    raise AuthConfigError(f"{path}: students[{index}] needs student_id and assignment")
                students[digest] = Principal("student", entry["student_id"], assignment=entry["assignment"],
                                             student_id=entry["student_id"])
        except AttributeError:
            raise AuthConfigError(f"{path}: [[instructors]] and [[students]] must be tables") from None
        if environ.get("GRADER_INSTRUCTOR_TOKEN"):
            instructors[sha256_hex(environ["GRADER_INSTRUCTOR_TOKEN"])] = Principal(
                "instructor", "GRADER_INSTRUCTOR_TOKEN", frozenset({"*"}))
        secret = environ.get("GRADER_LINK_SECRET") or config.get("link_secret")
        return cls(instructors, students, secret.encode("utf-8") if isinstance(secret, str) and secret else None)

    @property
    def configured(self) -> bool:
        return bool(self._instructors or self._students or self._link_secret)

    def authenticate(self, token: str) -> Principal | None:
        if token.startswith(SIGNED_PREFIX):
            return self._check_signed(token)
        digest = sha256_hex(token)
        # Compare against every known digest in constant time (no early exit on a near match).
        found = None
        for table in (self._instructors, self._students):
            for known, principal in table.items():
                if hmac.compare_digest(known, digest):
                    found = principal
        return found

    # -- signed links ----------------------------------------------------------------------------
    def sign_student(self, assignment: str, student_id: str, days: float = 180) -> tuple[str, int]:
        return self._sign({"a": assignment, "s": student_id}, days)

    def sign_instructor(self, assignment: str, name: str, days: float) -> tuple[str, int]:
        """A link for one instructor of one assignment (an LTI launch by the course's staff)."""
        return self._sign({"a": assignment, "s": name, "k": "i"}, days)

    def _sign(self, claims: dict[str, str], days: float) -> tuple[str, int]:
        if self._link_secret is None:
            raise AuthConfigError("no link_secret: run `grader serve --init-tokens` or set GRADER_LINK_SECRET")
        expires = int(time.time() + days * 86400)
        payload = _b64(json.dumps({**claims, "e": expires}, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
        signature = _b64(hmac.new(self._link_secret, payload.encode("ascii"), hashlib.sha256).digest())
        return f"{SIGNED_PREFIX}{payload}.{signature}", expires

    def _check_signed(self, token: str) -> Principal | None:
        if self._link_secret is None:
            return None
        try:
            payload, signature = token[len(SIGNED_PREFIX):].split(".")
            expected = _b64(hmac.new(self._link_secret, payload.encode("ascii"), hashlib.sha256).digest())
            if not hmac.compare_digest(expected, signature):
                return None
            claims = json.loads(_unb64(payload))
            assignment, subject, expires, kind = claims["a"], claims["s"], claims["e"], claims.get("k", "s")
        except (ValueError, KeyError, TypeError, UnicodeError, AttributeError):
            return None
        if not isinstance(assignment, str) or not isinstance(subject, str) or not isinstance(expires, int):
            return None
        if expires < time.time():
            return None
        if kind == "i":
            return Principal("instructor", subject, frozenset({assignment}))
        return Principal("student", subject, assignment=assignment, student_id=subject)


def _digest_of(entry: dict[str, Any], where: str) -> str:
    digest, token = entry.get("token_sha256"), entry.get("token")
    if isinstance(digest, str) and len(digest) == 64:
        return digest.lower()
    if isinstance(token, str) and len(token) >= 16:
        return sha256_hex(token)
    raise AuthConfigError(f"{where}: needs token_sha256 (64 hex digits) or token (16 characters or more)")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def init_tokens(data: Path, name: str = "instructor", assignments: list[str] | None = None) -> tuple[Path, str]:
    """Add an instructor token to DATA/tokens.toml (creating it, with a link secret, if need be).
    Returns the file and the new token, which is shown once: the file keeps only its sha256."""
    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    path = data / TOKENS_FILE
    token = new_token()
    if not path.exists():
        header = ("# Tokens of the grader's upload service (grader serve). Keep this file private.\n"
                  "# link_secret signs per-student links; changing it revokes every link.\n"
                  f'link_secret = "{secrets.token_hex(32)}"\n')
        path.write_text(header, encoding="utf-8")
        path.chmod(0o600)
    names = json.dumps(assignments or ["*"], ensure_ascii=False)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[instructors]]\nname = {json.dumps(name, ensure_ascii=False)}\ntoken_sha256 = "{sha256_hex(token)}"\n'
                     f"assignments = {names}\n")
    Tokens.load(data, environ={})  # the file must still parse
    return path, token
