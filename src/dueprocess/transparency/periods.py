"""Reporting periods as the field writes them: ``2020``, ``2020-H2``, ``2020-Q3``, ``2020-07``.

A period is a half-open UTC interval ``[start, end)``, so consecutive periods never share an
instant and every demand falls in exactly one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_PERIOD_RE = re.compile(
    r"^(?P<year>\d{4})(?:-(?:(?P<half>H[12])|(?P<quarter>Q[1-4])|(?P<month>\d{2})))?$"
)


@dataclass(frozen=True)
class Period:
    """A named interval ``[start, end)`` in UTC."""

    name: str
    start: datetime
    end: datetime


def _month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=UTC)


def parse_period(text: str) -> Period:
    """Parse a period name; :class:`ValueError` with the accepted forms if it is not one."""
    match = _PERIOD_RE.match(text.strip().upper())
    if not match:
        raise ValueError(
            f"unknown period {text!r}: use YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM (e.g. 2020-H2)"
        )
    year = int(match["year"])
    if match["half"]:
        first, months = (1 if match["half"] == "H1" else 7), 6
    elif match["quarter"]:
        first, months = 3 * (int(match["quarter"][1]) - 1) + 1, 3
    elif match["month"]:
        first, months = int(match["month"]), 1
        if not 1 <= first <= 12:
            raise ValueError(
                f"unknown period {text!r}: month must be 01 to 12 "
                "(use YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM)"
            )
    else:
        first, months = 1, 12
    return Period(
        name=text.strip().upper(),
        start=_month_start(year, first),
        end=_month_start(year, first + months),
    )
