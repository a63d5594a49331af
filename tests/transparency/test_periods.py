"""Reporting periods."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dueprocess.transparency.periods import parse_period


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2020-H2", datetime(2020, 7, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
        ("2020-h1", datetime(2020, 1, 1, tzinfo=UTC), datetime(2020, 7, 1, tzinfo=UTC)),
        ("2020-Q4", datetime(2020, 10, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
        ("2020-07", datetime(2020, 7, 1, tzinfo=UTC), datetime(2020, 8, 1, tzinfo=UTC)),
        ("2020-12", datetime(2020, 12, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
        ("2020", datetime(2020, 1, 1, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
    ],
)
def test_periods(text: str, start: datetime, end: datetime) -> None:
    period = parse_period(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2020-H3", "2020-13", "20-H1", "2020-Q5", "last year"])
def test_bad_periods_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-H1/H2"):
        parse_period(text)
