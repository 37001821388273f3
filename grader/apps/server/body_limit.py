"""An ASGI middleware that holds a request body to a size, and its client to a pace, as its bytes arrive.

A `Content-Length` over the limit is refused from the head (`create_app`'s `_limit_body`); a chunked
upload has none, and python-multipart spools whatever comes to a temporary file before the route can
count it (300 MiB went to /tmp). Here every body chunk is counted on its way in: past the limit the
application is told the client went away (it stops reading), and whatever it would answer is
replaced by a 413, so nothing beyond the limit is read or kept. A client that sends nothing for
`idle_s` in the middle of a body (a stalled or a slow-drip upload, which would hold a worker
thread and a temporary file for as long as it likes) is cut off the same way, with a 408.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, detail: str, idle_s: float = 30.0) -> None:
        self.app = app
        self.limit = limit
        # The 413's text. Not the bytes received so far: how the transport groups chunks decides
        # that count, and the same upload would get a different message on each try.
        self.detail = detail
        self.idle_s = idle_s

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        cut: tuple[int, str, str] | None = None  # the answer that replaces the application's
        answered = False

        async def counted() -> Message:
            nonlocal received, cut
            if cut is not None:
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), self.idle_s)
            except TimeoutError:
                cut = (408, "stalled", f"the upload stalled: nothing arrived for {self.idle_s:g} s")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    cut = (413, "too_large", self.detail)
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            nonlocal answered
            if cut is None:
                await send(message)
                return
            if answered:
                return  # the application's own answer, after ours went out
            answered = True
            status, error, detail = cut
            body = json.dumps({"error": error, "detail": detail}).encode("utf-8")
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if cut is None:
                raise
            if not answered:  # the application gave up on the cut body without answering: answer for it
                await answer({"type": "http.response.start", "status": 500, "headers": []})
