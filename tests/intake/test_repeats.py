"""A demand that repeats an earlier one of its authority is refused unless confirmed new, at
the API (single and batch, over real HTTP) and in the flow every door goes through; the
portal, staff entry and the command line are tested with their doors (test_portal.py,
test_entry.py, test_repeats_browser.py, tests/cli/).

The rules (docs/api.md, "Repeats"): the same authority, the earlier demand not withdrawn,
and either the same non-empty reference at any time, or the same content (request hash)
received within 30 days.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess import clock
from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel, Demand
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import InvalidInput
from dueprocess.intake import flow, record
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

CONFIRM = "if it is a new demand, send it again with confirmed_new: true"


def _count(session: Session) -> int:
    value = session.scalar(select(func.count(Demand.id)))
    session.rollback()
    return int(value or 0)


def _now_body(**changes: Any) -> dict[str, Any]:
    """A demand as the API receives one: at the time it arrives, its deadline ahead."""
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return factories.body(received_at=None, deadline=deadline, **changes)


def _when(demand: dict[str, Any]) -> str:
    return str(demand["received_at"]).replace("+00:00", "Z")


@pytest.fixture
def registry(session: Session) -> None:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    session.commit()


@pytest.fixture
def http(live_server: LiveServer, session: Session, registry: None) -> Iterator[httpx.Client]:
    """A client acting as intake staff."""
    raw = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


# --- the API, one demand at a time -------------------------------------------------------


def test_the_same_demand_sent_twice_is_refused_naming_the_first(
    http: httpx.Client, session: Session
) -> None:
    body = _now_body(reference=None)
    first = http.post("/api/v1/demands", json=body)
    assert first.status_code == 201, first.text
    stored = first.json()

    again = http.post("/api/v1/demands", json=body)
    assert again.status_code == 422, again.text
    assert again.json()["detail"] == [
        {
            "loc": ["body"],
            "msg": f"the same demand as demand {stored['id']} (received {_when(stored)}): the "
            f"same authority asked for the same within 30 days; {CONFIRM}",
            "type": "repeat",
        }
    ]
    assert _count(session) == 1

    confirmed = http.post("/api/v1/demands", json={**body, "confirmed_new": True})
    assert confirmed.status_code == 201, confirmed.text
    assert _count(session) == 2
    submitted = audit.for_subject(session, f"demand:{confirmed.json()['id']}")[0]
    assert submitted.action == "demand.submitted"
    assert submitted.data["confirmed_new"] is True
    assert submitted.data["repeats"] == [stored["id"]]
    first_event = audit.for_subject(session, f"demand:{stored['id']}")[0]
    assert "confirmed_new" not in first_event.data
    session.rollback()


def test_the_same_reference_is_refused_on_reference(http: httpx.Client, session: Session) -> None:
    first = http.post("/api/v1/demands", json=_now_body(reference="NSD/202007/1234")).json()
    other = _now_body(reference="NSD/202007/1234", summary="Another post altogether")
    again = http.post("/api/v1/demands", json=other)
    assert again.status_code == 422, again.text
    assert again.json()["detail"] == [
        {
            "loc": ["body", "reference"],
            "msg": f"demand {first['id']} (reference NSD/202007/1234, received "
            f"{_when(first)}) already has this reference; {CONFIRM}",
            "type": "repeat",
        }
    ]
    # Another authority may use the same reference; a reference differing in case is another.
    bka = _now_body(
        authority="de-bka", jurisdiction="DE", reference="NSD/202007/1234", summary="BKA"
    )
    assert http.post("/api/v1/demands", json=bka).status_code == 201
    lower = _now_body(reference="nsd/202007/1234", summary="Lower case")
    assert http.post("/api/v1/demands", json=lower).status_code == 201
    assert _count(session) == 3


def test_an_idempotency_key_replays_and_a_new_key_for_the_same_demand_is_a_repeat(
    http: httpx.Client, session: Session
) -> None:
    body = _now_body(reference="R-1")
    first = http.post("/api/v1/demands", json=body, headers={"Idempotency-Key": "k-1"})
    replay = http.post("/api/v1/demands", json=body, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json()["id"] == first.json()["id"]
    # A client that makes a new key for each attempt (a form reloaded) sends a repeat.
    fresh = http.post("/api/v1/demands", json=body, headers={"Idempotency-Key": "k-2"})
    assert fresh.status_code == 422
    assert {e["type"] for e in fresh.json()["detail"]} == {"repeat"}
    # Confirmed new, then retried with its own key: the retry is a replay of the confirmed one.
    confirmed = {**body, "confirmed_new": True}
    made = http.post("/api/v1/demands", json=confirmed, headers={"Idempotency-Key": "k-3"})
    retried = http.post("/api/v1/demands", json=confirmed, headers={"Idempotency-Key": "k-3"})
    assert (made.status_code, retried.status_code) == (201, 200)
    assert retried.json()["id"] == made.json()["id"]
    assert _count(session) == 2


def test_an_officer_is_named_only_their_own_authoritys_demand(
    live_server: LiveServer, session: Session, registry: None
) -> None:
    staff = factories.token(session, "intake@example.org", ["intake"])
    officer = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(staff)) as client:
        bka = client.post(
            "/api/v1/demands",
            json=_now_body(authority="de-bka", jurisdiction="DE", reference="SHARED-1"),
        )
        assert bka.status_code == 201
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(officer)) as client:
        # The other authority's demand with this reference is neither a repeat nor named.
        own = client.post("/api/v1/demands", json=_now_body(reference="SHARED-1"))
        assert own.status_code == 201, own.text
        again = client.post("/api/v1/demands", json=_now_body(reference="SHARED-1"))
        assert again.status_code == 422
        message = again.json()["detail"][0]["msg"]
        assert message.startswith(f"demand {own.json()['id']} (reference SHARED-1,")
        assert str(bka.json()["id"]) not in message.split("(")[0]


def test_confirmed_new_is_true_or_false_nothing_else(http: httpx.Client, session: Session) -> None:
    for value in (0, 1, "true", "yes", None):
        answer = http.post("/api/v1/demands", json=_now_body(confirmed_new=value))
        assert answer.status_code == 422, (value, answer.text)
        assert [e["loc"] for e in answer.json()["detail"]] == [["body", "confirmed_new"]]
    assert _count(session) == 0


# --- batches ---------------------------------------------------------------------------


def test_a_batch_item_repeating_an_earlier_item_or_demand_refuses_the_batch(
    http: httpx.Client, session: Session
) -> None:
    items = [_now_body(reference="B-1"), _now_body(reference="B-2"), _now_body(reference="B-1")]
    refused = http.post("/api/v1/demands/batch", json={"demands": items})
    assert refused.status_code == 422, refused.text
    ((index, error),) = [(i["index"], e) for i in refused.json()["items"] for e in i["errors"]]
    assert index == 2
    assert error["loc"] == ["reference"]
    assert error["type"] == "repeat"
    assert error["msg"].startswith("item 0 of this batch (reference B-1, received ")
    assert _count(session) == 0

    written = http.post("/api/v1/demands/batch", json={"demands": items[:2]})
    assert written.status_code == 201, written.text
    first = written.json()["demands"][0]
    again = http.post("/api/v1/demands/batch", json={"demands": items[:1]})
    assert again.status_code == 422
    (error,) = again.json()["items"][0]["errors"]
    assert error["msg"].startswith(f"demand {first['id']} (reference B-1, received ")
    confirmed = http.post(
        "/api/v1/demands/batch", json={"demands": [{**items[0], "confirmed_new": True}]}
    )
    assert confirmed.status_code == 201, confirmed.text
    assert _count(session) == 3


# --- the flow: what every door goes through ------------------------------------------------


def _incoming(**changes: Any) -> flow.Incoming:
    return flow.Incoming(DemandIn.model_validate(factories.body(**changes)), Channel.EMAIL, "test")


def test_a_withdrawn_demand_is_not_repeated(
    session: Session, runtime: Runtime, registry: None
) -> None:
    (first,) = flow.receive_many(session, runtime, [_incoming(reference="W-1")])
    assert isinstance(first, flow.Received)
    (again,) = flow.receive_many(session, runtime, [_incoming(reference="W-1", summary="x")])
    assert isinstance(again, InvalidInput)
    demands.withdraw(
        session,
        first.demand.id,
        authority_id=None,
        actor="test",
        by=factories.ANYONE,
        reason="sent in error",
    )
    (after,) = flow.receive_many(session, runtime, [_incoming(reference="W-1", summary="x")])
    assert isinstance(after, flow.Received)
    assert after.created
    session.rollback()


def test_the_same_content_is_a_repeat_within_30_days_and_not_after(
    session: Session, runtime: Runtime, registry: None
) -> None:
    deadline = (datetime.now(UTC) + timedelta(days=90)).isoformat()

    def arriving(days_ago: int) -> flow.Received | InvalidInput:
        body = factories.body(reference=None, received_at=None, deadline=deadline)
        item = flow.Incoming(DemandIn.model_validate(body), Channel.EMAIL, "test")
        with clock.pinned(datetime.now(UTC) - timedelta(days=days_ago)):
            (answer,) = flow.receive_many(session, runtime, [item])
        return answer

    assert isinstance(arriving(61), flow.Received)
    assert isinstance(arriving(29), flow.Received), "31 days after the first: not a repeat"
    repeat = arriving(0)  # 29 days after the second
    assert isinstance(repeat, InvalidInput)
    ((loc, kind),) = [(e.loc, e.type) for e in repeat.errors]
    assert (loc, kind) == ((), record.REPEAT)
    session.rollback()


def test_submissions_written_together_name_the_first_by_its_id(
    session: Session, runtime: Runtime, registry: None
) -> None:
    # Single API submissions arriving at once are written in one group (web/coalesce.py):
    # the first is recorded, and the second, its repeat, names it by its id.
    first, second, third = flow.receive_many(
        session,
        runtime,
        [
            _incoming(reference="G-1"),
            _incoming(reference="G-1"),
            _incoming(reference="G-1", confirmed_new=True),
        ],
    )
    assert isinstance(first, flow.Received)
    assert isinstance(second, InvalidInput)
    assert second.errors[0].msg.startswith(f"demand {first.demand.id} (reference G-1, ")
    assert isinstance(third, flow.Received)
    submitted = audit.for_subject(session, f"demand:{third.demand.id}")[0]
    assert submitted.data["repeats"] == [first.demand.id]
    session.rollback()


def test_the_lookup_is_one_query_for_a_whole_group(
    session: Session, runtime: Runtime, registry: None
) -> None:
    from sqlalchemy import event

    items = [(DemandIn.model_validate(factories.body(reference=f"Q-{i}")), None) for i in range(50)]
    checked = [
        (data, record.check(session, data, store=runtime.store, max_document_bytes=1 << 20))
        for data, _ in items
    ]
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        record.Repeats.load(session, checked)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    session.rollback()
