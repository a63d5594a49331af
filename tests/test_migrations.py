"""Models and migrations cannot drift: the migrated schema equals the models' schema."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from dueprocess.config import Settings
from dueprocess.db import make_engine
from dueprocess.demands.models import Demand
from dueprocess.migrations import downgrade, drift, upgrade
from dueprocess.review import deadlines
from dueprocess.review.models import DemandSearch
from dueprocess.runtime import Runtime
from tests import factories


def test_migrated_database_matches_models(database_url: str) -> None:
    engine = make_engine(database_url, pool=False)
    try:
        upgrade(engine)  # already at head: must be a no-op
        assert drift(engine) == []
    finally:
        engine.dispose()


def test_review_columns_are_backfilled_for_demands_received_before_them(
    fresh_url: str, tmp_path: Path
) -> None:
    """Migration 0008 gives every stored demand its due time (the earlier of its deadline
    and the service's target for its kind) and revision 0."""
    engine = make_engine(fresh_url, pool=False)
    upgrade(engine)
    runtime = Runtime(Settings(database_url=fresh_url, data_dir=tmp_path / "data"))
    try:
        with runtime.sessions() as session:
            factories.authority(session)
            with_deadline = factories.submit(session, runtime, factories.body()).demand
            without = factories.submit(
                session, runtime, factories.body(deadline=None, reference="NSD/2")
            ).demand
            expected = {
                d.id: deadlines.due_at(d.received_at, d.deadline, d.kind)
                for d in (with_deadline, without)
            }
            session.commit()
        downgrade(engine, "0007")
        upgrade(engine)
        with runtime.sessions() as session:
            rows = session.execute(select(Demand.id, Demand.due_at, Demand.revision)).all()
        assert {i: due for i, due, _ in rows} == expected
        assert {revision for _, _, revision in rows} == {0}
    finally:
        runtime.close()
        engine.dispose()


def test_queue_columns_and_search_rows_are_filled_for_demands_stored_before_them(
    fresh_url: str, tmp_path: Path
) -> None:
    """Migration 0009 marks stored emergencies and writes every stored demand's search row
    exactly as intake writes it."""
    engine = make_engine(fresh_url, pool=False)
    upgrade(engine)
    runtime = Runtime(Settings(database_url=fresh_url, data_dir=tmp_path / "data"))
    try:
        with runtime.sessions() as session:
            factories.authority(session)
            plain = factories.submit(session, runtime, factories.body(summary="光復香港 Protest"))
            urgent = factories.submit(
                session,
                runtime,
                factories.body(
                    reference="NSD/E",
                    kind="emergency-disclosure",
                    legal_process="emergency",
                    emergency_justification="a life is at risk",
                    data_categories=["subscriber"],
                    targets=[{"type": "account", "id": "@SomeOne"}],
                ),
            )
            session.commit()
            written = session.execute(select(DemandSearch.demand_id, DemandSearch.text,
                                             DemandSearch.terms)).all()  # fmt: skip
        assert len(written) == 2
        downgrade(engine, "0008")
        upgrade(engine)
        with runtime.sessions() as session:
            again = session.execute(
                select(DemandSearch.demand_id, DemandSearch.text, DemandSearch.terms)
            ).all()
            emergency = {i: e for i, e in session.execute(select(Demand.id, Demand.emergency))}
        assert sorted(again) == sorted(written)
        assert emergency == {plain.demand.id: False, urgent.demand.id: True}
        assert "@someone" in dict((i, t) for i, t, _ in again)[urgent.demand.id]
    finally:
        runtime.close()
        engine.dispose()
