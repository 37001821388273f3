"""The upload hook service (FastAPI): an LMS, a CI job or a course page POSTs a file, gets 202 and an id
at once, and fetches the status, the result JSON and the HTML report when grading is done.

    GET  /health                                   ok or degraded (why), queue counts (no token)
    GET  /assignments                              the assignments served
    POST /submissions                              multipart: file, student_id, assignment[, lang] -> 202
                                                   (429 over a quota: see `grader.apps.server.quotas`)
    GET  /submissions/{id}                         state, score, and the result JSON once graded
    GET  /submissions/{id}/result                  the result JSON (409 until graded)
    GET  /submissions/{id}/report                  the HTML report (409 until graded)
    PUT  /submissions/{id}/review                  instructors: points and comments for the written answers
    GET  /assignments/{assignment}/submissions     an instructor: all; a student: their own
    GET  /assignments/{assignment}/gradebook.csv   instructors: one row per student (?keep=latest|best)
    POST /assignments/{assignment}/student-tokens  instructors: a signed link token for one student
    /lti/...                                       the LTI 1.3 tool (`grader.apps.server.lti.routes`)

Tokens (`Authorization: Bearer <token>`, or `?token=` for a link opened in a browser) are described
in `grader.apps.server.auth`. Every error is JSON, `{"error": "<code>", "detail": "<what is wrong>"}`,
with a 4xx status for anything the caller can fix.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import threading
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path as FilePath
from pathlib import PurePosixPath
from typing import Any, Literal

from fastapi import Depends, FastAPI, File, Form, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from grader.apps.server.auth import AuthConfigError, Principal, Tokens
from grader.apps.server.body_limit import BodyLimit
from grader.apps.server.jobs import FAULT_RETRY_S, STORAGE_ERRORS, WorkerPool
from grader.apps.server.lti.platforms import PlatformError
from grader.apps.server.lti.routes import add_lti_routes
from grader.apps.server.lti.tool import LtiSettings, LtiTool
from grader.apps.server.quotas import Quotas, Refusal, UploadRate, queue_refusal
from grader.apps.server.storage import Row, Storage, write_atomic
from grader.checks.registry import max_score
from grader.i18n import Lang
from grader.intake.files import is_submission_file
from grader.pipeline import load_assignment
from grader.result import Result
from grader.spec import SPEC_FILE, AssignmentError, LoadedAssignment, search_path
from grader.version import __version__

log = logging.getLogger("grader.server")
# What a middleware hands the request on to.
CallNext = Callable[[Request], Awaitable[Response]]


STUDENT_ID = re.compile(r"^[\w.@+\-]+( [\w.@+\-]+)*$", re.UNICODE)
MAX_FILE_NAME_BYTES = 200  # an upload's file name on disk, in UTF-8
SUBMISSION_ID = re.compile(r"^[0-9a-f]{20}$")
CHUNK = 1 << 16


@dataclass(frozen=True)
class ServerConfig:
    data: FilePath
    assignments_dir: FilePath | None = None  # None: the folders of the search path (GRADER_ASSIGNMENTS, bundled)
    workers: int = 1
    max_upload_bytes: int = 20 * 1024 * 1024
    lang: Lang | None = None
    quotas: Quotas = Quotas()
    lti: LtiSettings = LtiSettings()
    body_idle_s: float = 30.0  # a client that sends nothing for this long in the middle of a body is cut off
    fault_retry_s: float = FAULT_RETRY_S  # how long a worker waits after a disk or database fault


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.retry_after_s = status, error, detail, retry_after_s

    @classmethod
    def refused(cls, refusal: Refusal) -> ApiError:
        return cls(429, refusal.error, refusal.detail, refusal.retry_after_s)

    def response(self) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if self.status == 401 else {}
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        return JSONResponse({"error": self.error, "detail": self.detail}, status_code=self.status,
                            headers=headers or None)


# -- response bodies (they make the OpenAPI document) ---------------------------------------------
class ErrorBody(BaseModel):
    error: str = Field(description="a stable code: unknown_assignment, unsupported_file_type, too_large ...")
    detail: str = Field(description="what is wrong, for a person")


class Links(BaseModel):
    status: str
    result: str
    report: str


class SubmissionOut(BaseModel):
    id: str
    assignment: str
    student_id: str
    file: str
    sha256: str
    size: int
    state: Literal["queued", "running", "done"]
    created_at: str
    started_at: str | None = None
    finished_at: str | None = None
    result_status: Literal["graded", "invalid", "error"] | None = None
    score: float | None = None
    max_score: float | None = None
    duplicate: bool = False
    links: Links


class SubmissionDetail(SubmissionOut):
    result: Result | None = None


class AssignmentOut(BaseModel):
    id: str
    title: dict[str, str]
    max_score: float


class QueueCounts(BaseModel):
    queued: int = 0
    running: int = 0
    done: int = 0


class Health(BaseModel):
    status: Literal["ok", "degraded"]  # degraded: a disk or database fault stops the grading (see `reason`)
    reason: str | None = None
    version: str
    workers: int
    assignments: list[str]
    queue: QueueCounts


class AnswerReview(BaseModel):
    points: float | None = Field(None, ge=0, description="the points a person gives (None: not reviewed yet)")
    comment: str = Field("", max_length=2000)


class ReviewIn(BaseModel):
    answers: dict[str, AnswerReview] = Field(description="by written question id (the spec's [[written]] ids)")


class StudentTokenIn(BaseModel):
    student_id: str = Field(min_length=1, max_length=128, json_schema_extra={"pattern": STUDENT_ID.pattern})
    days: float = Field(180, gt=0, le=3650)


class StudentTokenOut(BaseModel):
    assignment: str
    student_id: str
    token: str
    expires_at: str
    links: dict[str, str]


ERRORS: dict[int | str, dict[str, Any]] = {
    **{code: {"model": ErrorBody, "description": text} for code, text in {
        400: "malformed request", 401: "no token, or a token the service does not know",
        403: "the token may not see this", 404: "no such submission or assignment",
        408: "the upload stalled (nothing arrived for the body timeout)",
        409: "not graded yet", 413: "the file is over the size limit",
        415: "not a .ipynb, .py or .zip file", 422: "a field is missing or wrong",
    }.items()},
    429: {"model": ErrorBody, "description": "over a quota: rate_limited (one student's uploads per minute), "
                                             "too_many_queued (one student's submissions waiting to be graded) "
                                             "or queue_full (all submissions waiting)",
          "headers": {"Retry-After": {"description": "seconds to wait before trying again",
                                      "schema": {"type": "integer"}}}},
    503: {"model": ErrorBody, "description": "degraded: a disk or database fault stops the grading (GET /health "
                                             "says which); the upload was not taken",
          "headers": {"Retry-After": {"description": "seconds to wait before trying again",
                                      "schema": {"type": "integer"}}}},
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}


# -- the application ----------------------------------------------------------------------------
def load_assignments(folder: FilePath | None) -> dict[str, LoadedAssignment]:
    """Every `<folder>/*/assignment.toml`, keyed by its id; a broken spec is logged and left out.
    Without a folder, those of every folder of the search path, the first of an id winning (as `-a`)."""
    folders = [FilePath(folder)] if folder is not None else [path for path, _ in search_path()]
    found: dict[str, LoadedAssignment] = {}
    for spec in [spec for path in folders for spec in sorted(path.glob(f"*/{SPEC_FILE}"))]:
        try:
            loaded = load_assignment(str(spec.parent))
        except AssignmentError as exc:
            log.warning("not serving %s: %s", spec.parent, exc)
            continue
        found.setdefault(loaded.spec.id, loaded)
    return found


class RedactTokens(logging.Filter):
    """Access logs show request paths: a `?token=` in them is replaced by `token=***`."""

    pattern = re.compile(r"(token=)[^&\s]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self.pattern.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = self.pattern.sub(r"\1***", record.msg)
        return True


def create_app(config: ServerConfig) -> FastAPI:
    # The assignments are read once, here, so that the OpenAPI document can list them.
    state: dict[str, Any] = {"assignments": load_assignments(config.assignments_dir),
                             "rate": UploadRate(config.quotas.uploads_per_window, config.quotas.window_s),
                             # One upload at a time between counting the queue and adding to it, so
                             # concurrent uploads cannot all pass a limit that only one of them fits.
                             "admission": threading.Lock(),
                             # One review at a time: two people saving at once must not lose either's points.
                             "reviewing": threading.Lock()}
    served = sorted(state["assignments"]) or ["(none)"]
    an_assignment: dict[str, Any] = {"json_schema_extra": {"enum": served}}
    a_submission_id: dict[str, Any] = {"json_schema_extra": {"pattern": SUBMISSION_ID.pattern}}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if not any(isinstance(f, RedactTokens) for f in logging.getLogger("uvicorn.access").filters):
            logging.getLogger("uvicorn.access").addFilter(RedactTokens())
        data = FilePath(config.data)
        data.mkdir(parents=True, exist_ok=True)
        lock = (data / "server.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise RuntimeError(f"another `grader serve` is using {data}") from None
        try:
            tokens = Tokens.load(data)
        except AuthConfigError as exc:
            raise RuntimeError(str(exc)) from None
        if not tokens.configured:
            log.warning("no tokens configured: every request except /health will get 401; "
                        "run `grader serve --init-tokens --data %s`", data)
        assignments = state["assignments"]
        storage = Storage(data)
        try:
            lti = LtiTool.open(data, assignments, config.lti)
        except PlatformError as exc:
            raise RuntimeError(str(exc)) from None
        pool = WorkerPool(storage, assignments, config.workers, config.lang, on_graded=lti.passback.owe_score,
                          fault_retry_s=config.fault_retry_s)
        lti.start()
        pool.start()
        state.update(storage=storage, tokens=tokens, pool=pool, lti=lti)
        log.info("serving %s from %s with %d worker(s)", ", ".join(assignments) or "no assignments", data, pool.size)
        try:
            yield
        finally:
            pool.shutdown()
            lti.close()
            storage.close()
            lock.close()

    app = FastAPI(title="grader upload service", version=__version__, lifespan=lifespan,
                  description=__doc__.split("\n\n")[0])
    # Every body held to the upload limit (room for the multipart framing and the small fields) as it
    # arrives, with or without a Content-Length.
    app.add_middleware(BodyLimit, limit=config.max_upload_bytes + 64 * 1024,
                       detail=f"the upload is over the {config.max_upload_bytes / 2**20:g} MB limit",
                       idle_s=config.body_idle_s)

    # -- errors: always JSON, 4xx for what the caller can fix ---------------------------------
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 400: "bad_request", 413: "too_large"}
        return JSONResponse({"error": codes.get(exc.status_code, "http_error"), "detail": str(exc.detail)},
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        missing = [_field(e) for e in exc.errors() if e.get("type") == "missing"]
        if missing:
            return JSONResponse({"error": "missing_fields", "detail": f"missing field(s): {', '.join(missing)}"},
                                status_code=422)
        problems = "; ".join(f"{_field(e)}: {e.get('msg', 'invalid')}" for e in exc.errors()[:10])
        return JSONResponse({"error": "invalid_request", "detail": problems or "invalid request"}, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "detail": "the service failed; the log says why"}, status_code=500)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: CallNext) -> Response:
        length = request.headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                return JSONResponse({"error": "bad_request", "detail": "Content-Length is not a number"}, status_code=400)
            # Room for the multipart framing and the small fields around the file.
            if int(length) > config.max_upload_bytes + 64 * 1024:
                return JSONResponse({"error": "too_large", "detail": _too_large(int(length), config.max_upload_bytes)},
                                    status_code=413)
        return await call_next(request)

    # -- who is calling -----------------------------------------------------------------------
    bearer = HTTPBearer(auto_error=False, description="an instructor or student token, or a signed student link token")

    def authenticate(credentials: HTTPAuthorizationCredentials | None, token: str | None) -> Principal:
        given = credentials.credentials if credentials is not None else token
        if not given:
            raise ApiError(401, "unauthorized", "no token: send `Authorization: Bearer <token>` or `?token=`")
        found: Principal | None = state["tokens"].authenticate(given)
        if found is None:
            raise ApiError(401, "unauthorized", "the token is not valid (unknown, or an expired or altered link)")
        return found

    def principal(credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                  token: str | None = Query(None, description="the token, for links opened in a browser")) -> Principal:
        return authenticate(credentials, token)

    # Registered after `_limit_body`, so it runs first. FastAPI reads a form body before it resolves
    # the route's dependencies: an upload is authenticated and rate limited here, from its head
    # alone, so a refused client costs no body read (and nothing of it reaches the disk).
    @app.middleware("http")
    async def _upload_gate(request: Request, call_next: CallNext) -> Response:
        if request.method != "POST" or request.url.path != "/submissions":
            return await call_next(request)
        try:
            who = authenticate(await bearer(request), request.query_params.get("token"))
            refusal = state["rate"].admit(who)
        except ApiError as exc:
            return exc.response()
        if refusal is not None:
            return ApiError.refused(refusal).response()
        return await call_next(request)

    def assignment_or_404(name: str) -> LoadedAssignment:
        found: LoadedAssignment | None = state["assignments"].get(name)
        if found is None:
            raise ApiError(404, "unknown_assignment", _unknown_assignment(name, state["assignments"]))
        return found

    def seen_by(who: Principal, row: Row, result: Result) -> Result:
        """The result as `who` may see it: a student, nothing withheld from students (now)."""
        if who.kind != "student":
            return result
        return result.for_students(assignment_or_404(row.assignment).spec.past_due(datetime.now(UTC)))

    def submission_for(submission_id: str, who: Principal) -> Row:
        row: Row | None = state["storage"].get(submission_id) if SUBMISSION_ID.match(submission_id) else None
        if row is None:
            raise ApiError(404, "unknown_submission", f"no submission {submission_id!r}")
        if not who.may_see(row.assignment, row.student_id):
            raise ApiError(403, "forbidden", "this token may not see this submission")
        return row

    # -- routes -------------------------------------------------------------------------------
    @app.get("/health", response_model=Health, tags=["service"])
    def health() -> Health:
        fault = state["storage"].problem() or state["pool"].fault or _recent(state.get("upload_fault"))
        try:
            counts = state["storage"].counts()
        except STORAGE_ERRORS as exc:
            fault, counts = f"the database could not be read: {exc}", {}
        return Health(status="degraded" if fault else "ok", reason=fault, version=__version__,
                      workers=state["pool"].size, assignments=sorted(state["assignments"]), queue=QueueCounts(**counts))

    @app.get("/assignments", response_model=list[AssignmentOut], responses=_errors(401), tags=["assignments"])
    def assignments(who: Principal = Depends(principal)) -> list[AssignmentOut]:
        return [AssignmentOut(id=a.spec.id, title=dict(a.spec.title), max_score=max_score(a.spec))
                for name, a in sorted(state["assignments"].items())
                if who.is_instructor_of(name) or who.assignment == name]

    @app.post("/submissions", status_code=202, response_model=SubmissionOut, tags=["submissions"],
              responses={200: {"model": SubmissionOut, "description": "this student already handed in this file: "
                                                                       "the earlier submission"},
                         **_errors(400, 401, 403, 408, 413, 415, 422, 429, 503)})
    def submit(response: Response,
               file: list[UploadFile] = File(description="the notebook (.ipynb), module (.py) or a .zip holding "
                                                         "one: exactly one file part, its name ending in .ipynb, .py "
                                                         f"or .zip, at most {config.max_upload_bytes / 2**20:g} MB",
                                             json_schema_extra={"minItems": 1, "maxItems": 1}),
               student_id: str = Form(description="the student's id (letters, digits, . @ + - _ and single spaces; "
                                                  "NFC-normalised)",
                                      json_schema_extra={"pattern": STUDENT_ID.pattern, "minLength": 1,
                                                         "maxLength": 128}),
               assignment: str = Form(description="the assignment's id, as GET /assignments lists it", **an_assignment),
               lang: Literal["ja", "en"] | None = Form(None, description="language of the report"),
               who: Principal = Depends(principal)) -> SubmissionOut:
        storage: Storage = state["storage"]
        fault = storage.problem() or state["pool"].fault
        if fault:  # accepting what cannot be stored or graded would be a promise broken
            raise ApiError(503, "degraded", f"the service cannot take uploads now: {fault}",
                           retry_after_s=int(FAULT_RETRY_S * 6))
        if assignment not in state["assignments"]:
            raise ApiError(422, "unknown_assignment", _unknown_assignment(assignment, state["assignments"]))
        # NFC: the same name typed on a Mac (decomposed) and on Windows is one student.
        student_id = unicodedata.normalize("NFC", student_id).strip()
        if not (1 <= len(student_id) <= 128 and STUDENT_ID.match(student_id)):
            raise ApiError(422, "bad_student_id", "student_id must be 1 to 128 letters, digits, '.', '@', '+', '-', "
                                                  "'_' or single spaces")
        if not who.may_see(assignment, student_id):
            raise ApiError(403, "forbidden", "this token may not hand in for this student or assignment")
        if len(file) != 1:  # which one would be graded is a guess: the caller says
            raise ApiError(400, "several_files", f"the upload has {len(file)} file parts; send one file per upload "
                                                 "(several files: a .zip)")
        upload = file[0]
        name = _clean_file_name(upload.filename or "")
        if not is_submission_file(name):
            raise ApiError(415, "unsupported_file_type",
                           f"{name or 'the file'!s} is not a file the grader reads: send a .ipynb, .py or .zip")
        incoming = storage.incoming_path()
        digest, size = hashlib.sha256(), 0
        try:
            with incoming.open("wb") as out:
                while chunk := upload.file.read(CHUNK):
                    size += len(chunk)
                    if size > config.max_upload_bytes:
                        raise ApiError(413, "too_large", _too_large(size, config.max_upload_bytes, at_least=True))
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            if size == 0:
                raise ApiError(422, "empty_file", f"{name} is empty")
            # The queue limits are checked once the file is hashed, not before its body is read: the
            # same file again must still get 200 and its earlier id (it adds nothing to the queue).
            # What a refused upload costs is bounded by the rate limit times the size limit.
            with state["admission"]:
                if storage.find(assignment, student_id, digest.hexdigest()) is None:
                    refusal = queue_refusal(config.quotas, storage, who, assignment, student_id)
                    if refusal is not None:
                        raise ApiError.refused(refusal)
                row, created = storage.add(assignment, student_id, name, digest.hexdigest(), size, incoming, lang)
        except STORAGE_ERRORS as exc:  # a full disk, a read-only folder: the machine's fault, said as such
            state["upload_fault"] = (f"an upload could not be stored: {exc}", time.monotonic())
            log.error("an upload could not be stored: %s", exc)
            raise ApiError(503, "degraded", f"the service cannot store uploads now: {exc}",
                           retry_after_s=int(FAULT_RETRY_S * 6)) from None
        finally:
            try:
                incoming.unlink(missing_ok=True)
            except OSError:  # a read-only folder: nothing was written there either
                pass
        state["upload_fault"] = None
        if not created and row.state == "done" and row.result_status == "error":
            storage.requeue(row.id)  # a grader fault is the grader's: the same file is graded again
            requeued = storage.get(row.id)
            assert requeued is not None  # requeued, not removed
            row, created = requeued, True
        if created:
            state["pool"].notify()
            return _out(row)
        response.status_code = 200  # handed in before: its score, as the one handing in may see it
        found = _read_result(storage, row) if row.state == "done" else None
        return _out(row, seen_by(who, row, found) if found is not None else None, duplicate=True)

    @app.get("/submissions/{submission_id}", response_model=SubmissionDetail, responses=_errors(401, 403, 404),
             tags=["submissions"])
    def status(submission_id: str = Path(**a_submission_id), who: Principal = Depends(principal)) -> SubmissionDetail:
        row = submission_for(submission_id, who)
        result = _read_result(state["storage"], row) if row.state == "done" else None
        shown = seen_by(who, row, result) if result is not None else None
        return SubmissionDetail(**_out(row, shown).model_dump(), result=shown)

    @app.get("/submissions/{submission_id}/result", response_model=Result, responses=_errors(401, 403, 404, 409),
             tags=["submissions"])
    def result(submission_id: str = Path(**a_submission_id), who: Principal = Depends(principal)) -> Result:
        row = submission_for(submission_id, who)
        found = _read_result(state["storage"], row) if row.state == "done" else None
        if found is None:
            raise ApiError(409, "not_graded", f"submission {row.id} is {row.state}; poll GET /submissions/{row.id}")
        return seen_by(who, row, found)

    @app.get("/submissions/{submission_id}/report", response_class=HTMLResponse, tags=["submissions"],
             responses={200: {"content": {"text/html": {}}, "description": "the report"}, **_errors(401, 403, 404, 409)})
    def report(submission_id: str = Path(**a_submission_id), who: Principal = Depends(principal)) -> HTMLResponse:
        row = submission_for(submission_id, who)
        path = state["storage"].report_path(row.id)
        found = _read_result(state["storage"], row) if row.state == "done" else None
        if who.kind == "student" and found is not None and found.has_instructor_only:
            # Never the instructor's report in its place: without the students' file there is no report.
            path = state["storage"].student_report_path(row.id, assignment_or_404(row.assignment).spec.past_due(
                datetime.now(UTC)))
        if row.state != "done" or not path.is_file():
            raise ApiError(409, "not_graded", f"submission {row.id} is {row.state}; poll GET /submissions/{row.id}")
        return HTMLResponse(path.read_text(encoding="utf-8"), headers={
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"})

    @app.put("/submissions/{submission_id}/review", response_model=SubmissionDetail,
             responses=_errors(401, 403, 404, 409, 422), tags=["submissions"])
    def review(body: ReviewIn, submission_id: str = Path(**a_submission_id),
               who: Principal = Depends(principal)) -> SubmissionDetail:
        """A person's points and comments for the written answers: into the result and the report,
        and (the student's latest submission, launched from an LMS) to the LMS's gradebook again."""
        from grader.outputs.review import Review, review_one

        row = submission_for(submission_id, who)
        if not who.is_instructor_of(row.assignment):
            raise ApiError(403, "forbidden", "reviews are for instructor tokens")
        loaded = assignment_or_404(row.assignment)
        questions = {question.id: question for question in loaded.spec.written}
        for question, answer in body.answers.items():
            if question not in questions:
                raise ApiError(422, "unknown_question", f"{row.assignment} has no written question {question!r} "
                                                        f"(it has: {', '.join(questions) or 'none'})")
            if answer.points is not None and answer.points > questions[question].points:
                raise ApiError(422, "points_out_of_range",
                               f"{question}: {answer.points:g} points, over its {questions[question].points:g}")
        storage: Storage = state["storage"]
        with state["reviewing"]:
            result = _read_result(storage, row) if row.state == "done" else None
            if result is None:
                raise ApiError(409, "not_graded", f"submission {row.id} is {row.state}; review it once it is graded")
            given = {question: Review(answer.points, answer.comment.strip()) for question, answer in body.answers.items()}
            pages = [storage.report_path(row.id)]
            if result.has_instructor_only:
                pages += [storage.student_report_path(row.id, past_due) for past_due in (False, True)]
            changed, updated = review_one(result, [p.read_text(encoding="utf-8") if p.is_file() else None for p in pages],
                                          given, loaded)
            for page_path, page in zip(pages, updated, strict=True):  # the written points are in every view
                if page is not None:
                    write_atomic(page_path, page)
            if changed:
                write_atomic(storage.result_path(row.id), result.to_json())
                latest = [r for r in storage.list(row.assignment, row.student_id) if r.state == "done"][-1]
                if latest.id == row.id:  # an older submission's grade must not replace the latest's
                    state["lti"].passback.owe_score(row.id, result)
        return SubmissionDetail(**_out(row).model_dump(), result=result)

    @app.get("/assignments/{assignment}/submissions", response_model=list[SubmissionOut],
             responses=_errors(401, 403, 404), tags=["assignments"])
    def submissions(assignment: str = Path(**an_assignment), student_id: str | None = Query(None), who: Principal = Depends(principal)
                    ) -> list[SubmissionOut]:
        assignment_or_404(assignment)
        student_id = unicodedata.normalize("NFC", student_id) if student_id is not None else None
        if who.kind == "student":
            if who.assignment != assignment or (student_id is not None and student_id != who.student_id):
                raise ApiError(403, "forbidden", "a student token sees only its own submissions")
            student_id = who.student_id
        elif not who.is_instructor_of(assignment):
            raise ApiError(403, "forbidden", f"this token is not an instructor's of {assignment}")
        rows = state["storage"].list(assignment, student_id)
        if who.kind != "student":
            return [_out(row) for row in rows]
        # A student's scores are those of the checks shown to students.
        return [_out(row, seen_by(who, row, found) if (found := _read_result(state["storage"], row)) else None)
                for row in rows]

    @app.get("/assignments/{assignment}/gradebook.csv", tags=["assignments"],
             responses={200: {"content": {"text/csv": {}}, "description": "one row per student, one column per check"},
                        **_errors(401, 403, 404, 422)})
    def gradebook(assignment: str = Path(**an_assignment), keep: Literal["latest", "best"] = Query("latest"),
                  who: Principal = Depends(principal)) -> Response:
        from grader.outputs.gradebook import Entry, gradebook_text

        loaded = assignment_or_404(assignment)
        if not who.is_instructor_of(assignment):
            raise ApiError(403, "forbidden", "the gradebook is for instructor tokens")
        storage: Storage = state["storage"]
        entries = []
        for row in storage.list(assignment):
            found = _read_result(storage, row) if row.state == "done" else None
            if found is not None:
                entries.append(Entry(row.student_id, row.id, found, datetime.fromisoformat(row.created_at), row.seq))
        return Response(gradebook_text(entries, loaded, keep), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{assignment}-grades.csv"'})

    @app.post("/assignments/{assignment}/student-tokens", response_model=StudentTokenOut, status_code=201,
              responses=_errors(401, 403, 404, 422), tags=["assignments"])
    def student_token(body: StudentTokenIn, assignment: str = Path(**an_assignment),
                      who: Principal = Depends(principal)) -> StudentTokenOut:
        assignment_or_404(assignment)
        if not who.is_instructor_of(assignment):
            raise ApiError(403, "forbidden", f"this token is not an instructor's of {assignment}")
        student_id = unicodedata.normalize("NFC", body.student_id).strip()
        if not (student_id and STUDENT_ID.match(student_id)):
            raise ApiError(422, "bad_student_id", "student_id must be letters, digits, '.', '@', '+', '-', '_' or single spaces")
        try:
            token, expires = state["tokens"].sign_student(assignment, student_id, body.days)
        except AuthConfigError as exc:
            raise ApiError(422, "no_link_secret", str(exc)) from None
        return StudentTokenOut(
            assignment=assignment, student_id=student_id, token=token,
            expires_at=datetime.fromtimestamp(expires, UTC).isoformat(timespec="seconds"),
            links={"submissions": f"/assignments/{assignment}/submissions?token={token}"})

    add_lti_routes(app, state, config.lang)
    return app


# -- helpers ------------------------------------------------------------------------------------
def _out(row: Row, shown: Result | None = None, duplicate: bool = False) -> SubmissionOut:
    """`shown`: the result as the one asking may see it, whose score is given (default: the row's)."""
    base = f"/submissions/{row.id}"
    return SubmissionOut(
        id=row.id, assignment=row.assignment, student_id=row.student_id, file=row.file_name, sha256=row.sha256,
        size=row.size, state=row.state, created_at=row.created_at, started_at=row.started_at,
        finished_at=row.finished_at, result_status=row.result_status,
        score=shown.score if shown is not None else row.score, max_score=shown.max_score if shown is not None else row.max_score,
        duplicate=duplicate, links=Links(status=base, result=f"{base}/result", report=f"{base}/report"))


def _read_result(storage: Storage, row: Row) -> Result | None:
    try:
        return Result.model_validate(json.loads(storage.result_path(row.id).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _field(error: dict[str, Any]) -> str:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path", "header")]
    return ".".join(location) or "body"


def _recent(fault: tuple[str, float] | None, within_s: float = FAULT_RETRY_S * 6) -> str | None:
    """An upload's storage fault, for as long as it is news (the next stored upload clears it at once)."""
    return fault[0] if fault is not None and time.monotonic() - fault[1] < within_s else None


def _unknown_assignment(name: str, known: Iterable[str]) -> str:
    return f"unknown assignment {name!r}; this service grades: {', '.join(sorted(known)) or 'nothing'}"


def _too_large(size: int, limit: int, at_least: bool = False) -> str:
    return (f"the upload is {'over ' if at_least else ''}{size / 2**20:.1f} MB, over the "
            f"{limit / 2**20:g} MB limit")


def _clean_file_name(name: str) -> str:
    """The file's base name, safe on disk: no folders, no control characters, NFC, and at most
    MAX_FILE_NAME_BYTES in UTF-8 (a file system's limit is 255 bytes: 85 Japanese characters), cut
    at a character and keeping its suffix."""
    base = PurePosixPath(unicodedata.normalize("NFC", name).replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip().lstrip(".")
    if len(base.encode("utf-8")) > MAX_FILE_NAME_BYTES:
        stem, dot, suffix = base.rpartition(".")
        if not dot or len(suffix) > 9:
            stem, dot, suffix = base, "", ""
        room = MAX_FILE_NAME_BYTES - len((dot + suffix).encode("utf-8"))
        stem = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore")
        base = stem + dot + suffix
    return base
