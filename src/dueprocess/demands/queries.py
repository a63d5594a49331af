"""Read models of demands for other domains (policy what-if, transparency, the portal).

They return plain rows, never ORM objects to change, and stream where the result can be
large. Callers use them through :mod:`dueprocess.demands.service`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select, text as sql_text
from sqlalchemy.orm import Session

from dueprocess.authorities.models import Authority
from dueprocess.demands import states
from dueprocess.demands.models import (
    Demand,
    DemandKind,
    DemandStatus,
    Reply,
    ReplyKind,
    Target,
)


def received_counts(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, DemandKind, int]]:
    """Demands received in ``[start, end)``, counted per jurisdiction and kind.

    Transparency reads demands through this (and functions like it), never the table.
    """
    query = (
        select(Demand.jurisdiction, Demand.kind, func.count(Demand.id))
        .where(Demand.received_at >= start, Demand.received_at < end)
        .group_by(Demand.jurisdiction, Demand.kind)
        .order_by(Demand.jurisdiction, Demand.kind)
    )
    return [(str(j), DemandKind(k), int(n)) for j, k, n in session.execute(query)]


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """Open demands alike in everything a policy looks at, and in their recorded stance.

    ``deadlines_from`` counts those with a deadline at or after the cutoff given to
    :func:`open_groups`, ``deadlines_before`` those with one before it.
    """

    jurisdiction: str
    authority: str
    kind: str
    legal_process: str
    status: str
    stance: str | None
    stance_condition: str | None
    count: int
    deadlines_from: int
    deadlines_before: int


@dataclass(frozen=True, slots=True)
class OpenRow:
    """One open demand as the policy step sees it (``kind`` etc. as plain strings)."""

    id: int
    jurisdiction: str
    authority: str
    kind: str
    legal_process: str
    status: str
    stance: str | None
    stance_condition: str | None
    received_at: datetime
    deadline: datetime | None
    penalty: str | None


def _open() -> Any:
    return Demand.status.in_(sorted(states.OPEN))


#: PostgreSQL's planner overestimates the groups of :func:`open_groups` (it multiplies the
#: columns' distinct counts) and, under the default 4 MB ``work_mem``, sorts a million rows to
#: disk; with room for a hash table it aggregates in one pass, about five times faster.
_GROUPING_WORK_MEM = "256MB"


def open_groups(
    session: Session, *, deadline_cutoff: datetime, jurisdiction: str | None = None
) -> list[OpenGroup]:
    """Open demands counted per (jurisdiction, authority, kind, legal process, status, stance,
    condition), in one grouped query; ``jurisdiction`` narrows to a country (and its
    subdivisions) or one subdivision."""
    later = func.sum(case((Demand.deadline >= deadline_cutoff, 1), else_=0))
    earlier = func.sum(case((Demand.deadline < deadline_cutoff, 1), else_=0))
    keys = (
        Demand.jurisdiction,
        Demand.authority_id,
        Demand.kind,
        Demand.legal_process,
        Demand.status,
        Demand.stance,
        Demand.stance_condition,
    )
    query = select(*keys, func.count(), later, earlier).where(_open()).group_by(*keys)
    if jurisdiction is not None:
        query = query.where(_in_jurisdiction(jurisdiction))
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        previous = session.scalar(
            sql_text("SELECT set_config('work_mem', :value, true)"), {"value": _GROUPING_WORK_MEM}
        )
    rows = session.execute(query).all()
    if postgres:
        session.execute(
            sql_text("SELECT set_config('work_mem', :value, true)"), {"value": previous}
        )
    ids = {row[1] for row in rows}
    slugs: dict[int, str] = {}
    for authority_id, slug in session.execute(
        select(Authority.id, Authority.slug).where(Authority.id.in_(ids))
    ):
        slugs[authority_id] = slug
    out = []
    for j, authority_id, kind, process, status, stance, condition, n, after, before in rows:
        out.append(
            OpenGroup(
                jurisdiction=j,
                authority=slugs[authority_id],
                kind=kind.value,
                legal_process=process.value,
                status=status.value,
                stance=stance,
                stance_condition=condition,
                count=int(n),
                deadlines_from=int(after or 0),
                deadlines_before=int(before or 0),
            )
        )
    return out


def _in_jurisdiction(code: str) -> Any:
    if "-" in code:
        return Demand.jurisdiction == code
    return (Demand.jurisdiction == code) | Demand.jurisdiction.startswith(f"{code}-")


_ROW_COLUMNS = (
    Demand.id,
    Demand.jurisdiction,
    Authority.slug,
    Demand.kind,
    Demand.legal_process,
    Demand.status,
    Demand.stance,
    Demand.stance_condition,
    Demand.received_at,
    Demand.deadline,
    Demand.penalty,
)


def iter_open_rows(
    session: Session,
    *,
    jurisdictions: Collection[str],
    deadline_from: datetime | None = None,
    batch: int = 5000,
) -> Iterator[OpenRow]:
    """Open demands of ``jurisdictions`` (exact codes), streamed in batches: by id, or, with
    ``deadline_from``, only those with a deadline at or after it, soonest first.

    The result is closed when the caller stops iterating, so taking the first few is cheap.
    """
    if not jurisdictions:
        return
    query = (
        select(*_ROW_COLUMNS)
        .join(Authority, Authority.id == Demand.authority_id)
        .where(_open(), Demand.jurisdiction.in_(sorted(jurisdictions)))
    )
    if deadline_from is None:
        query = query.order_by(Demand.id)
    else:
        query = query.where(Demand.deadline >= deadline_from).order_by(Demand.deadline, Demand.id)
    result = session.execute(query.execution_options(yield_per=batch))
    try:
        for row in result:
            yield OpenRow(
                row[0], row[1], row[2], row[3].value, row[4].value, row[5].value, *row[6:]
            )
    finally:
        result.close()


def open_rows_after(session: Session, after: int, limit: int) -> list[OpenRow]:
    """Up to ``limit`` open demands with an id above ``after``, by id: a keyset page, for a
    caller that changes them between pages (a demand it moves out of the open states, or
    within them, is not read again)."""
    query = (
        select(*_ROW_COLUMNS)
        .join(Authority, Authority.id == Demand.authority_id)
        .where(_open(), Demand.id > after)
        .order_by(Demand.id)
        .limit(limit)
    )
    return [
        OpenRow(row[0], row[1], row[2], row[3].value, row[4].value, row[5].value, *row[6:])
        for row in session.execute(query)
    ]


def iter_open_demands(session: Session, *, batch: int = 500) -> Iterator[list[Demand]]:
    """Every open demand, in batches by id (keyset), as objects the caller may change.

    A demand moved out of the open states while its batch is handled is not seen again, and
    the next batch is read after the caller's changes (autoflush).
    """
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(Demand).where(_open(), Demand.id > last).order_by(Demand.id).limit(batch)
            )
        )
        if not rows:
            return
        yield rows
        last = rows[-1].id


def jurisdiction_counts(session: Session) -> dict[str, tuple[int, int]]:
    """jurisdiction -> (demands, of which open), for every jurisdiction with a demand."""
    open_ = func.sum(case((_open(), 1), else_=0))
    query = select(Demand.jurisdiction, func.count(), open_).group_by(Demand.jurisdiction)
    return {str(j): (int(n), int(o or 0)) for j, n, o in session.execute(query)}


# --- the officers' portal: an authority's own list, and withdrawing -------------------------


@dataclass(frozen=True, slots=True)
class AuthorityRow:
    """One line of an authority's own list of demands: where it stands and the latest reply."""

    id: int
    reference: str | None
    kind: DemandKind
    status: DemandStatus
    received_at: datetime
    deadline: datetime | None
    stance: str | None
    stance_condition: str | None
    targets: int
    reply_kind: ReplyKind | None
    reply_text: str | None
    reply_at: datetime | None


