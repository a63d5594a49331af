"""The review queues: one per role, each the demands waiting in one status, most urgent
first. One query function (:func:`page`) serves the pages (``/review/{queue}``) and the API
(``GET /api/v1/review/queues/{queue}``); :func:`index` counts every queue. Reads only.

**Order.** Emergencies first (:attr:`Demand.emergency`), then the earliest due
(``due_at``), then the id. A queue is two runs of the index ``ix_demand_queue (status,
emergency, due_at, id)``: its emergencies, then the rest. A page reads on from its
**cursor** (the last row's ``(emergency, due_at, id)``) with a row comparison, never an
``OFFSET``, so the thousandth page costs what the first does, and a demand that arrives or
leaves meanwhile neither repeats a row nor skips one (a new demand shows up on a later page
if it sorts after the cursor, and not at all if before).

**Counts.** A page's total is counted exactly up to :data:`EXACT_UP_TO`; beyond that,
PostgreSQL's planner estimates it (``total_is: "estimate"``; asked first, so a set it
expects to be larger is never counted) and SQLite, which has no estimate, says "more than"
(``"lower-bound"``). Counting a million-demand queue exactly would cost more than the page
itself.

**Filters** are :class:`~dueprocess.review.queue_filters.Filters`: each is a condition on
the demand's own columns (so the queue's index still gives the order), but risk flags
(``EXISTS`` on ``risk_flag``'s index ``(code, demand_id)``) and search (``EXISTS`` on
``demand_search``: :mod:`dueprocess.review.search`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    Executable,
    Select,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler

from dueprocess.accounts.models import Account
from dueprocess.authorities.models import Authority
from dueprocess.clock import utcnow
from dueprocess.demands.models import Demand, DemandKind, DemandStatus, LegalProcess
from dueprocess.errors import FieldError, InvalidInput
from dueprocess.review import deadlines, queue_filters, search
from dueprocess.review.models import DemandSearch, FlagLevel, RiskFlag
from dueprocess.review.queue_filters import Cursor, Filters

#: queue name -> the status its demands wait in, and the role that works it.
QUEUES: dict[str, tuple[DemandStatus, str]] = {
    "intake": (DemandStatus.RECEIVED, "intake"),
    "legal": (DemandStatus.LEGAL_REVIEW, "legal-reviewer"),
    "human-rights": (DemandStatus.HUMAN_RIGHTS_REVIEW, "human-rights-reviewer"),
    "approval": (DemandStatus.AWAITING_APPROVAL, "approver"),
}
#: Totals are exact up to this many demands (see the module's docstring).
EXACT_UP_TO = 10_000
DEFAULT_LIMIT = 50
MAX_LIMIT = 200

TotalIs = Literal["exact", "estimate", "lower-bound"]


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One demand as a queue shows it."""

    id: int
    revision: int
    reference: str | None
    jurisdiction: str
    authority: str
    kind: DemandKind
    legal_process: LegalProcess
    emergency: bool
    received_at: datetime
    deadline: datetime | None
    target_at: datetime
    due_at: datetime
    urgency: str
    time_left: str
    penalty: str | None
    assignee: str | None
    stance: str | None
    verification: str | None
    human_rights_required: bool
    flags: list[tuple[str, str]]  # (code, level), high first

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.emergency, self.due_at, self.id)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of one queue: its rows, the cursors of the pages after and before it (None
    where there is none), and how many demands match the filters (:data:`EXACT_UP_TO`)."""

    queue: str
    rows: list[QueueRow]
    next: str | None
    prev: str | None
    total: int
    total_is: TotalIs


# --- the conditions --------------------------------------------------------------------------


def _seconds(column: Any, postgres: bool) -> ColumnElement[Any]:
    """A timestamp column as seconds since the epoch, in either database."""
    if postgres:
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def conditions(filters: Filters, *, now: datetime, postgres: bool) -> list[ColumnElement[bool]]:
    """The WHERE clause of ``filters`` (all ANDed), beside the queue's status."""
    where: list[ColumnElement[bool]] = []
    f = filters
    if f.jurisdiction is not None:
        if "-" in f.jurisdiction:
            where.append(Demand.jurisdiction == f.jurisdiction)
        else:
            where.append(
                or_(
                    Demand.jurisdiction == f.jurisdiction,
                    Demand.jurisdiction.startswith(f"{f.jurisdiction}-", autoescape=True),
                )
            )
    if f.authority_id is not None:
        where.append(Demand.authority_id == f.authority_id)
    if f.kind is not None:
        where.append(Demand.kind == f.kind)
    if f.legal_process is not None:
        where.append(Demand.legal_process == f.legal_process)
    if f.stance is not None:
        stance = Demand.stance == f.stance.value
        # never evaluated (no policy was active): processed, as the policy reads it
        where.append(or_(stance, Demand.stance.is_(None)) if f.stance == "process" else stance)
    if f.verification is not None:
        where.append(Demand.verification_state == f.verification)
    if f.flag is not None:
        flagged = exists().where(RiskFlag.code == f.flag, RiskFlag.demand_id == Demand.id)
        where.append(flagged)
    if f.unassigned:
        where.append(Demand.assignee_id.is_(None))
    elif f.assignee_id is not None:
        where.append(Demand.assignee_id == f.assignee_id)
    if f.due == "overdue":
        where.append(Demand.due_at <= now)
    elif f.due == "soon":
        # deadlines.urgency: within DUE_SOON of the due time and in the last quarter of the
        # time from receipt to it
        left = _seconds(Demand.due_at, postgres) - _seconds(literal(now, Demand.due_at.type),
                                                           postgres)  # fmt: skip
        window = _seconds(Demand.due_at, postgres) - _seconds(Demand.received_at, postgres)
        where += [
            Demand.due_at > now,
            Demand.due_at <= now + deadlines.DUE_SOON,
            left * 4 <= window,
        ]
    if f.due_within is not None:
        where += [Demand.due_at > now, Demand.due_at <= now + f.due_within]
    if f.due_after is not None:
        where.append(Demand.due_at >= f.due_after)
    if f.due_before is not None:
        where.append(Demand.due_at < f.due_before)
    if f.emergency_only:
        where.append(Demand.emergency == literal(True))
    if f.terms:
        where.append(_searched(f, postgres))
    return where


