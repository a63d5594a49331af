"""Reminders of deadlines, computed now: which open demands have a reminder due at ``now``
(:func:`dueprocess.review.deadlines.reminders_due`: one per lead time before the due time,
and one when it has passed), with what a reminder says and to whom it goes.

**What is not built yet.** Nothing is *sent* from here, and so nothing records a reminder
as sent: each call answers with the reminder due now for every demand (the latest lead time
whose moment has come, or "overdue"). Sending belongs to the durable jobs of the actions
work (issue 21), which will keep the sent keys (:attr:`DueReminder.key`) and pass them as
``sent`` so that each reminder goes out once. Until then ``dueprocess review reminders``
and ``GET /api/v1/review/reminders`` show them, for a person or a scheduler to act on.

Paused demands are included: a stance that pauses a demand does not stop the authority's
clock, and the penalty it threatens runs on (the July 2020 pauses were exactly this).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.authorities.models import Authority
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.review import deadlines

#: The statuses whose demands are still waiting for an answer, and so get reminders.
WAITING = (
    DemandStatus.RECEIVED,
    DemandStatus.PAUSED,
    DemandStatus.LEGAL_REVIEW,
    DemandStatus.HUMAN_RIGHTS_REVIEW,
    DemandStatus.AWAITING_APPROVAL,
)


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder due now for one demand: ``key`` names it among the demand's reminders
    (``lead-<seconds>`` or ``overdue``), ``to`` is the assignee's e-mail, or None when no
    one holds the demand (then the queue's role is reminded). ``message`` is the time left
    now ("1 h 30 min left", "overdue by 2 h 0 min")."""

    demand_id: int
    reference: str | None
    authority: str
    status: DemandStatus
    due_at: datetime
    key: str
    message: str
    penalty: str | None
    to: str | None


def due_now(
    session: Session,
    now: datetime,
    *,
    sent: Mapping[int, frozenset[str]] | None = None,
    limit: int = 1000,
) -> list[DueReminder]:
    """The reminders due at ``now``, earliest due time first, at most ``limit``: one per
    open demand due within the longest lead time (or overdue), except those whose key is
    in ``sent[demand_id]``. One indexed query over the demands' due times."""
    horizon = now + max(deadlines.REMINDER_LEADS)
    rows = session.execute(
        select(
            Demand.id,
            Demand.reference,
            Authority.slug,
            Demand.status,
            Demand.due_at,
            Demand.penalty,
            Demand.jurisdiction,
            Demand.legal_basis_instrument,
            Demand.legal_basis_article,
            Account.email,
        )
        .join(Authority, Authority.id == Demand.authority_id)
        .outerjoin(Account, Account.id == Demand.assignee_id)
        .where(Demand.status.in_(WAITING), Demand.due_at <= horizon)
        .order_by(Demand.due_at, Demand.id)
        # Each demand gives at most one reminder, and only those in ``sent`` may give none.
        .limit(limit + len(sent or {}))
    )
    found: list[DueReminder] = []
    for r in rows:
        for reminder in deadlines.reminders_due(
            r.due_at, now, (sent or {}).get(r.id, frozenset())
        ):
            found.append(
                DueReminder(
                    demand_id=r.id,
                    reference=r.reference,
                    authority=r.slug,
                    status=r.status,
                    due_at=r.due_at,
                    key=reminder.key,
                    # As of now (the reminder's own message is as of its moment).
                    message=deadlines.time_left(r.due_at, now),
                    penalty=deadlines.penalty(
                        r.penalty,
                        r.jurisdiction,
                        f"{r.legal_basis_instrument} {r.legal_basis_article}",
                    ),
                    to=r.email,
                )
            )
    return found[:limit]
