"""Staff pages of review: a demand's review page (``/demands/{id}/review``) with a form for
each step the reader may take (the queues are in :mod:`dueprocess.review.queue_pages`).
Thin: each handler opens one transaction and calls :mod:`dueprocess.review.service`.

Every form carries the demand's ``revision`` as loaded: a demand that moved since is refused
(409) and the page is shown again as it now is, with the reason; nothing changes. A refused
step re-renders the page with the problems named (422, 403 or 409); a step done redirects
back to the page (303), so a reload never repeats it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import DataCategory, DemandStatus
from dueprocess.errors import Conflict, FieldError, InvalidInput, NotFound, NotPermitted
from dueprocess.review import checklists, flags, queries, service as review
from dueprocess.review.decisions import FIELDS, REFUSAL_REASONS, Proposed
from dueprocess.review.models import ChecklistKind, Outcome, SignOffVerdict
from dueprocess.web.auth import requires_page
from dueprocess.web.deps import TEMPLATES, runtime_of, unit_of_work
from dueprocess.web.params import Id

pages = APIRouter(include_in_schema=False)

PageRead = Annotated[Principal, Depends(requires_page(Permission.REVIEW_READ))]
PageWork = Annotated[Principal, Depends(requires_page(Permission.REVIEW_WORK))]
PageLegal = Annotated[Principal, Depends(requires_page(Permission.REVIEW_LEGAL))]
PageRights = Annotated[Principal, Depends(requires_page(Permission.REVIEW_HUMAN_RIGHTS))]
PageApprove = Annotated[Principal, Depends(requires_page(Permission.DECISIONS_APPROVE))]

_DONE = {
    "claim": "You have it now.",
    "release": "Put back in its queue.",
    "assign": "Assigned.",
    "send": "Sent on.",
    "decisions": "Decisions saved.",
    "submit": "Submitted.",
    "sign-off": "Verdict recorded.",
    "approval": "Done.",
}


def _render(
    request: Request,
    session: Session,
    me: Principal,
    demand_id: int,
    *,
    problems: list[str] | None = None,
    status_code: int = 200,
    form: FormData | None = None,
) -> HTMLResponse:
    demand = review.load(session, demand_id, revision=None)
    shown = demands.to_out(session, demand)
    state = queries.state(session, demand, utcnow())
    context: dict[str, Any] = {
        "d": shown,
        "r": state,
        "me": me,
        "problems": problems or [],
        "done": _DONE.get(request.query_params.get("done", "")),
        "form": form,
        "outcomes": [o.value for o in Outcome],
        "reasons": REFUSAL_REASONS,
        "categories": shown.data_categories,
        "fields": {c.value: FIELDS[DataCategory(c)] for c in shown.data_categories},
        "mine": demand.assignee_id == me.account_id,
        "risk": flags.shown(session, demand),
        "checklist_panels": [
            checklists.demand_checklist(session, demand_id, kind) for kind in ChecklistKind
        ],
        "back": "review",
        "colleagues": _colleagues(session, demand.status),
    }
    return TEMPLATES.TemplateResponse(request, "review/show.html", context, status_code=status_code)


def _colleagues(session: Session, status: DemandStatus) -> list[str]:
    workers = review.WORKERS.get(status, frozenset())
    return sorted(
        a.email
        for a in accounts.list_all(session)
        if not a.disabled and not workers.isdisjoint(a.roles)
    )


@pages.get("/demands/{demand_id:int}/review", response_class=HTMLResponse)
def review_page(request: Request, demand_id: Id, me: PageRead) -> HTMLResponse:
    """Where the demand stands in review, with a form for each step the reader may take."""
    with unit_of_work(request) as session:
        demand = review.load(session, demand_id, revision=None)
        demands.record_view(session, demand, actor=me.actor, via="review-page")
        return _render(request, session, me, demand_id)


def _revision(form: FormData) -> int | None:
    raw = form.get("revision")
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 12:
        return int(raw)
    return -1  # a form without its revision is as stale as one with the wrong one


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _step(
    request: Request,
    demand_id: int,
    me: Principal,
    step: str,
    act: Callable[[Session, FormData, int | None], None],
) -> Response:
    """Run one step from a form; 303 back to the page when done, the page with the reasons
    when refused (nothing changed). The form is read here; the database work runs in the
    thread pool, never on the event loop."""
    form = await request.form()
    return await run_in_threadpool(_run_step, request, demand_id, me, step, act, form)


def _run_step(
    request: Request,
    demand_id: int,
    me: Principal,
    step: str,
    act: Callable[[Session, FormData, int | None], None],
    form: FormData,
) -> Response:
    revision = _revision(form)
    problem: tuple[int, list[str]] | None = None
    try:
        with unit_of_work(request) as session:
            act(session, form, revision)
    except InvalidInput as exc:
        problem = (422, [f"{e.where()}: {e.msg}" for e in exc.errors])
    except NotPermitted as exc:
        problem = (403, [str(exc)])
    except Conflict as exc:
        problem = (409, [str(exc)])
    except NotFound:
        return HTMLResponse("not found", status_code=404)
    if problem is None:
        return RedirectResponse(
            f"/demands/{demand_id}/review?done={quote(step)}", status_code=303
        )
    with unit_of_work(request) as session:
        return _render(
            request, session, me, demand_id, problems=problem[1], status_code=problem[0],
            form=form,
        )  # fmt: skip


@pages.post("/demands/{demand_id:int}/review/claim")
async def claim_page(request: Request, demand_id: Id, me: PageWork) -> Response:
    """Claim the demand from the reader's queue."""

    def act(session: Session, _form: FormData, revision: int | None) -> None:
        review.claim(session, demand_id, me=me, revision=revision)

    return await _step(request, demand_id, me, "claim", act)