def _searched(filters: Filters, postgres: bool) -> ColumnElement[bool]:
    """The search rule (:mod:`dueprocess.review.search`) as an EXISTS on ``demand_search``."""
    s = DemandSearch
    found: list[ColumnElement[bool]] = [s.demand_id == Demand.id]
    if postgres:
        query = search.tsquery(filters.terms)
        if query is not None:
            matched = s.terms.op("@@")(cast(literal(query), TSQUERY))
            found.append(or_(matched, s.terms.is_(None)))
        found += [func.strpos(s.text, term.text) > 0 for term in filters.terms]
    else:
        looked: list[ColumnElement[bool]] = []
        for term in filters.terms:
            found.append(func.instr(s.text, term.text) > 0)
            for lookup in term.lookups:
                wanted = f"'{lookup.term}" if lookup.prefix else f"'{lookup.term}'"
                looked.append(func.instr(s.terms, wanted) > 0)
        if looked:
            found.append(or_(s.terms.is_(None), and_(*looked)))
    return exists().where(*found)


# --- a page ----------------------------------------------------------------------------------

_COLUMNS = (
    Demand.id,
    Demand.revision,
    Demand.reference,
    Demand.jurisdiction,
    Authority.slug,
    Demand.kind,
    Demand.legal_process,
    Demand.emergency,
    Demand.received_at,
    Demand.deadline,
    Demand.due_at,
    Demand.penalty,
    Demand.legal_basis_instrument,
    Demand.legal_basis_article,
    Account.email,
    Demand.stance,
    Demand.verification_state,
    Demand.human_rights_required,
)


def _segment(
    where: list[ColumnElement[bool]],
    emergency: bool,
    bound: Cursor | None,
    *,
    forward: bool,
    limit: int,
) -> Select[*tuple[Any, ...]]:
    """One run of the queue (its emergencies, or the rest) from ``bound``, in order."""
    key = tuple_(Demand.due_at, Demand.id)
    query = (
        select(*_COLUMNS)
        .join(Authority, Authority.id == Demand.authority_id)
        .outerjoin(Account, Account.id == Demand.assignee_id)
        .where(*where, Demand.emergency == literal(emergency))
    )
    if bound is not None and bound.emergency == emergency:
        here = tuple_(
            bindparam(None, bound.due_at, type_=Demand.due_at.type),
            bindparam(None, bound.id, type_=Demand.id.type),
        )
        query = query.where(key > here if forward else key < here)
    order = (Demand.due_at, Demand.id) if forward else (Demand.due_at.desc(), Demand.id.desc())
    return query.order_by(*order).limit(limit)


