"""HTTP for the protected-accounts list: the API under ``/api/v1/protected-accounts`` and the
staff page ``/protected-accounts``.

Thin: each handler opens one transaction and calls :mod:`dueprocess.review.protected`.
Every route needs ``protected:manage`` (human-rights reviewers): the list is sensitive,
reading it as much as changing it (and both are audited). A refused form answers 422 (bad
input), 409 (already on the list, already removed) or 403 with the page saying why; nothing
was written.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.errors import Conflict, InvalidInput, NotPermitted, from_validation
from dueprocess.review import protected
from dueprocess.review.models import ProtectedCategory
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import TEMPLATES, unit_of_work

api = APIRouter(prefix="/api/v1/protected-accounts", tags=["review"])
pages = APIRouter(include_in_schema=False)

Manage = Annotated[Principal, Depends(requires(Permission.PROTECTED_MANAGE))]
PageManage = Annotated[Principal, Depends(requires_page(Permission.PROTECTED_MANAGE))]
PAGE = "/protected-accounts"

_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"description": "The account may not keep the list (needs protected:manage)"},
    409: {"description": "Already on the list, or already removed"},
}


def _not_permitted(exc: NotPermitted) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


# --- API --------------------------------------------------------------------------------------


@api.get("", response_model=list[protected.ProtectedOut], summary="The protected-accounts list")
def list_entries(
    request: Request, me: Manage, include_removed: bool = False
) -> list[protected.ProtectedOut] | JSONResponse:
    """Every entry on the list, newest first (``include_removed`` adds those taken off it),
    with the keepers' notes. The read is audited."""
    try:
        with unit_of_work(request) as session:
            return protected.list_entries(
                session, actor=me.actor, via="api", include_removed=include_removed
            )
    except NotPermitted as exc:
        return _not_permitted(exc)


@api.post(
    "",
    response_model=protected.ProtectedOut,
    status_code=201,
    summary="Put an account on the list",
    responses=_REFUSED,
)
def add_entry(
    request: Request, me: Manage, body: protected.ProtectedIn
) -> protected.ProtectedOut | JSONResponse:
    """Add a journalist, activist, lawyer or politician. ``handle`` may be ``@name``,
    ``name`` or the profile's URL (``https://microblog.demo/@name``); it is kept in lower
    case without the ``@``. Audited ``review.protected_added`` (handle and category, not
    the note)."""
    try:
        with unit_of_work(request) as session:
            row = protected.add(session, body, actor=me.actor)
            return protected.to_out(session, row)
    except NotPermitted as exc:
        return _not_permitted(exc)


@api.post(
    "/{entry_id}/remove",
    response_model=protected.ProtectedOut,
    summary="Take an entry off the list",
    responses={404: {"description": "No such entry"}, **_REFUSED},
)
def remove_entry(
    request: Request, entry_id: int, me: Manage
) -> protected.ProtectedOut | JSONResponse:
    """The entry stays on record with who removed it and when; demands flagged by it keep
    their flags until they are computed again. Audited ``review.protected_removed``."""
    try:
        with unit_of_work(request) as session:
            row = protected.remove(session, entry_id, actor=me.actor)
            return protected.to_out(session, row)
    except NotPermitted as exc:
        return _not_permitted(exc)


# --- pages ------------------------------------------------------------------------------------


def _page(
    request: Request,
    me: Principal,
    *,
    removed: bool,
    status: int = 200,
    problems: list[str] | None = None,
    form: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    with unit_of_work(request) as session:
        rows = protected.list_entries(session, actor=me.actor, via="page", include_removed=removed)
    context = {
        "rows": rows,
        "removed": removed,
        "categories": [c.value for c in ProtectedCategory],
        "problems": problems or [],
        "form": form or {"handle": "", "category": "", "note": ""},
        "notice": notice,
    }
    return TEMPLATES.TemplateResponse(request, "review/protected.html", context, status_code=status)


def _not_permitted_page(request: Request, exc: NotPermitted) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(
        request, "problem.html", {"title": "Not allowed", "problem": str(exc)}, status_code=403
    )


def _problems(exc: Exception) -> list[str]:
    if isinstance(exc, InvalidInput):
        return [f"{e.where()}: {e.msg}" for e in exc.errors]
    return [str(exc)]


@pages.get(PAGE, response_class=HTMLResponse)
def list_page(
    request: Request,
    me: PageManage,
    removed: bool = False,
    added: str | None = None,
    taken_off: str | None = None,
) -> HTMLResponse:
    """The list with a form to add to it and a button to remove each entry."""
    notice = None
    if added:
        notice = f"@{added} is on the list."
    elif taken_off:
        notice = f"@{taken_off} was taken off the list."
    try:
        return _page(request, me, removed=removed, notice=notice)
    except NotPermitted as exc:
        return _not_permitted_page(request, exc)


@pages.post(PAGE, response_class=HTMLResponse)
def add_page(
    request: Request,
    me: PageManage,
    handle: Annotated[str, Form(max_length=400)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Add an entry; the form comes back with the problem if it is refused."""
    form = {"handle": handle, "category": category, "note": note}
    try:
        data = protected.ProtectedIn.model_validate(form)
    except ValidationError as exc:
        problems = _problems(from_validation(exc.errors()))
        return _page(request, me, removed=False, status=422, problems=problems, form=form)
    try:
        with unit_of_work(request) as session:
            row = protected.add(session, data, actor=me.actor)
            added = row.handle
    except Conflict as exc:
        return _page(request, me, removed=False, status=409, problems=[str(exc)], form=form)
    except NotPermitted as exc:
        return _not_permitted_page(request, exc)
    return RedirectResponse(f"{PAGE}?added={added}", status_code=303)


@pages.post(PAGE + "/{entry_id}/remove", response_class=HTMLResponse)
def remove_page(request: Request, entry_id: int, me: PageManage) -> Response:
    """Take an entry off the list (it stays on record)."""
    try:
        with unit_of_work(request) as session:
            row = protected.remove(session, entry_id, actor=me.actor)
            handle = row.handle
    except Conflict as exc:
        return _page(request, me, removed=True, status=409, problems=[str(exc)])
    except NotPermitted as exc:
        return _not_permitted_page(request, exc)
    return RedirectResponse(f"{PAGE}?taken_off={handle}", status_code=303)
