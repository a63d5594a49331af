"""The durable jobs (actions/service.py, actions/worker.py): claiming with a lease, one holder
at a time, outcomes recorded only by the holder, back-off and the last attempt, staff's
retry and revoke, the demand settled when its actions are done, and exactly one effect
when a worker dies between the connector's call and recording it.

The "service" the handlers act on is a dict keyed by idempotency key: the edge of the world,
where the connectors work will put the demo microblog."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dueprocess.actions import service as actions, worker
from dueprocess.actions.models import Action, ActionKind, ActionStatus
from dueprocess.actions.service import Claimed
from dueprocess.audit.models import AuditEvent
from dueprocess.demands import service as demands, states
from dueprocess.demands.models import DemandStatus
from dueprocess.errors import Conflict
from dueprocess.runtime import Runtime
from tests import factories

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # in the past: the worker runs on the real clock


@pytest.fixture
def demand_id(session: Session, runtime: Runtime) -> int:
    factories.authority(session)
    found = factories.submit(session, runtime, factories.body()).demand.id
    session.commit()
    return found


def _plan(session: Session, demand_id: int, key: str = "k1", **payload: Any) -> int:
    action = actions.plan(
        session, kind=ActionKind.RESTRICT, demand_id=demand_id, target_id=None, key=key,
        payload=payload or {"restriction": "withhold", "jurisdictions": ["HK"]},
        actor="test", not_before=T0,
    )  # fmt: skip
    session.commit()
    return action.id


def _events(session: Session, action_id: int) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject == f"action:{action_id}")
            .order_by(AuditEvent.seq)
        )
    )


def test_one_worker_holds_an_action_until_its_lease_lapses(
    session: Session, demand_id: int
) -> None:
    action_id = _plan(session, demand_id)
    assert actions.claim(session, "w1", now=T0 - timedelta(seconds=1)) == [], "not due yet"
    (first,) = actions.claim(session, "w1", now=T0)
    session.commit()
    assert (first.id, first.attempt, first.key) == (action_id, 1, "k1")
    assert actions.claim(session, "w2", now=T0 + actions.LEASE) == [], "still held"
    (again,) = actions.claim(session, "w2", now=T0 + actions.LEASE + timedelta(seconds=1))
    session.commit()
    assert again.attempt == 2
    # The first worker, back from the dead, can record nothing over the second's claim.
    assert not actions.succeed(session, action_id, "w1", {"ref": "x"})
    assert actions.fail(session, action_id, "w1", "late") is None
    assert actions.succeed(session, action_id, "w2", {"ref": "r-1"})
    session.commit()
    row = actions.get(session, action_id)
    assert (row.status, row.result, row.worker) == (ActionStatus.DONE, {"ref": "r-1"}, "w2")
    assert _events(session, action_id) == [
        "action.planned", "action.claimed", "action.claimed", "action.done",
    ]  # fmt: skip


def test_a_failed_attempt_waits_longer_each_time_and_the_last_waits_for_staff(
    session: Session, demand_id: int
) -> None:
    action_id = _plan(session, demand_id)
    now = T0
    waits = []
    for _attempt in range(8):
        (held,) = actions.claim(session, "w", now=now)
        status = actions.fail(session, held.id, "w", "connector timed out", now=now)
        session.commit()
        row = actions.get(session, action_id)
        if status is ActionStatus.PENDING:
            waits.append(row.not_before - now)
            assert actions.claim(session, "w", now=now) == []
            now = row.not_before
    assert status is ActionStatus.FAILED
    assert waits == [actions.backoff(n) for n in range(1, 8)]
    assert waits[0] == timedelta(seconds=5)
    assert waits[1] == timedelta(seconds=10)
    assert actions.backoff(30) == timedelta(hours=1)
    assert actions.claim(session, "w", now=now + timedelta(days=1)) == [], "failed waits"
    assert row.last_error == "connector timed out"

    actions.retry(session, action_id, actor="account:1")
    session.commit()
    (held,) = actions.claim(session, "w", now=datetime.now(UTC) + timedelta(seconds=1))
    session.commit()
    assert held.attempt == 9
    assert _events(session, action_id)[-3:] == ["action.failed", "action.retried",
                                                "action.claimed"]  # fmt: skip


def test_staff_revoke_only_what_has_not_been_done_and_say_why(
    session: Session, demand_id: int
) -> None:
    action_id = _plan(session, demand_id)
    with pytest.raises(Conflict, match="say why"):
        actions.revoke(session, action_id, actor="account:1", reason=" ")
    actions.claim(session, "w", now=T0)
    session.commit()
    with pytest.raises(Conflict, match="is running"):
        actions.revoke(session, action_id, actor="account:1", reason="order withdrawn")
    session.rollback()
    actions.fail(session, action_id, "w", "boom", now=T0)
    actions.revoke(session, action_id, actor="account:1", reason="order withdrawn")
    session.commit()
    assert actions.get(session, action_id).status is ActionStatus.REVOKED
    with pytest.raises(Conflict, match="only a failed one"):
        actions.retry(session, action_id, actor="account:1")


def test_the_same_key_is_never_planned_twice(session: Session, demand_id: int) -> None:
    _plan(session, demand_id, key="same")
    with pytest.raises(IntegrityError):
        _plan(session, demand_id, key="same")
    session.rollback()
    assert len(session.scalars(select(Action)).all()) == 1


class Service:
    """The service's systems at the edge: applies each key once, as a connector must."""

    def __init__(self) -> None:
        self.applied: dict[str, str] = {}
        self.calls = 0

    def restrict(self, key: str) -> str:
        self.calls += 1
        return self.applied.setdefault(key, f"r-{len(self.applied) + 1}")


