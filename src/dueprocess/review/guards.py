"""What every review step checks first: the demand's row locked and the form not stale,
the caller's role, and that the demand is the caller's to work on."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts.signin import Principal
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand
from dueprocess.errors import Conflict, NotFound, NotPermitted


def load(session: Session, demand_id: int, *, revision: int | None) -> Demand:
    """The demand, its row locked for the rest of the transaction; :class:`NotFound` if there
    is none, :class:`Conflict` if ``revision`` is given and the demand has moved on since."""
    query = select(Demand).where(Demand.id == demand_id).with_for_update()
    demand = session.scalar(query.execution_options(populate_existing=True))
    if demand is None:
        raise NotFound(f"demand {demand_id}")
    if revision is not None and demand.revision != revision:
        raise Conflict(
            f"demand {demand_id} changed since this page was loaded (it is now {demand.status}, "
            f"revision {demand.revision}; the form was for revision {revision}): reload it and "
            "check before acting"
        )
    return demand


def subject(demand: Demand) -> str:
    """The demand's audit subject."""
    return demands.subject_of(demand)


def require_role(me: Principal, roles: Iterable[str], doing: str) -> None:
    """:class:`NotPermitted`, naming who may, unless the caller holds one of ``roles``."""
    wanted = frozenset(roles)
    if me.roles.isdisjoint(wanted):
        raise NotPermitted(f"{doing} is for {', '.join(sorted(wanted))}")


def require_assigned(demand: Demand, me: Principal, doing: str) -> None:
    """:class:`Conflict` unless the demand is assigned to the caller (work on a demand
    under review is its assignee's: claim it first)."""
    if demand.assignee_id != me.account_id:
        raise Conflict(
            f"{doing}: demand {demand.id} is not assigned to you "
            f"({'nobody' if demand.assignee_id is None else 'someone else'} has it): claim it first"
        )
