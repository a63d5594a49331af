"""The queues' API over real HTTP: the index, pages followed by their cursors, every bad
parameter answered 422 naming it, and the bulk steps: done in sets with one audit event per
demand, or refused naming each demand that cannot take the step, with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.runtime import Runtime
from tests import factories

S = DemandStatus


@dataclass
class Api:
    intake: httpx.Client
    intake2: httpx.Client
    legal: httpx.Client
    officer: httpx.Client
    ids: list[int]


@pytest.fixture
def api(live_server: Any, session: Session, runtime: Runtime) -> Iterator[Api]:
    factories.authority(session)
    tokens = {
        "intake": factories.token(session, "intake@example.org", ["intake"]),
        "intake2": factories.token(session, "intake2@example.org", ["intake"]),
        "legal": factories.token(session, "legal@example.org", ["legal-reviewer"]),
        "officer": factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd"),
    }
    ids = [
        factories.submit(
            session,
            runtime,
            factories.body(
                reference=f"NSD/{n}",
                summary=["Remove the protest post", "刪除「光復香港」帖子", "Remove a post"][n % 3],
                deadline=f"2020-07-{8 + n:02d}T09:30:00+08:00",
            ),
        ).demand.id
        for n in range(5)
    ]
    session.commit()
    clients = {
        name: httpx.Client(base_url=live_server.url, headers=factories.bearer(raw))
        for name, raw in tokens.items()
    }
    try:
        yield Api(**clients, ids=ids)
    finally:
        for client in clients.values():
            client.close()


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _items(api: Api, ids: list[int]) -> list[dict[str, int]]:
    rows = _ok(api.intake.get("/api/v1/review/queues/intake", params={"limit": 200}))["rows"]
    revisions = {r["id"]: r["revision"] for r in rows}
    return [{"id": i, "revision": revisions[i]} for i in ids]


def test_the_index_and_pages_followed_by_their_cursors(api: Api) -> None:
    index = _ok(api.intake.get("/api/v1/review/queues"))
    waiting = {q["queue"]: q["waiting"] for q in index["queues"]}
    assert waiting["intake"] == {"count": 5, "count_is": "exact"}
    assert waiting["legal"] == {"count": 0, "count_is": "exact"}
    seen: list[int] = []
    page = _ok(api.intake.get("/api/v1/review/queues/intake", params={"limit": 2}))
    assert page["prev"] is None
    while True:
        seen += [r["id"] for r in page["rows"]]
        assert page["total"] == 5
        if page["next"] is None:
            break
        page = _ok(
            api.intake.get(
                "/api/v1/review/queues/intake", params={"limit": 2, "after": page["next"]}
            )
        )
    assert seen == api.ids  # due one day after another
    back = _ok(
        api.intake.get("/api/v1/review/queues/intake", params={"limit": 2, "before": page["prev"]})
    )
    assert [r["id"] for r in back["rows"]] == api.ids[2:4]
    row = page["rows"][0]
    assert row["penalty"] == "Fine of HK$100,000 and imprisonment for six months"
    assert row["urgency"] in ("overdue", "due-soon", "on-time")


def test_filters_and_search_over_http(api: Api) -> None:
    found = _ok(
        api.intake.get(
            "/api/v1/review/queues/intake", params={"q": "光復香港", "jurisdiction": "hk"}
        )
    )
    assert [r["id"] for r in found["rows"]] == [api.ids[1], api.ids[4]]
    assert found["filters"] == {"q": "光復香港", "jurisdiction": "HK"}
    found = _ok(api.intake.get("/api/v1/review/queues/intake", params={"q": "protest"}))
    assert [r["id"] for r in found["rows"]] == [api.ids[0], api.ids[3]]
    none = _ok(
        api.intake.get(
            "/api/v1/review/queues/intake", params={"kind": "preservation", "assignee": "nobody"}
        )
    )
    assert (none["rows"], none["total"], none["total_is"]) == ([], 0, "exact")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jurisdiction", "XX"),
        ("authority", "no-such-authority"),
        ("kind", "telepathy"),
        ("legal_process", "duel"),
        ("stance", "maybe"),
        ("verification", "sure"),
        ("flag", "spicy"),
        ("assignee", "ghost@example.org"),
        ("due", "yesterday"),
        ("due_within", "5y"),
        ("due_after", "31/07/2020"),
        ("due_before", "2020-07-31T09:00:00"),
        ("emergency", "perhaps"),
        ("q", "x" * 201),
        ("q", "a\x00b"),
        ("authority", "a\x00b"),
        ("after", "garbage"),
        ("before", "MS4xLjA"),
        ("limit", "0"),
        ("limit", "201"),
        ("limit", "9" * 30),
    ],
)
def test_a_bad_parameter_is_422_naming_it(api: Api, name: str, value: str) -> None:
    answer = api.intake.get("/api/v1/review/queues/intake", params={name: value})
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["query", name]]


def test_an_unknown_queue_and_an_officer_are_refused(api: Api) -> None:
    answer = api.intake.get("/api/v1/review/queues/lunch")
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["path", "queue"]
    assert api.officer.get("/api/v1/review/queues").status_code == 403
    assert api.officer.get("/api/v1/review/queues/intake").status_code == 403


def _assignees(session: Session, ids: list[int]) -> list[int | None]:
    found = [demands.get(session, i).assignee_id for i in ids]
    session.commit()  # and no transaction left open: on SQLite it would hold the write lock
    return found


def _trail(session: Session, demand_id: int) -> list[Any]:
    found = audit.for_subject(session, f"demand:{demand_id}")
    session.commit()
    return found


def test_bulk_assign_writes_one_event_per_demand(api: Api, session: Session) -> None:
    chosen = api.ids[:3]
    done = _ok(
        api.intake.post(
            "/api/v1/review/bulk/assign",
            json={"demands": _items(api, chosen), "assignee": "intake2@example.org"},
        )
    )
    assert [c["demand_id"] for c in done["changed"]] == chosen
    assert done["unchanged"] == []
    two = _ok(api.intake2.get("/api/v1/review/queues/intake", params={"assignee": "me"}))
    assert [r["id"] for r in two["rows"]] == chosen
    for demand_id in chosen:
        (assigned,) = [
            e
            for e in _trail(session, demand_id)
            if e.action == "review.assigned"
        ]
        assert assigned.data["from"] is None
        assert assigned.data["status"] == "received"
    again = _ok(
        api.intake.post(
            "/api/v1/review/bulk/assign",
            json={"demands": _items(api, chosen), "assignee": "intake2@example.org"},
        )
    )
    assert (again["changed"], again["unchanged"]) == ([], chosen)
    released = _ok(
        api.intake.post(
            "/api/v1/review/bulk/assign", json={"demands": _items(api, chosen), "assignee": None}
        )
    )
    assert len(released["changed"]) == 3
    assert _assignees(session, chosen) == [None, None, None]


def test_a_bulk_step_some_demands_cannot_take_changes_nothing(api: Api, session: Session) -> None:
    items = _items(api, api.ids[:3])
    items[1]["revision"] += 1  # stale
    items.append({"id": 999_999, "revision": 0})
    before = len(_trail(session, api.ids[0]))
    answer = api.intake.post(
        "/api/v1/review/bulk/assign", json={"demands": items, "assignee": "intake2@example.org"}
    )
    assert answer.status_code == 409, answer.text
    refused = answer.json()["refused"]
    assert [r["demand_id"] for r in refused] == [api.ids[1], 999_999]
    assert "changed since it was loaded" in refused[0]["reason"]
    assert "no such demand" in refused[1]["reason"]
    assert "none was changed" in answer.json()["detail"]
    assert _assignees(session, api.ids[:3]) == [None, None, None]
    assert len(_trail(session, api.ids[0])) == before
    # assigning to someone who does not work this queue: each demand named
    answer = api.intake.post(
        "/api/v1/review/bulk/assign",
        json={"demands": _items(api, api.ids[:2]), "assignee": "legal@example.org"},
    )
    assert answer.status_code == 409
    assert all(
        "cannot work on a demand in received" in r["reason"] for r in answer.json()["refused"]
    )
    # a legal reviewer may not assign intake's demands
    answer = api.legal.post(
        "/api/v1/review/bulk/assign",
        json={"demands": _items(api, api.ids[:1]), "assignee": "intake2@example.org"},
    )
    assert answer.status_code == 409
    assert "is for intake" in answer.json()["refused"][0]["reason"]
    answer = api.intake.post("/api/v1/review/bulk/assign", json={"demands": [], "assignee": None})
    assert answer.status_code == 422
    answer = api.intake.post(
        "/api/v1/review/bulk/assign",
        json={"demands": _items(api, api.ids[:1]), "assignee": "ghost@x.org"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "assignee"]


def test_bulk_send_moves_a_set_with_the_single_steps_events(api: Api, session: Session) -> None:
    chosen = api.ids[:3]
    done = _ok(
        api.intake.post(
            "/api/v1/review/bulk/send",
            json={
                "demands": _items(api, chosen),
                "to": "legal-review",
                "reason": "the pause was lifted",
            },
        )
    )
    moved = {c["demand_id"]: c["status"] for c in done["changed"]}
    for demand_id in chosen:
        demand = demands.get(session, demand_id)
        assert demand.status.value == moved[demand_id]
        assert demand.revision == 1
        trail = [
            e
            for e in _trail(session, demand_id)
            if e.action.startswith(("demand.legal", "demand.human", "review.flags"))
        ]
        assert [e.action for e in trail] == ["review.flags_computed", f"demand.{moved[demand_id]}"]
        assert trail[-1].data["from"] == "received"
        assert trail[-1].data["reason"] == "the pause was lifted"
    # again: they are no longer in intake's hands, so each is refused and nothing moves
    answer = api.intake.post(
        "/api/v1/review/bulk/send",
        json={
            "demands": [{"id": i, "revision": 1} for i in chosen] + _items(api, api.ids[3:]),
            "to": "legal-review",
            "reason": "again",
        },
    )
    assert answer.status_code == 409
    assert [r["demand_id"] for r in answer.json()["refused"]] == chosen
    assert [demands.get(session, i).status for i in api.ids[3:]] == [S.RECEIVED, S.RECEIVED]
    session.commit()
    answer = api.intake.post(
        "/api/v1/review/bulk/send",
        json={"demands": _items(api, api.ids[3:]), "to": "legal-review", "reason": "  "},
    )
    assert answer.status_code == 422
