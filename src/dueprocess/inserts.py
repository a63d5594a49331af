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

import enum
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
import psycopg
from sqlalchemy import JSON, Column, Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dueprocess.db import Base, transaction_memo

#: From this many rows PostgreSQL gets a COPY; fewer go as one INSERT (a COPY costs more
#: round trips to set up than a handful of rows save).
COPY_FROM = 16

_SEQUENCES: dict[str, str] = {}


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
    columns = tuple(rows[0])
    copy_text(session, table.name, columns, copy_lines(table, columns, rows))


def copy_lines(table: Table, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> list[str]:
    """``rows`` of ``table`` as lines of COPY's text format, ``columns`` in that order: JSON
    columns serialised; otherwise by the value's type: text escaped, enums by their value,
    datetimes as ISO 8601 (naive ones refused, as :class:`~dueprocess.db.UTCDateTime` does),
    ``None`` as NULL. What rows of a group share (the same reasons list, the same instant)
    is formatted once per call."""
    json_columns = frozenset(name for name in columns if isinstance(table.c[name].type, JSON))
    plan = [(name, name in json_columns) for name in columns]
    escapes, special, memo = _COPY_ESCAPES, _NEEDS_ESCAPE, dict[int, str]()
    lines = []
    for row in rows:
        fields: list[str] = []
        append = fields.append
        for name, is_json in plan:
            value = row[name]
            kind = type(value)
            if kind is str and not is_json:
                append(value.translate(escapes) if special(value) else value)
            elif kind is int and not is_json:
                append(str(value))
            elif value is None:
                append("\\N")
            else:  # by identity: valid while the rows (which hold the values) are alive
                text = memo.get(id(value))
                if text is None:
                    text = memo[id(value)] = (_json_field if is_json else _other_field)(value)
                append(text)
        lines.append("\t".join(fields) + "\n")
    return lines


def _json_field(value: object) -> str:
    return copy_json(orjson.dumps(value).decode())


def _other_field(value: object) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, enum.Enum):
        return copy_field(str(value.value))
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} reached the database")
        return value.isoformat()
    raise TypeError(f"no COPY text form for a value of type {type(value).__name__}")


#: COPY's text format: a backslash starts an escape, tab ends a field and newline a row.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


#: Whether a text needs escaping at all: a scan in C, where ``str.translate`` with a table
#: looks up every character (most text has nothing to escape).
_NEEDS_ESCAPE = re.compile("[\\\\\t\n\r]").search


def copy_field(value: str | None) -> str:
    """``value`` as one field of COPY's text format (``\\N`` for NULL)."""
    if value is None:
        return "\\N"
    return value.translate(_COPY_ESCAPES) if _NEEDS_ESCAPE(value) else value


def copy_json(value: str) -> str:
    """Serialised JSON as one field of COPY's text format. JSON holds no raw tab, newline or
    carriage return (they are escaped inside strings), so only backslashes need doubling:
    one pass, however long the text."""
    return value.replace("\\", "\\\\")


def copy_text(session: Session, table: str, columns: Sequence[str], lines: Iterable[str]) -> None:
    """``COPY table (columns) FROM STDIN`` of ``lines``: rows already in COPY's text format,
    each ending in a newline (fields made with :func:`copy_field` and :func:`copy_json`),
    sent in one piece: :func:`insert_rows` (lines from :func:`copy_lines`), and the audit
    log's appends, whose rows share most of their text and format it once."""
    raw: Any = session.connection().connection.dbapi_connection
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f"COPY {table} ({names}) FROM STDIN"
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write("".join(lines))
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
