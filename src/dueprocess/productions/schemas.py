"""Output of productions for the API and the portal."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class ProductionOut(BaseModel):
    """A production as the requesting authority and staff see it (never its bytes or where
    they are kept). ``status``: ``available`` (may be downloaded once, until
    ``expires_at``), ``downloaded``, ``expired`` or ``revoked``."""

    id: int
    demand_id: int
    target_id: int | None
    name: str
    manifest_sha256: str
    archive_sha256: str
    stored_sha256: str
    size: int
    encrypted_to: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    downloaded_at: datetime | None
    status: Literal["available", "downloaded", "expired", "revoked"] = "available"
