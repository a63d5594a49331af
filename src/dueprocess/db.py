"""Engine, sessions and the declarative base. SQLite is the embedded default; PostgreSQL is
for real deployments. Both are tested on every run of the suite.

Every transaction that changes a demand also writes its audit event (see ``audit``), so a
service function receives a session and never commits on its own: the caller, at the edge
(one HTTP request, one CLI command), commits once or rolls back everything.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, Enum, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every table. Constraint names are fixed so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    Refuses naive datetimes on the way in (they are bugs, not local times) and restores the
    UTC zone on the way out from SQLite, which stores no offset.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} reached the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(enum_cls: type[enum.StrEnum], length: int = 32) -> Enum:
    """Store an enum by its value as a plain string (no native DB enum: migrations stay easy)."""
    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda cls: [m.value for m in cls],
        validate_strings=True,
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Take the write lock at BEGIN: a read-then-write transaction (the audit chain reads the
    # head, then appends) must not lose a race to another writer half-way through.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """An engine for ``url`` with the settings dueprocess relies on.

    SQLite: foreign keys on, WAL, and writing transactions that lock at ``BEGIN``.
    PostgreSQL: ``psycopg`` (v3); a plain ``postgresql://`` URL is mapped to it.
    """
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite"):
        sqlite_kwargs: dict[str, Any] = {
            "connect_args": {"check_same_thread": False, "isolation_level": None}
        }
        if not pool:
            sqlite_kwargs["poolclass"] = NullPool
        engine = create_engine(url, **sqlite_kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if pool:
        kwargs.update(pool_size=10, max_overflow=20)
    else:
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (the web layer renders them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends normally, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


_MEMO_KEY = "dueprocess.transaction_memo"
# The memo as each open SAVEPOINT found it; kept until the outermost transaction ends (a
# released SAVEPOINT's copy is small and dropped then).
_SAVED_KEY = "dueprocess.transaction_memo.saved"


def transaction_memo(session: Session) -> dict[object, object]:
    """A dict that lives as long as the session's outermost transaction.

    For facts that cannot change while the transaction holds its locks (the active policy
    version under the intake lock, a registry row looked up by slug), so a batch of demands
    reads them once instead of once per demand, and for what the transaction has added to
    them (the demands it has counted into an authority's volume). A SAVEPOINT that rolls
    back takes its additions with it: the memo is as it was when the SAVEPOINT began (its
    values are replaced, never changed in place, so a shallow copy keeps them).
    """
    memo: dict[object, object] = session.info.setdefault(_MEMO_KEY, {})
    return memo


@event.listens_for(Session, "after_transaction_create")
def _save_memo(session: Session, transaction: Any) -> None:
    if transaction.nested:
        saved: dict[Any, dict[object, object]] = session.info.setdefault(_SAVED_KEY, {})
        saved[transaction] = dict(session.info.get(_MEMO_KEY, {}))


@event.listens_for(Session, "after_soft_rollback")
def _restore_memo(session: Session, previous_transaction: Any) -> None:
    saved = session.info.get(_SAVED_KEY)
    if saved and previous_transaction in saved:
        session.info[_MEMO_KEY] = saved.pop(previous_transaction)


@event.listens_for(Session, "after_transaction_end")
def _forget_memo(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_MEMO_KEY, None)
        session.info.pop(_SAVED_KEY, None)
