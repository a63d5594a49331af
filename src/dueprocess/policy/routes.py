"""HTTP for jurisdiction policy: the JSON API under ``/api/v1/policy`` and the staff pages.

Thin: each handler opens one transaction and calls :mod:`dueprocess.policy.service`. Reading
needs ``policy:read``; proposing ``policy:propose``; approving and rejecting
``policy:approve`` (the service also refuses the author approving their own version). A bad
policy file is answered 422 with one entry per problem, each with its ``line``, ``column``
and ``rule`` besides the usual ``loc``, ``msg`` and ``type``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.clock import as_utc
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.policy import schemas, service as policy, whatif as policy_whatif
from dueprocess.policy.fileformat import PolicyFileError, PolicyProblem
from dueprocess.policy.models import VersionStatus
from dueprocess.policy.templates import list_templates, template_text
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import TEMPLATES, unit_of_work
from dueprocess.web.params import Count, Id, QueryId

api = APIRouter(prefix="/api/v1/policy", tags=["policy"])
pages = APIRouter(include_in_schema=False)

Read = Annotated[Principal, Depends(requires(Permission.POLICY_READ))]
Propose = Annotated[Principal, Depends(requires(Permission.POLICY_PROPOSE))]
Approve = Annotated[Principal, Depends(requires(Permission.POLICY_APPROVE))]
PageRead = Annotated[Principal, Depends(requires_page(Permission.POLICY_READ))]
PageApprove = Annotated[Principal, Depends(requires_page(Permission.POLICY_APPROVE))]
Text = Annotated[str, Form(max_length=schemas.MAX_POLICY_CHARS)]
Short = Annotated[str, Form(max_length=5000)]

_BAD_FILE: dict[int | str, dict[str, Any]] = {
    422: {"description": "The policy file has problems: each with line and rule"}
}


def _describe(problem: PolicyProblem) -> str:
    """``line 14: rules[2].jurisdiction (rule "hk-pause"): unknown ...``"""
    return "line " + problem.format("")[1:]


def problems_json(exc: PolicyFileError, field: str = "text") -> JSONResponse:
    """422 naming each problem's place in the body, its line and column, and its rule."""
    detail = [
        {
            "loc": ["body", field, *p.loc],
            "msg": _describe(p),
            "type": p.type,
            "line": p.line,
            "column": p.column,
            "rule": p.rule_id,
        }
        for p in exc.problems
    ]
    return JSONResponse({"detail": detail}, status_code=422)


# --- API --------------------------------------------------------------------------------------


@api.get("/active", response_model=schemas.ActiveOut, summary="The policy in force")
def get_active(request: Request, me: Read) -> schemas.ActiveOut:
    """The active version (with its text) and its rules; ``version`` is null when none is."""
    with unit_of_work(request) as session:
        return policy.active_out(session)


@api.get("/versions", response_model=list[schemas.VersionOut], summary="Every version")
def list_versions(request: Request, me: Read) -> list[schemas.VersionOut]:
    """Every version, newest first, with author, approver, times, reason and status."""
    with unit_of_work(request) as session:
        return policy.versions_out(session)


@api.post(
    "/versions",
    response_model=schemas.VersionDetail,
    status_code=201,
    summary="Propose a version",
    responses=_BAD_FILE,
)
def propose_version(request: Request, me: Propose, body: schemas.ProposeIn) -> Any:
    """Store a new version, to be approved by another person; nothing is stored if the file
    has any problem."""
    try:
        with unit_of_work(request) as session:
            version = policy.propose(
                session, body.text, body.source_name, body.reason, actor=me.actor
            )
            return policy.version_detail(session, version)
    except PolicyFileError as exc:
        return problems_json(exc)


@api.post(
    "/versions/{version_id:int}/approve",
    response_model=schemas.ActivationOut,
    summary="Approve and activate a version",
    responses={409: {"description": "Not a proposed version, or you proposed it (four eyes)"}},
)
def approve_version(request: Request, version_id: Id, me: Approve) -> schemas.ActivationOut:
    """Activate a version proposed by someone else; every open demand is re-evaluated now."""
    with unit_of_work(request) as session:
        return policy.approve(session, version_id, actor=me.actor)


@api.post(
    "/whatif",
    response_model=schemas.WhatIfOut,
    summary="What a policy would change",
    responses=_BAD_FILE,
)
def whatif(request: Request, me: Read, body: schemas.WhatIfIn) -> Any:
    """Which open demands would change stance, and how, if ``text`` were activated at ``at``
    (default now), and which deadlines would pass while paused. Writes nothing."""
    try:
        with unit_of_work(request) as session:
            return policy_whatif.whatif(session, body.text, at=body.at, limit=body.limit or None)
    except PolicyFileError as exc:
        return problems_json(exc)


# --- pages ------------------------------------------------------------------------------------


