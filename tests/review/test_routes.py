"""Review over real HTTP: a demand from intake to an approved decision through the API, and
every refusal as the API answers it (409 stale or out of turn, 403 not yours to do, 422
naming the field), with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.passwords import current_code
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer
from tests.review.test_service import USER_DATA


@dataclass
class Clients:
    intake: httpx.Client
    legal: httpx.Client
    approver: httpx.Client
    officer: httpx.Client
    demand_id: int
    approver_secret: str


@pytest.fixture
def clients(live_server: LiveServer, session: Session, runtime: Runtime) -> Iterator[Clients]:
    factories.authority(session)
    tokens = {
        "intake": factories.token(session, "intake@example.org", ["intake"]),
        "legal": factories.token(session, "legal@example.org", ["legal-reviewer"]),
        "approver": factories.token(session, "approver@example.org", ["approver"]),
        "officer": factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd"),
    }
    demand = factories.submit(session, runtime, factories.body(**USER_DATA)).demand
    secret = accounts.get_by_email(session, "approver@example.org").totp_secret  # type: ignore[union-attr]
    assert secret is not None
    session.commit()
    made = {
        name: httpx.Client(base_url=live_server.url, headers=factories.bearer(raw))
        for name, raw in tokens.items()
    }
    try:
        yield Clients(**made, demand_id=demand.id, approver_secret=secret)
    finally:
        for client in made.values():
            client.close()


def _path(c: Clients, step: str = "") -> str:
    return f"/api/v1/demands/{c.demand_id}/review{step}"


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def answer_legal_checklist(client: httpx.Client, demand_id: int) -> None:
    """Answer every required question of the legal checklist through the API."""
    path = f"/api/v1/demands/{demand_id}/checklists/legal"
    checklist = _ok(client.get(path))
    for question in checklist["missing_required"]:
        body = {"version_id": checklist["version_id"], "question": question, "answer": "yes",
                "note": "checked against the court order"}  # fmt: skip
        _ok(client.post(path, json=body))
    assert _ok(client.get(path))["complete"] is True


def test_a_demand_is_decided_and_approved_through_the_api(clients: Clients) -> None:
    c = clients
    state = _ok(c.intake.get(_path(c)))
    assert state["status"] == "received"
    assert state["penalty"] == "Fine of HK$100,000 and imprisonment for six months"
    state = _ok(c.intake.post(_path(c, "/send"), json={
        "revision": state["revision"], "to": "legal-review", "reason": "genuine"}))  # fmt: skip
    state = _ok(c.legal.post(_path(c, "/claim"), json={"revision": state["revision"]}))
    assert state["assignee"] == "legal@example.org"
    first, second = (t["id"] for t in state["targets"])
    state = _ok(
        c.legal.put(
            _path(c, "/decisions"),
            json={
                "revision": state["revision"],
                "decisions": [
                    {
                        "target_id": first,
                        "outcome": "comply-narrowed",
                        "narrowing": {"period_end": "2020-07-10T00:00:00+08:00"},
                    },
                    {"target_id": second, "outcome": "refuse", "refusal_reason": "overbroad"},
                ],
            },
        )
    )
    assert state["needs_approval"] is True
    assert "up to 2020-07-09" in state["reply_draft"]
    refused = c.legal.post(_path(c, "/submit"), json={"revision": state["revision"]})
    assert refused.status_code == 422, "the legal checklist is not answered yet"
    assert {e["loc"][1] for e in refused.json()["detail"]} == {"checklist"}
    answer_legal_checklist(c.legal, c.demand_id)
    state = _ok(c.legal.post(_path(c, "/submit"), json={"revision": state["revision"]}))
    assert state["status"] == "awaiting-approval"
    digest = state["submission"]["digest"]
    state = _ok(
        c.approver.post(
            _path(c, "/approval"),
            json={
                "revision": state["revision"],
                "digest": digest,
                "code": current_code(c.approver_secret),
            },
        )
    )
    assert state["status"] == "decided"
    shown = c.officer.get(f"/api/v1/demands/{c.demand_id}")
    assert shown.status_code == 200


def test_refusals_over_http_change_nothing(clients: Clients) -> None:
    c = clients
    state = _ok(c.intake.get(_path(c)))
    stale = c.intake.post(_path(c, "/send"), json={
        "revision": state["revision"] + 1, "to": "legal-review", "reason": "x"})  # fmt: skip
    assert stale.status_code == 409
    assert "changed since this page was loaded" in stale.json()["detail"]
    not_theirs = c.legal.post(_path(c, "/send"), json={
        "revision": state["revision"], "to": "legal-review", "reason": "x"})  # fmt: skip
    assert not_theirs.status_code == 403
    assert "is for intake" in not_theirs.json()["detail"]
    state = _ok(c.intake.post(_path(c, "/send"), json={
        "revision": state["revision"], "to": "legal-review", "reason": "genuine"}))  # fmt: skip
    state = _ok(c.legal.post(_path(c, "/claim"), json={"revision": state["revision"]}))
    first = state["targets"][0]["id"]
    widened = c.legal.put(
        _path(c, "/decisions"),
        json={
            "revision": state["revision"],
            "decisions": [
                {"target_id": first, "outcome": "comply-narrowed",
                 "narrowing": {"data_categories": ["traffic"]}},
            ],
        },
    )  # fmt: skip
    assert widened.status_code == 422
    assert [e["loc"] for e in widened.json()["detail"]] == [
        ["body", "decisions", 0, "narrowing", "data_categories"]
    ]
    maybe = [{"target_id": first, "outcome": "maybe"}]
    unknown = c.legal.put(
        _path(c, "/decisions"), json={"revision": state["revision"], "decisions": maybe}
    )
    assert unknown.status_code == 422
    assert _ok(c.legal.get(_path(c)))["decisions"] == []
    assert c.officer.get(_path(c)).status_code == 403, "review is staff's, not the requester's"
    assert c.legal.get("/api/v1/demands/99999/review").status_code == 404
    assert c.legal.get(f"/api/v1/demands/{2**31}/review").status_code == 422
