"""The intake flow: a demand is recorded and gets its jurisdiction's stance in one step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from dueprocess import flow
from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel, DemandStatus, ReplyKind
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import InvalidInput
from dueprocess.policy import service as policy
from dueprocess.policy.templates import template_text
from dueprocess.runtime import Runtime
from tests import factories


def _receive(session: Session, runtime: Runtime, **changes: object) -> demands.Submitted:
    data = DemandIn.model_validate(factories.body(**changes))
    return flow.receive(session, runtime, data, channel=Channel.EMAIL, actor="test")


def test_without_a_policy_a_demand_is_processed_and_no_version_recorded(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    demand = _receive(session, runtime).demand
    session.commit()
    assert (demand.status, demand.stance, demand.policy_version_id) == (
        DemandStatus.RECEIVED,
        "process",
        None,
    )
    assert policy.evaluations(session, demand.id) == []
    assert [e.action for e in audit.for_subject(session, f"demand:{demand.id}")] == [
        "demand.submitted",
        "demand.verification_assessed",
    ]


def test_with_a_policy_the_stance_is_applied_once_and_a_replay_changes_nothing(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    owner = factories.account(session, "owner@example.org", ["policy-owner"])
    approver = factories.account(session, "approver@example.org", ["approver"])
    version = policy.propose(
        session, template_text("tiktok-2020"), "tiktok.yaml", "left HK", actor=f"account:{owner.id}"
    )
    policy.approve(
        session, version.id, actor=f"account:{approver.id}", at=datetime(2020, 7, 7, tzinfo=UTC)
    )
    first = _receive(session, runtime, idempotency_key="k-1")
    session.commit()
    assert first.created
    demand = first.demand
    assert (demand.status, demand.stance) == (DemandStatus.REFUSED, "no-service")
    (reply,) = demands.replies(session, demand.id)
    assert reply.kind is ReplyKind.NO_SERVICE
    assert "no longer operates in Hong Kong" in reply.text

    again = _receive(session, runtime, idempotency_key="k-1")
    session.commit()
    assert not again.created
    assert again.demand.id == demand.id
    assert len(demands.replies(session, demand.id)) == 1
    assert len(policy.evaluations(session, demand.id)) == 1


def test_refused_input_writes_nothing_and_applies_no_policy(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    with pytest.raises(InvalidInput) as caught:
        _receive(session, runtime, authority="nobody")
    session.rollback()
    assert caught.value.errors[0].loc == ("authority",)
    assert demands.list_summaries(session) == []


def test_every_received_demand_gets_a_requester_assessment(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    genuine = _receive(session, runtime).demand
    forged = flow.receive(
        session,
        runtime,
        DemandIn.model_validate(
            factories.body(reference="forged", sender="duty@police.gov.hk.example-mail.com")
        ),
        channel=Channel.EMAIL,
        actor="test",
    ).demand
    session.commit()
    assert genuine.verification_state in {"unverified", "verified"}
    assert forged.verification_state == "suspicious"
    assert any(r["signal"] == "sender-domain" for r in forged.verification_reasons)