def _read(
    session: Session,
    where: list[ColumnElement[bool]],
    bound: Cursor | None,
    *,
    forward: bool,
    limit: int,
    emergency_only: bool,
) -> list[Any]:
    """Up to ``limit`` rows on from ``bound`` (exclusive), in the direction asked: the
    emergencies' run, then the others' (backwards: the other way round)."""
    runs = [True] if emergency_only else [True, False]
    if not forward:
        runs.reverse()
    if bound is not None:
        # the runs before the cursor's own (in the direction read) are behind it
        runs = runs[runs.index(bound.emergency) :] if bound.emergency in runs else []
    out: list[Any] = []
    for emergency in runs:
        wanted = limit - len(out)
        if wanted <= 0:
            break
        query = _segment(where, emergency, bound, forward=forward, limit=wanted)
        out += session.execute(query).all()
    return out


def page(
    session: Session,
    queue: str,
    filters: Filters,
    *,
    now: datetime,
    after: Cursor | None = None,
    before: Cursor | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """A page of ``queue`` (a key of :data:`QUEUES`) under ``filters``: the first one, the
    one after cursor ``after``, or the one before cursor ``before`` (a page before the first
    is the first)."""
    status, _role = QUEUES[queue]
    postgres = session.get_bind().dialect.name == "postgresql"
    where = [Demand.status == status, *conditions(filters, now=now, postgres=postgres)]
    only = filters.emergency_only
    prev: str | None = None
    if before is not None:
        found = _read(session, where, before, forward=False, limit=limit + 1, emergency_only=only)
        if len(found) > limit:
            rows = list(reversed(found[:limit]))
            prev_row = rows[0]
            prev = Cursor(prev_row.emergency, prev_row.due_at, prev_row.id).encode()
            more = True  # the page it came back from is after it
        else:
            after, before = None, None  # back at the start: the first page
    if before is None:
        found = _read(session, where, after, forward=True, limit=limit + 1, emergency_only=only)
        rows = found[:limit]
        more = len(found) > limit
        if after is not None and rows:
            prev = Cursor(rows[0].emergency, rows[0].due_at, rows[0].id).encode()
    last = rows[-1] if more and rows else None
    nxt = Cursor(last.emergency, last.due_at, last.id).encode() if last is not None else None
    total, total_is = count(session, where, postgres=postgres)
    return Page(queue, _shown(session, rows, now), nxt, prev, total, total_is)


def read_page(
    session: Session,
    queue: str,
    values: dict[str, str],
    *,
    me: int,
    after: str | None,
    before: str | None,
    limit: int,
) -> tuple[Page, Filters]:
    """The page the parameters ask for: filters and cursors read (every bad one named at
    once), then :func:`page`. The API's and the pages' one entry point."""
    problems: list[FieldError] = []
    filters: Filters | None = None
    try:
        filters = queue_filters.read(session, values, me=me)
    except InvalidInput as exc:
        problems += exc.errors
    cursors: dict[str, Cursor | None] = {"after": None, "before": None}
    for name, token in (("after", after), ("before", before)):
        if token:
            try:
                cursors[name] = Cursor.decode(token, name)
            except InvalidInput as exc:
                problems += exc.errors
    if problems:
        raise InvalidInput(problems)
    assert filters is not None
    if cursors["after"] is not None and cursors["before"] is not None:
        raise InvalidInput.one(("query", "before"), "give after or before, not both")
    shown = page(session, queue, filters, now=utcnow(), after=cursors["after"],
                        before=cursors["before"], limit=limit)  # fmt: skip
    return shown, filters


def _shown(session: Session, rows: list[Any], now: datetime) -> list[QueueRow]:
    flags: dict[int, list[tuple[str, str]]] = {}
    if rows:
        query = (
            select(RiskFlag.demand_id, RiskFlag.code, RiskFlag.level)
            .where(RiskFlag.demand_id.in_([r.id for r in rows]))
            .order_by(RiskFlag.demand_id, RiskFlag.id)
        )
        for demand_id, code, level in session.execute(query):
            shown = flags.setdefault(demand_id, [])
            if (code, level.value) not in shown:
                shown.append((code, level.value))
        rank = {FlagLevel.HIGH.value: 0, FlagLevel.MEDIUM.value: 1, FlagLevel.LOW.value: 2}
        for shown in flags.values():
            shown.sort(key=lambda f: rank[f[1]])
    out = []
    for r in rows:
        out.append(
            QueueRow(
                id=r.id,
                revision=r.revision,
                reference=r.reference,
                jurisdiction=r.jurisdiction,
                authority=r.slug,
                kind=r.kind,
                legal_process=r.legal_process,
                emergency=r.emergency,
                received_at=r.received_at,
                deadline=r.deadline,
                target_at=r.received_at + deadlines.service_target(r.kind),
                due_at=r.due_at,
                urgency=deadlines.urgency(r.received_at, r.due_at, now).value,
                time_left=deadlines.time_left(r.due_at, now),
                penalty=deadlines.penalty(
                    r.penalty,
                    r.jurisdiction,
                    f"{r.legal_basis_instrument} {r.legal_basis_article}",
                ),
                assignee=r.email,
                stance=r.stance,
                verification=r.verification_state,
                human_rights_required=r.human_rights_required or r.stance == "escalate",
                flags=flags.get(r.id, []),
            )
        )
    return out


# --- counting --------------------------------------------------------------------------------


def count(
    session: Session, where: list[ColumnElement[bool]], *, postgres: bool
) -> tuple[int, TotalIs]:
    """How many demands ``where`` selects: exactly, up to :data:`EXACT_UP_TO`; beyond it,
    PostgreSQL's estimate or, on SQLite, the lower bound :data:`EXACT_UP_TO` + 1.

    On PostgreSQL the planner is asked first (planning only, about a millisecond): when it
    expects more than :data:`EXACT_UP_TO`, its estimate is the answer and nothing is
    counted. Otherwise the demands are counted, but for at most :data:`COUNT_BUDGET_MS`:
    a small result can still cost a pass over every demand its filters touch (a common word
    and a rare flag together), several times the page itself, and then the estimate is
    given instead, and said to be one."""
    guess = 0
    if postgres:
        guess = _estimate(session, select(literal(1)).select_from(Demand).where(*where))
        if guess > EXACT_UP_TO:
            return guess, "estimate"
    bounded = select(Demand.id).where(*where).limit(EXACT_UP_TO + 1).subquery()
    query = select(func.count()).select_from(bounded)
    exact = _within_budget(session, query) if postgres else session.scalar(query)
    if exact is None:
        return max(guess, 1), "estimate"
    if exact <= EXACT_UP_TO:
        return exact, "exact"
    return (max(guess, exact), "estimate") if postgres else (exact, "lower-bound")


#: How long PostgreSQL may spend counting a page's total exactly.
COUNT_BUDGET_MS = 40


def _within_budget(session: Session, query: Select[Any]) -> int | None:
    """``query``'s count, or None if PostgreSQL needs more than :data:`COUNT_BUDGET_MS` (the
    count is cancelled). It runs in a savepoint that is then rolled back, which undoes the
    time limit and keeps the transaction usable after a cancel."""
    savepoint = session.begin_nested()
    try:
        session.execute(_BUDGET, {"ms": f"{COUNT_BUDGET_MS}ms"})
        found = int(session.scalar(query) or 0)
    except OperationalError as exc:
        savepoint.rollback()
        if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
            return None
        raise
    savepoint.rollback()
    return found


_BUDGET = text("SELECT set_config('statement_timeout', :ms, true)")


class _Explain(Executable, ClauseElement):
    """``EXPLAIN (FORMAT JSON)`` of a query, with its parameters bound as the query's own."""

    inherit_cache = False

    def __init__(self, query: Select[*tuple[Any, ...]]) -> None:
        self.query = query


@compiles(_Explain, "postgresql")
def _explain(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return f"EXPLAIN (FORMAT JSON) {compiler.process(element.query, **kw)}"


def _estimate(session: Session, query: Select[*tuple[Any, ...]]) -> int:
    """The rows PostgreSQL's planner expects ``query`` to return (it is planned, not run)."""
    plan = session.execute(_Explain(query)).scalar_one()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return int(plan[0]["Plan"]["Plan Rows"])


@dataclass(frozen=True, slots=True)
class QueueCount:
    """One queue's line in the index: who works it, and how many wait in it (each count as
    :func:`count` gives it), overdue and due soon among them, and the reader's."""

    queue: str
    status: DemandStatus
    role: str
    waiting: tuple[int, TotalIs]
    overdue: tuple[int, TotalIs]
    due_soon: tuple[int, TotalIs]
    mine: tuple[int, TotalIs]


def index(session: Session, *, me: int, now: datetime) -> list[QueueCount]:
    """Every queue with its counts (bounded, as :func:`count`)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    out = []
    for name, (status, role) in QUEUES.items():
        counts = [
            count(
                session,
                [Demand.status == status, *conditions(f, now=now, postgres=postgres)],
                postgres=postgres,
            )
            for f in (Filters(), Filters(due="overdue"), Filters(due="soon"),
                      Filters(assignee_id=me))
        ]  # fmt: skip
        out.append(QueueCount(name, status, role, *counts))
    return out
