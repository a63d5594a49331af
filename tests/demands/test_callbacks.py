"""Emergency call-backs: only to registry numbers, and nothing moves forward without one."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands import callbacks, service as demands
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.runtime import Runtime
from tests import factories

EMERGENCY: dict[str, Any] = {
    "kind": "emergency-disclosure",
    "legal_process": "emergency",
    "emergency_justification": "Threat to life; call Insp. Wong on +852 5555 0101 to confirm",
    "targets": [{"type": "account", "id": "@hk_student"}],
}


@pytest.fixture
def emergency(session: Session, runtime: Runtime) -> Demand:
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body(**EMERGENCY)).demand
    session.commit()
    return demand


def test_a_number_not_in_the_registry_is_refused(session: Session, emergency: Demand) -> None:
    for number in ("+852 5555 0101", "", "2860 2000"):  # from the request; none; partial
        with pytest.raises(InvalidInput) as refused:
            callbacks.record_callback(
                session, emergency.id, number=number, confirmed=True, notes="", actor="account:1"
            )
        assert refused.value.errors[0].loc == ("number",)
        assert "+852 2860 2000" in refused.value.errors[0].msg  # says which numbers to use
    session.rollback()
    assert callbacks.list_callbacks(session, emergency.id) == []


def test_registry_number_is_matched_by_digits_and_audited(
    session: Session, emergency: Demand
) -> None:
    callback = callbacks.record_callback(
        session,
        emergency.id,
        number="(852) 2860-2000",
        confirmed=True,
        notes=" Supt. Chan confirmed the request ",
        actor="account:7",
    )
    session.commit()
    assert callback.number == "+852 2860 2000"  # the registry's spelling
    assert callback.called_by == "account:7"
    assert callback.notes == "Supt. Chan confirmed the request"
    event = audit.for_subject(session, f"demand:{emergency.id}")[-1]
    assert event.action == "demand.callback_recorded"
    assert event.actor == "account:7"
    assert event.data["number"] == "+852 2860 2000"
    assert event.data["confirmed"] is True
    assert event.data["called_by"] == "account:7"
    assert event.data["called_at"].endswith("Z")


def test_call_backs_are_for_emergency_disclosures_only(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    removal = factories.submit(session, runtime, factories.body()).demand
    with pytest.raises(Conflict):
        callbacks.record_callback(
            session,
            removal.id,
            number="+852 2860 2000",
            confirmed=True,
            notes="",
            actor="account:1",
        )
    with pytest.raises(NotFound):
        callbacks.record_callback(
            session, 999_999, number="+852 2860 2000", confirmed=True, notes="", actor="a"
        )


def test_emergency_waits_for_a_confirmed_call_back(session: Session, emergency: Demand) -> None:
    demands.move(
        session,
        emergency,
        DemandStatus.LEGAL_REVIEW,
        actor="account:1",
        by=factories.ANYONE,
        reason="triage",
    )
    with pytest.raises(Conflict) as refused:
        demands.move(
            session,
            emergency,
            DemandStatus.AWAITING_APPROVAL,
            actor="account:1",
            by=factories.ANYONE,
            reason="ok",
        )
    assert "call-back" in str(refused.value)
    assert emergency.status is DemandStatus.LEGAL_REVIEW

    callbacks.record_callback(
        session,
        emergency.id,
        number="+852 2860 2000",
        confirmed=False,
        notes="switchboard knows of no such request",
        actor="account:1",
    )
    with pytest.raises(Conflict):
        demands.move(
            session,
            emergency,
            DemandStatus.AWAITING_APPROVAL,
            actor="account:1",
            by=factories.ANYONE,
            reason="ok",
        )

    callbacks.record_callback(
        session,
        emergency.id,
        number="+85228602000",
        confirmed=True,
        notes="duty superintendent confirmed",
        actor="account:1",
    )
    demands.move(
        session,
        emergency,
        DemandStatus.AWAITING_APPROVAL,
        actor="account:1",
        by=factories.ANYONE,
        reason="ok",
    )
    demands.move(
        session,
        emergency,
        DemandStatus.DECIDED,
        actor="account:2",
        by=factories.ANYONE,
        reason="approved",
    )
    demands.move(
        session,
        emergency,
        DemandStatus.ACTING,
        actor="system",
        by=factories.ANYONE,
        reason="producing",
    )
    session.commit()
    actions = [e.action for e in audit.for_subject(session, f"demand:{emergency.id}")]
    assert actions == [
        "demand.submitted",
        "demand.verification_assessed",
        "demand.legal-review",
        "demand.callback_recorded",
        "demand.callback_recorded",
        "demand.awaiting-approval",
        "demand.decided",
        "demand.acting",
    ]


def test_other_demands_move_without_a_call_back(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    removal = factories.submit(session, runtime, factories.body()).demand
    demands.move(
        session, removal, DemandStatus.LEGAL_REVIEW, actor="a", by=factories.ANYONE, reason="triage"
    )
    demands.move(
        session,
        removal,
        DemandStatus.AWAITING_APPROVAL,
        actor="a",
        by=factories.ANYONE,
        reason="ok",
    )
    assert removal.status is DemandStatus.AWAITING_APPROVAL


def test_panel_shows_registry_numbers_never_the_requests(
    session: Session, emergency: Demand
) -> None:
    panel = callbacks.panel(session, emergency)
    assert panel is not None
    assert panel.numbers == ["+852 2860 2000"]
    assert not panel.confirmed
    callbacks.record_callback(
        session, emergency.id, number="+852 2860 2000", confirmed=True, notes="", actor="cli:x"
    )
    panel = callbacks.panel(session, emergency)
    assert panel is not None
    assert panel.confirmed
    assert [(c.who, c.number) for c in panel.callbacks] == [("cli:x", "+852 2860 2000")]
