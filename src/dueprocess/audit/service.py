"""Writing and reading the audit log.

:func:`record` appends one event to the hash chain *in the caller's transaction*: if the
change it records rolls back, so does the event; if the change commits, the event is there.
Appends are serialised so the chain never forks, and they happen as late as possible, at
commit, so the serialised part is short:

- on PostgreSQL the events are inserted into ``audit_staging`` without any lock, and the
  deferred trigger ``audit_chain`` (migration ``0002``) chains them during ``COMMIT``, under
  a transaction-scoped advisory lock, inside the server;
- on SQLite they are chained here, in Python, under the write lock every transaction takes
  at ``BEGIN IMMEDIATE`` (see :mod:`dueprocess.db`); the head is cached in the session for
  the rest of the transaction.

Both produce the same canonical form and hash (docs/audit-format.md); the verifier
recomputes every hash, on either database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import ColumnElement, event, func, or_, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, SessionTransaction

from dueprocess import inserts
from dueprocess.audit.chain import (
    GENESIS,
    canonical_data,
    canonical_parts_json,
    canonical_tail,
    chain_link,
    check_event_data,
    check_event_names,
    export_lines as chain_export_lines,
)
from dueprocess.audit.models import AuditCheckpoint, AuditEvent
from dueprocess.audit.verify import DEFAULT_MAX_UNSIGNED_AGE, VerifyResult, verify_export
from dueprocess.clock import isoformat_z, utcnow

# Any 64-bit constant: the advisory lock every PostgreSQL audit writer takes.
_PG_LOCK_KEY = 0x6475_6570_726F_63  # "dueproc"
_HEAD_KEY = "dueprocess.audit.head"
_PENDING_KEY = "dueprocess.audit.pending"
_STAGED_KEY = "dueprocess.audit.staged"
_COLUMNS = ("seq", "at", "actor", "action", "subject", "data", "prev", "hash")

#: From this many events in one append, PostgreSQL chains them in Python under the writers'
#: lock and copies them in, instead of staging them for the trigger (bench/intake_api.py).
DIRECT_APPEND_AT = 64


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)  # nothing outlives the outermost transaction
        session.info.pop(_STAGED_KEY, None)
    # The cached head is only valid inside the transaction that holds the lock, and only
    # while nothing it covers was rolled back: a savepoint that ends (released or rolled
    # back) forgets it too, and the next append reads the head again.
    session.info.pop(_HEAD_KEY, None)


_PG_HEAD_SQL = (
    # Two statements in one round trip. Under READ COMMITTED each statement of a simple
    # query takes its own snapshot, so the SELECT runs after the lock is held and sees every
    # event committed by the writer that held it before us.
    f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY}); "  # noqa: S608 - constants only
    "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"
)
_HEAD_SQL = "SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1"


def _cursor(session: Session) -> Any:
    # The DB-API cursor of the session's connection, inside its transaction. Appending runs
    # on every writing request; SQLAlchemy's statement machinery would cost more than the
    # database work itself (bench/audit_overhead.py measures it).
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    return raw.cursor()


def _head(session: Session) -> tuple[int, str]:
    cached: tuple[int, str] | None = session.info.get(_HEAD_KEY)
    if cached is not None:
        return cached
    cursor = _cursor(session)
    try:
        if session.get_bind().dialect.name == "postgresql":
            cursor.execute(_PG_HEAD_SQL)
            cursor.nextset()
        else:
            cursor.execute(_HEAD_SQL)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


@dataclass(frozen=True)
class _Insert:
    """The INSERT for one dialect, with SQLAlchemy's own converters for the typed columns,
    so rows written here read back through the ORM exactly as if the ORM had written them.
    """

    sql: str
    at: Callable[[Any], Any]
    stage_sql: str


_INSERTS: dict[str, _Insert] = {}


def _insert_for(dialect: Dialect) -> _Insert:
    found = _INSERTS.get(dialect.name)
    if found is None:
        pg = dialect.name == "postgresql"
        marks = ["%s"] * 8 if pg else ["?"] * 8
        if pg:
            marks[5] = "%s::json"
        columns = "seq, at, actor, action, subject, data, prev, hash"
        identity: Callable[[Any], Any] = lambda value: value  # noqa: E731
        found = _Insert(
            sql=f"INSERT INTO audit_event ({columns}) VALUES ({', '.join(marks)})",  # noqa: S608
            # The dialect's own processor: SQLite stores the text the ORM writes and compares
            # (with six fraction digits always), not the driver's own rendering of a datetime.
            at=AuditEvent.__table__.c.at.type.dialect_impl(dialect).bind_processor(dialect)
            or identity,
            stage_sql="INSERT INTO audit_staging (at, actor, action, subject, data, head, tail) "
            "VALUES ",
        )
        _INSERTS[dialect.name] = found
    return found


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    # Datetimes become ISO strings, tuples lists: what the stored JSON reads back as.
    value: dict[str, Any] = orjson.loads(orjson.dumps(dict(data), option=orjson.OPT_UTC_Z))
    return value


@dataclass(slots=True)  # never changed once made; not frozen, which costs 5x to construct
class _Pending:
    when: datetime
    at: str  # ``when`` as hashed
    actor: str
    action: str
    subject: str | None
    data: str  # canonical JSON: hashed as is, and stored (one object per Prepared)
    head: bytes  # the canonical form around the chain link (chain.canonical_parts)
    tail: bytes
    recorded_in: SessionTransaction | None


@dataclass(frozen=True, slots=True)
class Prepared:
    """Event data checked and serialised once (:func:`prepare`), for a writer that records
    the same data in many events, such as a policy's stance on each demand of a batch."""

    json: bytes  # canonical (chain.canonical_data)
    text: str  # the same, decoded once


