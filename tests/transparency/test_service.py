"""Counts computed from stored demands."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dueprocess.runtime import Runtime
from dueprocess.transparency import service as transparency
from dueprocess.transparency.periods import parse_period
from tests import factories


def test_counts_per_jurisdiction_and_kind_within_the_period(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    factories.submit(session, runtime, factories.body())
    factories.submit(session, runtime, factories.body(reference="2"))
    factories.submit(
        session,
        runtime,
        factories.body(reference="3", kind="user-data", data_categories=["subscriber"]),
    )
    factories.submit(
        session, runtime, factories.body(authority="de-bka", jurisdiction="DE", reference="4")
    )
    # Received in H1: not counted in H2.
    factories.submit(
        session,
        runtime,
        factories.body(
            reference="5", received_at="2020-06-30T23:59:59Z", deadline="2020-07-02T00:00:00Z"
        ),
    )
    session.commit()

    report = transparency.received_counts(session, parse_period("2020-H2"))
    rows = [(r.jurisdiction, r.kind.value, r.received) for r in report.rows]
    assert rows == [("DE", "removal", 1), ("HK", "removal", 2), ("HK", "user-data", 1)]
    assert report.total == 4
    assert report.rows[1].jurisdiction_name == "Hong Kong"
