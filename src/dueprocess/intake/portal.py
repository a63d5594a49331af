"""The officers' portal: pages where a requesting officer submits a demand with its signed
document, follows its status and the replies to it, and withdraws it.

Who may use it: officers (accounts bound to an authority). They see only their own
authority's demands; any other id is answered like one that does not exist (404). Staff
who hold the same permissions are sent to the staff pages instead (303): ``/portal`` to
``/demands``, the form to staff entry (``/demands/new``), a demand to ``/demands/{id}``; a
post from staff to a portal route changes nothing and is sent to the same place.

Also here, because staff entry (:mod:`dueprocess.intake.entry`) shares them: reading a
demand form post, streaming its upload into the document store, and submitting through
:func:`dueprocess.intake.flow.receive` in one transaction.

Uploads are never read whole: Starlette spools a multipart file to disk past 1 MiB, the
app's ``BodySizeLimit`` caps the request, and the file object is handed to the store, which
reads it in chunks, checks its type by content, and refuses it past :func:`document_limit`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.authorities import service as authorities
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands, states
from dueprocess.demands.models import Channel, DemandStatus
from dueprocess.demands.schemas import DocumentIn
from dueprocess.documents.store import DocumentRefused, StoredDocument, format_size
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.intake import flow, forms, record
from dueprocess.policy import service as policy
from dueprocess.productions import service as productions
from dueprocess.runtime import Runtime
from dueprocess.web.auth import requires_page
from dueprocess.web.deps import TEMPLATES, runtime_of, unit_of_work
from dueprocess.web.params import Id

pages = APIRouter(include_in_schema=False)

ReadGrant = Annotated[Principal, Depends(requires_page(Permission.DEMANDS_READ))]
SubmitGrant = Annotated[Principal, Depends(requires_page(Permission.DEMANDS_SUBMIT))]

#: Room left in a request for the form's other fields: a document may use the rest of the
#: body limit, so that a file just under the body limit is refused next to the upload field
#: rather than by the body limit (which answers before any page can be drawn).
FORM_ROOM_BYTES = 256 * 1024

#: What each status means, said to the officer who asked.
STATUS_TEXT: dict[DemandStatus, str] = {
    DemandStatus.RECEIVED: "Received; it is waiting for review.",
    DemandStatus.PAUSED: "Paused under the service's policy for this jurisdiction.",
    DemandStatus.LEGAL_REVIEW: "Under legal review.",
    DemandStatus.HUMAN_RIGHTS_REVIEW: "Under human-rights review.",
    DemandStatus.AWAITING_APPROVAL: "Reviewed; awaiting approval of the decision.",
    DemandStatus.DECIDED: "Decided; see the replies to you.",
    DemandStatus.ACTING: "Decided; the service is carrying out the decision.",
    DemandStatus.DONE: "Done.",
    DemandStatus.REFUSED: "Refused; see the replies to you for the reasons.",
    DemandStatus.REDIRECTED: "Redirected to another channel; see the replies to you.",
    DemandStatus.WITHDRAWN: "Withdrawn by your authority.",
}


#: The inputs of the portal's form (staff entry adds the authority, channel, sender and time).
PORTAL_FIELDS = frozenset(forms.LABELS) - {
    forms.FORM,
    "authority",
    "channel",
    "sender",
    "received_at",
}


def document_limit(max_body_bytes: int) -> int:
    """The largest document a form accepts, for a server with this body limit."""
    return max(1, max_body_bytes - min(FORM_ROOM_BYTES, max_body_bytes // 4))


# --- shared with staff entry ------------------------------------------------------------------


@dataclass
class Post:
    """A demand form as posted: its text fields, and the file input (``None`` if no file)."""

    form: forms.DemandForm
    upload: UploadFile | None


def read_post(data: FormData) -> Post:
    """Split a multipart post into text fields and the document. A file input left empty
    (browsers send an empty part with an empty name) counts as no file."""
    upload = data.get(forms.DOCUMENT)
    chosen = upload if isinstance(upload, UploadFile) and (upload.filename or upload.size) else None
    return Post(forms.DemandForm.from_items(data.multi_items()), chosen)


def store_upload(
    runtime: Runtime, upload: UploadFile | None, errors: dict[str, str]
) -> StoredDocument | None:
    """Stream the upload into the document store; on a refusal, say why on ``document``.

    Runs even when other fields are wrong, so every problem is reported at once. An accepted
    file of a form that is then refused stays in the store under its hash, recorded nowhere
    (no upload, no document row); sending the same bytes again stores them once.
    """
    if upload is None:
        errors.setdefault(forms.DOCUMENT, "required: choose the signed document")
        return None
    limit = document_limit(runtime.settings.max_body_bytes)
    try:
        return runtime.store.put(upload.file, upload.filename or "document", max_bytes=limit)
    except DocumentRefused as exc:
        errors[forms.DOCUMENT] = exc.reason
        return None


def choose_again(errors: dict[str, str]) -> dict[str, str]:
    """A refused form cannot keep its file (browsers do not allow it): say so on the field."""
    if errors and forms.DOCUMENT not in errors:
        errors[forms.DOCUMENT] = "choose the file again: a form with problems does not keep it"
    return errors


def submit(
    request: Request,
    me: Principal,
    checked: forms.Checked,
    stored: StoredDocument,
    *,
    channel: Channel,
) -> tuple[int, bool]:
    """Record the upload and the demand in one transaction; the demand's id, and whether this
    post created it (``False``: the form was sent before, and this is the demand it made).

    Officers submit for their own authority only (``restrict_to_authority``) and are recorded
    as the demand's officer. The document is cited by its hash as an upload of this account,
    so only the account that sent the bytes can attach them. Raises :class:`InvalidInput`
    (nothing written) when the service refuses, including a form key reused for a different
    demand and a repeat of an earlier demand not confirmed new.
    """
    assert checked.demand is not None
    runtime = runtime_of(request)
    data = checked.demand.model_copy(
        update={"documents": [DocumentIn(sha256=stored.sha256, filename=stored.filename)]}
    )
    with unit_of_work(request) as session:
        # flow.receive takes this lock too; it must come before the upload's audit event.
        policy.lock_for_intake(session)
        record.record_upload(session, stored, account_id=me.account_id, actor=me.actor)
        result = flow.receive(
            session,
            runtime,
            data,
            channel=channel,
            actor=me.actor,
            officer_id=me.account_id if me.authority_scope is not None else None,
            restrict_to_authority=me.authority_scope,
            uploader_id=me.account_id,
            second_factor=me.via == "session",
        )
        return result.demand.id, result.created


def new_form_key(prefix: str) -> str:
    """A fresh key for one form, sent back as the demand's idempotency key: a form posted
    twice (a double tap, a retry on a bad connection) records one demand."""
    return f"{prefix}-{secrets.token_urlsafe(16)}"


_FORM_KEY = re.compile(r"^(portal|entry)-[A-Za-z0-9_-]{22}$")


def keyed_form(path: str, prefix: str, given: str | None) -> str | RedirectResponse:
    """The form's key, from its address (``?form_key=``), or a 303 to the form's address with
    a fresh one.

    The key lives in the address, not only in the page, because a browser that goes Back to
    a form it posted loads the page again (and puts back what was typed, and the file): a key
    made anew on each load would make that second post a new demand. Loaded from its address,
    the form keeps its key, so posting it again replays the demand the first post recorded.
    Only keys of this form's own shape are taken; anything else gets a fresh one.
    """
    if given is not None and _FORM_KEY.match(given) and given.startswith(f"{prefix}-"):
        return given
    return RedirectResponse(f"{path}?form_key={new_form_key(prefix)}", status_code=303)


def form_context(
    runtime: Runtime,
    form: forms.DemandForm,
    errors: dict[str, str],
    *,
    fields: frozenset[str],
    document_label: str,
) -> dict[str, Any]:
    """What both demand forms' templates need; ``fields`` are the inputs this form shows (the
    error summary links to those)."""
    return {
        "form": form,
        "errors": errors,
        "labels": forms.LABELS,
        "linkable": fields,
        "document_label": document_label,
        "kinds": forms.KINDS,
        "processes": forms.PROCESSES,
        "categories": forms.CATEGORIES,
        "offsets": forms.OFFSETS,
        "document_limit": format_size(document_limit(runtime.settings.max_body_bytes)),
    }


def staff_redirect(path: str) -> RedirectResponse:
    """Where staff who reach a portal page are sent."""
    return RedirectResponse(path, status_code=303)


# --- pages ------------------------------------------------------------------------------------


def _not_found(request: Request) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request,
        "problem.html",
        {"title": "Not found", "problem": "There is no such demand among your authority's."},
        status_code=404,
    )


@pages.get("/portal", response_class=HTMLResponse)
def portal_home(request: Request, me: ReadGrant) -> Response:
    """The officer's home: their authority's demands with status, deadline, stance and the
    latest reply to them."""
    if me.authority_scope is None:
        return staff_redirect("/demands")
    with unit_of_work(request) as session:
        authority = authorities.get(session, me.authority_scope)
        rows = demands.authority_demands(session, me.authority_scope)
    return TEMPLATES.TemplateResponse(
        request, "portal/home.html", {"rows": rows, "authority": authority}
    )


def _render_new(
    request: Request,
    me: Principal,
    form: forms.DemandForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> HTMLResponse:
    assert me.authority_scope is not None
    runtime = runtime_of(request)
    with unit_of_work(request) as session:
        authority = authorities.get(session, me.authority_scope)
    assert authority is not None
    context = form_context(
        runtime, form, errors, fields=PORTAL_FIELDS, document_label="The signed demand"
    )
    context["authority"] = authority
    return TEMPLATES.TemplateResponse(request, "portal/new.html", context, status_code=status_code)


@pages.get("/portal/demands/new", response_class=HTMLResponse)
def portal_new(request: Request, me: SubmitGrant, form_key: str | None = None) -> Response:
    """The form for a new demand; the issuing authority is the officer's own. Without a
    well-formed ``form_key``, a 303 to the form with a fresh one (:func:`keyed_form`)."""
    if me.authority_scope is None:
        return staff_redirect("/demands/new")
    key = keyed_form("/portal/demands/new", "portal", form_key)
    if isinstance(key, RedirectResponse):
        return key
    with unit_of_work(request) as session:
        authority = authorities.get(session, me.authority_scope)
        jurisdiction = authority.jurisdiction if authority else ""
    form = forms.DemandForm({"jurisdiction": jurisdiction, "form_key": key})
    return _render_new(request, me, form, {})


@pages.post("/portal/demands/new", response_class=HTMLResponse)
async def portal_submit(request: Request, me: SubmitGrant) -> Response:
    """Submit the form with its signed document: 303 to the demand, or the form again (422)
    with each problem next to its field and nothing recorded."""
    if me.authority_scope is None:
        return staff_redirect("/demands/new")
    post = read_post(await request.form())
    return await run_in_threadpool(_portal_submit, request, me, post)


def _portal_submit(request: Request, me: Principal, post: Post) -> Response:
    assert me.authority_scope is not None
    with unit_of_work(request) as session:
        authority = authorities.get(session, me.authority_scope)
    assert authority is not None
    checked = forms.validate(post.form, authority=authority.slug, staff=False)
    errors = dict(checked.errors)
    stored = store_upload(runtime_of(request), post.upload, errors)
    if not errors and stored is not None:
        try:
            demand_id, created = submit(request, me, checked, stored, channel=Channel.PORTAL)
        except InvalidInput as exc:
            errors = forms.errors_to_fields(exc.errors, checked.lines)
        else:
            shown = "submitted" if created else "again"
            return RedirectResponse(f"/portal/demands/{demand_id}?{shown}=1", status_code=303)
    return _render_new(request, me, post.form, choose_again(errors), status_code=422)


def _render_demand(
    request: Request,
    me: Principal,
    demand_id: int,
    *,
    notice: str | None = None,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    assert me.authority_scope is not None
    try:
        with unit_of_work(request) as session:
            demand = demands.get(session, demand_id, authority_id=me.authority_scope)
            demands.record_view(session, demand, actor=me.actor, via="portal")
            shown = demands.to_out(session, demand)
            replies = demands.replies(session, demand_id)
            stance, condition = demand.stance, demand.stance_condition
            now = utcnow()
            produced = [
                productions.to_out(p, now)
                for p in productions.list_for_demand(
                    session, demand_id, authority_id=me.authority_scope
                )
            ]
    except NotFound:
        return _not_found(request)
    return TEMPLATES.TemplateResponse(
        request,
        "portal/show.html",
        {
            "d": shown,
            "explained": STATUS_TEXT.get(shown.status, ""),
            "stance": stance,
            "stance_condition": condition,
            "replies": replies,
            "productions": produced,
            "can_download": Permission.PRODUCTIONS_DOWNLOAD in me.permissions,
            "can_withdraw": states.can_move(shown.status, DemandStatus.WITHDRAWN),
            "notice": notice,
            "reason": reason,
            "errors": errors or {},
        },
        status_code=status_code,
    )


_NOTICES = {
    "submitted": "Your demand was received. Keep its number for your records.",
    "again": "This form had already been sent: this is the demand it recorded. "
    "Nothing new was recorded.",
    "withdrawn": "Your demand was withdrawn.",
}


@pages.get("/portal/demands/{demand_id:int}", response_class=HTMLResponse)
def portal_demand(
    request: Request,
    demand_id: Id,
    me: ReadGrant,
    submitted: bool = False,
    again: bool = False,
    withdrawn: bool = False,
) -> Response:
    """One of the authority's demands: status, deadline, targets, documents with their
    hashes, the replies to the requester, what has been produced, and withdrawing it."""
    if me.authority_scope is None:
        return staff_redirect(f"/demands/{demand_id}")
    flags = {"submitted": submitted, "again": again, "withdrawn": withdrawn}
    notice = next((_NOTICES[name] for name, on in flags.items() if on), None)
    return _render_demand(request, me, demand_id, notice=notice)


@pages.post("/portal/demands/{demand_id:int}/withdraw", response_class=HTMLResponse)
async def portal_withdraw(request: Request, demand_id: Id, me: SubmitGrant) -> Response:
    """Withdraw the demand with a reason (audited as ``demand.withdrawn``): 303 back to it, or
    the page again with the problem (422 no reason, 409 no longer possible)."""
    if me.authority_scope is None:
        return staff_redirect(f"/demands/{demand_id}")
    raw = (await request.form()).get("reason")
    reason = raw if isinstance(raw, str) else ""
    return await run_in_threadpool(_portal_withdraw, request, me, demand_id, reason)


def _portal_withdraw(request: Request, me: Principal, demand_id: int, reason: str) -> Response:
    try:
        with unit_of_work(request) as session:
            # A status move: wait for any policy activation, as intake does.
            policy.lock_for_intake(session)
            demands.withdraw(
                session,
                demand_id,
                authority_id=me.authority_scope,
                actor=me.actor,
                by=me.roles,
                reason=reason,
            )
    except NotFound:
        return _not_found(request)
    except InvalidInput as exc:
        problems = {str(e.loc[-1]): e.msg for e in exc.errors}
        return _render_demand(
            request, me, demand_id, reason=reason, errors=problems, status_code=422
        )
    except Conflict:
        problem = {"withdraw": "this demand can no longer be withdrawn"}
        return _render_demand(request, me, demand_id, errors=problem, status_code=409)
    return RedirectResponse(f"/portal/demands/{demand_id}?withdrawn=1", status_code=303)