def prepare(data: Mapping[str, Any]) -> Prepared:
    """``data`` checked and serialised as :func:`record` would (``ValueError`` for what
    cannot be hashed unambiguously), to pass to :func:`record` as many times as needed."""
    plain = dict(data)
    try:
        check_event_data(plain)
    except ValueError:
        plain = _plain(plain)  # a datetime or tuple, say; what is still refused is refused
        check_event_data(plain)
    json = canonical_data(plain)
    return Prepared(json, json.decode())


_EMPTY = prepare({})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_last_at: tuple[datetime, str] = (_EPOCH, isoformat_z(_EPOCH))


def _at_text(when: datetime) -> str:
    # Events of one transaction often share their time: format it once.
    global _last_at
    last = _last_at
    if last[0] is when:
        return last[1]
    text = isoformat_z(when)  # refuses a naive time here, not at commit
    _last_at = (when, text)
    return text


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str | None = None,
    data: Mapping[str, Any] | Prepared | None = None,
    at: datetime | None = None,
) -> None:
    """Record one event in the current transaction; it is chained when the transaction commits.

    ``actor`` names who acted (``account:12``, ``system``, ``cli``); ``action`` is a dotted
    verb (``demand.submitted``); ``subject`` the object (``demand:42``). ``data`` is checked
    and serialised now (``ValueError`` for what cannot be hashed unambiguously, such as
    floats), so a bad event fails where it is recorded, not at commit, and a later change to
    the caller's ``data`` does not change the event. Datetimes in ``data`` are recorded as
    ISO 8601 UTC strings and tuples as lists, as they would read back. ``data`` may also be
    :func:`prepare`-d once for many events.
    """
    when = at or utcnow()
    at_text = _at_text(when)
    check_event_names(actor, action, subject)
    if isinstance(data, Prepared):
        head = _shared_head(at_text, actor, action, data)
    else:
        data = prepare(data) if data else _EMPTY
        head, _ = canonical_parts_json(
            at=at_text, actor=actor, action=action, subject=None, data_json=data.json
        )
    tail = canonical_tail(subject)
    innermost = session.get_nested_transaction() or session.get_transaction()
    if innermost is None:
        session.connection()  # begin the transaction now, so the event belongs to it
        innermost = session.get_transaction()
    pending: list[_Pending] = session.info.setdefault(_PENDING_KEY, [])
    pending.append(
        _Pending(when, at_text, actor, action, subject, data.text, head, tail, innermost)
    )


