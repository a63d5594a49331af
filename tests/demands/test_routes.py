"""The demand API over real HTTP against the real app and database."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.demands.models import Demand
from tests import factories
from tests.conftest import LiveServer


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count(Demand.id))) or 0)


@pytest.fixture
def http(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    """A client acting as an intake reviewer, with the HK police registered."""
    factories.authority(session)
    raw = factories.token(session, "intake@example.org", ["intake", "legal-reviewer"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


def test_submit_list_show(http: httpx.Client) -> None:
    created = http.post("/api/v1/demands", json=factories.body())
    assert created.status_code == 201, created.text
    demand = created.json()
    assert created.headers["location"] == f"/api/v1/demands/{demand['id']}"
    assert demand["channel"] == "api"
    assert demand["status"] == "received"

    listed = http.get("/api/v1/demands").json()
    assert [d["id"] for d in listed] == [demand["id"]]
    shown = http.get(f"/api/v1/demands/{demand['id']}").json()
    assert shown["targets"] == demand["targets"]
    assert http.get("/api/v1/demands/999999").status_code == 404


def test_bad_input_is_422_naming_each_field_and_writes_nothing(
    http: httpx.Client, session: Session
) -> None:
    bad = factories.body(jurisdiction="XX", kind="unknown-kind")
    del bad["legal_basis"]
    answer = http.post("/api/v1/demands", json=bad)
    assert answer.status_code == 422
    where = sorted(tuple(e["loc"]) for e in answer.json()["detail"])
    assert where == [("body", "jurisdiction"), ("body", "kind"), ("body", "legal_basis")]

    late = http.post("/api/v1/demands", json=factories.body(deadline="2020-07-01T00:00:00Z"))
    assert late.status_code == 422
    assert late.json()["detail"][0]["loc"] == ["body", "deadline"]

    malformed = http.post(
        "/api/v1/demands", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert _count(session) == 0


def test_malformed_json_is_422_and_a_token_without_the_permission_is_403_first(
    http: httpx.Client, live_server: LiveServer, session: Session
) -> None:
    broken = http.post(
        "/api/v1/demands",
        content=b'{"authority": "hkpf-nsd",',
        headers={"content-type": "application/json"},
    )
    assert broken.status_code == 422, broken.text
    assert "JSON" in broken.json()["detail"][0]["msg"]
    reader = factories.token(session, "auditor@example.org", ["auditor"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(reader)) as other:
        assert other.post("/api/v1/demands", content=b"{not json").status_code == 403
    assert http.post("/api/v1/demands", json=factories.body()).status_code == 201


def test_oversized_body_is_refused_before_parsing(http: httpx.Client, session: Session) -> None:
    big = factories.body(summary="x" * (3 * 1024 * 1024))
    answer = http.post("/api/v1/demands", json=big)
    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"][0]["msg"]

    def chunks() -> object:
        for _ in range(40):
            yield b"x" * 100_000

    streamed = http.post(
        "/api/v1/demands",
        content=chunks(),  # type: ignore[arg-type]
        headers={"content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert _count(session) == 0


def test_idempotency_key_header_replays_and_conflicts(http: httpx.Client, session: Session) -> None:
    headers = {"Idempotency-Key": "NSD-7"}
    first = http.post("/api/v1/demands", json=factories.body(), headers=headers)
    again = http.post("/api/v1/demands", json=factories.body(), headers=headers)
    other = http.post("/api/v1/demands", json=factories.body(summary="else"), headers=headers)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 422)
    assert again.json()["id"] == first.json()["id"]
    assert other.json()["detail"][0]["loc"] == ["body", "idempotency_key"]
    assert _count(session) == 1


def test_health_and_openapi(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get("/healthz").json()["status"] == "ok"
        spec = http.get("/openapi.json").json()
    assert {"/api/v1/demands", "/api/v1/demands/{demand_id}", "/healthz"} <= set(spec["paths"])
    assert "DemandIn" in spec["components"]["schemas"]


def test_counts_endpoint_refuses_bad_period(http: httpx.Client) -> None:
    answer = http.get("/api/v1/transparency/counts", params={"period": "2020-H3"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "period"]


def test_document_download_is_audited_and_scoped(http: httpx.Client, session: Session) -> None:
    import base64

    from dueprocess.audit import service as audit

    content = b"Order: remove the post.\n"
    doc = {"filename": 'order "1".txt', "content_base64": base64.b64encode(content).decode()}
    created = http.post("/api/v1/demands", json=factories.body(documents=[doc])).json()
    sha = created["documents"][0]["sha256"]
    got = http.get(f"/api/v1/demands/{created['id']}/documents/{sha}")
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.headers["x-document-sha256"] == sha
    assert http.get(f"/api/v1/demands/{created['id']}/documents/{'a' * 64}").status_code == 404
    events = audit.search(session, action="document.downloaded")
    session.rollback()
    assert [(e.subject, e.data["sha256"]) for e in events] == [(f"demand:{created['id']}", sha)]
