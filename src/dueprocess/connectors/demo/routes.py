"""The demo microblog's one public page: a post as a viewer in a given country sees it
(``/microblog/posts/{id}?from=HK``), so a restriction applied through the connector can be
seen taking effect: a post withheld in HK shows "withheld in your country" from HK and the
post from anywhere else.

The page belongs to the demo *service*, not to dueprocess: it has its own template and look,
and is served only when a demo microblog is configured (``DUEPROCESS_DEMO_DATABASE_URL``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from dueprocess import jurisdictions
from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.connector import open_session
from dueprocess.connectors.demo.models import MicroblogPost
from dueprocess.errors import InvalidInput, NotFound
from dueprocess.web.auth import public
from dueprocess.web.deps import runtime_of
from dueprocess.web.params import Id

pages = APIRouter(include_in_schema=False)
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

From = Annotated[
    str | None,
    Query(alias="from", max_length=8, description="The viewer's country (ISO 3166-1 alpha-2)"),
]


@pages.get(
    "/microblog/posts/{post_id:int}", response_class=HTMLResponse, dependencies=[Depends(public)]
)
def post_page(request: Request, post_id: Id, viewer: From = None) -> HTMLResponse:
    """The post as seen from the country ``from`` (none: from nowhere in particular)."""
    url = runtime_of(request).settings.demo_database_url
    if not url:
        raise NotFound("no demo microblog is configured")
    country = None
    if viewer:
        try:
            country = jurisdictions.normalise(viewer)
        except ValueError as exc:
            raise InvalidInput.one(("query", "from"), str(exc)) from None
        if "-" in country:
            raise InvalidInput.one(("query", "from"), "must be a country (ISO 3166-1 alpha-2)")
    with open_session(url) as mb:
        post = mb.get(MicroblogPost, post_id)
        if post is None:
            raise NotFound(f"no post {post_id} on the microblog")
        seen = microblog.view(mb, post, country)
        return TEMPLATES.TemplateResponse(
            request,
            "post.html",
            {
                "view": seen,
                "country": country,
                "country_name": jurisdictions.name_of(country) if country else None,
                "url": microblog.post_url(seen.author.handle, post.id),
            },
        )
