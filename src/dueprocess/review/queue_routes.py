"""HTTP API of the review queues under ``/api/v1/review``: the index of queues with their
counts, a page of one queue (filters, search, urgency order, cursors), and the bulk steps
(assign, send on). Thin: each handler opens one transaction and calls
:mod:`dueprocess.review.queues` (the same query the pages use) or :mod:`dueprocess.review.
bulk`.

A bad filter is 422 naming its parameter (``{"loc": ["query", "kind"], ...}``); a bulk
step some demands cannot take is 409 naming each of them, and changes nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.clock import Instant, utcnow
from dueprocess.demands.models import DemandKind, DemandStatus, LegalProcess
from dueprocess.errors import InvalidInput
from dueprocess.policy.vocabulary import Stance
from dueprocess.review import bulk, queue_filters, queues, reminders
from dueprocess.review.schemas import (
    BulkAssignIn,
    BulkChangedOut,
    BulkOut,
    BulkRefusalOut,
    BulkRefusedOut,
    BulkSendIn,
    CountOut,
    FlagTagOut,
    QueuePageOut,
    QueueRowOut,
    QueuesOut,
    QueueSummaryOut,
    ReminderOut,
    RemindersOut,
)
from dueprocess.web.auth import requires
from dueprocess.web.deps import runtime_of, unit_of_work

api = APIRouter(prefix="/api/v1/review", tags=["review"])

Read = Annotated[Principal, Depends(requires(Permission.REVIEW_READ))]
Work = Annotated[Principal, Depends(requires(Permission.REVIEW_WORK))]


class QueueName(StrEnum):
    """The review queues (:data:`dueprocess.review.queues.QUEUES`)."""

    INTAKE = "intake"
    LEGAL = "legal"
    HUMAN_RIGHTS = "human-rights"
    APPROVAL = "approval"


_BULK_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Your roles do not allow bulk steps"},
    409: {
        "description": "Some demands cannot take the step (each named); none was changed",
        "model": BulkRefusedOut,
    },
}


def _count(pair: tuple[int, queues.TotalIs]) -> CountOut:
    return CountOut(count=pair[0], count_is=pair[1])


@api.get("/queues", response_model=QueuesOut, summary="Every review queue and its counts")
def list_queues(request: Request, me: Read) -> QueuesOut:
    """One line per queue (intake, legal, human-rights, approval): demands waiting, overdue,
    due soon, and assigned to you. Counts are exact up to ``exact_up_to``."""
    with unit_of_work(request) as session:
        found = queues.index(session, me=me.account_id, now=utcnow())
    return QueuesOut(
        queues=[
            QueueSummaryOut(
                queue=q.queue,
                status=q.status.value,
                role=q.role,
                waiting=_count(q.waiting),
                overdue=_count(q.overdue),
                due_soon=_count(q.due_soon),
                mine=_count(q.mine),
            )
            for q in found
        ],
        exact_up_to=queues.EXACT_UP_TO,
    )


_SEARCH = (
    "Search the reference, summary and targets: every word must begin a word there "
    "(Chinese and Japanese: appear anywhere)"
)


@api.get("/queues/{queue}", response_model=QueuePageOut, summary="A page of one review queue")
def read_queue(
    request: Request,
    queue: QueueName,
    me: Read,
    jurisdiction: Annotated[
        str | None, Query(max_length=400, description="ISO code; a country takes its subdivisions")
    ] = None,
    authority: Annotated[str | None, Query(max_length=400, description="slug")] = None,
    kind: DemandKind | None = None,
    legal_process: LegalProcess | None = None,
    stance: Stance | None = None,
    verification: Literal["verified", "unverified", "suspicious"] | None = None,
    flag: Annotated[
        Literal[queue_filters.FLAG_CODES] | None,  # type: ignore[valid-type]
        Query(description="A risk flag's code: demands flagged so"),
    ] = None,
    assignee: Annotated[
        str | None, Query(max_length=400, description="me, nobody, or an account's e-mail")
    ] = None,
    due: Annotated[
        Literal["overdue", "soon"] | None, Query(description="Overdue, or due soon")
    ] = None,
    due_within: Annotated[
        str | None, Query(max_length=400, description="Due from now until then: 90m, 48h, 3d")
    ] = None,
    due_after: Annotated[
        str | None,
        Query(max_length=400, description="Due at or after: a date, or a time with its offset"),
    ] = None,
    due_before: Annotated[str | None, Query(max_length=400, description="Due before")] = None,
    emergency: Annotated[bool | None, Query(description="true: emergencies only")] = None,
    q: Annotated[
        str | None,
        Query(max_length=400, description=_SEARCH),
    ] = None,
    after: Annotated[str | None, Query(max_length=64, description="`next` of a page")] = None,
    before: Annotated[str | None, Query(max_length=64, description="`prev` of a page")] = None,
    limit: Annotated[int, Query(ge=1, le=queues.MAX_LIMIT)] = queues.DEFAULT_LIMIT,
) -> QueuePageOut:
    """Most urgent first: emergencies, then the earliest due (the earlier of the legal
    deadline and the service's target), then id. Every filter narrows; ``q`` searches."""
    raw = {
        "jurisdiction": jurisdiction,
        "authority": authority,
        "kind": kind.value if kind else None,
        "legal_process": legal_process.value if legal_process else None,
        "stance": stance.value if stance else None,
        "verification": verification,
        "flag": flag,
        "assignee": assignee,
        "due": due,
        "due_within": due_within,
        "due_after": due_after,
        "due_before": due_before,
        "emergency": None if emergency is None else str(emergency).lower(),
        "q": q,
    }
    with unit_of_work(request) as session:
        shown, filters = queues.read_page(
            session, queue.value, {k: v for k, v in raw.items() if v is not None},
            me=me.account_id, after=after, before=before, limit=limit,
        )  # fmt: skip
    return page_out(shown, filters)


@api.get(
    "/reminders", response_model=RemindersOut, summary="The deadline reminders due now"
)
def list_reminders(
    request: Request,
    me: Read,
    at: Annotated[
        Instant | None,
        Query(description="Compute them for this moment (ISO 8601 with offset); default now"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> RemindersOut:
    """For every open demand due within three days, or overdue, the one reminder its
    deadline calls for (3 days, 1 day and 4 hours before, then overdue), with the penalty
    threatened and whom it goes to. Paused demands included: their deadline still runs."""
    now = at or utcnow()
    with unit_of_work(request) as session:
        due = reminders.due_now(session, now, limit=limit)
    return RemindersOut(
        at=now,
        reminders=[
            ReminderOut(
                demand=r.demand_id,
                reference=r.reference,
                authority=r.authority,
                status=r.status.value,
                due_at=r.due_at,
                reminder=r.key,
                message=r.message,
                penalty=r.penalty,
                to=r.to,
            )
            for r in due
        ],
    )


def page_out(shown: queues.Page, filters: queue_filters.Filters) -> QueuePageOut:
    """The API's form of a queue page."""
    status, _role = queues.QUEUES[shown.queue]
    return QueuePageOut(
        queue=shown.queue,
        status=status.value,
        filters=filters.given,
        total=shown.total,
        total_is=shown.total_is,
        exact_up_to=queues.EXACT_UP_TO,
        rows=[
            QueueRowOut(
                id=r.id,
                revision=r.revision,
                reference=r.reference,
                jurisdiction=r.jurisdiction,
                authority=r.authority,
                kind=r.kind.value,
                legal_process=r.legal_process.value,
                emergency=r.emergency,
                received_at=r.received_at,
                deadline=r.deadline,
                target_at=r.target_at,
                due_at=r.due_at,
                urgency=r.urgency,
                time_left=r.time_left,
                penalty=r.penalty,
                assignee=r.assignee,
                stance=r.stance,
                verification=r.verification,
                human_rights_required=r.human_rights_required,
                flags=[FlagTagOut(code=c, level=lv) for c, lv in r.flags],
            )
            for r in shown.rows
        ],
        next=shown.next,
        prev=shown.prev,
    )


def _refused(exc: bulk.Refused) -> JSONResponse:
    body = BulkRefusedOut(
        detail=str(exc),
        refused=[BulkRefusalOut(demand_id=i, reason=why) for i, why in exc.refused],
    )
    return JSONResponse(body.model_dump(), status_code=409)


def _done(done: bulk.Done) -> BulkOut:
    return BulkOut(
        changed=[BulkChangedOut(demand_id=i, status=s.value) for i, s in done.changed],
        unchanged=done.unchanged,
    )


@api.post("/bulk/assign", response_model=BulkOut, summary="Assign many demands at once",
          responses=_BULK_REFUSALS)  # fmt: skip
def bulk_assign(request: Request, body: BulkAssignIn, me: Work) -> BulkOut | JSONResponse:
    """Assign every demand listed to one colleague (``assignee``: an e-mail), or release them
    (``assignee: null``); intake for anyone's demands, others for their own. All or nothing:
    each demand that cannot be assigned is named, with why."""
    items = [bulk.Item(d.id, d.revision) for d in body.demands]
    try:
        with unit_of_work(request) as session:
            assignee_id = None
            if body.assignee is not None:
                found = accounts.get_by_email(session, body.assignee)
                if found is None:
                    raise InvalidInput.one(("assignee",), f"there is no account {body.assignee}")
                assignee_id = found.id
            return _done(bulk.assign(session, items, assignee_id, me=me))
    except bulk.Refused as exc:
        return _refused(exc)


@api.post("/bulk/send", response_model=BulkOut, summary="Send many demands on to review",
          responses=_BULK_REFUSALS)  # fmt: skip
def bulk_send(request: Request, body: BulkSendIn, me: Work) -> BulkOut | JSONResponse:
    """Send every demand listed on to legal or human-rights review, as the single step does
    (from intake, risk flags are computed and a demand that requires human-rights review goes
    there first). All or nothing: each demand that cannot go is named, with why."""
    items = [bulk.Item(d.id, d.revision) for d in body.demands]
    try:
        with unit_of_work(request) as session:
            done = bulk.send(
                session,
                items,
                DemandStatus(body.to),
                me=me,
                reason=body.reason,
                connectors=runtime_of(request).connectors,
            )
            return _done(done)
    except bulk.Refused as exc:
        return _refused(exc)
