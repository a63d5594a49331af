"""Staff entry: demands that arrive by e-mail, post or fax, typed in by intake staff with the
original attached. The record says which channel it came by and who sent it.

The same form as the officers' portal (:mod:`dueprocess.intake.portal`), plus the authority
(from the registry), the channel, the sender and when it was received. Officers are sent to
the portal's form (303): they submit for their own authority only, and by the portal channel.
A jurisdiction left empty is the chosen authority's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.authorities import service as authorities
from dueprocess.demands.models import Channel
from dueprocess.errors import InvalidInput
from dueprocess.intake import forms
from dueprocess.intake.portal import (
    Post,
    choose_again,
    form_context,
    keyed_form,
    read_post,
    store_upload,
    submit,
)
from dueprocess.web.auth import requires_page
from dueprocess.web.deps import TEMPLATES, runtime_of, unit_of_work

pages = APIRouter(include_in_schema=False)

SubmitGrant = Annotated[Principal, Depends(requires_page(Permission.DEMANDS_SUBMIT))]

CHANNEL_LABELS = {Channel.EMAIL: "E-mail", Channel.POST: "Post", Channel.FAX: "Fax"}


def _render(
    request: Request, form: forms.DemandForm, errors: dict[str, str], status_code: int = 200
) -> HTMLResponse:
    with unit_of_work(request) as session:
        registry = [
            (a.slug, f"{a.name} ({a.slug}, {a.jurisdiction})")
            for a in authorities.list_all(session)
        ]
    context = form_context(
        runtime_of(request),
        form,
        errors,
        fields=frozenset(forms.LABELS) - {forms.FORM},
        document_label="The original, as received",
    )
    context["authorities_options"] = registry
    context["channels"] = [(c.value, CHANNEL_LABELS[c]) for c in forms.ENTRY_CHANNELS]
    return TEMPLATES.TemplateResponse(request, "entry/new.html", context, status_code=status_code)


@pages.get("/demands/new", response_class=HTMLResponse)
def entry_new(request: Request, me: SubmitGrant, form_key: str | None = None) -> Response:
    """The staff entry form; without a well-formed ``form_key``, a 303 to it with a fresh one
    (:func:`~dueprocess.intake.portal.keyed_form`)."""
    if me.authority_scope is not None:
        return RedirectResponse("/portal/demands/new", status_code=303)
    key = keyed_form("/demands/new", "entry", form_key)
    if isinstance(key, RedirectResponse):
        return key
    return _render(request, forms.DemandForm({"form_key": key}), {})


@pages.post("/demands/new", response_class=HTMLResponse)
async def entry_submit(request: Request, me: SubmitGrant) -> Response:
    """Record the demand with its original: 303 to the staff page of the demand, or the form
    again (422) with each problem next to its field and nothing recorded."""
    if me.authority_scope is not None:
        return RedirectResponse("/portal/demands/new", status_code=303)
    post = read_post(await request.form())
    return await run_in_threadpool(_submit, request, me, post)


def _submit(request: Request, me: Principal, post: Post) -> Response:
    form = post.form
    slug = form.get("authority")
    if slug and not form.get("jurisdiction"):
        with unit_of_work(request) as session:
            authority = authorities.get_by_slug(session, slug)
        if authority is not None:
            form.values["jurisdiction"] = authority.jurisdiction
    checked = forms.validate(form, authority=slug, staff=True)
    errors = dict(checked.errors)
    stored = store_upload(runtime_of(request), post.upload, errors)
    if not errors and stored is not None:
        channel = Channel(form.get("channel"))
        try:
            demand_id, _created = submit(request, me, checked, stored, channel=channel)
        except InvalidInput as exc:
            errors = forms.errors_to_fields(exc.errors, checked.lines)
        else:
            return RedirectResponse(f"/demands/{demand_id}", status_code=303)
    return _render(request, form, choose_again(errors), status_code=422)