@pages.post("/demands/{demand_id:int}/review/release")
async def release_page(request: Request, demand_id: Id, me: PageWork) -> Response:
    """Put the demand back in its queue."""

    def act(session: Session, _form: FormData, revision: int | None) -> None:
        review.release(session, demand_id, me=me, revision=revision)

    return await _step(request, demand_id, me, "release", act)


@pages.post("/demands/{demand_id:int}/review/assign")
async def assign_page(request: Request, demand_id: Id, me: PageWork) -> Response:
    """Assign the demand to a colleague."""

    def act(session: Session, form: FormData, revision: int | None) -> None:
        email = _text(form, "assignee").strip()
        assignee = accounts.get_by_email(session, email)
        if assignee is None:
            raise InvalidInput.one(("assignee",), f"there is no account {email!r}")
        review.assign(session, demand_id, assignee.id, me=me, revision=revision)

    return await _step(request, demand_id, me, "assign", act)


@pages.post("/demands/{demand_id:int}/review/send")
async def send_page(request: Request, demand_id: Id, me: PageWork) -> Response:
    """Send the demand on to legal or human-rights review."""

    def act(session: Session, form: FormData, revision: int | None) -> None:
        to = _text(form, "to")
        if to not in (DemandStatus.LEGAL_REVIEW.value, DemandStatus.HUMAN_RIGHTS_REVIEW.value):
            raise InvalidInput.one(("to",), "choose legal review or human-rights review")
        review.send_to_review(
            session,
            demand_id,
            DemandStatus(to),
            me=me,
            reason=_text(form, "reason"),
            revision=revision,
            connectors=runtime_of(request).connectors,
        )

    return await _step(request, demand_id, me, "send", act)


def proposals_from(
    form: FormData, target_ids: list[int]
) -> tuple[list[Proposed], list[FieldError]]:
    """The decisions a review form asks for: one per target whose outcome was chosen.
    Field names carry the target id (``outcome-12``, ``categories-12``, ...)."""
    out: list[Proposed] = []
    errors: list[FieldError] = []
    for tid in target_ids:
        chosen = _text(form, f"outcome-{tid}")
        if not chosen:
            continue
        try:
            outcome = Outcome(chosen)
        except ValueError:
            errors.append(FieldError((f"outcome-{tid}",), f"unknown outcome {chosen!r}"))
            continue
        narrowing: dict[str, Any] | None = None
        if outcome is Outcome.COMPLY_NARROWED:
            narrowing = {}
            categories = [v for v in form.getlist(f"categories-{tid}") if isinstance(v, str)]
            if categories:
                narrowing["data_categories"] = categories
            fields = [f.strip() for f in _text(form, f"fields-{tid}").split(",") if f.strip()]
            if fields:
                narrowing["fields"] = fields
            for bound in ("period_start", "period_end"):
                value = _text(form, f"{bound}-{tid}").strip()
                if value:
                    narrowing[bound] = value
            items = [i.strip() for i in _text(form, f"items-{tid}").splitlines() if i.strip()]
            if items:
                narrowing["items"] = items
        reason = _text(form, f"reason-{tid}") or None
        out.append(
            Proposed(
                target_id=tid,
                outcome=outcome,
                narrowing=narrowing,
                refusal_reason=reason if outcome is Outcome.REFUSE else None,
                note=_text(form, f"note-{tid}"),
            )
        )
    return out, errors


@pages.post("/demands/{demand_id:int}/review/decisions")
async def decisions_page(request: Request, demand_id: Id, me: PageLegal) -> Response:
    """Save decisions on the targets whose outcome was chosen."""

    def act(session: Session, form: FormData, revision: int | None) -> None:
        target_ids = [t.id for t in review.targets_of(session, demand_id)]
        proposals, errors = proposals_from(form, target_ids)
        if errors:
            raise InvalidInput(errors)
        review.decide(session, demand_id, proposals, me=me, revision=revision)

    return await _step(request, demand_id, me, "decisions", act)


@pages.post("/demands/{demand_id:int}/review/submit")
async def submit_page(request: Request, demand_id: Id, me: PageLegal) -> Response:
    """Submit the decisions with the reply as edited."""

    def act(session: Session, form: FormData, revision: int | None) -> None:
        review.submit(session, demand_id, me=me, reply=_text(form, "reply"), revision=revision)

    return await _step(request, demand_id, me, "submit", act)


@pages.post("/demands/{demand_id:int}/review/sign-off")
async def sign_off_page(request: Request, demand_id: Id, me: PageRights) -> Response:
    """Record the human-rights verdict."""

    def act(session: Session, form: FormData, revision: int | None) -> None:
        verdict = _text(form, "verdict")
        if verdict not in {v.value for v in SignOffVerdict}:
            raise InvalidInput.one(("verdict",), "choose no objection or block")
        review.sign_off(session, demand_id, SignOffVerdict(verdict), _text(form, "note"),
                        me=me, revision=revision)  # fmt: skip

    return await _step(request, demand_id, me, "sign-off", act)


@pages.post("/demands/{demand_id:int}/review/approval")
async def approval_page(request: Request, demand_id: Id, me: PageApprove) -> Response:
    """Approve, or return for changes, the submission read, with an authenticator code."""

    def act(session: Session, form: FormData, revision: int | None) -> None:
        review.approve(
            session,
            demand_id,
            me=me,
            digest=_text(form, "digest"),
            code=_text(form, "code"),
            note=_text(form, "note"),
            approved=_text(form, "decision") != "return",
            revision=revision,
        )

    return await _step(request, demand_id, me, "approval", act)
