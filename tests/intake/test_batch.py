"""Batch submission and withdrawal over real HTTP against the real app and database."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands.models import Demand, DemandStatus, Target
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer


def _count(session: Session, model: Any = Demand) -> int:
    value = session.scalar(select(func.count()).select_from(model))
    session.rollback()
    return int(value or 0)


def _bka(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "authority": "de-bka",
        "jurisdiction": "DE",
        "legal_basis": {"instrument": "Strafprozessordnung", "article": "§ 100a"},
    }
    return factories.body(**{**base, **changes})


@pytest.fixture
def registry(session: Session) -> None:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    session.commit()


@pytest.fixture
def http(live_server: LiveServer, session: Session, registry: None) -> Iterator[httpx.Client]:
    """A client acting as an intake reviewer."""
    raw = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


def _officer(live_server: LiveServer, session: Session, email: str, slug: str) -> httpx.Client:
    raw = factories.token(session, email, ["officer"], slug)
    session.commit()
    return httpx.Client(base_url=live_server.url, headers=factories.bearer(raw))


def test_batch_records_every_demand_in_order(http: httpx.Client, session: Session) -> None:
    items = [
        factories.body(reference="A-1"),
        _bka(reference="B-1"),
        factories.body(reference="A-2", kind="preservation"),
    ]
    answer = http.post("/api/v1/demands/batch", json={"demands": items})
    assert answer.status_code == 201, answer.text
    out = answer.json()
    assert out["created"] == [True, True, True]
    assert [d["reference"] for d in out["demands"]] == ["A-1", "B-1", "A-2"]
    assert [d["authority"] for d in out["demands"]] == ["hkpf-nsd", "de-bka", "hkpf-nsd"]
    assert {d["channel"] for d in out["demands"]} == {"api"}
    assert len({d["id"] for d in out["demands"]}) == 3
    assert _count(session) == 3
    events = audit.search(session, action="demand.submitted")
    session.rollback()
    assert sorted(str(e.subject) for e in events) == sorted(
        f"demand:{d['id']}" for d in out["demands"]
    )


def test_two_bad_items_refuse_the_batch_naming_both_and_write_nothing(
    http: httpx.Client, session: Session
) -> None:
    items = [
        factories.body(reference="ok-1"),
        factories.body(kind="unknown-kind"),  # refused by the schema
        factories.body(reference="ok-2"),
        _bka(jurisdiction="FR"),  # refused by the service (not the authority's jurisdiction)
    ]
    answer = http.post("/api/v1/demands/batch", json={"demands": items})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert [item["index"] for item in body["items"]] == [1, 3]
    assert [e["loc"] for e in body["items"][0]["errors"]] == [["kind"]]
    assert [e["loc"] for e in body["items"][1]["errors"]] == [["jurisdiction"]]
    assert "is not the jurisdiction of de-bka" in body["items"][1]["errors"][0]["msg"]
    assert [e["loc"] for e in body["detail"]] == [
        ["body", "demands", 1, "kind"],
        ["body", "demands", 3, "jurisdiction"],
    ]
    assert (_count(session), _count(session, Target)) == (0, 0)
    assert audit.search(session, action="demand.submitted") == []
    session.rollback()


def test_batch_size_is_1_to_100_naming_demands(http: httpx.Client, session: Session) -> None:
    too_many = [factories.body(reference=f"r-{i}") for i in range(101)]
    answer = http.post("/api/v1/demands/batch", json={"demands": too_many})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "demands"]
    empty = http.post("/api/v1/demands/batch", json={"demands": []})
    assert empty.status_code == 422
    assert empty.json()["detail"][0]["loc"] == ["body", "demands"]
    not_a_list = http.post("/api/v1/demands/batch", json=factories.body())
    assert not_a_list.status_code == 422
    malformed = http.post(
        "/api/v1/demands/batch", content=b"{oops", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert _count(session) == 0

    hundred = [factories.body(reference=f"r-{i}") for i in range(100)]
    assert http.post("/api/v1/demands/batch", json={"demands": hundred}).status_code == 201
    assert _count(session) == 100


def test_idempotency_keys_replay_and_conflict_per_item(
    http: httpx.Client, session: Session
) -> None:
    one = factories.body(reference="k-1", idempotency_key="K-1")
    two = factories.body(reference="k-2", idempotency_key="K-2")
    first = http.post("/api/v1/demands/batch", json={"demands": [one, two]})
    assert first.status_code == 201
    ids = [d["id"] for d in first.json()["demands"]]

    again = http.post("/api/v1/demands/batch", json={"demands": [one, two]})
    assert again.status_code == 200, "every item a replay"
    assert again.json()["created"] == [False, False]
    assert [d["id"] for d in again.json()["demands"]] == ids

    three = factories.body(reference="k-3", idempotency_key="K-3")
    mixed = http.post("/api/v1/demands/batch", json={"demands": [one, three]})
    assert mixed.status_code == 201
    assert mixed.json()["created"] == [False, True]
    assert mixed.json()["demands"][0]["id"] == ids[0]

    same_twice = factories.body(reference="k-4", idempotency_key="K-4")
    twice = http.post("/api/v1/demands/batch", json={"demands": [same_twice, same_twice]})
    assert twice.status_code == 201
    assert twice.json()["created"] == [True, False]
    assert twice.json()["demands"][0]["id"] == twice.json()["demands"][1]["id"]
    assert _count(session) == 4

    changed = factories.body(reference="k-5", summary="another", idempotency_key="K-5")
    clash = http.post(
        "/api/v1/demands/batch",
        json={"demands": [factories.body(reference="k-5", idempotency_key="K-5"), changed]},
    )
    assert clash.status_code == 422
    assert [(i["index"], [e["loc"] for e in i["errors"]]) for i in clash.json()["items"]] == [
        (1, [["idempotency_key"]])
    ]
    reused = http.post("/api/v1/demands/batch", json={"demands": [{**one, "summary": "different"}]})
    assert reused.status_code == 422
    assert reused.json()["items"][0]["errors"][0]["loc"] == ["idempotency_key"]
    assert _count(session) == 4


def test_officer_submits_only_for_their_own_authority(
    live_server: LiveServer, session: Session, registry: None
) -> None:
    with _officer(live_server, session, "officer@police.gov.hk", "hkpf-nsd") as officer:
        refused = officer.post(
            "/api/v1/demands/batch", json={"demands": [factories.body(), _bka()]}
        )
        assert refused.status_code == 422
        assert refused.json()["items"] == [
            {
                "index": 1,
                "errors": [
                    {
                        "loc": ["authority"],
                        "msg": "unknown authority 'de-bka'",
                        "type": "value_error",
                    }
                ],
            }
        ]
        assert _count(session) == 0
        accepted = officer.post("/api/v1/demands/batch", json={"demands": [factories.body()]})
        assert accepted.status_code == 201
    demand = session.scalar(select(Demand))
    assert demand is not None
    assert demand.officer_id is not None
    session.rollback()


def test_batch_needs_the_submit_permission(
    live_server: LiveServer, session: Session, registry: None
) -> None:
    raw = factories.token(session, "auditor@example.org", ["auditor"])
    session.commit()
    with httpx.Client(base_url=live_server.url) as client:
        body = {"demands": [factories.body()]}
        assert client.post("/api/v1/demands/batch", json=body).status_code == 401
        denied = client.post("/api/v1/demands/batch", json=body, headers=factories.bearer(raw))
        assert denied.status_code == 403
        unknown = factories.bearer("dp_not-a-token")
        assert client.post("/api/v1/demands/batch", json=body, headers=unknown).status_code == 401
        # The token is checked before the body: a caller who may not submit learns nothing
        # about what a valid batch looks like.
        bad = {"demands": [{"authority": "nobody"}]}
        for headers, status in ((unknown, 401), (factories.bearer(raw), 403)):
            answer = client.post("/api/v1/demands/batch", json=bad, headers=headers)
            assert answer.status_code == status, answer.text
    assert _count(session) == 0


def test_openapi_documents_batch_upload_and_withdraw(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        spec = client.get("/openapi.json").json()
    batch = spec["paths"]["/api/v1/demands/batch"]["post"]
    examples = batch["requestBody"]["content"]["application/json"]["examples"]
    assert len(examples["two-demands"]["value"]["demands"]) == 2
    assert "422" in batch["responses"]
    assert spec["components"]["schemas"]["BatchIn"]["properties"]["demands"]["maxItems"] == 100
    assert (
        "multipart/form-data"
        in (spec["paths"]["/api/v1/documents"]["post"]["requestBody"]["content"])
    )
    assert "/api/v1/demands/{demand_id}/withdraw" in spec["paths"]


# --- withdrawal ---------------------------------------------------------------------------


def test_withdraw_own_other_and_twice(
    live_server: LiveServer, session: Session, runtime: Runtime, registry: None
) -> None:
    demand_id = factories.submit(session, runtime, factories.body()).demand.id
    session.commit()
    own = _officer(live_server, session, "own@police.gov.hk", "hkpf-nsd")
    other = _officer(live_server, session, "other@bka.bund.de", "de-bka")
    path = f"/api/v1/demands/{demand_id}/withdraw"
    with own, other:
        assert other.post(path, json={"reason": "mine now"}).status_code == 404
        assert other.post(path, json={}).status_code == 404, "404 before looking at the body"
        assert own.post("/api/v1/demands/999999/withdraw", json={"reason": "x"}).status_code == 404
        blank = own.post(path, json={"reason": "   "})
        assert blank.status_code == 422
        assert blank.json()["detail"][0]["loc"] == ["body", "reason"]

        done = own.post(path, json={"reason": "The investigation was closed"})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "withdrawn"
        twice = own.post(path, json={"reason": "again"})
        assert twice.status_code == 409
        assert "withdrawn" in twice.json()["detail"]

    session.expire_all()
    demand = session.get(Demand, demand_id)
    assert demand is not None
    assert demand.status is DemandStatus.WITHDRAWN
    events = audit.search(session, action="demand.withdrawn")
    session.rollback()
    assert [(e.subject, e.data["reason"]) for e in events] == [
        (f"demand:{demand_id}", "The investigation was closed")
    ]


def test_a_client_that_hangs_up_mid_body_gets_no_error_logged_and_nothing_written(
    live_server: LiveServer,
    session: Session,
    registry: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket
    import time

    raw = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    head = (
        "POST /api/v1/demands/batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {raw}\r\nContent-Length: 5000\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", live_server.port)) as sock:
        sock.sendall(head.encode() + b'{"demands": [')
    time.sleep(0.5)  # the server notices the hang-up while it reads the body
    assert "unexpected error" not in caplog.text
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        assert client.get("/healthz").status_code == 200
    assert _count(session) == 0