@pytest.fixture
def service() -> Iterator[Service]:
    edge = Service()

    def handler(_runtime: Runtime, claimed: Claimed) -> Mapping[str, Any]:
        if claimed.attempt > 1 and claimed.key in edge.applied:  # was it applied?
            return {"reference": edge.applied[claimed.key], "already_applied": True}
        if claimed.payload.get("fail"):
            raise RuntimeError("the service answered 503")
        return {"reference": edge.restrict(claimed.key)}

    worker.register(ActionKind.RESTRICT, handler)
    yield edge
    worker._HANDLERS.pop(ActionKind.RESTRICT, None)


def test_a_worker_that_dies_after_the_call_leaves_one_effect(
    session: Session, runtime: Runtime, demand_id: int, service: Service
) -> None:
    action_id = _plan(session, demand_id)
    # Worker 1 claims and calls the service, then dies before recording (no succeed).
    (held,) = actions.claim(session, "w1", now=T0)
    session.commit()
    handler = worker.handler_for(ActionKind.RESTRICT)
    assert handler is not None
    handler(runtime, held)
    assert service.applied == {"k1": "r-1"}
    # Its lease lapses; worker 2 takes it and asks before acting again.
    with runtime.sessions() as other, other.begin():
        (retaken,) = actions.claim(other, "w2", now=T0 + actions.LEASE + timedelta(seconds=1))
    assert worker.run_one(runtime, "w2", retaken)
    session.expire_all()
    row = actions.get(session, action_id)
    assert row.status is ActionStatus.DONE
    assert row.result == {"reference": "r-1", "already_applied": True}
    assert service.calls == 1
    assert service.applied == {"k1": "r-1"}


def test_a_failing_call_and_a_kind_without_handler_are_recorded_not_lost(
    session: Session, runtime: Runtime, demand_id: int, service: Service
) -> None:
    failing = _plan(session, demand_id, key="k-fail", fail=True)
    produce = actions.plan(
        session, kind=ActionKind.PRODUCE, demand_id=demand_id, target_id=None, key="k-p",
        payload={}, actor="test", not_before=T0,
    ).id  # fmt: skip
    session.commit()
    assert worker.run_batch(runtime, "w", limit=10) == 2
    session.expire_all()
    assert actions.get(session, failing).last_error == "RuntimeError: the service answered 503"
    assert actions.get(session, produce).last_error == (
        "NoHandler: no handler for produce actions is installed"
    )
    assert {actions.get(session, i).status for i in (failing, produce)} == {ActionStatus.PENDING}
    assert service.applied == {}


def test_a_demand_is_done_when_its_actions_are(
    session: Session, runtime: Runtime, demand_id: int, service: Service
) -> None:
    demand = demands.get(session, demand_id)
    demand.status = DemandStatus.DECIDED  # as review leaves it (tests/review walk the way)
    demands.move(session, demand, DemandStatus.ACTING, actor="test", by=[states.SYSTEM],
                 reason="acting")  # fmt: skip
    first = _plan(session, demand_id, key="a")
    _plan(session, demand_id, key="b")
    assert worker.run(runtime, "w", until_idle=True) == 2
    session.expire_all()
    assert demands.get(session, demand_id).status is DemandStatus.DONE
    assert actions.get(session, first).status is ActionStatus.DONE
    assert sorted(service.applied) == ["a", "b"]
