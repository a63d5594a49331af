"""HTTP for demands: the JSON API under ``/api/v1`` and the staff pages. Thin: calls services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.actions import service as actions
from dueprocess.audit import service as audit
from dueprocess.demands import callbacks, service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.demands.schemas import DemandOut, DemandSummary
from dueprocess.documents.names import content_disposition
from dueprocess.documents.sniff import ALLOWED_MEDIA_TYPES
from dueprocess.policy import service as policy
from dueprocess.review import checklists, flags as risk_flags
from dueprocess.review.models import ChecklistKind
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import TEMPLATES, runtime_of, unit_of_work
from dueprocess.web.params import Id, Offset

api = APIRouter(prefix="/api/v1", tags=["demands"])
pages = APIRouter(include_in_schema=False)

ReadGrant = Annotated[Principal, Depends(requires(Permission.DEMANDS_READ))]
PageReadGrant = Annotated[Principal, Depends(requires_page(Permission.DEMANDS_READ))]

@api.get("/demands", response_model=list[DemandSummary], summary="List demands, newest first")
def list_demands(
    request: Request,
    me: ReadGrant,
    status: DemandStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[DemandSummary]:
    """One line per demand."""
    with unit_of_work(request) as session:
        return demands.list_summaries(
            session, authority_id=me.authority_scope, status=status, limit=limit, offset=offset
        )


@api.get("/demands/{demand_id:int}", response_model=DemandOut, summary="One demand")
def get_demand(request: Request, demand_id: Id, me: ReadGrant) -> DemandOut:
    """The demand as stored; the view is audited. Another authority's demand is 404."""
    with unit_of_work(request) as session:
        demand = demands.get(session, demand_id, authority_id=me.authority_scope)
        demands.record_view(session, demand, actor=me.actor, via="api")
        return demands.to_out(session, demand)


@pages.get("/demands", response_class=HTMLResponse)
def demand_list_page(
    request: Request, me: PageReadGrant, status: DemandStatus | None = None
) -> Response:
    """The list of demands (staff; an officer is sent to the portal's)."""
    if me.authority_scope is not None:
        return RedirectResponse("/portal", status_code=303)
    with unit_of_work(request) as session:
        rows = demands.list_summaries(
            session, authority_id=me.authority_scope, status=status, limit=500
        )
    return TEMPLATES.TemplateResponse(
        request,
        "demands/list.html",
        {"rows": rows, "status": status, "statuses": list(DemandStatus)},
    )


@pages.get("/demands/{demand_id:int}", response_class=HTMLResponse)
def demand_page(request: Request, demand_id: Id, me: PageReadGrant) -> HTMLResponse:
    """One demand, with its targets, documents, deadline and penalty, and its audit trail."""
    with unit_of_work(request) as session:
        demand = demands.get(session, demand_id, authority_id=me.authority_scope)
        demands.record_view(session, demand, actor=me.actor, via="page")
        shown = demands.to_out(session, demand)
        trail = (
            audit.for_subject(session, f"demand:{demand_id}") if me.authority_scope is None else []
        )
        # Requester verification, call-backs and risk flags are for staff: shown to a
        # requester they would tell a forger what gave them away, or name who is protected.
        checks = (
            {
                "verification": callbacks.verification_of(demand),
                "callback": callbacks.panel(session, demand),
                "risk": risk_flags.shown(session, demand),
            }
            if me.authority_scope is None
            else {}
        )
        policy_panel = policy.demand_policy(session, demand_id)
        # What the decisions caused (productions, restrictions): staff only.
        planned = (
            list(actions.of_demand(session, demand_id))
            if me.authority_scope is None and Permission.REVIEW_READ in me.permissions
            else []
        )
        # The review checklists: staff readers see them, reviewers answer them here.
        panels = (
            [checklists.demand_checklist(session, demand_id, kind) for kind in ChecklistKind]
            if me.authority_scope is None and Permission.REVIEW_READ in me.permissions
            else []
        )
    return TEMPLATES.TemplateResponse(
        request,
        "demands/show.html",
        {
            "d": shown,
            "trail": trail,
            "policy_panel": policy_panel,
            "checklist_panels": panels,
            "actions": planned,
            "may_manage_actions": Permission.ACTIONS_MANAGE in me.permissions,
            **checks,
        },
    )


def _download(request: Request, me: Principal, demand_id: int, sha256: str, via: str) -> Response:
    """The document's bytes, audited as ``document.downloaded`` only if they are sent.

    The audit event is written in the transaction that finds the document and opens its
    bytes, and that transaction commits only once the response (status and headers) is
    built, just before the first byte goes out. A refused or failed attempt (not yours, not
    stored, any error before the answer) records nothing; a transfer the client abandons
    half-way stays recorded, since the bytes had begun to leave.
    """
    runtime = runtime_of(request)
    handle: BinaryIO | None = None
    try:
        with unit_of_work(request) as session:
            document, handle = demands.open_document(
                session,
                runtime.store,
                demand_id,
                sha256,
                actor=me.actor,
                via=via,
                authority_id=me.authority_scope,
            )
            response = StreamingResponse(
                _chunks(handle),
                media_type=document.media_type,
                headers={
                    "Content-Disposition": content_disposition(
                        document.filename, document.media_type
                    ),
                    "Content-Length": str(document.size),
                    "X-Document-SHA256": document.sha256,
                },
            )
    except BaseException:
        if handle is not None:
            handle.close()
        raise
    return response


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(1 << 20):
            yield chunk


_BYTES = {"schema": {"type": "string", "format": "binary"}}


@api.get(
    "/demands/{demand_id:int}/documents/{sha256}",
    summary="Download a demand's document",
    response_class=Response,
    responses={
        200: {
            "description": "The document's bytes, of the type its content showed on upload",
            "content": {media_type: _BYTES for media_type in sorted(ALLOWED_MEDIA_TYPES)},
        }
    },
)
def download_document_api(request: Request, demand_id: Id, sha256: str, me: ReadGrant) -> Response:
    """The document's bytes (audited). Not one of this demand's documents, or not yours: 404."""
    return _download(request, me, demand_id, sha256, "api")


@pages.get("/demands/{demand_id:int}/documents/{sha256}")
def download_document_page(
    request: Request, demand_id: Id, sha256: str, me: PageReadGrant
) -> Response:
    """The document's bytes, from the demand page (audited)."""
    return _download(request, me, demand_id, sha256, "page")
