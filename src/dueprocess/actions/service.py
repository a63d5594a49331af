"""The durable jobs: planning an action with its decision, claiming it, recording what
happened, and staff's retry and revoke. Plain functions taking a session; the caller
commits (the worker commits each step on its own, :mod:`dueprocess.actions.worker`).

**The protocol, and what "exactly once" means.** The effect of an action happens in the
service's own systems, outside this database, so no single transaction covers both. It is
made exactly once by three rules together:

1. :func:`plan` writes the action in the caller's transaction, the decision's: it exists
   if and only if the decision does.
2. A worker :func:`claim`\\ s an action before calling the connector, in a committed
   transaction of its own: it sets ``running``, its name and a **lease**. Claiming is a
   compare-and-set on the row (and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers
   never wait on each other): two workers never hold the same action at once.
3. Every connector call carries the action's ``key``; the connector applies a key once
   (``dueprocess_was_applied`` answers whether it has). A worker that dies after the call
   and before :func:`succeed` leaves the action ``running`` until its lease lapses; the next
   worker to claim it sees ``attempts`` > 1 and asks the connector whether the key was
   applied before calling again (:func:`dueprocess.actions.worker.run_one`).

:func:`succeed` and :func:`fail` are compare-and-sets on the worker's own claim: a worker
whose lease lapsed and whose action was taken by another cannot record over it (it gets
False and records nothing). Nothing is marked done that the connector did not confirm.

Every step writes one audit event: ``action.planned``, ``action.claimed`` (data: worker,
attempt), ``action.done``, ``action.attempt-failed`` or ``action.failed`` (the last
attempt), ``action.retried`` and ``action.revoked`` (by staff, with the reason).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from dueprocess.actions.models import Action, ActionKind, ActionStatus
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands, states
from dueprocess.demands.models import DemandStatus
from dueprocess.errors import Conflict, NotFound

#: How long a claim holds an action before another worker may take it again. Longer than
#: any connector call should take (a call that outlives it may be repeated, which the
#: idempotency key makes harmless).
LEASE = timedelta(minutes=5)

#: Back-off after a failed attempt: 5 s, doubling, at most an hour.
FIRST_RETRY = timedelta(seconds=5)
LONGEST_WAIT = timedelta(hours=1)


def backoff(attempt: int) -> timedelta:
    """How long to wait after failed attempt number ``attempt`` (1 for the first)."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    wait = FIRST_RETRY * (1 << min(attempt - 1, 20))
    return min(wait, LONGEST_WAIT)


def subject(action_id: int) -> str:
    """The audit subject of an action."""
    return f"action:{action_id}"


def plan(
    session: Session,
    *,
    kind: ActionKind,
    demand_id: int,
    target_id: int | None,
    key: str,
    payload: Mapping[str, Any],
    actor: str,
    not_before: datetime | None = None,
) -> Action:
    """Write an action in the caller's transaction (the decision's), pending from
    ``not_before`` (now by default). ``key`` is its idempotency key: unique, and stable for
    what causes it (the same decision planned twice is refused by the unique index)."""
    action = Action(
        demand_id=demand_id,
        target_id=target_id,
        kind=kind,
        status=ActionStatus.PENDING,
        key=key,
        payload=dict(payload),
        attempts=0,
        max_attempts=8,
        not_before=not_before or utcnow(),
    )
    session.add(action)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="action.planned",
        subject=subject(action.id),
        data={"demand": demand_id, "target": target_id, "kind": kind.value, "key": key},
    )
    return action


@dataclass(frozen=True, slots=True)
class Claimed:
    """An action as a worker holds it: what the handler needs, detached from the session
    (the worker calls the connector outside any transaction)."""

    id: int
    demand_id: int
    target_id: int | None
    kind: ActionKind
    key: str
    payload: dict[str, Any]
    attempt: int


