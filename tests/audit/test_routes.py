"""The audit search over real HTTP: its filters, its paging, and bad input as a 422 naming the
parameter (the API) or the form shown again with the problem (the page), never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.audit import service as audit
from tests import factories
from tests.authorities.test_routes import sign_in
from tests.conftest import LiveServer

JULY_6 = datetime(2020, 7, 6, tzinfo=UTC)
ACTIONS = [
    "policy.proposed",
    "policy.activated",
    "policyx.imported",  # not under "policy"
    "auth.sign_in_failed",
    "authority.created",  # not under "auth"
    "demandXviewed",  # "demand_*" must not match it: "_" is no wildcard
]


@pytest.fixture
def ann(session: Session) -> Account:
    return factories.account(session, "ann@example.org", ["intake"])


@pytest.fixture
def http(live_server: LiveServer, session: Session, ann: Account) -> Iterator[httpx.Client]:
    """An auditor's client, over a log of the actions above and 25 views by Ann, an hour
    apart from 6 July 2020 00:00 UTC."""
    raw = factories.token(session, "auditor@example.org", ["auditor"])
    for i, action in enumerate(ACTIONS):
        audit.record(session, actor="system", action=action, at=JULY_6 - timedelta(days=1 + i))
    for i in range(25):
        audit.record(
            session,
            actor=f"account:{ann.id}",
            action="demand.viewed",
            subject=f"demand:{i + 1}",
            at=JULY_6 + timedelta(hours=i),
        )
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


def search(http: httpx.Client, **params: str | int) -> dict[str, Any]:
    answer = http.get("/api/v1/audit/events", params=params)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def actions(page: dict[str, Any]) -> list[str]:
    events = page["events"]
    assert isinstance(events, list)
    return [e["action"] for e in events]


def test_action_matches_itself_and_what_it_is_the_first_parts_of(http: httpx.Client) -> None:
    assert actions(search(http, action="policy")) == ["policy.activated", "policy.proposed"]
    assert actions(search(http, action="policy.")) == ["policy.activated", "policy.proposed"]
    assert actions(search(http, action="auth")) == ["auth.sign_in_failed"]
    assert actions(search(http, action="policy.activated")) == ["policy.activated"]
    assert actions(search(http, action="pol*")) == [
        "policyx.imported",
        "policy.activated",
        "policy.proposed",
    ]
    assert actions(search(http, action="auth.sign_in*")) == ["auth.sign_in_failed"]
    assert search(http, action="demand_*")["total"] == 0


def test_actor_by_account_number_or_e_mail(http: httpx.Client, ann: Account) -> None:
    for actor in (f"account:{ann.id}", str(ann.id), "ann@example.org", " Ann@Example.org "):
        page = search(http, actor=actor, limit=5)
        assert page["total"] == 25, actor
        assert {e["actor"] for e in page["events"]} == {f"account:{ann.id}"}
    unknown = http.get("/api/v1/audit/events", params={"actor": "nobody@example.org"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == [
        {
            "loc": ["query", "actor"],
            "msg": "no account has the e-mail nobody@example.org",
            "type": "value_error",
        }
    ]


def test_pages_cover_every_match_once_with_the_total(http: httpx.Client) -> None:
    seen: list[int] = []
    for offset in (0, 10, 20):
        page = search(http, action="demand", limit=10, offset=offset)
        assert (page["total"], page["offset"], page["limit"]) == (25, offset, 10)
        seen += [e["seq"] for e in page["events"]]
    assert seen == sorted(seen, reverse=True)
    assert len(seen) == len(set(seen)) == 25
    assert search(http, action="demand", offset=25)["events"] == []
    # Without filters the total is the whole log, the searches so far included.
    everything = search(http, limit=1)
    assert everything["total"] == everything["events"][0]["seq"]


def test_since_and_until_take_times_with_their_zone(http: httpx.Client) -> None:
    page = search(http, since="2020-07-06T08:00:00+08:00", until="2020-07-06T03:00:00Z")
    assert [e["at"] for e in page["events"]] == [
        "2020-07-06T02:00:00Z",
        "2020-07-06T01:00:00Z",
        "2020-07-06T00:00:00Z",
    ]


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"since": "2020-07-06"}, "since", "time zone"),
        ({"until": "2020-07-06T09:00:00"}, "until", "time zone"),
        ({"until": "9999-12-31T23:59:59-23:59"}, "until", "outside the years 1 to 9999"),
        ({"since": "0001-01-01T00:00:00+23:59"}, "since", "outside the years 1 to 9999"),
        ({"since": "10000-01-01T00:00:00Z"}, "since", ""),
        ({"since": "yesterday"}, "since", ""),
        ({"since": "2020-07-07T00:00:00Z", "until": "2020-07-06T00:00:00Z"}, "until", "after"),
        ({"offset": str(2**63)}, "offset", ""),
        ({"offset": "-1"}, "offset", ""),
        ({"limit": "0"}, "limit", ""),
        ({"action": "x" * 101}, "action", ""),
    ],
)
def test_bad_parameters_are_422_naming_them(
    http: httpx.Client, params: dict[str, str], field: str, words: str
) -> None:
    answer = http.get("/api/v1/audit/events", params=params)
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["detail"]
    assert error["loc"] == ["query", field]
    assert words in error["msg"]


def test_the_page_searches_pages_and_shows_bad_input(
    http: httpx.Client, live_server: LiveServer, session: Session
) -> None:
    factories.account(session, "reader@example.org", ["auditor"])
    session.commit()
    page = sign_in(live_server.url, "reader@example.org")
    try:
        found = page.get("/audit", params={"action": "demand", "limit": "10", "offset": "10"})
        assert found.status_code == 200
        assert "Events 11–20 of 25 found, newest first." in found.text
        assert 'rel="prev"' in found.text
        assert 'rel="next"' in found.text
        assert "action=demand&amp;limit=10&amp;offset=20" in found.text
        bad = page.get("/audit", params={"since": "2020-07-06", "actor": "x@example.org"})
        assert bad.status_code == 422
        assert "Nothing was searched" in bad.text
        assert "since: give a time zone" in bad.text
        assert 'value="2020-07-06"' in bad.text  # what was typed stays in the form
        unknown = page.get("/audit", params={"actor": "x@example.org"})
        assert unknown.status_code == 422
        assert "actor: no account has the e-mail x@example.org" in unknown.text
    finally:
        page.close()


def test_a_number_is_not_a_time_and_an_empty_time_is_not_one_either(
    live_server: LiveServer, session: Session
) -> None:
    """Found by schemathesis: ``until=0.5`` was read as 1970 and ``until=`` as no bound."""
    raw = factories.token(session, "auditor@example.org", ["auditor"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as http:
        for value in ("0.5", "1594085400", ""):
            answer = http.get("/api/v1/audit/events", params={"until": value})
            assert answer.status_code == 422, value
            assert answer.json()["detail"][0]["loc"] == ["query", "until"]
