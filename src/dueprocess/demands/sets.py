"""Changing many demands at once, in sets: one UPDATE for every demand that changes the same
way, as intake writes one INSERT for many. For the moves a policy's activation makes over
every open demand, and staff's bulk steps in the queues.

The rules are :func:`dueprocess.demands.service.move`'s, checked once per set instead of
once per demand: :func:`check_path` refuses a move the state table does not allow (or not
to these roles) with the same reasons; :func:`write` changes the rows, counting each move in
``revision``, and checks every demand was where the caller found it. The audit events are
the caller's to record, one per demand and move (``demand.<status>``, with
:func:`dueprocess.demands.service.moved_data`), in the caller's order: the set is written
together, each demand keeps its own event.

Moves into approval, decision or action are not made in sets: each waits on its own
checks (an emergency disclosure's call-back, an approval's second person).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import Integer, any_, bindparam, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from dueprocess.demands import states
from dueprocess.demands.callbacks import NEEDS_CALLBACK
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import Conflict, NotPermitted

#: SQLite takes at most 32,766 parameters in a statement; ids go in chunks below it.
_SQLITE_CHUNK = 30_000


def check_path(status: DemandStatus, path: Sequence[DemandStatus], by: Iterable[str]) -> None:
    """Refuse, as :func:`~dueprocess.demands.service.move` would, a path of moves from
    ``status`` that the state table does not allow (:class:`Conflict`) or not to ``by``
    (:class:`NotPermitted`); and any move into :data:`~dueprocess.demands.callbacks.
    NEEDS_CALLBACK`, which is made one demand at a time."""
    roles = frozenset(by)
    current = status
    for to in path:
        if not states.can_move(current, to):
            raise Conflict(f"a demand cannot move from {current.value} to {to.value}")
        if not states.may_move(current, to, roles):
            allowed = ", ".join(sorted(states.movers(current, to)))
            raise NotPermitted(
                f"moving from {current.value} to {to.value} is for {allowed}, "
                f"not for {', '.join(sorted(roles)) or 'no role'}"
            )
        if to in NEEDS_CALLBACK:
            raise Conflict(f"moves into {to.value} are made one demand at a time")
        current = to


def chunks(session: Session, ids: Sequence[int]) -> Iterator[Any]:
    """A condition ``demand.id`` is one of ``ids``, in as few statements as the database
    takes: one on PostgreSQL (``= ANY`` of an array, one parameter), chunks on SQLite."""
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        yield Demand.id == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
        return
    for start in range(0, len(ids), _SQLITE_CHUNK):
        yield Demand.id.in_(list(ids[start : start + _SQLITE_CHUNK]))


def lock(session: Session, ids: Sequence[int], *columns: Any) -> dict[int, Any]:
    """The rows of the demands ``ids`` that exist (id -> row of ``Demand.id`` and
    ``columns``), locked for the rest of the transaction in id order (two bulk steps over
    overlapping sets then wait for each other instead of deadlocking)."""
    found: dict[int, Any] = {}
    ordered = sorted(set(ids))
    for where in chunks(session, ordered):
        query = select(Demand.id, *columns).where(where).order_by(Demand.id).with_for_update()
        for row in session.execute(query):
            found[row.id] = row
    return found


def write(
    session: Session,
    ids: Sequence[int],
    values: Mapping[str, Any],
    *,
    moves: int = 0,
    status: DemandStatus | None = None,
) -> None:
    """One UPDATE setting ``values`` on the demands ``ids``, adding ``moves`` to their
    ``revision``; with ``status``, only where the demand still is in it. :class:`Conflict`
    if any demand was not updated (it moved meanwhile): the caller's transaction then rolls
    back and nothing of the set is written. Demands the session holds as objects are expired,
    so that they are read again as written."""
    if not ids:
        return
    changes: dict[str, Any] = dict(values)
    if moves:
        changes["revision"] = Demand.revision + moves
    updated = 0
    for where in chunks(session, ids):
        statement = update(Demand).where(where).values(changes)
        if status is not None:
            statement = statement.where(Demand.status == status)
        result = session.execute(statement.execution_options(synchronize_session=False))
        updated += result.rowcount  # type: ignore[attr-defined]
    wanted = set(ids)
    for loaded in list(session.identity_map.values()):
        # a Demand the session holds is read again when next used: it is stale now
        if isinstance(loaded, Demand) and loaded.id in wanted:
            session.expire(loaded)
    if updated != len(ids):
        raise Conflict(
            f"{len(ids) - updated} of {len(ids)} demands changed while they were being "
            "moved: nothing was changed; reload and try again"
        )
