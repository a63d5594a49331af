"""Intake through the service: validation, idempotency, nothing half-written, audit."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus, Document, Target
from dueprocess.errors import InvalidInput, NotFound
from dueprocess.intake import flow
from dueprocess.runtime import Runtime
from tests import factories


def _count(session: Session, model: type[object]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_submit_stores_demand_targets_and_audit_event(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    result = factories.submit(session, runtime, factories.body())
    session.commit()

    assert result.created
    demand = demands.get(session, result.demand.id)
    assert demand.status is DemandStatus.RECEIVED
    assert demand.received_at == datetime(2020, 7, 7, 1, 30, tzinfo=UTC)
    assert demand.deadline == datetime(2020, 7, 8, 1, 30, tzinfo=UTC)
    assert [t.identifier for t in demand.targets] == ["https://microblog.demo/@hk_student_union/1"]
    events = audit.for_subject(session, f"demand:{demand.id}")
    assert [e.action for e in events] == ["demand.submitted", "demand.verification_assessed"]
    assert events[0].data["authority"] == "hkpf-nsd"


def test_unknown_authority_and_wrong_jurisdiction_are_named(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    with pytest.raises(InvalidInput) as exc:
        factories.submit(session, runtime, factories.body(authority="nobody"))
    assert [e.where() for e in exc.value.errors] == ["authority"]

    with pytest.raises(InvalidInput) as exc:
        factories.submit(session, runtime, factories.body(jurisdiction="DE"))
    assert [e.where() for e in exc.value.errors] == ["jurisdiction"]
    assert "HK" in exc.value.errors[0].msg


def test_every_cross_field_problem_is_reported_at_once(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    bad = factories.body(
        kind="user-data",
        deadline="2020-07-01T00:00:00Z",
        gag_order={"basis": "Schedule 7", "until": "2020-07-01T00:00:00Z"},
        period_start="2020-06-01T00:00:00Z",
        period_end="2020-05-01T00:00:00Z",
        targets=[{"type": "account", "id": "@a"}, {"type": "account", "id": "@a"}],
    )
    with pytest.raises(InvalidInput) as exc:
        factories.submit(session, runtime, bad)
    assert sorted(e.where() for e in exc.value.errors) == [
        "data_categories",
        "deadline",
        "gag_order.until",
        "period_end",
        "targets[1]",
    ]
    session.rollback()
    assert _count(session, Demand) == 0


def test_received_at_in_the_future_is_refused(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    with pytest.raises(InvalidInput) as exc:
        factories.submit(
            session,
            runtime,
            factories.body(received_at="2999-01-01T00:00:00Z", deadline="2999-01-02T00:00:00Z"),
        )
    assert [e.where() for e in exc.value.errors] == ["received_at"]


def test_expired_deadline_is_refused_when_received_now(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    data = factories.body(deadline="2020-07-08T09:30:00+08:00")
    del data["received_at"]
    with pytest.raises(InvalidInput) as exc:
        factories.submit(session, runtime, data)
    assert [(e.where(), e.msg) for e in exc.value.errors] == [("deadline", "has already passed")]


def test_same_idempotency_key_and_body_returns_the_first(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    data = factories.body(idempotency_key="NSD-1")
    first = factories.submit(session, runtime, data)
    session.commit()
    again = factories.submit(session, runtime, data)
    session.commit()
    assert (again.created, again.demand.id) == (False, first.demand.id)
    assert _count(session, Demand) == 1
    assert len(audit.for_subject(session, f"demand:{first.demand.id}")) == 2  # not 4


def test_same_idempotency_key_with_other_body_is_refused(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    factories.submit(session, runtime, factories.body(idempotency_key="NSD-1"))
    session.commit()
    with pytest.raises(InvalidInput) as exc:
        factories.submit(session, runtime, factories.body(idempotency_key="NSD-1", summary="other"))
    assert exc.value.errors[0].where() == "idempotency_key"
    session.rollback()
    assert _count(session, Demand) == 1


def test_documents_are_stored_by_hash_and_referenced_again(
    session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    content = b"Signed order: remove the post.\n"
    doc = {"filename": "../../etc/order.txt", "content_base64": base64.b64encode(content).decode()}
    first = factories.submit(session, runtime, factories.body(documents=[doc]))
    session.commit()
    stored = first.demand.documents[0]
    assert stored.size == len(content)
    assert stored.media_type == "text/plain"
    assert "/" not in stored.filename
    with runtime.store.open(stored.sha256) as fh:
        assert fh.read() == content

    by_hash = {"filename": "order.txt", "sha256": stored.sha256}
    second = factories.submit(session, runtime, factories.body(reference="x", documents=[by_hash]))
    session.commit()
    assert second.demand.documents[0].size == len(content)


def test_bad_documents_are_named_and_nothing_is_written(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    docs = [
        {"filename": "a.txt", "content_base64": "not base64!!"},
        {"filename": "b.zip", "content_base64": base64.b64encode(b"PK\x03\x04zip").decode()},
        {"filename": "c.pdf", "sha256": "0" * 64},
    ]
    with pytest.raises(InvalidInput) as exc:
        factories.submit(session, runtime, factories.body(documents=docs))
    assert [e.where() for e in exc.value.errors] == [
        "documents[0].content_base64",
        "documents[1].content_base64",
        "documents[2].sha256",
    ]
    session.rollback()
    assert (_count(session, Demand), _count(session, Target), _count(session, Document)) == (
        0,
        0,
        0,
    )


def test_officer_scope_hides_other_authorities(session: Session, runtime: Runtime) -> None:
    hk = factories.authority(session)
    de = factories.authority(session, factories.BKA)
    demand = factories.submit(session, runtime, factories.body()).demand
    session.commit()
    assert demands.get(session, demand.id, authority_id=hk.id).id == demand.id
    with pytest.raises(NotFound):
        demands.get(session, demand.id, authority_id=de.id)
    assert demands.list_summaries(session, authority_id=de.id) == []


def test_round_trip_of_output_through_input(session: Session, runtime: Runtime) -> None:
    from dueprocess.demands.schemas import DemandIn

    factories.authority(session)
    first = factories.submit(session, runtime, factories.body(idempotency_key="k"))
    session.commit()
    shown = demands.to_out(session, first.demand).model_dump(mode="json")
    again = flow.receive(
        session, runtime, DemandIn.model_validate(shown), channel=first.demand.channel, actor="test"
    )
    assert (again.created, again.demand.id) == (False, first.demand.id)
