"""What the API says of an action, and what staff send to revoke one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class ActionOut(BaseModel):
    """An action as staff see it: what it does, where it is, and its last error."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    demand_id: int
    target_id: int | None
    kind: str
    status: str
    attempts: int
    max_attempts: int
    not_before: datetime
    last_error: str | None
    result: dict[str, Any] | None
    created_at: datetime
    finished_at: datetime | None


class RevokeIn(BaseModel):
    """Why the action is cancelled (recorded in the audit log)."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
    ] = Field(description="Why the action is revoked")
