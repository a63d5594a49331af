"""Writing many new rows in one statement per table, without ORM objects.

Intake writes a handful of rows per demand (the demand, its targets and documents, a policy
evaluation, a reply, audit events). Through the ORM's unit of work that cost several times
the database's own work: per-object bookkeeping, ``RETURNING`` to learn each new id, a new
statement text per batch size. Here ids are taken up front from the tables' own sequences
(:func:`allocate_ids`), so children know their parents' ids before anything is written, and
each table gets one statement for all its rows (:func:`insert_rows`): ``COPY`` on
PostgreSQL, one ``executemany`` on SQLite.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import JSON, Column, Enum, Table, insert, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dueprocess.db import Base, transaction_memo

#: From this many rows PostgreSQL gets a COPY; fewer go as one INSERT (a COPY costs more
#: round trips to set up than a handful of rows save).
COPY_FROM = 16

_SEQUENCES: dict[str, str] = {}
_PG_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def _pk(table: Table) -> Column[Any]:
    return next(iter(table.primary_key.columns))


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


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (the same keys in each; values as the model's attributes take them)
    into ``model``'s table in the session's transaction: on PostgreSQL by ``COPY`` from
    :data:`COPY_FROM` rows on, otherwise (and on SQLite) by one ``executemany``. For rows
    built without ORM objects, many at a time (intake)."""
    if not rows:
        return
    table = cast(Table, model.__table__)
    if session.get_bind().dialect.name != "postgresql" or len(rows) < COPY_FROM:
        session.execute(insert(table), rows)
        return
    columns = list(rows[0])
    converters = _converters(table, tuple(columns))
    pick = operator.itemgetter(*columns)

    def converted(row: dict[str, Any]) -> list[Any]:
        values = list(pick(row)) if len(columns) > 1 else [pick(row)]
        for i, convert in converters:
            values[i] = convert(values[i])
        return values

    copy_rows(session, table.name, columns, map(converted, rows))


_CONVERTERS: dict[tuple[str, tuple[str, ...]], list[tuple[int, Any]]] = {}


def _converters(table: Table, columns: tuple[str, ...]) -> list[tuple[int, Any]]:
    """(position, converter) of the columns whose values COPY cannot take as they are."""
    key = (table.name, columns)
    found = _CONVERTERS.get(key)
    if found is None:
        found = [
            (i, convert)
            for i, name in enumerate(columns)
            if (convert := _copy_converter(table.c[name])) is not None
        ]
        _CONVERTERS[key] = found
    return found


def copy_rows(
    session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """``COPY table (columns) FROM STDIN`` of ``rows`` already in the form COPY takes (JSON
    as text, enums as their values, aware datetimes), in the session's transaction on
    PostgreSQL. For writers that build their rows in that form to begin with (the audit
    log's appends)."""
    raw: Any = session.connection().connection.dbapi_connection
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f"COPY {table} ({names}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            write = copy.write_row
            for row in rows:
                write(row)
    except psycopg.Error as exc:
        # As SQLAlchemy raises it for its own statements (IntegrityError for a duplicate key),
        # so callers catch one kind of error whichever way a row was written.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


#: COPY's text format: a backslash starts an escape, tab ends a field and newline a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_field(value: str | None) -> str:
    """``value`` as one field of COPY's text format (``\\N`` for NULL)."""
    return "\\N" if value is None else value.translate(_COPY_ESCAPES)


def copy_json(value: str) -> str:
    """Serialised JSON as one field of COPY's text format. JSON holds no raw tab, newline or
    carriage return (they are escaped inside strings), so only backslashes need doubling:
    one pass, however long the text."""
    return value.replace("\\", "\\\\")


def copy_text(session: Session, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """``COPY table (columns) FROM STDIN`` of ``lines``: rows already in COPY's text format,
    each ending in a newline (fields made with :func:`copy_field` and :func:`copy_json`),
    sent in one piece. For writers whose rows share most of their text, which they format
    once (the audit log's appends)."""
    raw: Any = session.connection().connection.dbapi_connection
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f"COPY {table} ({names}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write("".join(lines))
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def _copy_converter(column: Column[Any]) -> Any:
    """What a Python value becomes for COPY: JSON as text, enums as their value; the column
    type's own bind processing (e.g. refusing naive datetimes) for the rest; None when the
    value goes as it is."""
    if isinstance(column.type, JSON):
        return lambda value: None if value is None else orjson.dumps(value).decode()
    if isinstance(column.type, Enum):
        return lambda value: None if value is None else getattr(value, "value", value)
    return column.type.bind_processor(_PG_DIALECT)
