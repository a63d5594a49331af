"""Writing a session's new objects with one multi-row INSERT per table instead of the ORM's
unit of work.

Intake creates a handful of objects per demand (the demand, its targets and documents, a
policy evaluation, a reply). The ORM's flush writes them correctly but spends most of a
submission's time doing it: per-object bookkeeping, ``RETURNING`` to learn each new id, one
statement text per batch size. :func:`flush_new` writes the same rows, as the same values
and defaults, and leaves the objects exactly as a flush would have: persistent, in the
session, with their ids. It is a drop-in replacement for ``session.flush()`` where the
session's changes are new objects; anything else (a changed or deleted object, a mapping it
does not handle) goes through the ORM's own flush.

How: ids are taken from the tables' own sequences up front (PostgreSQL: ``nextval`` for as
many as needed, in one statement; SQLite: after the largest id, under the write lock every
transaction holds, see :mod:`dueprocess.db`), so children know their parents' ids before
anything is written; every many-to-one link sets its foreign key from the object it points
to; then each table gets one ``executemany`` in foreign-key order, and the session records the
objects as persistent exactly as its flush does (so a rollback, or a savepoint's rollback,
forgets them the same way).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Column, Enum, Integer, Table, insert, inspect, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.interfaces import MANYTOONE

from dueprocess.db import Base, transaction_memo

_SEQUENCES: dict[str, str] = {}
_PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _simple(mapper: Mapper[Any]) -> bool:
    """One table, one integer primary key the database generates: what this module handles."""
    table = mapper.local_table
    if not isinstance(table, Table) or mapper.inherits is not None:
        return False
    pk = list(table.primary_key.columns)
    generated = pk[0].autoincrement in (True, "auto") if len(pk) == 1 else False
    return generated and isinstance(pk[0].type, Integer)


def flush_new(session: Session) -> None:
    """Write every new object of the session and make it persistent (module docstring).

    Same outcome as ``session.flush()``; falls back to it for whatever this cannot write.
    """
    new = list(session.new)
    if not new or not all(_simple(inspect(obj).mapper) for obj in new):
        session.flush()
        return
    if session.dirty or session.deleted:
        session.flush()  # changes to loaded objects first, as the ORM orders them
        new = list(session.new)
        if not new:
            return
    by_table: dict[Table, list[Any]] = defaultdict(list)
    for obj in new:
        by_table[inspect(obj).mapper.local_table].append(obj)
    with session.no_autoflush:  # the id queries must not flush what this writes
        _write(session, new, by_table)


def _write(session: Session, new: list[Any], by_table: dict[Table, list[Any]]) -> None:
    _assign_ids(session, by_table)
    for obj in new:
        _link(obj)
    rows = {table: [_row(obj, table) for obj in objects] for table, objects in by_table.items()}
    for table in Base.metadata.sorted_tables:
        if table in rows:
            session.execute(insert(table), rows[table])
    # The bookkeeping the ORM's own flush does after its INSERTs: identity keys, the identity
    # map, history reset, and the transaction's list of new objects (a rollback, or the
    # rollback of a savepoint, expunges them again). SQLAlchemy has no public name for it.
    session._register_persistent({inspect(obj) for obj in new})


def _pk(table: Table) -> Column[Any]:
    return next(iter(table.primary_key.columns))


def _assign_ids(session: Session, by_table: dict[Table, list[Any]]) -> None:
    """Give every new object its id now, from the table's own sequence."""
    for table, objects in by_table.items():
        pk = _pk(table)
        wanted = [obj for obj in objects if getattr(obj, pk.key) is None]
        if wanted:
            for obj, new_id in zip(wanted, allocate_ids(session, table, len(wanted)), strict=True):
                setattr(obj, pk.key, new_id)


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` new ids for rows of ``table``, taken now: PostgreSQL from the table's
    sequence (gaps are possible, as with any sequence), SQLite after the largest id, which
    is safe because the transaction holds the database's write lock (:mod:`dueprocess.db`).
    """
    if count <= 0:
        return []
    pk = _pk(table)
    with session.no_autoflush:
        if session.get_bind().dialect.name == "postgresql":
            sequence = _SEQUENCES.get(table.name)
            if sequence is None:
                sequence = str(
                    session.scalar(
                        text("SELECT pg_get_serial_sequence(:table, :column)"),
                        {"table": table.name, "column": pk.name},
                    )
                )
                _SEQUENCES[table.name] = sequence
            return [
                int(i)
                for i in session.scalars(
                    text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
                    {"seq": sequence, "n": count},
                )
            ]
        sql = f"SELECT max({pk.name}) FROM {table.name}"  # noqa: S608 - names from metadata
        last = int(session.scalar(text(sql)) or 0)
        # Ids handed out earlier in this transaction may not be written yet.
        memo = transaction_memo(session)
        key = ("inserts.last_id", table.name)
        start = max(last, int(memo.get(key, 0))) + 1  # type: ignore[call-overload]
        memo[key] = start + count - 1
        return list(range(start, start + count))


def _link(obj: Any) -> None:
    """Set each foreign key from the many-to-one relationship that points to an object."""
    state = inspect(obj)
    for rel in state.mapper.relationships:
        if rel.direction is not MANYTOONE or rel.key not in state.dict:
            continue
        parent = state.dict[rel.key]
        if parent is None:
            continue
        for local, remote in rel.local_remote_pairs:
            setattr(obj, local.key, getattr(parent, remote.key))


def _row(obj: Any, table: Table) -> dict[str, Any]:
    """The column values of a new object, with the columns' Python-side defaults for those
    not set (set on the object too, as a flush would)."""
    state = inspect(obj)
    mapper = state.mapper
    row: dict[str, Any] = {}
    for column in table.columns:
        attr = mapper.get_property_by_column(column).key
        if attr in state.dict:
            value = state.dict[attr]
        elif column.default is not None and column.default.is_scalar:
            value = column.default.arg  # type: ignore[attr-defined]
            setattr(obj, attr, value)
        elif column.default is not None and column.default.is_callable:
            value = column.default.arg(None)  # type: ignore[attr-defined]
            setattr(obj, attr, value)
        else:
            value = None
        row[column.key] = value
    return row


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (the same keys in each; values as the model's attributes take them)
    into ``model``'s table in the session's transaction: PostgreSQL by ``COPY``, SQLite by one
    ``executemany``. For rows built without ORM objects, many at a time (intake)."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    convert = [_copy_converter(table.c[name]) for name in columns]
    raw: Any = session.connection().connection.dbapi_connection
    with raw.cursor() as cursor:
        names = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([c(row[name]) for c, name in zip(convert, columns, strict=True)])


def _copy_converter(column: Column[Any]) -> Any:
    """What a Python value becomes for COPY: JSON as text, enums as their value; the column
    type's own bind processing (e.g. refusing naive datetimes) for the rest."""
    if isinstance(column.type, JSON):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if isinstance(column.type, Enum):
        return lambda value: None if value is None else getattr(value, "value", value)
    process = column.type.bind_processor(_PG_DIALECT)
    return process or (lambda value: value)
