"""Pages of the authority registry, officer verification and emergency call-backs.

Thin: each handler opens one transaction and calls services. Reading the registry needs
``demands:read`` (an officer sees only their own authority, like their demands); verifying
an officer and recording a call-back need ``authorities:manage`` (intake, admin).
A refused form answers 422 (bad input) or 409 (not allowed now) with a page saying why and
a link back; nothing was written.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.authorities import service as authorities
from dueprocess.demands import callbacks
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.web.auth import requires_page
from dueprocess.web.deps import TEMPLATES, unit_of_work
from dueprocess.web.params import Id

pages = APIRouter(include_in_schema=False)

PageReadGrant = Annotated[Principal, Depends(requires_page(Permission.DEMANDS_READ))]
PageManageGrant = Annotated[Principal, Depends(requires_page(Permission.AUTHORITIES_MANAGE))]


def _refused(request: Request, problem: str, back: str, status: int) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        "authorities/refused.html",
        {"problem": problem, "back": back},
        status_code=status,
    )


@pages.get("/authorities", response_class=HTMLResponse)
def registry_page(request: Request, me: PageReadGrant) -> HTMLResponse:
    """The registry: name, jurisdiction, kind, status, domains, phones, officer count."""
    with unit_of_work(request) as session:
        counts = accounts.officer_counts(session)
        rows = [
            authorities.to_out(a, officers=counts.get(a.id, 0))
            for a in authorities.list_all(session, authority_id=me.authority_scope)
        ]
    return TEMPLATES.TemplateResponse(request, "authorities/list.html", {"rows": rows})


@pages.get("/authorities/{slug}", response_class=HTMLResponse)
def authority_page(request: Request, slug: str, me: PageReadGrant) -> HTMLResponse:
    """One authority, its channels and (for staff) its officers with their verification."""
    with unit_of_work(request) as session:
        authority = authorities.get_by_slug(session, slug)
        if authority is None or (
            me.authority_scope is not None and authority.id != me.authority_scope
        ):
            raise NotFound(f"authority {slug}")
        officers = []
        if me.authority_scope is None:
            officers = [
                {
                    "id": o.id,
                    "email": o.email,
                    "name": o.display_name,
                    "disabled": o.disabled,
                    "totp": o.totp_secret is not None,
                    "verified_at": o.verified_at,
                    "verified_by": accounts.describe_actor(session, o.verified_by)
                    if o.verified_by
                    else None,
                    "evidence": o.verification_evidence,
                    "credentials_changed_at": o.credentials_changed_at,
                }
                for o in accounts.officers_of(session, authority.id)
            ]
        shown = authorities.to_out(authority, officers=len(officers))
    return TEMPLATES.TemplateResponse(
        request, "authorities/show.html", {"a": shown, "officers": officers}
    )


@pages.post("/authorities/{slug}/officers/{account_id:int}/verify")
def verify_officer(
    request: Request,
    slug: str,
    account_id: Id,
    me: PageManageGrant,
    evidence: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Record that this staff member verified the officer, with the evidence given."""
    back = f"/authorities/{slug}"
    try:
        with unit_of_work(request) as session:
            authority = authorities.get_by_slug(session, slug)
            officer = accounts.get(session, account_id) if authority is not None else None
            if authority is None or officer is None or officer.authority_id != authority.id:
                raise NotFound(f"officer {account_id} of {slug}")
            accounts.verify_officer(session, officer.email, evidence=evidence, actor=me.actor)
    except InvalidInput as exc:
        return _refused(request, str(exc), back, 422)
    return RedirectResponse(f"{back}#officers", status_code=303)


@pages.post("/demands/{demand_id:int}/callbacks")
def record_callback(
    request: Request,
    demand_id: Id,
    me: PageManageGrant,
    number: Annotated[str, Form(max_length=40)] = "",
    confirmed: Annotated[str, Form(max_length=3)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    """Record a call-back to a registry number for an emergency disclosure; who called and
    when are this session's account and the server's clock."""
    back = f"/demands/{demand_id}"
    try:
        if confirmed not in ("yes", "no"):
            raise InvalidInput.one(("confirmed",), "say whether the call confirmed the request")
        with unit_of_work(request) as session:
            callbacks.record_callback(
                session,
                demand_id,
                number=number,
                confirmed=confirmed == "yes",
                notes=notes,
                actor=me.actor,
            )
    except InvalidInput as exc:
        return _refused(request, str(exc), back, 422)
    except Conflict as exc:
        return _refused(request, str(exc), back, 409)
    return RedirectResponse(f"{back}#callback", status_code=303)
