"""Errors over HTTP: a page for a browser that asks for HTML, JSON for an API client, on
every kind of refusal (401, 403, 404, 405, 409, 422, 500); and where signing in lands."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi import Depends
from sqlalchemy.orm import Session

from dueprocess.accounts import signin
from dueprocess.accounts.passwords import current_code
from dueprocess.runtime import Runtime
from dueprocess.web.auth import public
from dueprocess.web.errors import prefers_html
from tests import factories
from tests.conftest import LiveServer

#: Each sign-in runs argon2 (64 MiB); on a loaded machine one took over httpx's 5 s.
SIGN_IN_TIMEOUT = 60

#: What Chromium sends when it loads a page, and what fetch(), curl and httpx send.
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8"
PAGE = {"Accept": BROWSER}


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER, True),
        ("application/xhtml+xml", True),
        ("text/html;q=0.5, application/json;q=0.4", True),
        ("*/*", False),
        (None, False),
        ("", False),
        ("application/json", False),
        ("application/json, text/html", False),  # a tie: the API's own form
        ("application/json;q=0.9, text/html;q=0.8", False),
        ("text/html;q=0", False),
        ("text/html;q=nonsense", False),
        ("text/*, application/json", False),  # wildcards count for neither
    ],
)
def test_which_accept_headers_get_a_page(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def _is_page(answer: httpx.Response, status: int, *words: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text.lstrip().startswith("<!doctype html>")
    for word in words:
        assert word in answer.text, word


def _is_json(answer: httpx.Response, status: int) -> object:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()["detail"]


@pytest.fixture
def tokens(session: Session) -> dict[str, str]:
    factories.authority(session)
    made = {
        "intake": factories.token(session, "intake@example.org", ["intake"]),
        "auditor": factories.token(session, "auditor@example.org", ["auditor"]),
    }
    session.commit()
    return made


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.url, follow_redirects=False, timeout=SIGN_IN_TIMEOUT
    ) as client:
        yield client


def test_401_a_page_with_the_way_to_sign_in_for_a_browser(http: httpx.Client) -> None:
    page = http.get("/api/v1/demands", headers=PAGE)
    _is_page(page, 401, "an API token is required", 'href="/sign-in"')
    assert page.headers["www-authenticate"] == "Bearer"
    assert "an API token is required" in str(_is_json(http.get("/api/v1/demands"), 401))
    # A page needing a session still sends the browser to sign in, and back.
    assert (
        http.get("/demands", headers=PAGE).headers["location"].startswith("/sign-in?next=/demands")
    )


def test_403_and_404_on_the_api(http: httpx.Client, tokens: dict[str, str]) -> None:
    auditor = factories.bearer(tokens["auditor"])
    denied = http.post("/api/v1/demands", json={}, headers={**PAGE, **auditor})
    _is_page(denied, 403, "Not allowed", "demands:submit")
    api = http.post("/api/v1/demands", json={}, headers=auditor)
    assert "demands:submit" in str(_is_json(api, 403))

    intake = factories.bearer(tokens["intake"])
    _is_page(http.get("/api/v1/demands/999999", headers={**PAGE, **intake}), 404, "Not Found")
    assert _is_json(http.get("/api/v1/demands/999999", headers=intake), 404) == "not found"


def test_409_a_state_conflict(
    http: httpx.Client, tokens: dict[str, str], session: Session, runtime: Runtime
) -> None:
    demand = factories.submit(session, runtime, factories.body()).demand
    session.commit()
    intake = factories.bearer(tokens["intake"])
    path = f"/api/v1/demands/{demand.id}/withdraw"
    assert http.post(path, json={"reason": "sent twice"}, headers=intake).status_code == 200
    again = http.post(path, json={"reason": "sent twice"}, headers={**PAGE, **intake})
    _is_page(again, 409, "Not possible now", "withdrawn")
    assert "withdrawn" in str(_is_json(http.post(path, json={"reason": "x"}, headers=intake), 409))


def test_a_body_that_is_not_json(http: httpx.Client, tokens: dict[str, str]) -> None:
    headers = {**factories.bearer(tokens["intake"]), "Content-Type": "application/json"}
    path = "/api/v1/policy/whatif"
    page = http.post(path, content=b"\xff\xfe{", headers={**PAGE, **headers})
    _is_page(page, 422, "Not accepted", "not valid JSON")
    detail = _is_json(http.post(path, content=b"\xff\xfe{", headers=headers), 422)
    assert isinstance(detail, list)
    assert detail[0]["type"] == "json_invalid"


def test_unknown_address_and_wrong_method(http: httpx.Client) -> None:
    _is_page(http.get("/no/such/page", headers=PAGE), 404, "There is no page at this address")
    assert _is_json(http.get("/no/such/page"), 404) == "Not Found"
    _is_page(http.get("/static/nothing.css", headers=PAGE), 404)

    wrong = http.delete("/healthz", headers=PAGE)
    _is_page(wrong, 405, "Method Not Allowed", "does not take DELETE requests")
    assert wrong.headers["allow"] == "GET"
    api = http.delete("/healthz")
    assert _is_json(api, 405) == "Method Not Allowed"
    assert api.headers["allow"] == "GET"


def test_422_names_each_field_on_a_page_and_in_json(
    http: httpx.Client, tokens: dict[str, str], session: Session
) -> None:
    intake = factories.bearer(tokens["intake"])
    page = http.get("/api/v1/demands?limit=lots&offset=-1", headers={**PAGE, **intake})
    _is_page(page, 422, "Not accepted", "nothing was changed", "query.limit", "query.offset")
    detail = _is_json(http.get("/api/v1/demands?limit=lots", headers=intake), 422)
    assert isinstance(detail, list)
    assert detail[0]["loc"] == ["query", "limit"]

    # A page route, signed in: the service's own refusal (InvalidInput) as a page.
    outcome = signin.sign_in(session, "intake@example.org", factories.PASSWORD, "", remote="t")
    session.commit()
    assert outcome.session_id
    http.cookies.set("dp_session", outcome.session_id)
    _is_page(http.get("/demands?status=nonsense", headers=PAGE), 422, "query.status")
    assert _is_json(http.get("/demands?status=nonsense"), 422)


def test_413_too(http: httpx.Client, runtime: Runtime) -> None:
    body = b"x" * (runtime.settings.max_body_bytes + 1)
    page = http.post("/api/v1/demands", content=body, headers=PAGE)
    _is_page(page, 413, "larger than the limit")
    detail = _is_json(http.post("/api/v1/demands", content=body), 413)
    assert isinstance(detail, list)
    assert detail[0]["type"] == "too_large"


def test_500_is_a_page_for_a_browser_and_logged(runtime: Runtime) -> None:
    server = LiveServer(runtime)

    def boom() -> None:
        raise RuntimeError("a bug")

    server.app.add_api_route("/boom", boom, dependencies=[Depends(public)])
    with server:  # a connection per request: the server closes one after an exception
        page = httpx.get(f"{server.url}/boom", headers=PAGE)
        _is_page(page, 500, "Something went wrong", "It has been logged")
        assert "a bug" not in page.text
        api = httpx.get(f"{server.url}/boom")
        assert api.status_code == 500
        assert "a bug" not in api.text
        assert "text/html" not in api.headers["content-type"]


# --- where signing in lands ------------------------------------------------------------------


def _sign_in(http: httpx.Client, email: str, code: str = "") -> str:
    """Sign in through the form from the start page, as a person would; where it lands."""
    start = http.get("/", headers=PAGE)
    assert start.status_code == 303
    assert start.headers["location"] == "/sign-in"
    form = http.get("/sign-in")
    presign = http.cookies["dp_presign"]
    assert presign in form.text
    done = http.post(
        "/sign-in",
        data={"email": email, "password": factories.PASSWORD, "code": code, "presign": presign},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/"
    home = http.get("/", headers=PAGE)
    if home.status_code == 200:
        return "/"
    assert home.status_code == 303
    return str(home.headers["location"])


def test_officers_land_on_the_portal_and_staff_on_their_pages(
    live_server: LiveServer, session: Session
) -> None:
    factories.authority(session)
    officer = factories.account(session, "chan@police.gov.hk", ["officer"], "hkpf-nsd")
    factories.account(session, "intake@example.org", ["intake"])
    factories.account(session, "auditor@example.org", ["auditor"])
    admin = factories.account(session, "admin@example.org", ["admin"])
    session.commit()
    assert officer.totp_secret
    assert admin.totp_secret

    def lands(email: str, code: str = "") -> str:
        with httpx.Client(
            base_url=live_server.url, follow_redirects=False, timeout=SIGN_IN_TIMEOUT
        ) as http:
            return _sign_in(http, email, code)

    assert lands("chan@police.gov.hk", current_code(officer.totp_secret)) == "/portal"
    assert lands("intake@example.org") == "/demands"
    assert lands("auditor@example.org") == "/demands"
    assert lands("admin@example.org", current_code(admin.totp_secret)) == "/"

    with httpx.Client(
        base_url=live_server.url, follow_redirects=False, timeout=SIGN_IN_TIMEOUT
    ) as http:
        _sign_in(http, "chan@police.gov.hk", current_code(officer.totp_secret, at=_later()))
        # The staff list, asked for by name, sends an officer to the portal's.
        assert http.get("/demands", headers=PAGE).headers["location"] == "/portal"
        assert http.get("/portal", headers=PAGE).status_code == 200


def _later() -> float:
    """A time one TOTP step on: a code is accepted once."""
    import time

    return time.time() + 30
