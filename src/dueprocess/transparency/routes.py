"""HTTP for transparency numbers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from dueprocess.accounts.permissions import Permission
from dueprocess.errors import InvalidInput
from dueprocess.transparency import service as transparency
from dueprocess.transparency.periods import parse_period
from dueprocess.transparency.schemas import CountsReport
from dueprocess.web.auth import requires
from dueprocess.web.deps import unit_of_work

api = APIRouter(prefix="/api/v1/transparency", tags=["transparency"])


@api.get(
    "/counts",
    response_model=CountsReport,
    summary="Demands received per jurisdiction and kind",
    dependencies=[Depends(requires(Permission.REPORTS_READ))],
)
def counts(
    request: Request,
    period: Annotated[
        str, Query(description="YYYY, YYYY-H1/H2, YYYY-Qn or YYYY-MM", examples=["2020-H2"])
    ],
) -> CountsReport:
    """Counts computed from the stored demands."""
    try:
        parsed = parse_period(period)
    except ValueError as exc:
        raise InvalidInput.one(("query", "period"), str(exc)) from exc
    with unit_of_work(request) as session:
        return transparency.received_counts(session, parsed)
