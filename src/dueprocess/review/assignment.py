"""Who works on a demand: claiming it from a queue, releasing it, assigning it, and sending
it on to legal or human-rights review. Each step locks the demand, checks the caller, and
writes one audit event (see :mod:`dueprocess.review.service`)."""

from __future__ import annotations

from typing import Any

import pluggy
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import Conflict, InvalidInput
from dueprocess.review import flags
from dueprocess.review.guards import load, require_assigned, require_role, subject
from dueprocess.review.models import FlagLevel

S = DemandStatus


#: Who works on a demand in each status (and so may claim it there).
WORKERS: dict[DemandStatus, frozenset[str]] = {
    S.RECEIVED: frozenset({"intake"}),
    S.LEGAL_REVIEW: frozenset({"legal-reviewer"}),
    S.HUMAN_RIGHTS_REVIEW: frozenset({"human-rights-reviewer"}),
    S.AWAITING_APPROVAL: frozenset({"approver"}),
}


def _assign(session: Session, demand: Demand, account_id: int | None, *, me: Principal) -> None:
    previous = demand.assignee_id
    demand.assignee_id = account_id
    demand.assigned_at = utcnow() if account_id is not None else None
    action = "review.released" if account_id is None else "review.assigned"
    audit.record(
        session,
        actor=me.actor,
        action=action,
        subject=subject(demand),
        data={"from": previous, "to": account_id, "status": demand.status.value},
    )


def claim(session: Session, demand_id: int, *, me: Principal, revision: int | None) -> Demand:
    """Take the demand to work on: it must be waiting in a queue the caller works
    (:data:`WORKERS`) and not assigned to someone else (ask for it to be reassigned)."""
    demand = load(session, demand_id, revision=revision)
    workers = WORKERS.get(demand.status)
    if workers is None:
        raise Conflict(f"demand {demand_id} is {demand.status}: there is nothing to claim")
    require_role(me, workers, f"claiming a demand in {demand.status}")
    if demand.assignee_id == me.account_id:
        return demand
    if demand.assignee_id is not None:
        holder = accounts.get(session, demand.assignee_id).email
        raise Conflict(
            f"demand {demand_id} is assigned to {holder}: ask them or intake to reassign it"
        )
    _assign(session, demand, me.account_id, me=me)
    return demand


def release(session: Session, demand_id: int, *, me: Principal, revision: int | None) -> Demand:
    """Put the demand back in its queue: by its assignee, or by intake for anyone's."""
    demand = load(session, demand_id, revision=revision)
    if demand.assignee_id is None:
        return demand
    if demand.assignee_id != me.account_id:
        require_role(me, {"intake"}, "releasing a demand assigned to someone else")
    _assign(session, demand, None, me=me)
    return demand


def assign(
    session: Session, demand_id: int, assignee_id: int, *, me: Principal, revision: int | None
) -> Demand:
    """Assign (or reassign) the demand to ``assignee_id``: intake's job (and the assignee's
    own, handing it to a colleague). The assignee must hold a role that works on demands in
    its current status."""
    demand = load(session, demand_id, revision=revision)
    workers = WORKERS.get(demand.status)
    if workers is None:
        raise Conflict(f"demand {demand_id} is {demand.status}: there is nothing to assign")
    if demand.assignee_id != me.account_id:
        require_role(me, {"intake"}, "assigning a demand")
    assignee = accounts.get(session, assignee_id)
    roles = {r.value for r in accounts.roles_of(assignee)}
    if assignee.disabled or roles.isdisjoint(workers):
        raise InvalidInput.one(
            ("assignee",),
            f"{assignee.email} cannot work on a demand in {demand.status} "
            f"(that needs {', '.join(sorted(workers))})",
        )
    if demand.assignee_id != assignee_id:
        _assign(session, demand, assignee_id, me=me)
    return demand


def send_to_review(
    session: Session,
    demand_id: int,
    to: DemandStatus,
    *,
    me: Principal,
    reason: str,
    revision: int | None,
    connectors: pluggy.PluginManager | None = None,
) -> Demand:
    """Send the demand on to legal or human-rights review (intake, from ``received``; a
    legal reviewer escalating to human-rights review, which then becomes required). It
    leaves the sender's hands: the next queue claims it.

    Entering review from ``received``, the demand's risk flags are computed (through
    ``connectors``: :func:`dueprocess.review.flags.compute`); when a high flag or an
    ``escalate`` stance makes human-rights review required, a demand sent to legal review
    goes to human-rights review instead, and the move says why."""
    if to not in (S.LEGAL_REVIEW, S.HUMAN_RIGHTS_REVIEW):
        raise InvalidInput.one(("to",), "send a demand to legal-review or human-rights-review")
    reason = reason.strip()
    if not reason:
        raise InvalidInput.one(("reason",), "say why (it is recorded)")
    demand = load(session, demand_id, revision=revision)
    if demand.status is S.HUMAN_RIGHTS_REVIEW:
        raise Conflict(
            f"demand {demand_id} is in human-rights review: it goes back to legal review with "
            "the human-rights verdict (sign it off or block it), not by sending it"
        )
    if demand.status is S.LEGAL_REVIEW and to is S.LEGAL_REVIEW:
        raise Conflict(f"demand {demand_id} is in legal review already")
    if demand.status not in (S.RECEIVED, S.LEGAL_REVIEW):
        raise Conflict(
            f"demand {demand_id} is {demand.status}: only a demand received or in "
            "legal review is sent on"
        )
    if demand.status is not S.RECEIVED:
        require_assigned(demand, me, f"sending it to {to}")
    elif connectors is not None:
        flags.compute(session, connectors, demand_id, actor=me.actor)
        demand = load(session, demand_id, revision=None)
    data: dict[str, Any] = {"assignee": demand.assignee_id}
    if to is S.HUMAN_RIGHTS_REVIEW and not demand.human_rights_required:
        demand.human_rights_required = True
        data["human_rights_required"] = True
    if to is S.LEGAL_REVIEW and flags.requires_human_rights_review(session, demand):
        to = S.HUMAN_RIGHTS_REVIEW
        data["routed"] = "human-rights review is required first"
        data["high_flags"] = [
            f.code for f in flags.stored(session, demand.id) if f.level is FlagLevel.HIGH
        ]
        data["stance"] = demand.stance
    demands.move(session, demand, to, actor=me.actor, by=me.roles, reason=reason, data=data)
    demand.assignee_id = None
    demand.assigned_at = None
    return demand
