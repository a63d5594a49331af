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
