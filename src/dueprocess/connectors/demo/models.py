"""The microblog's own tables, in its own database (not dueprocess's)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dueprocess.db import UTCDateTime


class MicroblogBase(DeclarativeBase):
    """Separate metadata: the demo service's schema is not part of dueprocess's migrations."""

    metadata = MetaData()


class MicroblogAccount(MicroblogBase):
    """An account on the microblog."""

    __tablename__ = "mb_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MicroblogPost(MicroblogBase):
    """A post; ``language`` is a BCP 47 tag (``en``, ``zh-Hant``)."""

    __tablename__ = "mb_post"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mb_account.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MicroblogLogin(MicroblogBase):
    """A sign-in to an account: the traffic data the microblog keeps."""

    __tablename__ = "mb_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mb_account.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(45))
    device: Mapped[str] = mapped_column(String(200))


class MicroblogRestriction(MicroblogBase):
    """A restriction on a post (``post_id``) or an account (``account_id``), one of the two.

    ``action`` is a :class:`~dueprocess.connectors.spec.RestrictAction` value;
    ``jurisdictions`` the space-separated country codes a ``withhold`` applies in. Live
    until ``lifted_at``.
    """

    __tablename__ = "mb_restriction"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("mb_post.id"), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("mb_account.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    jurisdictions: Mapped[str] = mapped_column(String(1000), default="")
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MicroblogMessage(MicroblogBase):
    """A message the service sent to an account (its inbox)."""

    __tablename__ = "mb_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("mb_account.id"), index=True)
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MicroblogApplied(MicroblogBase):
    """An action the connector applied, by its idempotency key: what it was (``fingerprint``,
    a SHA-256 of the hook and its arguments) and what it answered (``reference``,
    ``applied_at``, and for an export the records, as JSON). The unique key is what makes a
    second call with the same key, even a concurrent one, apply nothing."""

    __tablename__ = "mb_applied"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(200))
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str | None] = mapped_column(Text)
