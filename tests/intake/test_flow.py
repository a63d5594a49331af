"""The intake flow: a demand is recorded and gets its jurisdiction's stance in one step."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel, DemandStatus, ReplyKind
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import InvalidInput
from dueprocess.intake import flow, record
from dueprocess.policy import service as policy
from dueprocess.policy.templates import template_text
from dueprocess.runtime import Runtime
from tests import factories


def _receive(session: Session, runtime: Runtime, **changes: object) -> record.Submitted:
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


# --- receive_many: a group written together comes out as if written one by one ---

# Each item has a reference of its own (the same one twice would be a repeat), and so a
# request hash of its own: those differ between the two ways of writing too.
_VOLATILE = {
    "id",
    "demand_id",
    "created_at",
    "at",
    "received_at",
    "version_id",
    "reference",
    "request_hash",
}


def _state(session: Session, demand_ids: list[int]) -> list[dict[str, object]]:
    """Everything intake wrote for these demands, without ids and clock readings."""
    from sqlalchemy import select

    from dueprocess.audit.models import AuditEvent
    from dueprocess.demands.models import Demand, Document, Reply, Target
    from dueprocess.policy.models import PolicyEvaluation

    out: list[dict[str, object]] = []
    for demand_id in demand_ids:
        rows: dict[str, object] = {}
        for model in (Demand, Target, Document, Reply, PolicyEvaluation):
            table = model.__table__
            key = table.c.id if model is Demand else table.c.demand_id
            found = session.execute(select(table).where(key == demand_id).order_by(table.c.id))
            rows[model.__tablename__] = [
                {k: v for k, v in r._mapping.items() if k not in _VOLATILE} for r in found
            ]
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject == f"demand:{demand_id}")
            .order_by(AuditEvent.seq)
        )
        rows["events"] = [
            (e.actor, e.action, {k: v for k, v in e.data.items() if k not in _VOLATILE})
            for e in events
        ]
        out.append(rows)
    return out


def test_many_at_once_write_what_one_at_a_time_writes(session: Session, runtime: Runtime) -> None:
    import base64

    factories.authority(session)
    factories.authority(session, factories.BKA)
    officer = factories.account(session, "officer@hkpf.example", ["officer"], "hkpf-nsd")
    owner = factories.account(session, "owner@example.org", ["policy-owner"])
    approver = factories.account(session, "approver@example.org", ["approver"])
    version = policy.propose(
        session,
        template_text("facebook-whatsapp-2020"),
        "fb.yaml",
        "pause HK",
        actor=f"account:{owner.id}",
    )
    policy.approve(
        session, version.id, actor=f"account:{approver.id}", at=datetime(2020, 7, 6, tzinfo=UTC)
    )
    session.commit()
    text = base64.b64encode(b"Order: remove the post.\n").decode()
    bodies = [
        factories.body(),  # HK after 6 July 2020: paused, with a holding reply
        factories.body(received_at="2020-07-01T09:30:00+08:00", deadline=None),  # processed
        factories.body(documents=[{"filename": "order.txt", "content_base64": text}]),
        factories.body(authority="de-bka", jurisdiction="DE"),  # the officer may not
        factories.body(sender="nsd@police-gov-hk.com"),
    ]
    kinds = [
        {"channel": Channel.EMAIL, "actor": "test"},
        {
            "channel": Channel.API,
            "actor": f"account:{officer.id}",
            "officer_id": officer.id,
            "restrict_to_authority": officer.authority_id,
            "uploader_id": officer.id,
        },
    ]
    one_by_one: list[int] = []
    for i, body in enumerate(bodies):
        for k, how in enumerate(kinds):
            data = DemandIn.model_validate({**body, "reference": f"one-{i}-{k}"})
            try:
                one_by_one.append(flow.receive(session, runtime, data, **how).demand.id)  # type: ignore[arg-type]
            except InvalidInput:
                one_by_one.append(-1)
    session.commit()
    items = [
        flow.Incoming(
            DemandIn.model_validate({**body, "reference": f"many-{i}-{k}"}),
            **how,  # type: ignore[arg-type]
        )
        for i, body in enumerate(bodies)
        for k, how in enumerate(kinds)
    ]
    together = [
        a.demand.id if isinstance(a, flow.Received) else -1
        for a in flow.receive_many(session, runtime, items)
    ]
    session.commit()
    assert [i == -1 for i in one_by_one] == [i == -1 for i in together]
    written = [i for i in one_by_one if i != -1]
    assert len(written) >= 6
    assert _state(session, written) == _state(session, [i for i in together if i != -1])
    session.rollback()


def test_receive_many_answers_each_item_and_writes_only_the_good(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    session.commit()
    items = [
        flow.Incoming(DemandIn.model_validate(factories.body(**c)), Channel.API, "test")
        for c in (
            {"reference": "A", "idempotency_key": "k"},
            {"reference": "B", "jurisdiction": "DE"},
            {"reference": "A", "idempotency_key": "k"},  # the same again: a replay
            {"reference": "C", "idempotency_key": "k"},  # the same key, another body
        )
    ]
    answers = flow.receive_many(session, runtime, items)
    session.commit()
    first, bad, replay, conflict = answers
    assert isinstance(first, flow.Received)
    assert first.created
    assert isinstance(bad, InvalidInput)
    assert bad.errors[0].loc == ("jurisdiction",)
    assert isinstance(replay, flow.Received)
    assert not replay.created
    assert replay.demand.id == first.demand.id
    assert isinstance(conflict, InvalidInput)
    assert conflict.errors[0].loc == ("idempotency_key",)
    from sqlalchemy import select

    from dueprocess.demands.models import Demand

    assert list(session.scalars(select(Demand.reference))) == ["A"]
    session.rollback()


def _received_now(n: int, prefix: str) -> list[flow.Incoming]:
    return [
        flow.Incoming(
            DemandIn.model_validate(
                factories.body(received_at=None, deadline=None, reference=f"{prefix}-{i}")
            ),
            Channel.API,
            "test",
        )
        for i in range(n)
    ]


def _volume_details(session: Session, answers: list[flow.Received | InvalidInput]) -> set[str]:
    found = set()
    for answer in answers:
        assert isinstance(answer, flow.Received)
        demand = demands.get(session, answer.demand.id)
        found |= {r["detail"] for r in demand.verification_reasons if r["signal"] == "volume"}
    return found


def test_every_demand_of_a_group_counts_the_whole_group_in_its_volume(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    session.commit()
    first = flow.receive_many(session, runtime, _received_now(12, "A"))
    session.commit()
    # All twelve arrived at once: each counts twelve, whatever its place in the group.
    (detail,) = _volume_details(session, first)
    assert detail.startswith("12 demands from this authority in the last 24 hours")
    later = flow.receive_many(session, runtime, _received_now(3, "B"))
    session.commit()
    (detail,) = _volume_details(session, later)
    assert detail.startswith("15 demands"), "a later group counts the stored ones by the hour"
    events = audit.for_subject(session, f"demand:{first[0].demand.id}")  # type: ignore[union-attr]
    assessed = next(e for e in events if e.action == "demand.verification_assessed")
    assert any(r["signal"] == "volume" for r in assessed.data["reasons"])


def test_groups_in_one_transaction_count_each_other(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    session.commit()
    flow.receive_many(session, runtime, _received_now(6, "A"))
    later = flow.receive_many(session, runtime, _received_now(2, "B"))  # same transaction
    session.commit()
    (detail,) = _volume_details(session, later)
    assert detail.startswith("8 demands")
