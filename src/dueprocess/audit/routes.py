"""HTTP for auditors: the event search page and its JSON twin.

Both take the same :class:`~dueprocess.audit.schemas.AuditQuery`: a bad value is a 422
naming the parameter (the API) or the search form shown again with the problem beside it
(the page), never a 500. Every search that runs is itself audited.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.audit.schemas import AuditEventOut, AuditPage, AuditQuery
from dueprocess.errors import InvalidInput, from_validation
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import TEMPLATES, unit_of_work

api = APIRouter(prefix="/api/v1/audit", tags=["audit"])
pages = APIRouter(include_in_schema=False)


def _search(session: Session, query: AuditQuery) -> AuditPage:
    """One page of events and the total; ``InvalidInput`` for an e-mail no account has."""
    filters = query.filters()
    if "actor" in filters:
        filters["actor"] = _actor(session, filters["actor"])
    found = audit.search(session, **filters, limit=query.limit, offset=query.offset)
    return AuditPage(
        total=audit.count(session, **filters),
        offset=query.offset,
        limit=query.limit,
        events=[AuditEventOut(**audit.event_fields(e), hash=e.hash) for e in found],
    )


def _actor(session: Session, actor: str) -> str:
    """An actor as the log writes it: an account's number or e-mail becomes ``account:N``."""
    if actor.isdigit():
        return f"account:{int(actor)}"
    if "@" in actor:
        account = accounts.get_by_email(session, actor)
        if account is None:
            raise InvalidInput.one(("query", "actor"), f"no account has the e-mail {actor}")
        return f"account:{account.id}"
    return actor


def _searched(session: Session, me: Principal, query: AuditQuery) -> None:
    data = {k: str(v) for k, v in query.model_dump(exclude_none=True).items()}
    audit.record(session, actor=me.actor, action="audit.searched", data=data)


@api.get(
    "/events",
    response_model=AuditPage,
    summary="Search audit events, newest first",
    responses={422: {"description": "A bad parameter: each one is named in `detail`"}},
)
def events(
    request: Request,
    me: Annotated[Principal, Depends(requires(Permission.AUDIT_READ))],
    query: Annotated[AuditQuery, Query()],
) -> AuditPage:
    """Events as hashed (the same fields the export carries), with how many match in all.
    Page through them with ``offset``. The search itself is audited."""
    with unit_of_work(request) as session:
        page = _search(session, query)
        _searched(session, me, query)
    return page


@pages.get("/audit", response_class=HTMLResponse)
def search_page(
    request: Request,
    me: Annotated[Principal, Depends(requires_page(Permission.AUDIT_READ))],
) -> HTMLResponse:
    """The auditors' search page."""
    typed = {k: v for k, v in request.query_params.items() if k in AuditQuery.model_fields}
    errors: dict[str, str] = {}
    page: AuditPage | None = None
    with unit_of_work(request) as session:
        try:
            # A form sends the fields left empty; the API refuses an empty time (not a time).
            query = AuditQuery.model_validate({k: v for k, v in typed.items() if v.strip()})
            page = _search(session, query)
        except ValidationError as exc:
            errors = _by_field(from_validation(exc.errors()))
        except InvalidInput as exc:
            errors = _by_field(exc)
        else:
            _searched(session, me, query)
        head = audit.head(session)
    context: dict[str, Any] = {"typed": typed, "errors": errors, "page": page, "head": head}
    if page is not None:
        context.update(_paging(typed, page))
    return TEMPLATES.TemplateResponse(
        request, "audit/search.html", context, status_code=422 if errors else 200
    )


def _by_field(invalid: InvalidInput) -> dict[str, str]:
    return {str(e.loc[-1]) if e.loc else "search": e.msg for e in invalid.errors}


def _paging(typed: dict[str, str], page: AuditPage) -> dict[str, Any]:
    """The links to the newer and older pages, keeping the filters as typed."""

    def at(offset: int) -> str:
        return "/audit?" + urlencode({**typed, "offset": str(offset)})

    older = page.offset + page.limit
    return {
        "first": page.offset + 1 if page.events else 0,
        "last": page.offset + len(page.events),
        "newer": at(max(0, page.offset - page.limit)) if page.offset else None,
        "older": at(older) if older < page.total else None,
        "start": at(0),
    }
