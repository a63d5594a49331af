"""The audit log's tables: events (a hash chain) and signed checkpoints of its head.

Rows are only ever inserted. ``seq`` is assigned by the writer under a lock (see
:func:`dueprocess.audit.service.record`), never by a database sequence, so that the chain
has no gaps and two events never claim the same predecessor.

On PostgreSQL events pass through :class:`AuditStaging` on their way in: a deferred trigger
(migration ``0002``) chains them at ``COMMIT``, inside the database, so the writers' lock is
held for microseconds of server time instead of across client round trips.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from dueprocess.db import Base, UTCDateTime


class AuditEvent(Base):
    """One thing that happened. ``hash`` covers every other column (see docs/audit-format.md)."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject: Mapped[str | None] = mapped_column(String(200), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))  # unique by construction: it covers seq


class AuditCheckpoint(Base):
    """A signature over the chain's head at ``seq``, made with a key kept outside the database.

    ``prev_seq`` and ``prev_head`` name the checkpoint before it in the log (0 and the
    genesis hash for the first), and are signed with it, so a deleted checkpoint shows. They
    are NULL in checkpoints signed before they existed (v1; docs/audit-format.md).
    """

    __tablename__ = "audit_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, ForeignKey("audit_event.seq"), index=True)
    head: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))
    prev_seq: Mapped[int | None] = mapped_column(BigInteger)
    prev_head: Mapped[str | None] = mapped_column(String(64))


class AuditStaging(Base):
    """An event on its way into the chain, PostgreSQL only; always empty outside a transaction.

    The writer inserts the event with its canonical form split around ``prev`` and ``seq``
    (``head``: the object up to and including ``data``; ``tail``: ``subject`` to the end,
    see docs/audit-format.md). At ``COMMIT`` the deferred constraint trigger
    ``audit_chain`` takes the writers' lock, reads the chain's head, hashes
    ``head + "prev":"<prev>","seq":<seq>, + tail`` with the database's ``sha256``, inserts
    the :class:`AuditEvent` and deletes this row. UNLOGGED: its rows never outlive their
    transaction, so they need no WAL.
    """

    __tablename__ = "audit_staging"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    head: Mapped[bytes] = mapped_column(LargeBinary)
    tail: Mapped[bytes] = mapped_column(LargeBinary)