def pending_actions(session: Session) -> list[str]:
    """The actions of the events recorded in this transaction and not written yet, in order
    (what a step is about to add to the log; e.g. to check that a move records one event)."""
    return [p.action for p in session.info.get(_PENDING_KEY, [])]


_heads: dict[tuple[str, str, str, bytes], bytes] = {}


def _shared_head(at: str, actor: str, action: str, data: Prepared) -> bytes:
    # The canonical form up to the chain link of an event with prepared data. Events alike
    # but for their subject (a policy's stance on each demand of a batch) share it: it is
    # made once, not per event.
    key = (at, actor, action, data.json)
    head = _heads.get(key)
    if head is None:
        if len(_heads) >= 256:
            _heads.clear()
        head, _ = canonical_parts_json(
            at=at, actor=actor, action=action, subject=None, data_json=data.json
        )
        _heads[key] = head
    return head


def append_pending(session: Session, *, chain_now: bool = False) -> int:
    """Write the events recorded in this transaction so far; how many there were.

    Called by ``before_commit``. On PostgreSQL the events are staged and chained at
    ``COMMIT`` by the database; ``chain_now=True`` (for a caller about to read the log, or
    sign its head, inside this transaction) chains everything staged so far at once, taking
    the writers' lock for the rest of the transaction. On SQLite events are always chained
    at once.
    """
    pg = session.get_bind().dialect.name == "postgresql"
    if not session.info.get(_PENDING_KEY):
        if chain_now and pg and session.info.get(_STAGED_KEY):
            _chain_staged_now(session)
        return 0
    pending: list[_Pending] = session.info.pop(_PENDING_KEY, [])
    statement = _insert_for(session.get_bind().dialect)
    if pg and len(pending) < DIRECT_APPEND_AT:
        _stage(session, pending, statement)
        if chain_now:
            _chain_staged_now(session)
        return len(pending)
    if pg:
        # Many events (a batch of demands): chaining them here, under the lock, is cheaper
        # than the trigger's work per row; what was staged before goes first.
        if session.info.get(_STAGED_KEY):
            _chain_staged_now(session)
        session.info.pop(_HEAD_KEY, None)
    if pg:
        _append_copied(session, pending)
        return len(pending)
    at = statement.at
    rows = [[0, at(p.when), p.actor, p.action, p.subject, p.data, "", ""] for p in pending]
    seq, prev = _head(session)  # takes the writers' lock: only the chaining itself follows
    sha256 = hashlib.sha256
    for row, p in zip(rows, pending, strict=True):
        seq += 1
        digest = sha256(p.head + chain_link(prev, seq) + p.tail).hexdigest()
        row[0], row[6], row[7] = seq, prev, digest
        prev = digest
    _execute(session, statement.sql, [tuple(row) for row in rows])
    session.info[_HEAD_KEY] = (seq, prev)
    return len(rows)


