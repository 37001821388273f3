"""BodyLimit on its own, with a scripted ASGI conversation: how many body chunks are pulled from
the client is exact here (over a socket, the transport decides how chunks are grouped)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from grader.apps.server.body_limit import BodyLimit

CHUNK = 64 * 1024


def converse(chunks: int, limit: int, stall_after: int | None = None) -> tuple[int, list[dict[str, Any]], int]:
    """An application that reads the whole body and answers 200 with its length, behind BodyLimit;
    the client offers `chunks` chunks (and, with `stall_after`, sends nothing more after that many).
    Returns (chunks pulled, messages sent, bytes the app saw)."""
    pulled = 0
    seen = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        if stall_after is not None and pulled > stall_after:
            await asyncio.sleep(3600)
        return {"type": "http.request", "body": b"#" * CHUNK, "more_body": pulled < chunks}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal seen
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise OSError("the client went away")  # what a form parser does on a cut body
            seen += len(message["body"])
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(seen).encode()})

    limited = BodyLimit(app, limit=limit, detail="the upload is over the 1 MB limit", idle_s=0.2)
    asyncio.run(limited({"type": "http"}, receive, send))
    return pulled, sent, seen


def test_a_body_over_the_limit_is_read_only_up_to_the_chunk_that_passes_it():
    pulled, sent, seen = converse(chunks=48, limit=2**20)  # 3 MB offered, 1 MB allowed
    assert pulled == 17  # 16 chunks are exactly 1 MB; the 17th passes it, and nothing more is read
    assert seen == 16 * CHUNK  # the application never gets the chunk that passed the limit
    assert sent[0]["status"] == 413 and len(sent) == 2
    assert json.loads(sent[1]["body"]) == {"error": "too_large", "detail": "the upload is over the 1 MB limit"}


def test_a_body_within_the_limit_reaches_the_application_whole():
    pulled, sent, seen = converse(chunks=16, limit=2**20)
    assert (pulled, seen) == (16, 16 * CHUNK)
    assert sent[0]["status"] == 200 and sent[1]["body"] == str(16 * CHUNK).encode()


def test_a_client_that_stalls_mid_body_is_cut_off_with_a_408():
    started = time.monotonic()
    pulled, sent, seen = converse(chunks=16, limit=2**20, stall_after=3)
    assert time.monotonic() - started < 2  # the idle limit (0.2 s here), not the client's hour
    assert (pulled, seen) == (4, 3 * CHUNK)
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"]) == {"error": "stalled", "detail": "the upload stalled: nothing arrived for 0.2 s"}
