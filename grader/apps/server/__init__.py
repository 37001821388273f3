"""The upload hook service: `grader serve`.

    app.py      the HTTP API (FastAPI), its errors and its OpenAPI document (/openapi.json)
    storage.py  SQLite (one file) and the files beside it; the queue survives restarts
    jobs.py     the worker pool that grades the queue in sandboxed subprocesses
    auth.py     instructor tokens, student tokens and signed student links (tokens.toml)
    quotas.py   uploads per minute of a student, waiting jobs per student and in all (429)
    lti/        the LTI 1.3 tool: launches from an LMS, its pages, grades back (AGS), the roster (NRPS)
"""

from __future__ import annotations

from pathlib import Path

from grader.apps.server.quotas import Quotas
from grader.i18n import Lang

DEFAULT_DATA = Path("grader-data")


def serve(data: Path, host: str = "127.0.0.1", port: int = 8000, assignments_dir: Path | None = None,
          workers: int = 1, max_upload_mb: float = 20, lang: Lang | None = None, quotas: Quotas | None = None,
          public_url: str | None = None, body_idle_s: float = 30.0) -> None:
    import logging

    import uvicorn

    from grader.apps.server.app import ServerConfig, create_app
    from grader.apps.server.lti.tool import LtiSettings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    folder = Path(assignments_dir) if assignments_dir else None  # None: the search path's folders
    config = ServerConfig(data=Path(data), assignments_dir=folder, workers=workers,
                          max_upload_bytes=int(max_upload_mb * 1024 * 1024), lang=lang, quotas=quotas or Quotas(),
                          lti=LtiSettings(public_url=public_url, **_timing({"GRADER_LTI_RETRY_S": "retry_base_s",
                                                                           "GRADER_LTI_ANNOUNCE_S": "announce_s"})),
                          body_idle_s=body_idle_s, **_timing({"GRADER_FAULT_RETRY_S": "fault_retry_s"}))
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", timeout_graceful_shutdown=15)


def _timing(variables: dict[str, str]) -> dict[str, float]:
    """Seconds from the environment, by field, where set: GRADER_FAULT_RETRY_S (how long a worker
    waits after a disk fault), GRADER_LTI_RETRY_S (the passback's first retry delay) and
    GRADER_LTI_ANNOUNCE_S (a new key's announcement), shortened by the tests."""
    import os

    return {field: float(os.environ[variable]) for variable, field in variables.items() if os.environ.get(variable)}
