"""An ASGI middleware that holds a request body to a size as its bytes arrive.

A `Content-Length` over the limit is refused from the head (`create_app`'s `_limit_body`); a chunked
upload has none, and python-multipart spools whatever comes to a temporary file before the route can
count it (300 MiB went to /tmp). Here every body chunk is counted on its way in: past the limit the
application is told the client went away (it stops reading), and whatever it would answer is
replaced by a 413, so nothing beyond the limit is read or kept.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int, detail: str) -> None:
        self.app = app
        self.limit = limit
        # The 413's text. Not the bytes received so far: how the transport groups chunks decides
        # that count, and the same upload would get a different message on each try.
        self.detail = detail

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        over = False
        answered = False

        async def counted() -> Message:
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def answer(message: Message) -> None:
            nonlocal answered
            if not over:
                await send(message)
                return
            if answered:
                return  # the application's own answer, after the 413 went out
            answered = True
            body = json.dumps({"error": "too_large", "detail": self.detail}).encode("utf-8")
            await send({"type": "http.response.start", "status": 413,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                    (b"connection", b"close")]})
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, counted, answer)
        except Exception:
            if not over:
                raise
            if not answered:  # the application gave up on the cut body without answering: answer for it
                await answer({"type": "http.response.start", "status": 500, "headers": []})
