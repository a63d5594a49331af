"""The authorities' hourly volume (``received_volume``) is kept by intake and filled by its
migration from the demands already stored: either way it equals a count of the demands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import STRIPES, ReceivedVolume
from dueprocess.clock import start_of_hour
from dueprocess.db import make_engine
from dueprocess.demands.models import Demand
from dueprocess.migrations import downgrade, upgrade
from dueprocess.runtime import Runtime
from tests import factories


def _volume(session: Session) -> dict[tuple[int, datetime], int]:
    """The count per authority and hour: the sum of its stripes."""
    rows = session.execute(
        select(ReceivedVolume.authority_id, ReceivedVolume.hour, ReceivedVolume.received)
    )
    found: dict[tuple[int, datetime], int] = {}
    for a, h, n in rows:
        found[(a, h)] = found.get((a, h), 0) + n
    return found


def _counted(session: Session) -> dict[tuple[int, datetime], int]:
    found: dict[tuple[int, datetime], int] = {}
    for authority_id, received_at in session.execute(
        select(Demand.authority_id, Demand.received_at)
    ):
        key = (authority_id, start_of_hour(received_at))
        found[key] = found.get(key, 0) + 1
    return found


def _submit_across_hours(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    times = ["2020-07-07T09:00:00+08:00", "2020-07-07T09:59:59.999999+08:00",
             "2020-07-07T10:00:00+08:00", "2020-07-08T23:30:00+08:00"]  # fmt: skip
    for n, at in enumerate(times):
        body = factories.body(received_at=at, deadline=None, reference=f"HK-{n}")
        factories.submit(session, runtime, body)
    bka = {
        "authority": "de-bka",
        "jurisdiction": "DE",
        "legal_basis": {"instrument": "Strafprozessordnung", "article": "§ 100a"},
        "received_at": None,
        "deadline": None,
    }
    factories.submit(session, runtime, factories.body(**bka))
    session.commit()


def test_intake_counts_each_demand_in_its_authoritys_hour(
    session: Session, runtime: Runtime
) -> None:
    _submit_across_hours(session, runtime)
    volume = _volume(session)
    assert volume == _counted(session)
    assert sorted(volume.values()) == [1, 1, 1, 2], "09:00 and 09:59 share an hour"
    first = datetime(2020, 7, 7, 1, tzinfo=UTC)
    assert volume[(1, first)] == 2


def test_writers_spread_over_the_stripes_of_an_hour_and_readers_sum_them(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    session.commit()
    for n in range(40):  # one transaction each, as concurrent requests would be
        factories.submit(session, runtime, factories.body(reference=f"S-{n}"))
        session.commit()
    stripes = session.scalars(select(ReceivedVolume.stripe)).all()
    assert len(stripes) == len(set(stripes)) > 1, "one row per stripe used, several used"
    assert set(stripes) <= set(range(STRIPES))
    assert _volume(session) == _counted(session) == {(1, datetime(2020, 7, 7, 1, tzinfo=UTC)): 40}
    split = datetime(2020, 7, 7, 0, tzinfo=UTC)
    since = split - timedelta(days=1)
    assert authorities.received_volume(session, 1, since=since, split=split) == (0, 40)


def test_the_last_day_and_the_baseline_are_read_by_the_hour(
    session: Session, runtime: Runtime
) -> None:
    _submit_across_hours(session, runtime)
    split = datetime(2020, 7, 8, 15, 45, tzinfo=UTC)  # the 23:30+08:00 demand is after it
    since = split - timedelta(days=30)
    assert authorities.received_volume(session, 1, since=since, split=split) == (3, 1)
    # Bounds go back to the start of their hour: 01:59 still counts the 01:00 hour as recent.
    late = datetime(2020, 7, 7, 1, 59, tzinfo=UTC)
    assert authorities.received_volume(session, 1, since=since, split=late) == (0, 4)


def test_a_savepoint_that_rolls_back_takes_its_arrivals_out_of_the_count(
    session: Session, runtime: Runtime
) -> None:
    # The import writes each group in a SAVEPOINT and, if the database refuses the group,
    # writes its rows again one by one: they must not be counted twice in the volume the
    # rest of the transaction's demands are assessed with.
    factories.authority(session)
    session.commit()
    now = datetime(2020, 7, 8, 12, 0, tzinfo=UTC)
    assert authorities.volume(session, 1, now, [now, now]) == (0, 2)
    savepoint = session.begin_nested()
    assert authorities.volume(session, 1, now, [now] * 5) == (0, 7)
    savepoint.rollback()  # the database refused the group
    assert authorities.volume(session, 1, now, []) == (0, 2)
    with session.begin_nested():  # kept: its arrivals stay counted
        assert authorities.volume(session, 1, now, [now]) == (0, 3)
    assert authorities.volume(session, 1, now, []) == (0, 3)
    session.rollback()


def test_the_migration_fills_the_volume_from_the_stored_demands(
    fresh_url: str, tmp_path: Path
) -> None:
    from dueprocess.config import Settings

    engine = make_engine(fresh_url, pool=False)
    upgrade(engine)
    runtime = Runtime(
        Settings(
            database_url=fresh_url,
            data_dir=tmp_path / "data",
            demo_database_url=f"sqlite:///{tmp_path / 'microblog.db'}",
        )
    )
    try:
        with runtime.sessions() as session:
            _submit_across_hours(session, runtime)
            expected = _counted(session)
            session.execute(delete(ReceivedVolume))
            session.commit()
        downgrade(engine, "0003")
        upgrade(engine)
        with runtime.sessions() as session:
            assert _volume(session) == expected
            assert session.scalar(select(func.count()).select_from(Demand)) == 5
    finally:
        runtime.close()
        engine.dispose()
