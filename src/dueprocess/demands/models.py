"""Demands, their targets and documents.

A demand is one request from one authority, received once. Decisions are per target, so a
demand naming five accounts has five :class:`Target` rows. Documents are stored by SHA-256
outside the database (see :mod:`dueprocess.documents.store`); the row keeps the hash.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime, enum_column


class DemandKind(enum.StrEnum):
    """What the authority wants done. ``user-data`` is refined by ``data_categories``."""

    USER_DATA = "user-data"
    PRESERVATION = "preservation"
    EMERGENCY_DISCLOSURE = "emergency-disclosure"
    REMOVAL = "removal"
    GEO_RESTRICTION = "geo-restriction"
    ACCOUNT_RESTRICTION = "account-restriction"
    DECRYPTION = "decryption"
    INTERCEPTION = "interception"


class DataCategory(enum.StrEnum):
    """Which user data a ``user-data`` demand asks for (the industry's three tiers)."""

    SUBSCRIBER = "subscriber"
    TRAFFIC = "traffic"
    CONTENT = "content"


class LegalProcess(enum.StrEnum):
    """The legal instrument's type, as transparency reports break demands down by it."""

    SUBPOENA = "subpoena"
    COURT_ORDER = "court-order"
    WARRANT = "warrant"
    EMERGENCY = "emergency"
    MLAT = "mlat"
    ADMINISTRATIVE_ORDER = "administrative-order"


class Channel(enum.StrEnum):
    """How the demand reached the service. The record always says which."""

    PORTAL = "portal"
    API = "api"
    EMAIL = "email"
    POST = "post"
    FAX = "fax"
    IMPORT = "import"


STAFF_CHANNELS = frozenset({Channel.EMAIL, Channel.POST, Channel.FAX, Channel.IMPORT})


class DemandStatus(enum.StrEnum):
    """Where a demand is in the flow; the allowed moves are in :mod:`dueprocess.demands.states`."""

    RECEIVED = "received"
    PAUSED = "paused"
    LEGAL_REVIEW = "legal-review"
    HUMAN_RIGHTS_REVIEW = "human-rights-review"
    AWAITING_APPROVAL = "awaiting-approval"
    DECIDED = "decided"
    ACTING = "acting"
    DONE = "done"
    REFUSED = "refused"
    REDIRECTED = "redirected"
    WITHDRAWN = "withdrawn"


class TargetType(enum.StrEnum):
    """A target is one account or one content item."""

    ACCOUNT = "account"
    CONTENT = "content"


class Demand(Base):
    """One demand. See ``docs/architecture.md`` for the meaning of each field."""

    __tablename__ = "demand"
    __table_args__ = (
        UniqueConstraint("authority_id", "idempotency_key", name="uq_demand_idempotency"),
        Index("ix_demand_status_received", "status", "received_at"),
        Index("ix_demand_authority_received", "authority_id", "received_at"),
        # A review queue's order (docs/review.md, "Queues"): the demands waiting in one
        # status, emergencies first, then the earliest due; ``id`` breaks ties. Each of the
        # two parts of a queue (emergencies, the rest) is one range of this index, read in
        # order from a page's cursor, so a page deep in a queue costs what the first does.
        Index("ix_demand_queue", "status", "emergency", "due_at", "id"),
        # The same per assignee ("yours"), over assigned demands only: most wait unassigned,
        # and intake, which writes them, need not pay for an entry.
        Index(
            "ix_demand_assignee_queue",
            "assignee_id",
            "status",
            "emergency",
            "due_at",
            "id",
            postgresql_where=text("assignee_id IS NOT NULL"),
            sqlite_where=text("assignee_id IS NOT NULL"),
        ),
        # What intake looks a repeated demand up by (dueprocess.intake.record.Repeats). The
        # request hash covers the reference, so only demands without one are looked up by it.
        Index("ix_demand_reference", "reference", "authority_id"),
        Index(
            "ix_demand_request_hash",
            "request_hash",
            postgresql_where=text("reference IS NULL"),
            sqlite_where=text("reference IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the first column of ix_demand_authority_received.
    authority_id: Mapped[int] = mapped_column(ForeignKey("authority.id"))
    officer_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    reference: Mapped[str | None] = mapped_column(String(200))
    jurisdiction: Mapped[str] = mapped_column(String(8), index=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    sender: Mapped[str | None] = mapped_column(String(320))
    kind: Mapped[DemandKind] = mapped_column(enum_column(DemandKind), index=True)
    legal_process: Mapped[LegalProcess] = mapped_column(enum_column(LegalProcess))
    legal_basis_instrument: Mapped[str] = mapped_column(String(500))
    legal_basis_article: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    period_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    penalty: Mapped[str | None] = mapped_column(Text)
    gag_order_basis: Mapped[str | None] = mapped_column(Text)
    gag_order_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emergency_justification: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DemandStatus] = mapped_column(
        enum_column(DemandStatus), default=DemandStatus.RECEIVED
    )
    verification_state: Mapped[str | None] = mapped_column(String(20))
    verification_confidence: Mapped[int | None] = mapped_column(Integer)
    verification_reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stance: Mapped[str | None] = mapped_column(String(20))
    stance_condition: Mapped[str | None] = mapped_column(Text)
    policy_version_id: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Review (dueprocess.review): what a queue filters and sorts on, on this row so that one
    # index serves a queue page. ``revision`` counts moves and decision changes: a form
    # carries the revision it was loaded at and is refused as stale when it differs.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The earlier of the legal deadline and the service's own target for the kind (every demand
    #: has one: the target always applies).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: An emergency disclosure, or any demand made under the emergency process: the head of
    #: every queue (:func:`dueprocess.review.deadlines.is_emergency`). Fixed at intake, as
    #: the kind and process it is read from are; a column so that the queue's index can
    #: lead with it.
    emergency: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    human_rights_required: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    #: Derived from the targets' decisions once decided (``dueprocess.review``).
    outcome: Mapped[str | None] = mapped_column(String(30))

    targets: Mapped[list[Target]] = relationship(
        back_populates="demand", order_by="Target.position", cascade="all, delete-orphan"
    )
    documents: Mapped[list[Document]] = relationship(
        back_populates="demand", order_by="Document.id", cascade="all, delete-orphan"
    )


class Target(Base):
    """One account or content item a demand names; decisions are made per target."""

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("demand_id", "type", "identifier", name="uq_target_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed as the first column of uq_target_item.
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[TargetType] = mapped_column(enum_column(TargetType))
    identifier: Mapped[str] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(Text)

    demand: Mapped[Demand] = relationship(back_populates="targets")


class Document(Base):
    """A file that came with a demand. The bytes live in the document store under ``sha256``."""

    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    demand: Mapped[Demand] = relationship(back_populates="documents")


class ReplyKind(enum.StrEnum):
    """What a reply to the requester says."""

    ACKNOWLEDGEMENT = "acknowledgement"
    HOLDING = "holding"
    REFUSAL = "refusal"
    REDIRECT = "redirect"
    NO_SERVICE = "no-service"
    DECISION = "decision"


class Reply(Base):
    """A message to the requesting authority, queued until sent (``sent_at``)."""

    __tablename__ = "reply"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    kind: Mapped[ReplyKind] = mapped_column(enum_column(ReplyKind))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    demand: Mapped[Demand] = relationship()


class Callback(Base):
    """A call-back to a number from the authority registry (never one from the request),
    recorded by staff before an emergency disclosure may be acted on.
    """

    __tablename__ = "callback"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    number: Mapped[str] = mapped_column(String(40))
    called_by: Mapped[str] = mapped_column(String(200))
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed: Mapped[bool] = mapped_column(Boolean)
    notes: Mapped[str] = mapped_column(Text, default="")


class Upload(Base):
    """A document uploaded ahead of the demand that will cite it by SHA-256 (streamed to the
    store; the row records who uploaded it, so only they can attach it).
    """

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    media_type: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