def authority_demands(
    session: Session, authority_id: int, *, limit: int = 200, offset: int = 0
) -> list[AuthorityRow]:
    """The authority's demands, newest first, each with its stance and the latest reply queued
    for the requester, in one query (the portal's home page)."""
    target_count = (
        select(func.count(Target.id)).where(Target.demand_id == Demand.id).scalar_subquery()
    )
    latest = (
        select(Reply.demand_id, func.max(Reply.id).label("reply_id"))
        .join(Demand, Demand.id == Reply.demand_id)
        .where(Demand.authority_id == authority_id)
        .group_by(Reply.demand_id)
        .subquery()
    )
    query = (
        select(
            Demand.id,
            Demand.reference,
            Demand.kind,
            Demand.status,
            Demand.received_at,
            Demand.deadline,
            Demand.stance,
            Demand.stance_condition,
            target_count,
            Reply.kind,
            Reply.text,
            Reply.created_at,
        )
        .outerjoin(latest, latest.c.demand_id == Demand.id)
        .outerjoin(Reply, Reply.id == latest.c.reply_id)
        .where(Demand.authority_id == authority_id)
        .order_by(Demand.received_at.desc(), Demand.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        AuthorityRow(
            id=row[0],
            reference=row[1],
            kind=row[2],
            status=row[3],
            received_at=row[4],
            deadline=row[5],
            stance=row[6],
            stance_condition=row[7],
            targets=int(row[8]),
            reply_kind=row[9],
            reply_text=row[10],
            reply_at=row[11],
        )
        for row in session.execute(query)
    ]
