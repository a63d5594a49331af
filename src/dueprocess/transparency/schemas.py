"""Output of transparency reports."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from dueprocess.demands.models import DemandKind


class CountRow(BaseModel):
    """Demands received in the period from one jurisdiction, of one kind."""

    jurisdiction: str
    jurisdiction_name: str
    kind: DemandKind
    received: int


class CountsReport(BaseModel):
    """Demands received per jurisdiction and kind over a period."""

    period: str
    start: datetime
    end: datetime
    total: int
    rows: list[CountRow]
