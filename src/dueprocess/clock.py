"""Time, always timezone-aware UTC. A naive datetime anywhere in dueprocess is a bug."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; refuse a naive one rather than guess its zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a timezone (e.g. 2020-07-06T09:00:00+08:00)")
    return value.astimezone(UTC)


def isoformat_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, the form every export uses."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def start_of_hour(value: datetime) -> datetime:
    """The UTC hour ``value`` falls in (its first instant)."""
    return as_utc(value).replace(minute=0, second=0, microsecond=0)