def _append_copied(session: Session, pending: Sequence[_Pending]) -> None:
    """Chain ``pending`` under the writers' lock and COPY them in (PostgreSQL). Everything
    but ``seq``, ``prev`` and ``hash`` is done before the lock is taken: each row's text,
    with the parts events share (time, names, prepared data) escaped once, and each hash
    fed its event's head (the bytes before the chain link; shared heads hashed once), so
    under the lock each hash only takes the link and the short tail."""
    field, escaped = inserts.copy_field, dict[str, str]()
    heads: dict[bytes, Any] = {}
    middles, started = [], []
    for p in pending:
        parts = []
        for value in (p.at, p.actor, p.action):
            text = escaped.get(value)
            if text is None:
                text = escaped[value] = field(value)
            parts.append(text)
        data = escaped.get(p.data)
        if data is None:
            data = escaped[p.data] = inserts.copy_json(p.data)
        middles.append(f"\t{parts[0]}\t{parts[1]}\t{parts[2]}\t{field(p.subject)}\t{data}\t")
        hasher = heads.get(p.head)
        if hasher is None:
            hasher = heads[p.head] = hashlib.sha256(p.head)
        started.append(hasher)
    seq, prev = _head(session)  # takes the writers' lock: only the chaining itself follows
    lines = []
    for middle, hasher, p in zip(middles, started, pending, strict=True):
        seq += 1
        event = hasher.copy()
        event.update(chain_link(prev, seq))
        event.update(p.tail)
        digest = event.hexdigest()
        lines.append(f"{seq}{middle}{prev}\t{digest}\n")
        prev = digest
    inserts.copy_text(session, AuditEvent.__tablename__, _COLUMNS, lines)


def _stage(session: Session, pending: Sequence[_Pending], statement: _Insert) -> None:
    """Insert events into ``audit_staging`` for the database to chain at COMMIT (no lock)."""
    at = statement.at
    values: list[Any] = []
    for p in pending:
        values += (at(p.when), p.actor, p.action, p.subject, p.data, p.head, p.tail)
    # One statement with a VALUES row per event: one round trip, where executemany pipelines.
    marks = ", ".join(["(%s, %s, %s, %s, %s::json, %s, %s)"] * len(pending))
    _execute(session, statement.stage_sql + marks, [tuple(values)])
    session.info[_STAGED_KEY] = True


def _chain_staged_now(session: Session) -> None:
    # The constraint trigger fires now for every row staged so far, and at each later
    # statement of this transaction; the lock it takes is held until the transaction ends.
    _execute(session, "SET CONSTRAINTS audit_chain IMMEDIATE", [])


def _execute(session: Session, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    cursor = _cursor(session)
    try:
        if not rows:
            cursor.execute(sql)
        elif len(rows) == 1:
            cursor.execute(sql, rows[0])  # executemany costs more for one row
        else:
            cursor.executemany(sql, rows)
    finally:
        cursor.close()


@event.listens_for(Session, "before_commit")
def _append_before_commit(session: Session) -> None:
    append_pending(session)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    # Events recorded in the transaction that rolled back, or in one nested inside it, go.
    pending: list[_Pending] | None = session.info.get(_PENDING_KEY)
    if not pending:
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING_KEY] = [p for p in pending if not inside(p.recorded_in)]


def event_fields(row: AuditEvent) -> dict[str, Any]:
    """The fields of a stored event exactly as they were hashed."""
    return {
        "seq": row.seq,
        "at": isoformat_z(row.at),
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "data": row.data,
        "prev": row.prev,
    }


@dataclass(frozen=True)
class Head:
    """The chain's last event (``seq`` 0 and the genesis hash when empty)."""

    seq: int
    hash: str


def head(session: Session) -> Head:
    """The current head, read without taking the writers' lock (events still pending in this
    transaction are not in it)."""
    row = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return Head(0, GENESIS) if row is None else Head(int(row[0]), str(row[1]))


def for_subject(session: Session, subject: str) -> list[AuditEvent]:
    """Every event about one object, oldest first (a demand's page shows these)."""
    append_pending(session, chain_now=True)
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.subject == subject).order_by(AuditEvent.seq)
        )
    )


def search(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditEvent]:
    """Events matching every given filter, newest first, ``offset`` of them skipped.

    ``action`` matches itself and the actions it is the first parts of (``policy`` finds
    ``policy.activated``, not ``policyx``); ending in ``*``, any action that starts with
    the text before it. ``actor`` and ``subject`` match exactly; ``since`` is inclusive,
    ``until`` exclusive."""
    append_pending(session, chain_now=True)
    where = _matching(action, actor, subject, since, until)
    query = select(AuditEvent).where(*where).order_by(AuditEvent.seq.desc())
    return list(session.scalars(query.limit(limit).offset(offset)))


