"""Errors in the form the client asked for: a page for a person's browser, JSON for the API.

A browser loading a page or sending a form asks for ``text/html`` first; an API client asks
for ``application/json``, for ``*/*`` or for nothing. An error is answered with a page
exactly when the request ranks ``text/html`` (or XHTML) above ``application/json``
(wildcards count for neither), whatever the route: a person who opens an API address
in a browser reads a page, never raw JSON, and an API client never gets a page. Pages that
need a signed-in session keep their own answers (a redirect to sign in, a 403 page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus

from fastapi import Request
from fastapi.responses import HTMLResponse

from dueprocess.errors import FieldError
from dueprocess.web.deps import TEMPLATES

_HTML = frozenset({"text/html", "application/xhtml+xml"})
_JSON = frozenset({"application/json"})


def _quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header ranks an HTML type above JSON (module docstring)."""
    html = json = 0.0
    for item in (accept or "").split(","):
        media, *parameters = item.split(";")
        media = media.strip().lower()
        if media in _HTML:
            html = max(html, _quality(parameters))
        elif media in _JSON:
            json = max(json, _quality(parameters))
    return html > json


def wants_html(request: Request) -> bool:
    """Whether to answer an error on ``request`` with a page."""
    return prefers_html(request.headers.get("accept"))


def problem_page(
    request: Request,
    status: int,
    problem: str,
    *,
    title: str | None = None,
    errors: Iterable[FieldError] = (),
    link: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The error page: ``title`` (default: the status's name), what went wrong, each bad
    field, and a ``link`` (href, text) to go on with."""
    return TEMPLATES.TemplateResponse(
        request,
        "problem.html",
        {
            "title": title or HTTPStatus(status).phrase,
            "problem": problem,
            "errors": [(e.where(), e.msg) for e in errors],
            "link": link,
            "status": status,
        },
        status_code=status,
        headers=dict(headers or {}),
    )
