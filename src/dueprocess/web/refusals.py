"""Starlette's and FastAPI's own HTTP errors, answered in the app's shapes.

- A body FastAPI could not parse (bytes that are not UTF-8 JSON, a broken multipart body)
  was a bare 400 ``There was an error parsing the body``; every other refusal of input is
  422 naming what is wrong (``docs/api.md``), so this one is too: ``loc`` ``["body"]``.
- A method a path does not serve was 405 with an ``Allow`` header listing only the methods
  of the first route on that path (``/api/v1/demands`` has GET and POST in two routes, and
  ``Allow`` said ``POST``); it now lists every method the path serves.

Anything else keeps FastAPI's answer (``{"detail": ...}`` with the exception's headers).
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from dueprocess.errors import FieldError


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    """The app's answer to an :class:`HTTPException` raised by Starlette or FastAPI."""
    if exc.status_code == 400:
        return JSONResponse({"detail": [unreadable(request).as_dict()]}, status_code=422)
    if exc.status_code == 405:
        allowed = ", ".join(sorted(allowed_methods(request)))
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"Allow": allowed}
        )
    return await http_exception_handler(request, exc)


def allowed_methods(request: Request) -> set[str]:
    """Every method some route serves at the request's path: the app's own routes and those
    of the routers it includes (``app.state.routers``, as ``web.app.route_table`` reads them;
    FastAPI keeps an included router as one entry of the app's routes)."""
    app = request.app
    routes = [
        *app.router.routes,
        *(r for rt in getattr(app.state, "routers", []) for r in rt.routes),
    ]
    methods: set[str] = set()
    for route in routes:
        match, _ = route.matches(request.scope)
        served = getattr(route, "methods", None)
        if match is not Match.NONE and served:
            methods |= set(served)
    return methods


def unreadable(request: Request) -> FieldError:
    """What is wrong with a body that could not be parsed, by its declared type."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return FieldError((), "the body is not valid JSON (it must be UTF-8 JSON)", "json_invalid")
    shown = kind or "no Content-Type"
    return FieldError((), f"the body could not be read as {shown}", "body_invalid")
