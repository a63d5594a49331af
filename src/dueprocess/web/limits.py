"""A request-body size limit enforced while the body streams in, before anything parses it.

A declared ``Content-Length`` over the limit is refused at once; a chunked body is counted as
it arrives and cut off at the limit, so an oversized upload never sits whole in memory.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


def _refusal(limit: int) -> bytes:
    detail = [
        {
            "loc": ["body"],
            "msg": f"request body is larger than the limit of {limit} bytes",
            "type": "too_large",
        }
    ]
    return json.dumps({"detail": detail}).encode()


class BodySizeLimit:
    """ASGI middleware answering 413 with the usual error shape when a body exceeds ``limit``."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self._refuse(send)
                    return
        seen = 0
        too_large = False
        replaced = False

        async def counting_receive() -> Message:
            nonlocal seen, too_large
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_large = True
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            # Frameworks may turn the exception into their own error (FastAPI answers 400 for
            # any failure while reading a body); answer 413 in place of whatever they send.
            nonlocal replaced
            if too_large:
                if message["type"] == "http.response.start" and not replaced:
                    replaced = True
                    await self._refuse(send)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                replaced = True
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = _refusal(self.limit)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
