"""Read models of review: where one demand stands (:func:`state`). Reads only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.review import deadlines, decisions as rules, flags
from dueprocess.review.deciding import (
    current_decisions,
    draft_reply,
    open_submission,
    targets_of,
)
from dueprocess.review.models import HumanRightsSignOff
from dueprocess.review.schemas import (
    DecisionOut,
    ReviewOut,
    SignOffOut,
    SubmissionOut,
    TargetOut,
)


def _email(session: Session, account_id: int | None) -> str | None:
    return accounts.get(session, account_id).email if account_id is not None else None


def state(session: Session, demand: Demand, now: datetime) -> ReviewOut:
    """Everything review shows of one demand at ``now``."""
    targets = targets_of(session, demand.id)
    decided = current_decisions(session, demand.id)
    submission = open_submission(session, demand.id)
    signed = session.scalars(
        select(HumanRightsSignOff)
        .where(HumanRightsSignOff.demand_id == demand.id)
        .order_by(HumanRightsSignOff.id)
    ).all()
    complete = bool(targets) and {d.target_id for d in decided} == {t.id for t in targets}
    open_ = demand.status not in (
        DemandStatus.DECIDED,
        DemandStatus.ACTING,
        DemandStatus.DONE,
        DemandStatus.REFUSED,
        DemandStatus.REDIRECTED,
        DemandStatus.WITHDRAWN,
    )
    due = demand.due_at
    return ReviewOut(
        demand_id=demand.id,
        status=demand.status.value,
        revision=demand.revision,
        assignee=_email(session, demand.assignee_id),
        stance=demand.stance,
        human_rights_required=flags.requires_human_rights_review(session, demand),
        due_at=due,
        urgency=deadlines.urgency(demand.received_at, due, now).value if due and open_ else None,
        time_left=deadlines.time_left(due, now) if due and open_ else None,
        penalty=deadlines.penalty(
            demand.penalty,
            demand.jurisdiction,
            f"{demand.legal_basis_instrument} {demand.legal_basis_article}",
        ),
        targets=[TargetOut(id=t.id, type=t.type.value, identifier=t.identifier) for t in targets],
        decisions=[
            DecisionOut(
                target_id=d.target_id,
                outcome=d.outcome,
                narrowing=d.narrowing,
                refusal_reason=d.refusal_reason,
                note=d.note,
                decided_by=_email(session, d.decided_by) or "",
                decided_at=d.decided_at,
            )
            for d in decided
        ],
        submission=SubmissionOut(
            id=submission.id,
            submitted_by=_email(session, submission.submitted_by) or "",
            submitted_at=submission.submitted_at,
            digest=submission.digest,
            reply=submission.reply,
            decisions=submission.decisions,
        )
        if submission is not None
        else None,
        sign_offs=[
            SignOffOut(
                verdict=s.verdict,
                note=s.note,
                signed_by=_email(session, s.signed_by) or "",
                signed_at=s.signed_at,
            )
            for s in signed
        ],
        reply_draft=draft_reply(session, demand)
        if complete and demand.status is DemandStatus.LEGAL_REVIEW
        else None,
        needs_approval=rules.needs_approval(demand.kind, [d.outcome for d in decided]),
    )
