"""HTTP API for review under ``/api/v1/demands/{id}/review``. Thin: each handler opens one
transaction, calls :mod:`dueprocess.review.service`, and answers with the demand's review
state (:class:`~dueprocess.review.schemas.ReviewOut`).

Every change carries the ``revision`` last read: a stale one is 409 and changes nothing. A
step the caller's roles do not allow is 403 naming who may; bad input is 422 naming each
field; a step the demand's state does not allow (not assigned to you, already decided) 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.clock import utcnow
from dueprocess.demands.models import DemandStatus
from dueprocess.errors import InvalidInput
from dueprocess.review import queries, service as review
from dueprocess.review.decisions import Proposed
from dueprocess.review.schemas import (
    ApprovalIn,
    AssignIn,
    DecideIn,
    ReviewOut,
    RevisionIn,
    SendIn,
    SignOffIn,
    SubmitIn,
)
from dueprocess.web.auth import requires
from dueprocess.web.deps import runtime_of, unit_of_work

api = APIRouter(prefix="/api/v1/demands/{demand_id}/review", tags=["review"])

DemandId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The demand's id")]

Read = Annotated[Principal, Depends(requires(Permission.REVIEW_READ))]
Work = Annotated[Principal, Depends(requires(Permission.REVIEW_WORK))]
Legal = Annotated[Principal, Depends(requires(Permission.REVIEW_LEGAL))]
Rights = Annotated[Principal, Depends(requires(Permission.REVIEW_HUMAN_RIGHTS))]
Approve = Annotated[Principal, Depends(requires(Permission.DECISIONS_APPROVE))]

_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {"description": "Your roles do not allow this step (the answer says who may)"},
    404: {"description": "No such demand"},
    409: {"description": "Stale revision, or the demand's state does not allow this step"},
    422: {"description": "Bad input: every bad field is named; nothing was written"},
}


def _state(session: Session, demand_id: int) -> ReviewOut:
    return queries.state(session, review.load(session, demand_id, revision=None), utcnow())


@api.get("", response_model=ReviewOut, summary="Where a demand stands in review",
         responses=_REFUSALS)  # fmt: skip
def get_review(request: Request, demand_id: DemandId, me: Read) -> ReviewOut:
    """Status, revision, assignee, deadline and penalty, targets, the decisions in force, the
    submission awaiting approval (with the digest an approval must name), human-rights
    verdicts, and the reply the decisions would send."""
    with unit_of_work(request) as session:
        return _state(session, demand_id)


@api.post("/claim", response_model=ReviewOut, summary="Claim a demand from your queue",
          responses=_REFUSALS)  # fmt: skip
def claim(request: Request, demand_id: DemandId, body: RevisionIn, me: Work) -> ReviewOut:
    """Take the demand to work on; someone else's is 409 (ask intake to reassign it)."""
    with unit_of_work(request) as session:
        review.claim(session, demand_id, me=me, revision=body.revision)
        return _state(session, demand_id)


@api.post("/release", response_model=ReviewOut, summary="Put a demand back in its queue",
          responses=_REFUSALS)  # fmt: skip
def release(request: Request, demand_id: DemandId, body: RevisionIn, me: Work) -> ReviewOut:
    """By its assignee, or by intake for anyone's."""
    with unit_of_work(request) as session:
        review.release(session, demand_id, me=me, revision=body.revision)
        return _state(session, demand_id)


@api.post("/assign", response_model=ReviewOut, summary="Assign a demand to a colleague",
          responses=_REFUSALS)  # fmt: skip
def assign(request: Request, demand_id: DemandId, body: AssignIn, me: Work) -> ReviewOut:
    """Intake assigns any demand; an assignee may hand theirs on."""
    with unit_of_work(request) as session:
        assignee = accounts.get_by_email(session, body.assignee)
        if assignee is None:
            raise InvalidInput.one(("assignee",), f"there is no account {body.assignee}")
        review.assign(session, demand_id, assignee.id, me=me, revision=body.revision)
        return _state(session, demand_id)


@api.post("/send", response_model=ReviewOut, summary="Send a demand on to review",
          responses=_REFUSALS)  # fmt: skip
def send(request: Request, demand_id: DemandId, body: SendIn, me: Work) -> ReviewOut:
    """From intake to legal or human-rights review; from legal review to human-rights review
    (which then becomes required)."""
    with unit_of_work(request) as session:
        review.send_to_review(
            session,
            demand_id,
            DemandStatus(body.to),
            me=me,
            reason=body.reason,
            revision=body.revision,
            connectors=runtime_of(request).connectors,
        )
        return _state(session, demand_id)


@api.put("/decisions", response_model=ReviewOut, summary="Decide targets",
         responses=_REFUSALS)  # fmt: skip
def decide(request: Request, demand_id: DemandId, body: DecideIn, me: Legal) -> ReviewOut:
    """Decide some or all targets (a target decided again supersedes its decision). Each
    problem is named ``decisions[N].field``; nothing is written if there is any."""
    proposals = [
        Proposed(
            target_id=d.target_id,
            outcome=d.outcome,
            narrowing=d.narrowing,
            refusal_reason=d.refusal_reason,
            note=d.note,
        )
        for d in body.decisions
    ]
    with unit_of_work(request) as session:
        review.decide(session, demand_id, proposals, me=me, revision=body.revision)
        return _state(session, demand_id)


@api.post("/submit", response_model=ReviewOut, summary="Submit decisions and reply",
          responses=_REFUSALS)  # fmt: skip
def submit(request: Request, demand_id: DemandId, body: SubmitIn, me: Legal) -> ReviewOut:
    """To approval when they disclose or restrict; otherwise they stand at once and the
    reply goes to the requester."""
    with unit_of_work(request) as session:
        review.submit(session, demand_id, me=me, reply=body.reply, revision=body.revision)
        return _state(session, demand_id)


@api.post("/sign-off", response_model=ReviewOut, summary="Human-rights verdict",
          responses=_REFUSALS)  # fmt: skip
def sign_off(request: Request, demand_id: DemandId, body: SignOffIn, me: Rights) -> ReviewOut:
    """No objection, or block (then only refusals may go forward); back to legal review."""
    with unit_of_work(request) as session:
        review.sign_off(session, demand_id, body.verdict, body.note, me=me,
                        revision=body.revision)  # fmt: skip
        return _state(session, demand_id)


@api.post("/approval", response_model=ReviewOut, summary="Approve or return decisions",
          responses=_REFUSALS)  # fmt: skip
def approval(request: Request, demand_id: DemandId, body: ApprovalIn, me: Approve) -> ReviewOut:
    """Approve exactly the submission whose ``digest`` you read, with your authenticator
    code; you must have made none of its decisions. ``approved: false`` returns it to legal
    review with your ``note``."""
    with unit_of_work(request) as session:
        review.approve(
            session,
            demand_id,
            me=me,
            digest=body.digest,
            code=body.code,
            note=body.note,
            approved=body.approved,
            revision=body.revision,
        )
        return _state(session, demand_id)
