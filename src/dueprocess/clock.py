"""Time, always timezone-aware UTC. A naive datetime anywhere in dueprocess is a bug."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_PINNED: ContextVar[datetime | None] = ContextVar("dueprocess_clock_pinned", default=None)


def utcnow() -> datetime:
    """The current instant in UTC, timezone-aware (the pinned one inside :func:`pinned`)."""
    return _PINNED.get() or datetime.now(UTC)


@contextmanager
def pinned(at: datetime) -> Iterator[None]:
    """Inside the block, :func:`utcnow` is ``at``, in this thread (or task) only.

    For recording history as of its own time through the real services: the demo loads its
    July 2020 scenario this way, so that a demand's events, replies and rows carry the
    scenario's time rather than the day it was loaded. Never used while serving.
    """
    token = _PINNED.set(as_utc(at))
    try:
        yield
    finally:
        _PINNED.reset(token)


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
