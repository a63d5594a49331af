"""The review queues: one per role, each the demands waiting in one status, most urgent
first (emergencies, then the earliest due). Reads only.

*(First version: status, assignee and a page of rows; the filters, full-text search and
keyset pagination the issue asks for are not built yet.)*
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.authorities.models import Authority
from dueprocess.demands.models import Demand, DemandKind, DemandStatus, LegalProcess
from dueprocess.review import deadlines

#: queue name -> the status its demands wait in, and the role that works it.
QUEUES: dict[str, tuple[DemandStatus, str]] = {
    "intake": (DemandStatus.RECEIVED, "intake"),
    "legal": (DemandStatus.LEGAL_REVIEW, "legal-reviewer"),
    "human-rights": (DemandStatus.HUMAN_RIGHTS_REVIEW, "human-rights-reviewer"),
    "approval": (DemandStatus.AWAITING_APPROVAL, "approver"),
}

_EMERGENCY = case(
    (
        (Demand.kind == DemandKind.EMERGENCY_DISCLOSURE)
        | (Demand.legal_process == LegalProcess.EMERGENCY),
        0,
    ),
    else_=1,
)


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One demand as a queue shows it."""

    id: int
    reference: str | None
    jurisdiction: str
    authority: str
    kind: DemandKind
    emergency: bool
    received_at: datetime
    due_at: datetime | None
    urgency: str | None
    time_left: str | None
    penalty: str | None
    assignee: str | None
    human_rights_required: bool


def rows(
    session: Session,
    queue: str,
    *,
    now: datetime,
    assignee_id: int | None = None,
    unassigned: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[QueueRow], int]:
    """A page of the queue, most urgent first, and how many demands it holds."""
    status, _role = QUEUES[queue]
    where = [Demand.status == status]
    if assignee_id is not None:
        where.append(Demand.assignee_id == assignee_id)
    if unassigned:
        where.append(Demand.assignee_id.is_(None))
    total = int(session.scalar(select(func.count(Demand.id)).where(*where)) or 0)
    query = (
        select(Demand, Authority.slug, Account.email)
        .join(Authority, Authority.id == Demand.authority_id)
        .outerjoin(Account, Account.id == Demand.assignee_id)
        .where(*where)
        .order_by(_EMERGENCY, Demand.due_at.is_(None), Demand.due_at, Demand.id)
        .limit(limit)
        .offset(offset)
    )
    out = []
    for demand, slug, email in session.execute(query):
        due = demand.due_at
        out.append(
            QueueRow(
                id=demand.id,
                reference=demand.reference,
                jurisdiction=demand.jurisdiction,
                authority=slug,
                kind=demand.kind,
                emergency=deadlines.is_emergency(demand.kind, demand.legal_process),
                received_at=demand.received_at,
                due_at=due,
                urgency=deadlines.urgency(demand.received_at, due, now).value if due else None,
                time_left=deadlines.time_left(due, now) if due else None,
                penalty=deadlines.penalty(
                    demand.penalty,
                    demand.jurisdiction,
                    f"{demand.legal_basis_instrument} {demand.legal_basis_article}",
                ),
                assignee=email,
                human_rights_required=demand.human_rights_required or demand.stance == "escalate",
            )
        )
    return out, total


def counts(session: Session, *, assignee_id: int) -> dict[str, tuple[int, int]]:
    """queue -> (demands waiting in it, of which assigned to ``assignee_id``)."""
    statuses = {status: name for name, (status, _) in QUEUES.items()}
    query = (
        select(
            Demand.status,
            func.count(Demand.id),
            func.count(case((Demand.assignee_id == assignee_id, 1))),
        )
        .where(Demand.status.in_(list(statuses)))
        .group_by(Demand.status)
    )
    found = {statuses[s]: (int(n), int(m)) for s, n, m in session.execute(query)}
    return {name: found.get(name, (0, 0)) for name in QUEUES}