def count(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """How many events :func:`search` would find with these filters, over all pages."""
    append_pending(session, chain_now=True)
    where = _matching(action, actor, subject, since, until)
    if not where:
        return head(session).seq  # seq runs from 1 without gaps: no need to count
    return int(session.scalar(select(func.count(AuditEvent.seq)).where(*where)) or 0)


def _matching(
    action: str | None,
    actor: str | None,
    subject: str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if action:
        column = AuditEvent.action
        if action.endswith("*"):
            where.append(column.startswith(action[:-1], autoescape=True))
        elif action.endswith("."):
            where.append(column.startswith(action, autoescape=True))
        else:
            where.append(or_(column == action, column.startswith(action + ".", autoescape=True)))
    if actor:
        where.append(AuditEvent.actor == actor)
    if subject:
        where.append(AuditEvent.subject == subject)
    if since:
        where.append(AuditEvent.at >= since)
    if until:
        where.append(AuditEvent.at < until)
    return where


def iter_events(session: Session, *, batch: int = 5000) -> Iterator[AuditEvent]:
    """Every event in ``seq`` order, fetched in batches so memory stays bounded."""
    last = 0
    while True:
        rows: Sequence[AuditEvent] = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        for row in rows:  # keep memory bounded without detaching the caller's own objects
            session.expunge(row)


def checkpoints(session: Session) -> list[AuditCheckpoint]:
    """Every checkpoint, oldest first."""
    return list(
        session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq, AuditCheckpoint.id))
    )


# --- export and verification (the signer is in dueprocess.audit.signer) ------------------


def locked_head(session: Session) -> Head:
    """The current head, read under the writers' lock, which is held until the transaction
    ends: no event is appended meanwhile (what a checkpoint signs is the real head)."""
    append_pending(session, chain_now=True)
    seq, digest = _head(session)
    return Head(seq, digest)


def _checkpoint_fields(row: AuditCheckpoint) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "head": row.head,
        "at": row.at,
        "key_id": row.key_id,
        "signature": row.signature,
        "prev_seq": row.prev_seq,
        "prev_head": row.prev_head,
    }


def export_lines(session: Session, public_keys: Sequence[bytes] = ()) -> Iterator[bytes]:
    """The whole log as JSON lines (docs/audit-format.md), streamed in ``seq`` order.

    The checkpoints are read first, then the events in batches of ``seq``; under READ
    COMMITTED (the default) each batch is read at its own moment, so events committed while
    the export runs are included too. Every checkpoint exported therefore signs an event
    that is exported; the events after the last checkpoint are the unsigned tail.
    """
    events = ({**event_fields(row), "hash": row.hash} for row in iter_events(session))
    marks = [_checkpoint_fields(c) for c in checkpoints(session)]
    return chain_export_lines(events, marks, public_keys=public_keys)


def verify_database(
    session: Session,
    public_keys: Sequence[bytes],
    *,
    held: Iterable[Mapping[str, Any]] = (),
    max_unsigned_age: float | None = DEFAULT_MAX_UNSIGNED_AGE,
    allow_unsigned_tail: bool = False,
) -> VerifyResult:
    """Verify the stored log exactly as an outside party verifies an export of it (the
    export's time is now). ``held``: checkpoints signed earlier (the signer's state and
    published heads) that the log must still hold and agree with; read them before calling,
    so that each was committed before the log is read."""
    return verify_export(
        export_lines(session, public_keys),
        public_keys,
        expected_checkpoints=held,
        max_unsigned_age=max_unsigned_age,
        allow_unsigned_tail=allow_unsigned_tail,
    )
