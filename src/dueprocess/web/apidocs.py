"""The interactive API documentation (``/docs``, Swagger UI; ``/redoc``, Redoc), served with
every asset from the package (``static/vendor/``, see its README), so the pages work on a
machine without internet; FastAPI's own pages load them from a CDN.

The pages carry no inline script: Swagger UI is started by ``static/apidocs.js``, Redoc by
its ``<redoc spec-url>`` element, so the content-security policy still forbids inline
script on them (``web/middleware.py`` says what each page is allowed beyond the default).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from dueprocess.web.auth import public
from dueprocess.web.deps import TEMPLATES

pages = APIRouter(include_in_schema=False)


def _page(request: Request, template: str) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, f"apidocs/{template}", {"openapi_url": request.app.openapi_url}
    )


@pages.get("/docs", response_class=HTMLResponse, dependencies=[Depends(public)])
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI on ``/openapi.json``: read the API and try it with a token."""
    return _page(request, "swagger.html")


@pages.get("/redoc", response_class=HTMLResponse, dependencies=[Depends(public)])
def redoc(request: Request) -> HTMLResponse:
    """Redoc on ``/openapi.json``: the API as one readable page."""
    return _page(request, "redoc.html")
