"""The authority registry: who may make demands, and the channels to check them against."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime, enum_column


class AuthorityKind(enum.StrEnum):
    """What sort of body an authority is (transparency reports group requesters by it)."""

    POLICE = "police"
    COURT = "court"
    PROSECUTOR = "prosecutor"
    REGULATOR = "regulator"
    GOVERNMENT = "government"
    INTELLIGENCE = "intelligence"
    OTHER = "other"


class AuthorityStatus(enum.StrEnum):
    """Whether demands from this authority are trusted as coming from it."""

    UNVERIFIED = "unverified"
    VERIFIED = "verified"
    SUSPENDED = "suspended"


class Authority(Base):
    """A body that makes demands. ``slug`` is the stable handle requesters and files use."""

    __tablename__ = "authority"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    jurisdiction: Mapped[str] = mapped_column(String(8), index=True)
    kind: Mapped[AuthorityKind] = mapped_column(enum_column(AuthorityKind))
    status: Mapped[AuthorityStatus] = mapped_column(
        enum_column(AuthorityStatus), default=AuthorityStatus.UNVERIFIED
    )
    official_domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone_numbers: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The age X25519 public key (``age1...``) productions for this authority are encrypted
    #: to; None: it has none, and a production is offered as an expiring download in the
    #: portal to its officers only (docs/productions.md).
    age_recipient: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReceivedVolume(Base):
    """How many demands an authority sent per hour of receipt: what requester verification's
    volume signal reads (a few thousand rows per authority for its whole window, where a
    count of its demands grows with them). Kept by intake, in the transaction that writes
    the demands (:func:`dueprocess.authorities.volume.count_received`), each writer adding to
    one of :data:`STRIPES` rows of the hour so that concurrent writers seldom wait for each
    other; the hour's count is their sum."""

    __tablename__ = "received_volume"

    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    received: Mapped[int] = mapped_column(Integer)


#: Rows per authority and hour in :class:`ReceivedVolume`.
STRIPES = 8
