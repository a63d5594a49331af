"""flush_new writes exactly what the ORM's flush writes, and leaves the session as it would."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess import flow, inserts
from dueprocess.accounts.models import Account
from dueprocess.demands.models import Channel, Demand, Reply, ReplyKind, Target
from dueprocess.demands.schemas import DemandIn
from dueprocess.runtime import Runtime
from tests import factories


def _rows(session: Session, model: Any) -> list[dict[str, Any]]:
    table = model.__table__
    skip = {"id", "demand_id", "created_at", "received_at"}  # ids and clock readings differ
    return [
        {k: v for k, v in row._mapping.items() if k not in skip}
        for row in session.execute(select(table).order_by(table.c.id))
    ]


def _receive(session: Session, runtime: Runtime, reference: str) -> Demand:
    data = DemandIn.model_validate(factories.body(reference=reference, documents=[]))
    return flow.receive(
        session, runtime, data, channel=Channel.EMAIL, actor="test", flush=False
    ).demand


def test_rows_equal_those_the_orm_flush_writes(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    session.commit()
    _receive(session, runtime, "same")
    session.flush()  # the ORM's unit of work
    _receive(session, runtime, "same")
    inserts.flush_new(session)
    session.commit()
    for model in (Demand, Target):
        orm, ours = _rows(session, model)
        assert orm == ours
    session.rollback()


def test_objects_are_persistent_with_ids_and_links(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    session.commit()
    demand = _receive(session, runtime, "R")
    reply = Reply(demand=demand, kind=ReplyKind.HOLDING, text="held")
    session.add(reply)
    inserts.flush_new(session)
    assert not session.new
    assert demand.id is not None
    assert reply.demand_id == demand.id
    assert demand.targets[0].demand_id == demand.id
    assert session.get(Demand, demand.id) is demand
    demand.summary = "changed after the write"  # an ordinary UPDATE at the next flush
    session.commit()
    session.expire_all()
    assert session.get(Demand, demand.id).summary == "changed after the write"  # type: ignore[union-attr]
    session.rollback()


def test_a_rolled_back_savepoint_forgets_its_objects(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    session.commit()
    kept = _receive(session, runtime, "kept")
    inserts.flush_new(session)
    savepoint = session.begin_nested()
    dropped = _receive(session, runtime, "dropped")
    inserts.flush_new(session)
    savepoint.rollback()
    assert dropped not in session
    again = _receive(session, runtime, "again")  # reuses the id SQLite had given "dropped"
    inserts.flush_new(session)
    session.commit()
    assert kept in session
    assert again in session
    assert list(session.scalars(select(Demand.reference).order_by(Demand.id))) == ["kept", "again"]
    session.rollback()


def test_other_changes_go_through_the_orm_flush(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    account = factories.account(session, "a@example.org", ["intake"])
    session.commit()
    account.display_name = "renamed"  # dirty: written first, by the ORM
    _receive(session, runtime, "with-a-dirty-account")
    inserts.flush_new(session)
    assert not session.dirty
    session.commit()
    session.expire_all()
    assert session.get(Account, account.id).display_name == "renamed"  # type: ignore[union-attr]
    assert session.scalar(select(Demand.reference)) == "with-a-dirty-account"
    session.rollback()
