"""HTTP for auditors: the event search page and its JSON twin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.audit.models import AuditEvent
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import TEMPLATES, unit_of_work

api = APIRouter(prefix="/api/v1/audit", tags=["audit"])
pages = APIRouter(include_in_schema=False)


def _as_dict(e: AuditEvent) -> dict[str, Any]:
    return {**audit.event_fields(e), "hash": e.hash}


def _filters(
    action: Annotated[
        str | None, Query(max_length=100, description="e.g. demand.viewed or auth.*")
    ] = None,
    actor: Annotated[str | None, Query(max_length=200, description="e.g. account:12")] = None,
    subject: Annotated[str | None, Query(max_length=200, description="e.g. demand:42")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    return {
        "action": action,
        "actor": actor,
        "subject": subject,
        "since": since,
        "until": until,
        "limit": limit,
    }


@api.get("/events", summary="Search audit events, newest first")
def events(
    request: Request,
    me: Annotated[Principal, Depends(requires(Permission.AUDIT_READ))],
    filters: Annotated[dict[str, Any], Depends(_filters)],
) -> list[dict[str, Any]]:
    """Events as hashed (the same fields the export carries). The search itself is audited."""
    with unit_of_work(request) as session:
        found = [_as_dict(e) for e in audit.search(session, **filters)]
        audit.record(
            session,
            actor=me.actor,
            action="audit.searched",
            data={k: str(v) for k, v in filters.items() if v is not None},
        )
    return found


@pages.get("/audit", response_class=HTMLResponse)
def search_page(
    request: Request,
    me: Annotated[Principal, Depends(requires_page(Permission.AUDIT_READ))],
    filters: Annotated[dict[str, Any], Depends(_filters)],
) -> HTMLResponse:
    """The auditors' search page."""
    with unit_of_work(request) as session:
        found = audit.search(session, **filters)
        head = audit.head(session)
        audit.record(
            session,
            actor=me.actor,
            action="audit.searched",
            data={k: str(v) for k, v in filters.items() if v is not None},
        )
    return TEMPLATES.TemplateResponse(
        request, "audit/search.html", {"events": found, "filters": filters, "head": head}
    )
