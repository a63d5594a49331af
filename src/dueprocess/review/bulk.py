"""Steps on many demands at once from a queue: assigning them to one reviewer (or to nobody),
and sending them on to legal or human-rights review (after a policy change lifts a pause,
say). The same rules as the single steps (:mod:`dueprocess.review.assignment`), checked
for every demand before anything is written:

- if any demand cannot take the step (no such demand, a stale revision, a status the state
  table does not allow it from, not the caller's to move), :class:`Refused` names each one
  and **nothing** is written;
- otherwise each set of demands that change alike is written with one UPDATE
  (:mod:`dueprocess.demands.sets`), and every demand gets its own audit event, the one the
  single step would have written, recorded in id order and appended together at commit
  (:func:`dueprocess.audit.service.append_pending`).

Demands already as asked (assigned to that reviewer already) are left alone and reported as
unchanged. A bulk step takes at most :data:`MAX_ITEMS` demands.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pluggy
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands, sets
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import Conflict, InvalidInput, NotPermitted
from dueprocess.review import flags
from dueprocess.review.assignment import WORKERS
from dueprocess.review.models import FlagLevel

S = DemandStatus
MAX_ITEMS = 1000


@dataclass(frozen=True, slots=True)
class Item:
    """One demand of a bulk step, with the revision the caller loaded it at."""

    demand_id: int
    revision: int


class Refused(Conflict):
    """Some demands of a bulk step cannot take it; nothing was changed. ``refused``: each
    demand's id and the reason, in the order asked."""

    def __init__(self, refused: list[tuple[int, str]], asked: int) -> None:
        self.refused = refused
        listed = "; ".join(f"demand {i}: {why}" for i, why in refused)
        super().__init__(
            f"{len(refused)} of {asked} demands cannot take this step, so none was changed: "
            f"{listed}"
        )


@dataclass(frozen=True, slots=True)
class Done:
    """What a bulk step did: the demands it changed (with the status each is in now), and
    those it left alone because they were as asked already."""

    changed: list[tuple[int, DemandStatus]]
    unchanged: list[int]


_COLUMNS = (Demand.status, Demand.revision, Demand.assignee_id)


def _checked(session: Session, items: list[Item]) -> tuple[dict[int, Any], list[tuple[int, str]]]:
    """The demands' rows, locked, and the refusals every step shares: unknown, repeated,
    stale."""
    if not items:
        raise InvalidInput.one(("demands",), "choose at least one demand")
    if len(items) > MAX_ITEMS:
        raise InvalidInput.one(("demands",), f"at most {MAX_ITEMS} demands at once")
    rows = sets.lock(session, [i.demand_id for i in items], *_COLUMNS)
    refused: list[tuple[int, str]] = []
    seen: set[int] = set()
    for item in items:
        row = rows.get(item.demand_id)
        if item.demand_id in seen:
            refused.append((item.demand_id, "it is listed twice"))
        elif row is None:
            refused.append((item.demand_id, "there is no such demand"))
        elif row.revision != item.revision:
            refused.append(
                (
                    item.demand_id,
                    f"it changed since it was loaded (it is now {row.status.value}, revision "
                    f"{row.revision}; the page was for revision {item.revision})",
                )
            )
        seen.add(item.demand_id)
    return rows, refused


def assign(session: Session, items: list[Item], assignee_id: int | None, *, me: Principal) -> Done:
    """Assign the demands to ``assignee_id``, or release them (None): as
    :func:`~dueprocess.review.assignment.assign` and :func:`~dueprocess.review.assignment.
    release` do one by one. Intake assigns and releases anyone's; others only their own."""
    rows, refused = _checked(session, items)
    who = accounts.get(session, assignee_id) if assignee_id is not None else None
    roles = {r.value for r in accounts.roles_of(who)} if who is not None else set()
    intake = "intake" in me.roles
    changed: list[int] = []
    unchanged: list[int] = []
    bad = {i for i, _ in refused}
    for item in items:
        if item.demand_id in bad:
            continue
        row = rows[item.demand_id]
        if row.assignee_id == assignee_id:
            unchanged.append(item.demand_id)
            continue
        if row.assignee_id != me.account_id and not intake:
            doing = "assigning" if who is not None else "releasing"
            refused.append((item.demand_id, f"{doing} a demand that is not yours is for intake"))
            continue
        if who is not None:
            workers = WORKERS.get(row.status)
            if workers is None:
                refused.append((item.demand_id, f"it is {row.status.value}: nothing to assign"))
                continue
            if who.disabled or roles.isdisjoint(workers):
                refused.append(
                    (
                        item.demand_id,
                        f"{who.email} cannot work on a demand in {row.status.value} "
                        f"(that needs {', '.join(sorted(workers))})",
                    )
                )
                continue
        changed.append(item.demand_id)
    if refused:
        raise Refused(_in_order(items, refused), len(items))
    now = utcnow()
    sets.write(session, changed, {"assignee_id": assignee_id, "assigned_at": now if who else None})
    action = "review.released" if who is None else "review.assigned"
    for demand_id in sorted(changed):
        row = rows[demand_id]
        audit.record(
            session,
            actor=me.actor,
            action=action,
            subject=f"demand:{demand_id}",
            data={"from": row.assignee_id, "to": assignee_id, "status": row.status.value},
            at=now,
        )
    return Done([(i, rows[i].status) for i in changed], unchanged)


