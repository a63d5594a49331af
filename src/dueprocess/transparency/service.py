"""Transparency computations. They read other domains through their services; never write."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dueprocess import jurisdictions
from dueprocess.demands import service as demands
from dueprocess.transparency.periods import Period
from dueprocess.transparency.schemas import CountRow, CountsReport


def received_counts(session: Session, period: Period) -> CountsReport:
    """Demands received in ``period``, per jurisdiction and kind, from the stored demands."""
    rows = [
        CountRow(
            jurisdiction=code,
            jurisdiction_name=jurisdictions.name_of(code),
            kind=kind,
            received=n,
        )
        for code, kind, n in demands.received_counts(session, period.start, period.end)
    ]
    return CountsReport(
        period=period.name,
        start=period.start,
        end=period.end,
        total=sum(r.received for r in rows),
        rows=rows,
    )
