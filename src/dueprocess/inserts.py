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
from typing import Any

from sqlalchemy import Column, Integer, Table, insert, inspect, text
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.interfaces import MANYTOONE

from dueprocess.db import Base

_SEQUENCES: dict[str, str] = {}


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
    postgres = session.get_bind().dialect.name == "postgresql"
    for table, objects in by_table.items():
        pk = _pk(table)
        wanted = [obj for obj in objects if getattr(obj, pk.key) is None]
        if not wanted:
            continue
        if postgres:
            sequence = _SEQUENCES.get(table.name)
            if sequence is None:
                sequence = session.scalar(
                    text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": table.name, "column": pk.name},
                )
                _SEQUENCES[table.name] = str(sequence)
            ids = list(
                session.scalars(
                    text("SELECT nextval(CAST(:seq AS regclass)) FROM generate_series(1, :n)"),
                    {"seq": _SEQUENCES[table.name], "n": len(wanted)},
                )
            )
        else:
            # SQLite: the transaction holds the database's write lock (BEGIN IMMEDIATE), so
            # nobody else can take these ids before the rows are in.
            taken = [getattr(obj, pk.key) for obj in objects if getattr(obj, pk.key) is not None]
            last = session.scalar(text(f"SELECT max({pk.name}) FROM {table.name}")) or 0  # noqa: S608
            start = max([int(last), *taken]) + 1
            ids = list(range(start, start + len(wanted)))
        for obj, new_id in zip(wanted, ids, strict=True):
            setattr(obj, pk.key, int(new_id))


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
