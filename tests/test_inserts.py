"""Rows written in one statement per table: ids taken up front, values as the models take
them, on either database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from dueprocess import inserts
from dueprocess.demands.models import Channel, Demand, DemandKind, Target, TargetType
from tests import factories


def _demand_row(demand_id: int, authority_id: int) -> dict[str, object]:
    return {
        "id": demand_id,
        "authority_id": authority_id,
        "officer_id": None,
        "reference": "光復 R-1",
        "jurisdiction": "HK",
        "channel": Channel.API,
        "sender": None,
        "kind": DemandKind.REMOVAL,
        "legal_process": "administrative-order",
        "legal_basis_instrument": "NSL",
        "legal_basis_article": "43",
        "summary": "",
        "data_categories": ["subscriber"],
        "period_start": None,
        "period_end": None,
        "received_at": datetime(2020, 7, 7, 1, 30, 0, 123456, tzinfo=UTC),
        "deadline": None,
        "due_at": datetime(2020, 7, 10, 1, 30, tzinfo=UTC),
        "penalty": None,
        "gag_order_basis": None,
        "gag_order_until": None,
        "emergency_justification": None,
        "status": "received",
        "verification_state": "unverified",
        "verification_confidence": 10,
        "verification_reasons": [{"signal": "x", "effect": -1}],
        "stance": "process",
        "stance_condition": None,
        "policy_version_id": None,
        "idempotency_key": None,
        "request_hash": "ab" * 32,
        "created_at": datetime(2020, 7, 7, 2, 0, tzinfo=UTC),
    }


def test_rows_read_back_through_the_models_as_written(session: Session) -> None:
    authority = factories.authority(session)
    session.commit()
    ids = inserts.allocate_ids(session, cast(Table, Demand.__table__), 2)
    assert len(set(ids)) == 2
    inserts.insert_rows(session, Demand, [_demand_row(i, authority.id) for i in ids])
    inserts.insert_rows(
        session,
        Target,
        [
            {
                "demand_id": i,
                "position": 0,
                "type": TargetType.CONTENT,
                "identifier": f"t{i}",
                "note": None,
            }
            for i in ids
        ],
    )
    session.commit()
    demand = session.get(Demand, ids[1])
    assert demand is not None
    assert demand.reference == "光復 R-1"
    assert demand.kind is DemandKind.REMOVAL
    assert demand.data_categories == ["subscriber"]
    assert demand.verification_reasons == [{"signal": "x", "effect": -1}]
    assert demand.received_at == datetime(2020, 7, 7, 1, 30, 0, 123456, tzinfo=UTC)
    assert [t.identifier for t in demand.targets] == [f"t{ids[1]}"]
    session.rollback()


def test_ids_handed_out_in_one_transaction_are_never_handed_out_twice(session: Session) -> None:
    table = cast(Table, Demand.__table__)
    first = inserts.allocate_ids(session, table, 3)
    second = inserts.allocate_ids(session, table, 2)  # nothing written in between
    assert len(set(first + second)) == 5
    assert inserts.allocate_ids(session, table, 0) == []
    session.rollback()


def test_a_refused_row_raises_integrity_error_and_leaves_nothing(session: Session) -> None:
    import pytest
    from sqlalchemy.exc import IntegrityError

    authority = factories.authority(session)
    session.commit()
    (demand_id,) = inserts.allocate_ids(session, cast(Table, Demand.__table__), 1)
    bad = {**_demand_row(demand_id, authority.id), "legal_basis_instrument": None}  # NOT NULL
    with pytest.raises(IntegrityError):  # as SQLAlchemy raises it, also for COPY
        inserts.insert_rows(session, Demand, [bad])
    session.rollback()
    assert session.scalar(select(Demand.id)) is None
    session.rollback()


AWKWARD = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "光復", 'quote"']


def test_awkward_values_read_back_as_written_by_insert_or_copy(session: Session) -> None:
    # Enough rows for COPY on PostgreSQL, whose text format gives tab, newline and backslash
    # a meaning; SQLite gets the same rows through executemany.
    import pytest
    from sqlalchemy.exc import StatementError

    authority = factories.authority(session)
    session.commit()
    count = inserts.COPY_FROM + 2
    ids = inserts.allocate_ids(session, cast(Table, Demand.__table__), count)
    hk = timezone(timedelta(hours=8))
    reasons = [{"signal": "x\\y", "detail": "a\tb\nc", "effect": "-1"}]  # one list, shared
    rows = []
    for n, i in enumerate(ids):
        word = AWKWARD[n % len(AWKWARD)]
        rows.append(
            {
                **_demand_row(i, authority.id),
                "reference": word,
                "summary": f"{word} and {word}",
                "penalty": None if n % 2 else "\\",
                "sender": "" if n % 3 == 0 else None,
                "received_at": datetime(2020, 7, 7, 9, 30, n, tzinfo=hk),
                "verification_reasons": reasons,
                "data_categories": [word],
            }
        )
    inserts.insert_rows(session, Demand, rows)
    session.commit()
    for n, i in enumerate(ids):
        demand = session.get(Demand, i)
        assert demand is not None
        word = AWKWARD[n % len(AWKWARD)]
        assert (demand.reference, demand.summary) == (word, f"{word} and {word}")
        assert demand.penalty == (None if n % 2 else "\\")
        assert demand.sender == ("" if n % 3 == 0 else None)
        assert demand.received_at == datetime(2020, 7, 7, 1, 30, n, tzinfo=UTC)
        assert demand.verification_reasons == reasons
        assert demand.data_categories == [word]
        assert demand.kind is DemandKind.REMOVAL
        assert demand.channel is Channel.API
    more = inserts.allocate_ids(session, cast(Table, Demand.__table__), count)
    naive = [{**_demand_row(i, authority.id), "created_at": datetime(2020, 7, 7)} for i in more]  # noqa: DTZ001
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        inserts.insert_rows(session, Demand, naive)
    session.rollback()