def claim(
    session: Session, worker: str, *, limit: int = 10, now: datetime | None = None
) -> list[Claimed]:
    """Take up to ``limit`` actions that are due (pending from ``not_before``, or running
    with a lapsed lease), oldest due first, for ``worker``: each becomes ``running`` with a
    lease of :data:`LEASE` and one more attempt. The caller commits at once, before calling
    any connector. Actions another worker claims meanwhile are skipped, never waited on."""
    now = now or utcnow()
    due = or_(
        and_(Action.status == ActionStatus.PENDING, Action.not_before <= now),
        and_(Action.status == ActionStatus.RUNNING, Action.lease_until < now),
    )
    query = (
        select(Action.id, Action.status, Action.attempts, Action.worker)
        .where(due)
        .order_by(Action.not_before, Action.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    found = session.execute(query).all()
    taken: list[Claimed] = []
    for row in found:
        # Compare-and-set: only if the row is still as read (SQLite has no SKIP LOCKED;
        # a second worker there finds the row changed and passes it over).
        changed = session.execute(
            update(Action)
            .where(
                Action.id == row.id,
                Action.status == row.status,
                Action.attempts == row.attempts,
            )
            .values(
                status=ActionStatus.RUNNING,
                worker=worker,
                lease_until=now + LEASE,
                attempts=row.attempts + 1,
            )
            .returning(
                Action.id,
                Action.demand_id,
                Action.target_id,
                Action.kind,
                Action.key,
                Action.payload,
                Action.attempts,
            )
        ).one_or_none()
        if changed is None:
            continue
        audit.record(
            session,
            actor=f"worker:{worker}",
            action="action.claimed",
            subject=subject(row.id),
            data={
                "attempt": changed.attempts,
                "after_lapsed_lease": row.status is ActionStatus.RUNNING,
                "previous_worker": row.worker,
            },
            at=now,
        )
        taken.append(
            Claimed(
                id=changed.id,
                demand_id=changed.demand_id,
                target_id=changed.target_id,
                kind=ActionKind(changed.kind),
                key=changed.key,
                payload=dict(changed.payload),
                attempt=changed.attempts,
            )
        )
    return taken


def _held(worker: str, action_id: int) -> Any:
    return and_(
        Action.id == action_id,
        Action.status == ActionStatus.RUNNING,
        Action.worker == worker,
    )


def succeed(
    session: Session,
    action_id: int,
    worker: str,
    result: Mapping[str, Any],
    *,
    now: datetime | None = None,
) -> bool:
    """Record that the connector confirmed the action; False (nothing written) if
    ``worker`` no longer holds it (its lease lapsed and another took it)."""
    now = now or utcnow()
    done = session.execute(
        update(Action)
        .where(_held(worker, action_id))
        .values(
            status=ActionStatus.DONE,
            result=dict(result),
            finished_at=now,
            lease_until=None,
            last_error=None,
        )
    )
    if not done.rowcount:  # type: ignore[attr-defined]
        return False
    audit.record(
        session,
        actor=f"worker:{worker}",
        action="action.done",
        subject=subject(action_id),
        data={"result": dict(result)},
        at=now,
    )
    return True


def fail(
    session: Session,
    action_id: int,
    worker: str,
    error: str,
    *,
    now: datetime | None = None,
) -> ActionStatus | None:
    """Record a failed attempt: the action waits :func:`backoff` and is tried again, or,
    after its last attempt, is ``failed`` for staff to retry or revoke. Returns the new
    status, or None (nothing written) if ``worker`` no longer holds it."""
    now = now or utcnow()
    action = session.execute(
        select(Action).where(_held(worker, action_id)).with_for_update()
    ).scalar_one_or_none()
    if action is None:
        return None
    final = action.attempts >= action.max_attempts
    action.status = ActionStatus.FAILED if final else ActionStatus.PENDING
    action.last_error = error[:4000]
    action.lease_until = None
    if final:
        action.finished_at = now
    else:
        action.not_before = now + backoff(action.attempts)
    audit.record(
        session,
        actor=f"worker:{worker}",
        action="action.failed" if final else "action.attempt-failed",
        subject=subject(action_id),
        data={
            "attempt": action.attempts,
            "error": action.last_error,
            "next_attempt": None if final else action.not_before,
        },
        at=now,
    )
    return action.status


def get(session: Session, action_id: int) -> Action:
    """The action, or :class:`NotFound`."""
    action = session.get(Action, action_id)
    if action is None:
        raise NotFound(f"no action {action_id}")
    return action


def of_demand(session: Session, demand_id: int) -> Sequence[Action]:
    """A demand's actions, in the order they were planned."""
    return session.scalars(
        select(Action).where(Action.demand_id == demand_id).order_by(Action.id)
    ).all()


def retry(session: Session, action_id: int, *, actor: str) -> Action:
    """Staff: try a ``failed`` action again now, with a fresh allowance of attempts (its
    key is unchanged, so an effect the connector did apply is not applied twice)."""
    action = _locked(session, action_id)
    if action.status is not ActionStatus.FAILED:
        raise Conflict(f"action {action_id} is {action.status.value}: only a failed one is retried")
    action.status = ActionStatus.PENDING
    action.not_before = utcnow()
    action.max_attempts = action.attempts + 8
    action.finished_at = None
    audit.record(
        session,
        actor=actor,
        action="action.retried",
        subject=subject(action_id),
        data={"after_attempts": action.attempts, "last_error": action.last_error},
    )
    return action


def revoke(session: Session, action_id: int, *, actor: str, reason: str) -> Action:
    """Staff: cancel an action that has not been done (pending or failed), with a reason.
    A running one cannot be revoked: its connector call may be under way."""
    if not reason.strip():
        raise Conflict("say why the action is revoked")
    action = _locked(session, action_id)
    if action.status not in (ActionStatus.PENDING, ActionStatus.FAILED):
        raise Conflict(
            f"action {action_id} is {action.status.value}: only a pending or failed one "
            "can be revoked"
        )
    action.status = ActionStatus.REVOKED
    action.finished_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="action.revoked",
        subject=subject(action_id),
        data={"reason": reason.strip()},
    )
    return action


def _locked(session: Session, action_id: int) -> Action:
    action = session.execute(
        select(Action).where(Action.id == action_id).with_for_update()
    ).scalar_one_or_none()
    if action is None:
        raise NotFound(f"no action {action_id}")
    return action


def settle(session: Session, demand_id: int) -> None:
    """Move a demand that is ``acting`` to ``done`` once every action of it is done or
    revoked (none pending, running or failed); otherwise leave it."""
    demand = demands.get(session, demand_id)
    if demand.status is not DemandStatus.ACTING:
        return
    open_ = session.scalar(
        select(Action.id)
        .where(
            Action.demand_id == demand_id,
            Action.status.in_(
                [ActionStatus.PENDING, ActionStatus.RUNNING, ActionStatus.FAILED]
            ),
        )
        .limit(1)
    )
    if open_ is None:
        demands.move(
            session,
            demand,
            DemandStatus.DONE,
            actor="system:worker",
            by=[states.SYSTEM],
            reason="every action done",
        )
