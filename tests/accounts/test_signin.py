"""Signing in through the real form over HTTP: every refusal is clear, audited and limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dueprocess.accounts.models import WebSession
from dueprocess.accounts.passwords import current_code
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from tests import factories
from tests.conftest import LiveServer

#: Each sign-in runs argon2 (64 MiB); on a loaded machine one took over httpx's 5 s.
SIGN_IN_TIMEOUT = 60


@pytest.fixture
def http(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=live_server.url, follow_redirects=False, timeout=SIGN_IN_TIMEOUT
    ) as client:
        yield client


def _post_sign_in(
    http: httpx.Client, email: str, password: str, code: str = "", next_path: str = "/demands"
) -> httpx.Response:
    form = http.get("/sign-in", params={"next": next_path})
    presign = re.search(r'name="presign" value="([^"]+)"', form.text)
    assert presign is not None
    return http.post(
        "/sign-in",
        data={
            "email": email,
            "password": password,
            "code": code,
            "presign": presign[1],
            "next": next_path,
        },
    )


def _events(session: Session, action: str) -> list[dict[str, object]]:
    """Audit events' data, read in a short transaction (on SQLite an open transaction would
    hold the write lock the server needs)."""
    try:
        return [e.data for e in audit.search(session, action=action)]
    finally:
        session.rollback()


def _failures(session: Session) -> list[object]:
    return [d.get("reason") for d in _events(session, "auth.sign_in_failed")]


def test_good_sign_in_sets_a_strict_httponly_cookie(http: httpx.Client, session: Session) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    answer = _post_sign_in(http, "intake@example.org", factories.PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/demands"
    cookie = answer.headers["set-cookie"].lower()
    assert "dp_session=" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert http.get("/demands").status_code == 200
    assert len(_events(session, "auth.signed_in")) == 1


def test_wrong_password_is_refused_without_saying_which_part(
    http: httpx.Client, session: Session
) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    answer = _post_sign_in(http, "intake@example.org", "not the password")
    assert answer.status_code == 401
    assert "wrong e-mail, password or code" in answer.text
    unknown = _post_sign_in(http, "nobody@example.org", "whatever it is")
    assert "wrong e-mail, password or code" in unknown.text
    assert _failures(session) == ["unknown account", "wrong password"]


def _without_form_token(answer: httpx.Response) -> str:
    """The page, less the fresh random token every sign-in form carries."""
    return re.sub(r'name="presign" value="[^"]+"', 'name="presign" value=""', answer.text)


def test_a_right_password_without_the_right_code_looks_like_a_wrong_password(
    http: httpx.Client, session: Session
) -> None:
    approver = factories.account(session, "approver@example.org", ["approver"])
    session.commit()
    assert approver.totp_secret
    good = current_code(approver.totp_secret)
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    email, right = "approver@example.org", factories.PASSWORD
    answers = {
        "wrong password": _post_sign_in(http, email, "not the password"),
        "wrong password, right code": _post_sign_in(http, email, "not the password", good),
        "no code": _post_sign_in(http, email, right),
        "wrong code": _post_sign_in(http, email, right, wrong),
    }
    assert _post_sign_in(http, email, right, good).status_code == 303  # both right: in
    answers["used code"] = _post_sign_in(http, email, right, good)
    pages = {_without_form_token(a) for a in answers.values()}
    assert len(pages) == 1, "the answers differ"
    assert {a.status_code for a in answers.values()} == {401}
    assert {tuple(sorted(a.headers.keys())) for a in answers.values()} == {
        tuple(sorted(answers["no code"].headers.keys()))
    }
    assert "wrong e-mail, password or code" in pages.pop()
    # The audit log, for staff, says what it was.
    assert _failures(session) == [
        "wrong or replayed code",
        "wrong or replayed code",
        "missing code",
        "wrong password",
        "wrong password",
    ]


def test_repeated_failures_are_throttled_even_with_the_right_password(
    http: httpx.Client, session: Session
) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    for _ in range(5):
        assert _post_sign_in(http, "intake@example.org", "guess guess").status_code == 401
    blocked = _post_sign_in(http, "intake@example.org", factories.PASSWORD)
    assert blocked.status_code == 429
    assert "too many failed sign-ins" in blocked.text
    assert len(_events(session, "auth.sign_in_throttled")) == 1


def test_expired_session_is_refused_with_a_message(http: httpx.Client, session: Session) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    assert _post_sign_in(http, "intake@example.org", factories.PASSWORD).status_code == 303
    session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(minutes=1)))
    session.commit()
    answer = http.get("/demands")
    assert answer.status_code == 303
    assert "session%20has%20expired" in answer.headers["location"]
    shown = http.get(answer.headers["location"])
    assert "your session has expired" in shown.text
    assert len(_events(session, "auth.session_expired")) == 1


def test_form_without_csrf_token_is_refused_and_audited(
    http: httpx.Client, session: Session
) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    _post_sign_in(http, "intake@example.org", factories.PASSWORD)
    refused = http.post("/sign-out", data={})
    assert refused.status_code == 403
    assert "security token was missing or wrong" in refused.text
    wrong = http.post("/sign-out", data={"csrf_token": "forged"})
    assert wrong.status_code == 403
    events = _events(session, "auth.csrf_refused")
    assert sorted(str(e["token"]) for e in events) == ["missing", "wrong"]
    assert http.get("/demands").status_code == 200  # still signed in: nothing was changed

    page = http.get("/demands").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    assert http.post("/sign-out", data={"csrf_token": token[1]}).status_code == 303
    assert http.get("/demands").status_code == 303
    assert session.scalar(select(WebSession.ended_at)) is not None
    session.rollback()


def test_sign_in_form_needs_its_own_token_and_never_redirects_off_site(
    http: httpx.Client, session: Session
) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    forged = http.post(
        "/sign-in",
        data={"email": "intake@example.org", "password": factories.PASSWORD, "presign": "x"},
    )
    assert forged.status_code == 403
    answer = _post_sign_in(
        http, "intake@example.org", factories.PASSWORD, next_path="//evil.example/"
    )
    assert answer.headers["location"] == "/"


def test_disabled_account_cannot_sign_in(http: httpx.Client, session: Session) -> None:
    from dueprocess.accounts import service as accounts

    factories.account(session, "intake@example.org", ["intake"])
    accounts.disable(session, "intake@example.org", actor="test")
    session.commit()
    answer = _post_sign_in(http, "intake@example.org", factories.PASSWORD)
    assert answer.status_code == 401
    assert "disabled" in answer.text