def send(
    session: Session,
    items: list[Item],
    to: DemandStatus,
    *,
    me: Principal,
    reason: str,
    connectors: pluggy.PluginManager | None,
) -> Done:
    """Send the demands on to legal or human-rights review, as
    :func:`~dueprocess.review.assignment.send_to_review` does one by one: from ``received``
    (intake) their risk flags are computed first, and a demand that requires human-rights
    review goes there instead of legal review, the move saying why; from legal review a
    demand must be assigned to the caller. Each leaves its sender's hands."""
    if to not in (S.LEGAL_REVIEW, S.HUMAN_RIGHTS_REVIEW):
        raise InvalidInput.one(("to",), "send demands to legal-review or human-rights-review")
    reason = reason.strip()
    if not reason:
        raise InvalidInput.one(("reason",), "say why (it is recorded)")
    rows, refused = _checked(session, items)
    bad = {i for i, _ in refused}
    for item in items:
        if item.demand_id in bad:
            continue
        row = rows[item.demand_id]
        try:
            sets.check_path(row.status, [to], me.roles)
        except (Conflict, NotPermitted) as exc:
            refused.append((item.demand_id, f"it is {row.status.value}: {exc}"))
            continue
        if row.status is not S.RECEIVED and row.assignee_id != me.account_id:
            refused.append(
                (item.demand_id, "it is not assigned to you: claim it before sending it on")
            )
    if refused:
        raise Refused(_in_order(items, refused), len(items))
    ids = sorted(i.demand_id for i in items)
    if connectors is not None:
        for demand_id in ids:
            if rows[demand_id].status is S.RECEIVED:
                flags.compute(session, connectors, demand_id, actor=me.actor)
    groups: dict[tuple[DemandStatus, DemandStatus, bool], list[int]] = defaultdict(list)
    events: list[tuple[int, DemandStatus, dict[str, Any]]] = []
    for demand_id in ids:
        demand = session.get(Demand, demand_id, populate_existing=True)
        assert demand is not None  # locked above
        target: DemandStatus = to
        data: dict[str, Any] = {"assignee": demand.assignee_id}
        mark = to is S.HUMAN_RIGHTS_REVIEW and not demand.human_rights_required
        if mark:
            data["human_rights_required"] = True
        if to is S.LEGAL_REVIEW and flags.requires_human_rights_review(session, demand):
            target = S.HUMAN_RIGHTS_REVIEW
            data["routed"] = "human-rights review is required first"
            data["high_flags"] = [
                f.code for f in flags.stored(session, demand_id) if f.level is FlagLevel.HIGH
            ]
            data["stance"] = demand.stance
            sets.check_path(demand.status, [target], me.roles)  # intake may; legal may not
        groups[(demand.status, target, mark)].append(demand_id)
        events.append((demand_id, target, demands.moved_data(demand.status, reason, data)))
    for (status, moved_to, mark), members in groups.items():
        values: dict[str, Any] = {"status": moved_to, "assignee_id": None, "assigned_at": None}
        if mark:
            values["human_rights_required"] = True
        sets.write(session, members, values, moves=1, status=status)
    now = utcnow()
    for demand_id, moved_to, moved in events:
        audit.record(session, actor=me.actor, action=f"demand.{moved_to.value}",
                     subject=f"demand:{demand_id}", data=moved, at=now)  # fmt: skip
    return Done([(i, t) for i, t, _ in events], [])


def _in_order(items: list[Item], refused: list[tuple[int, str]]) -> list[tuple[int, str]]:
    position = {item.demand_id: n for n, item in reversed(list(enumerate(items)))}
    return sorted(refused, key=lambda r: position.get(r[0], 0))
