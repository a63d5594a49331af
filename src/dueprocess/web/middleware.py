"""ASGI middleware: the client's address behind trusted proxies, a streaming body-size limit,
and security headers.

The body limit is enforced while the body streams in, before anything parses it. A declared
``Content-Length`` over the limit is refused at once; a chunked body is counted as it
arrives and cut off at the limit, so an oversized upload never sits whole in memory.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dueprocess.config import IPNetwork
from dueprocess.web.errors import prefers_html


def _trusted(address: str, proxies: Sequence[IPNetwork]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str, forwarded_for: Sequence[str], proxies: Sequence[IPNetwork]) -> str:
    """The client's address: ``peer`` (who connected), unless ``peer`` is one of ``proxies``;
    then the ``X-Forwarded-For`` hops (``forwarded_for``: the headers' values, in order) are
    read from the right, where the nearest proxy appended the address it saw, past each hop
    that is itself a trusted proxy, to the first that is not. Hops further left were written
    by the client or by proxies not trusted, and are never believed. A hop that is not an IP
    address stops the walk at the proxy that passed it on.
    """
    if not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    current = peer
    for hop in reversed(hops):
        try:
            address = str(ipaddress.ip_address(hop))
        except ValueError:
            return current
        current = address
        if not _trusted(address, proxies):
            return address
    return current


class ClientAddress:
    """Sets the request's client address by :func:`client_address`, for everything after it
    (sign-in throttling, audit events). Serve with uvicorn's own ``proxy_headers`` off, as
    ``dueprocess serve`` does: uvicorn would otherwise already have believed the header from
    any peer on 127.0.0.1."""

    def __init__(self, app: ASGIApp, proxies: Sequence[IPNetwork]) -> None:
        self.app = app
        self.proxies = tuple(proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.proxies and scope["type"] == "http" and client:
            forwarded = [
                v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"x-forwarded-for"
            ]
            address = client_address(str(client[0]), forwarded, self.proxies)
            if address != client[0]:
                scope = {**scope, "client": (address, 0)}
        await self.app(scope, receive, send)


class _TooLarge(Exception):
    pass


def _refusal(limit: int, page: bool) -> tuple[bytes, bytes]:
    """The 413 body and its content type: the API's error shape, or a page for a person."""
    if page:
        size = f"{limit / (1024 * 1024):.1f} MB"
        html = (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            "<title>Too large · dueprocess</title><h1>Too large</h1>"
            f'<p role="alert">What you sent is larger than the limit of {size}, so nothing '
            "was saved. Go back, choose a smaller file (or split the document), and send the "
            "form again.</p></html>"
        )
        return html.encode(), b"text/html; charset=utf-8"
    detail = [
        {
            "loc": ["body"],
            "msg": f"request body is larger than the limit of {limit} bytes",
            "type": "too_large",
        }
    ]
    return json.dumps({"detail": detail}).encode(), b"application/json"


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
                    await self._refuse(send, scope)
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
                    await self._refuse(send, scope)
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                replaced = True
                await self._refuse(send, scope)

    async def _refuse(self, send: Send, scope: Scope) -> None:
        # A page for a form on a page, or for a browser asking for one (web/errors.py).
        accept = next((v for k, v in scope.get("headers", []) if k == b"accept"), b"")
        page = not str(scope.get("path", "")).startswith("/api/") or prefers_html(
            accept.decode("latin-1")
        )
        body, content_type = _refusal(self.limit, page=page)
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
# No inline script or style anywhere.
_CSP = (
    b"default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    b"object-src 'none'"
)
#: What the API documentation pages (web/apidocs.py) need beyond that, all from this host:
#: Swagger UI's icons are data: images in its CSS; Redoc writes its styles into <style>
#: elements and runs its search in a blob: worker. Its logo on cdn.redoc.ly stays blocked.
_CSP_BY_PAGE = {
    "/docs": _CSP + b"; img-src 'self' data:",
    "/redoc": _CSP + b"; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    b"worker-src 'self' blob:",
}


class SecurityHeaders:
    """Adds clickjacking, sniffing, referrer and content-security headers to every response.

    Plain ASGI rather than Starlette's ``BaseHTTPMiddleware``, which costs a task and a
    memory stream per request on the intake hot path.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = _CSP_BY_PAGE.get(str(scope.get("path", "")), _CSP)

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in _SECURITY_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, add_headers)


class CloseRequestSession:
    """Rolls back and closes a request's database transaction if no handler took it over
    (e.g. the permission check refused the request after the token was read).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                from dueprocess.web.deps import discard_request_session

                discard_request_session(scope)
