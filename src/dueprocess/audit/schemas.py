"""The audit search's input and output, for the API and the /audit page alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

MAX_OFFSET = 10**12
"""Far past any log, and well inside what every database binds as an integer."""


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("give a time zone, e.g. 2020-07-06T00:00:00Z or 2020-07-06T08:00:00+08:00")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in year 0 in UTC
        raise ValueError("is outside the years 1 to 9999 once converted to UTC") from None


def _not_a_number(value: Any) -> Any:
    # pydantic reads a number (or a string of one) as seconds since 1970: a search "until
    # 0.5" is a mistake, not 1970.
    text = value.strip() if isinstance(value, str) else None
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (text is not None and text.replace(".", "", 1).lstrip("-").isdigit()):
        raise ValueError(
            "give a date and time with its zone, e.g. 2020-07-06T00:00:00Z, not a number"
        )
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_utc)]


class AuditQuery(BaseModel):
    """What to search for; every filter given must match. Empty ones are left out."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    action: str | None = Field(
        None,
        max_length=100,
        description="A dotted action or its first parts: `policy` finds `policy` and "
        "`policy.*`; end in `*` for any text after it (`demand.sub*`).",
    )
    actor: str | None = Field(
        None,
        max_length=320,
        description="Who acted: `account:12`, an account's number (`12`) or its e-mail, "
        "`system`, `cli:name`.",
    )
    subject: str | None = Field(None, max_length=200, description="e.g. `demand:42`")
    since: UtcDatetime | None = Field(None, description="From this time on, with its zone.")
    until: UtcDatetime | None = Field(None, description="Before this time, with its zone.")
    limit: int = Field(200, ge=1, le=1000, description="Events per page.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Events to skip (newest first).")

    @field_validator("action", "actor", "subject", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError("must be after since")
        return value

    def filters(self) -> dict[str, Any]:
        """The filters given, as :func:`dueprocess.audit.service.search` takes them."""
        fields = ("action", "actor", "subject", "since", "until")
        return {name: getattr(self, name) for name in fields if getattr(self, name) is not None}


class AuditEventOut(BaseModel):
    """An event exactly as hashed (docs/audit-format.md)."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str | None
    data: dict[str, Any]
    prev: str
    hash: str


class AuditPage(BaseModel):
    """One page of matching events, newest first, and how many match in all."""

    total: int
    offset: int
    limit: int
    events: list[AuditEventOut]