def _page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, f"policy/{name}", context, status_code=status)


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, PolicyFileError):
        return [_describe(p) for p in exc.problems]
    if isinstance(exc, InvalidInput):
        return [f"{e.where()}: {e.msg}" for e in exc.errors]
    return [str(exc)]


def _when(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput.one(("at",), f"{value!r} is not a date like 2020-07-06") from None
    try:
        return as_utc(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC))
    except ValueError as exc:
        raise InvalidInput.one(("at",), str(exc)) from None


@pages.get("/policy", response_class=HTMLResponse)
def index_page(request: Request, me: PageRead, all: bool = False) -> HTMLResponse:
    """Every jurisdiction's stance in a table, the version in force, and the history."""
    with unit_of_work(request) as session:
        context = {
            "rows": policy_whatif.jurisdiction_table(session, every_country=all),
            "active": policy.active_out(session),
            "versions": policy.versions_out(session),
            "all": all,
        }
    return _page(request, "index.html", context)


@pages.get("/policy/whatif", response_class=HTMLResponse)
def whatif_form(
    request: Request, me: PageRead, template: str | None = None, version: QueryId = None
) -> HTMLResponse:
    """The what-if form, filled from a template or a stored version if asked."""
    text = ""
    with unit_of_work(request) as session:
        if version is not None:
            text = policy.get_version(session, version).source
        elif template:
            text = template_text(template)
        elif (found := policy.active(session)) is not None:
            text = found[0].source
    context = {
        "text": text,
        "at": "",
        "templates": list_templates(),
        "template": template,
        "result": None,
    }
    return _page(request, "whatif.html", context)


@pages.post("/policy/whatif", response_class=HTMLResponse)
def whatif_page(request: Request, me: PageRead, text: Text, at: Short = "") -> HTMLResponse:
    """What the policy in the form would change, before anyone proposes or activates it."""
    context: dict[str, Any] = {"text": text, "at": at, "templates": list_templates()}
    try:
        with unit_of_work(request) as session:
            context["result"] = policy_whatif.whatif(session, text, at=_when(at), limit=500)
    except (InvalidInput, NotFound) as exc:
        context.update(result=None, problems=_problems(exc))
        return _page(request, "whatif.html", context, status=422)
    return _page(request, "whatif.html", context)


@pages.get("/policy/versions/{version_id:int}", response_class=HTMLResponse)
def version_page(
    request: Request,
    version_id: Id,
    me: PageRead,
    evaluated: Count = None,
    changed: Count = None,
) -> HTMLResponse:
    """One version: its text, author, approver and audit trail; approve or reject it."""
    return _version(request, me, version_id, {"evaluated": evaluated, "changed": changed})


def _version(
    request: Request, me: Principal, version_id: int, extra: dict[str, Any], status: int = 200
) -> HTMLResponse:
    with unit_of_work(request) as session:
        version = policy.get_version(session, version_id)
        detail = policy.version_detail(session, version)
        trail = audit.for_subject(session, f"policy_version:{version_id}")
    can_decide = (
        detail.status is VersionStatus.PROPOSED and Permission.POLICY_APPROVE in me.permissions
    )
    context = {
        "v": detail,
        "trail": trail,
        "can_approve": can_decide and detail.author != me.actor,
        "can_reject": can_decide,
        **extra,
    }
    return _page(request, "version.html", context, status)


@pages.post("/policy/versions/{version_id:int}/approve", response_class=HTMLResponse)
def approve_page(request: Request, version_id: Id, me: PageApprove) -> Response:
    """Approve and activate; shows how many open demands were re-evaluated and changed."""
    try:
        with unit_of_work(request) as session:
            result = policy.approve(session, version_id, actor=me.actor)
    except (Conflict, InvalidInput) as exc:
        return _version(request, me, version_id, {"problems": _problems(exc)}, status=409)
    query = urlencode({"evaluated": result.evaluated, "changed": result.changed})
    return RedirectResponse(f"/policy/versions/{version_id}?{query}", status_code=303)


@pages.post("/policy/versions/{version_id:int}/reject", response_class=HTMLResponse)
def reject_page(request: Request, version_id: Id, me: PageApprove, reason: Short = "") -> Response:
    """Reject a proposed version, with the reason."""
    try:
        with unit_of_work(request) as session:
            policy.reject(session, version_id, reason, actor=me.actor)
    except (Conflict, InvalidInput) as exc:
        return _version(request, me, version_id, {"problems": _problems(exc)}, status=409)
    return RedirectResponse(f"/policy/versions/{version_id}", status_code=303)


@pages.get("/policy/{jurisdiction}", response_class=HTMLResponse)
def jurisdiction_page(request: Request, jurisdiction: str, me: PageRead) -> HTMLResponse:
    """One jurisdiction: its stance now, its rules, their history, its open demands."""
    with unit_of_work(request) as session:
        detail = policy_whatif.jurisdiction_detail(session, jurisdiction)
    return _page(request, "jurisdiction.html", {"d": detail})
