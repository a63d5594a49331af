"""Every move of the state table, tried by every role and by the service: allowed ones are
made and audited, a move the table forbids is a Conflict, an allowed move by someone it is
not for is NotPermitted, and a refused move changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Role
from dueprocess.audit import service as audit
from dueprocess.demands import service as demands, states
from dueprocess.demands.models import DemandStatus
from dueprocess.errors import Conflict, NotPermitted
from dueprocess.runtime import Runtime
from tests import factories

MOVERS = [*(role.value for role in Role), states.SYSTEM]


def test_every_allowed_move_names_who_may_make_it() -> None:
    for current, moves in states.MOVES.items():
        for to, who in moves.items():
            assert who, f"{current} -> {to} names nobody"
            assert who <= set(MOVERS), f"{current} -> {to}: unknown mover in {who}"
    assert set(states.MOVES) == set(DemandStatus)


def test_the_policy_can_reach_every_stance_target_from_every_open_status() -> None:
    """The policy (system) must be able to pause, refuse or redirect any open demand, as
    July 2020 showed: every Hong Kong demand, wherever it was, was paused."""
    from dueprocess.policy.stances import route

    for current in states.OPEN:
        for target in (DemandStatus.PAUSED, DemandStatus.REFUSED, DemandStatus.REDIRECTED):
            if current is target:
                continue
            steps = route(current, target)
            assert steps[-1] is target


@pytest.mark.parametrize("mover", MOVERS)
def test_each_move_by_each_role(session: Session, runtime: Runtime, mover: str) -> None:
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body()).demand
    session.commit()
    for current in DemandStatus:
        for to in DemandStatus:
            savepoint = session.begin_nested()
            demand.status = current
            session.flush()
            events_before = len(audit.pending_actions(session))
            revision = demand.revision
            allowed = mover in states.movers(current, to)
            try:
                demands.move(session, demand, to, actor="test", by=[mover], reason="test")
            except Conflict:
                assert not states.can_move(current, to), f"{mover}: {current} -> {to}"
                assert demand.status is current
                assert demand.revision == revision
            except NotPermitted as exc:
                refusal = str(exc)
                assert states.can_move(current, to)
                assert not allowed, f"{mover} should make {current} -> {to}"
                assert demand.status is current
                assert demand.revision == revision
                assert f"is for {', '.join(sorted(states.movers(current, to)))}" in refusal
            else:
                assert allowed, f"{mover} made {current} -> {to}"
                assert demand.status is to
                assert demand.revision == revision + 1
                assert audit.pending_actions(session)[events_before:] == [f"demand.{to.value}"]
            savepoint.rollback()
