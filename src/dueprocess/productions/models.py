"""The production table: one row per package sealed for a demand (or one of its targets).

The bytes are a file under the data directory (``path``, relative to it), never in the
database; the row keeps their hashes, who they were sealed to, and their life: available
until ``expires_at``, then refused; revoked (by whom, why) before anyone downloads it; or
downloaded once (when, by which officer).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime


class Production(Base):
    """A sealed package. ``manifest_sha256`` is what the audit log recorded before the
    package was available; ``archive_sha256`` is of the plain tar (what the manifest's
    files are packed in); ``stored_sha256`` and ``size`` of the bytes kept and sent (the tar
    encrypted to ``encrypted_to`` when the authority has an age key, else the tar itself)."""

    __tablename__ = "production"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("target.id"))
    name: Mapped[str] = mapped_column(String(200))
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    archive_sha256: Mapped[str] = mapped_column(String(64))
    stored_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    encrypted_to: Mapped[str | None] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    downloaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    downloaded_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
