"""Time, always timezone-aware UTC. A naive datetime anywhere in dueprocess is a bug.

:data:`Instant` is the type of every date and time a person or a program sends in (the
demand's fields, the what-if's ``at``): it must carry an offset, and the instant it names
must exist in UTC. ``9999-12-31T23:59:59-23:59`` is a valid ISO 8601 time whose UTC instant
falls in the year 10000, which Python's datetime cannot hold; it is refused as bad input
naming its field, never left to fail later as an :class:`OverflowError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator

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
    """Convert an aware datetime to UTC.

    :class:`ValueError` (with a sentence fit for a requester) for a naive datetime, whose
    zone is never guessed, and for one whose UTC instant falls outside years 1 to 9999
    (``0001-01-01T00:00:00+23:59``), which no datetime can hold.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetime must carry a timezone (e.g. 2020-07-06T09:00:00+08:00)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is outside the dates that can be recorded: "
            "in UTC it must fall between the years 1 and 9999"
        ) from None


_ISO_DATE = re.compile(r"\s*[+-]?\d{4,}-")


def _not_a_number(value: object) -> object:
    """Refuse what pydantic would read as seconds since 1970 (``0``, ``"1594085400"``): a
    number carries no offset, and ``"received_at": 0`` is a mistake, not 1970."""
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError(
            "must be an ISO 8601 date and time with its offset, such as 2020-07-07T09:30:00+08:00"
        )
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(
            "must be an ISO 8601 date and time with its offset, such as "
            "2020-07-07T09:30:00+08:00, not a number"
        )
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_not_a_number), AfterValidator(as_utc)]
"""An input date and time: ISO 8601 with an offset (a number is refused), converted to UTC on
the way in (see the module)."""


def isoformat_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix, the form every export uses."""
    return as_utc(value).isoformat().replace("+00:00", "Z")


def start_of_hour(value: datetime) -> datetime:
    """The UTC hour ``value`` falls in (its first instant)."""
    return as_utc(value).replace(minute=0, second=0, microsecond=0)
