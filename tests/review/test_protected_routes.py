"""The protected-accounts list over real HTTP: the API (documented in OpenAPI) and the staff
page with its CSRF token, for the list's keepers only; and the risk flags on a demand's
page, for staff only."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.review import flags, protected
from dueprocess.review.models import ProtectedCategory
from dueprocess.runtime import Runtime
from tests import factories
from tests.authorities.test_routes import sign_in
from tests.conftest import LiveServer

API = "/api/v1/protected-accounts"


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    out = {
        "rights": factories.token(session, "rights@example.org", ["human-rights-reviewer"]),
        "legal": factories.token(session, "legal@example.org", ["legal-reviewer"]),
    }
    session.commit()
    return out


def test_the_api_adds_lists_and_removes(live_server: LiveServer, tokens: dict[str, str]) -> None:
    rights = factories.bearer(tokens["rights"])
    with httpx.Client(base_url=live_server.url) as http:
        answer = http.post(
            API,
            headers=rights,
            json={
                "handle": "https://microblog.demo/@StandNews_Reporter",
                "category": "journalist",
                "note": "press",
            },
        )
        assert answer.status_code == 201, answer.text
        created = answer.json()
        assert created["handle"] == "standnews_reporter"
        assert created["category"] == "journalist"
        assert created["added_by"] == "rights@example.org"
        assert created["active"] is True

        again = http.post(
            API, headers=rights, json={"handle": "@standnews_reporter", "category": "activist"}
        )
        assert again.status_code == 409
        assert "already on the list as journalist" in again.json()["detail"]

        listed = http.get(API, headers=rights).json()
        assert [e["handle"] for e in listed] == ["standnews_reporter"]
        assert listed[0]["note"] == "press"

        removed = http.post(f"{API}/{created['id']}/remove", headers=rights)
        assert removed.status_code == 200
        assert removed.json()["removed_by"] == "rights@example.org"
        assert http.get(API, headers=rights).json() == []
        everything = http.get(API, headers=rights, params={"include_removed": "true"}).json()
        assert [e["active"] for e in everything] == [False]
        assert http.post(f"{API}/{created['id']}/remove", headers=rights).status_code == 409
        assert http.post(f"{API}/999999/remove", headers=rights).status_code == 404


def test_bad_input_names_each_field(live_server: LiveServer, tokens: dict[str, str]) -> None:
    with httpx.Client(base_url=live_server.url) as http:
        answer = http.post(
            API,
            headers=factories.bearer(tokens["rights"]),
            json={"handle": "two words", "category": "priest", "note": "x" * 2001, "extra": 1},
        )
    assert answer.status_code == 422
    where = {tuple(d["loc"]) for d in answer.json()["detail"]}
    assert where == {("body", "handle"), ("body", "category"), ("body", "note"), ("body", "extra")}
    messages = {d["loc"][1]: d["msg"] for d in answer.json()["detail"]}
    assert "not a handle" in messages["handle"]


def test_only_the_lists_keepers_reach_it(
    live_server: LiveServer, tokens: dict[str, str], session: Session
) -> None:
    legal = factories.bearer(tokens["legal"])
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get(API, headers=legal).status_code == 403
        assert (
            http.post(API, headers=legal, json={"handle": "a", "category": "lawyer"}).status_code
            == 403
        )
        assert http.get(API).status_code == 401
    assert audit.search(session, action="review.protected_*") == []


def test_the_api_is_documented(live_server: LiveServer) -> None:
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    assert set(spec["paths"][API]) == {"get", "post"}
    assert "post" in spec["paths"][f"{API}/{{entry_id}}/remove"]
    assert "/protected-accounts" not in spec["paths"]  # the page is not API
    schemas = spec["components"]["schemas"]
    assert set(schemas["ProtectedIn"]["properties"]) == {"handle", "category", "note"}


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]*)"', page)
    assert found
    return html.unescape(found.group(1))


@pytest.fixture
def keeper_page(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.account(session, "rights@example.org", ["human-rights-reviewer"])
    factories.account(session, "legal@example.org", ["legal-reviewer"])
    session.commit()
    client = sign_in(live_server.url, "rights@example.org")
    yield client
    client.close()


def test_the_page_adds_and_removes_with_its_csrf_token(keeper_page: httpx.Client) -> None:
    page = keeper_page.get("/protected-accounts")
    assert page.status_code == 200
    assert "Nobody is on the list." in page.text
    token = _csrf(page.text)
    form = {
        "handle": "@LamWingKee_HK",
        "category": "activist",
        "note": "organiser",
        "csrf_token": token,
    }
    added = keeper_page.post("/protected-accounts", data=form)
    assert added.status_code == 303
    assert added.headers["location"] == "/protected-accounts?added=lamwingkee_hk"
    listed = keeper_page.get(added.headers["location"]).text
    assert "@lamwingkee_hk is on the list." in listed
    assert "organiser" in listed

    twice = keeper_page.post("/protected-accounts", data=form)
    assert twice.status_code == 409
    assert "already on the list as activist" in html.unescape(twice.text)

    bad = keeper_page.post("/protected-accounts", data={**form, "handle": "a b", "category": ""})
    assert bad.status_code == 422
    assert "handle:" in bad.text
    assert "category:" in bad.text
    assert 'value="a b"' in bad.text  # the form comes back as typed

    entry = re.search(r'action="/protected-accounts/(\d+)/remove"', listed)
    assert entry
    gone = keeper_page.post(f"/protected-accounts/{entry[1]}/remove", data={"csrf_token": token})
    assert gone.status_code == 303
    assert "Nobody is on the list." in keeper_page.get("/protected-accounts").text


def test_the_page_refuses_a_form_without_its_token(
    keeper_page: httpx.Client, session: Session
) -> None:
    answer = keeper_page.post(
        "/protected-accounts", data={"handle": "someone", "category": "lawyer"}
    )
    assert answer.status_code == 403
    assert audit.search(session, action="review.protected_added") == []


def test_the_page_is_for_the_lists_keepers_only(
    live_server: LiveServer, keeper_page: httpx.Client
) -> None:
    with closing(sign_in(live_server.url, "legal@example.org")) as legal:
        answer = legal.get("/protected-accounts")
        assert answer.status_code == 403
        assert "protected:manage" in answer.text
        assert "Protected accounts</a>" not in legal.get("/demands").text
    assert "Protected accounts</a>" in keeper_page.get("/demands").text


def test_a_demands_page_shows_its_flags_to_staff_not_to_its_officer(
    live_server: LiveServer, session: Session, runtime: Runtime, posts: dict[str, list[str]]
) -> None:
    factories.authority(session)
    keeper = factories.account(session, "rights@example.org", ["human-rights-reviewer"])
    officer = factories.account(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    protected.add(
        session,
        protected.ProtectedIn(
            handle="hk_student_union", category=ProtectedCategory.ACTIVIST, note="private"
        ),
        actor=f"account:{keeper.id}",
    )
    demand = factories.submit(
        session,
        runtime,
        factories.body(targets=[{"type": "content", "id": posts["hk_student_union"][0]}]),
    ).demand
    session.commit()
    with closing(sign_in(live_server.url, "rights@example.org")) as staff:
        before = staff.get(f"/demands/{demand.id}").text
        assert "Not computed yet" in before
        flags.compute(session, runtime.connectors, demand.id, actor="test")
        session.commit()
        page = html.unescape(staff.get(f"/demands/{demand.id}").text)
    assert "Human-rights review is required" in page
    assert "光復香港，時代革命" in page
    assert "Protest slogan “Liberate Hong Kong, revolution of our times”" in page
    assert "@hk_student_union is on the protected-accounts list (activist)" in page
    assert "private" not in page  # the keepers' note is not shown with a flag
    with closing(sign_in(live_server.url, officer.email, officer.totp_secret)) as requester:
        theirs = requester.get(f"/demands/{demand.id}")
    assert theirs.status_code == 200
    assert "Risk flags" not in theirs.text
    assert "protected-accounts list" not in theirs.text
