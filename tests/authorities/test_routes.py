"""The registry pages, officer verification and the call-back panel, over real HTTP with a
session opened through the real sign-in form."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.passwords import current_code
from dueprocess.audit import service as audit
from dueprocess.demands import callbacks
from dueprocess.demands.models import Demand
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

REQUEST_NUMBER = "+852 5555 0101"


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden field {name}"
    return html.unescape(found.group(1))


def _section(page: str, css_class: str) -> str:
    found = re.search(rf'<section class="{css_class}".*?</section>', page, re.S)
    assert found, f"no section {css_class}"
    return found.group(0)


def sign_in(base: str, email: str, secret: str | None = None) -> httpx.Client:
    """A client signed in through the form: GET for the presign cookie and field, then POST.
    The caller closes it."""
    client = httpx.Client(base_url=base, follow_redirects=False)
    form = client.get("/sign-in")
    assert "dp_presign" in client.cookies
    answer = client.post(
        "/sign-in",
        data={
            "email": email,
            "password": factories.PASSWORD,
            "code": current_code(secret) if secret else "",
            "presign": _hidden(form.text, "presign"),
            "next": "/",
        },
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def emergency(session: Session, runtime: Runtime) -> Demand:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    factories.account(session, "intake@example.org", ["intake", "legal-reviewer"])
    demand = factories.submit(
        session,
        runtime,
        factories.body(
            kind="emergency-disclosure",
            legal_process="emergency",
            emergency_justification=f"Threat to life; confirm with Insp. Wong on {REQUEST_NUMBER}",
            targets=[{"type": "account", "id": "@hk_student"}],
            sender="duty@police.gov.hk",
        ),
    ).demand
    session.commit()  # the flow assessed the requester: an e-mail, so not verified
    return demand


@pytest.fixture
def intake(live_server: LiveServer, emergency: Demand) -> Iterator[httpx.Client]:
    with closing(sign_in(live_server.url, "intake@example.org")) as client:
        yield client


def test_emergency_page_shows_the_registry_number_and_records_a_call(
    intake: httpx.Client, emergency: Demand, session: Session
) -> None:
    page = intake.get(f"/demands/{emergency.id}")
    assert page.status_code == 200
    verification = _section(page.text, "requester-verification")
    assert "unverified" in verification
    assert "confidence 60 / 100" in verification
    assert "sender-domain" in verification
    assert "+10" in verification
    panel = _section(page.text, "callback")
    assert "+852 2860 2000" in panel
    assert REQUEST_NUMBER not in panel
    assert "no confirming call-back yet" in panel

    recorded = intake.post(
        f"/demands/{emergency.id}/callbacks",
        data={
            "csrf_token": _hidden(page.text, "csrf_token"),
            "number": "+852 2860 2000",
            "confirmed": "yes",
            "notes": "Supt. Chan confirmed",
        },
    )
    assert recorded.status_code == 303
    assert recorded.headers["location"] == f"/demands/{emergency.id}#callback"
    panel = _section(intake.get(f"/demands/{emergency.id}").text, "callback")
    assert "confirmed by call-back" in panel
    assert "intake@example.org" in panel
    assert "Supt. Chan confirmed" in panel
    session.expire_all()
    [callback] = callbacks.list_callbacks(session, emergency.id)
    intake_account = accounts.get_by_email(session, "intake@example.org")
    assert intake_account is not None
    assert callback.called_by == f"account:{intake_account.id}"


def test_a_number_from_the_request_is_refused_over_http(
    intake: httpx.Client, emergency: Demand, session: Session
) -> None:
    page = intake.get(f"/demands/{emergency.id}")
    token = _hidden(page.text, "csrf_token")
    refused = intake.post(
        f"/demands/{emergency.id}/callbacks",
        data={"csrf_token": token, "number": REQUEST_NUMBER, "confirmed": "yes", "notes": ""},
    )
    assert refused.status_code == 422
    assert "not a number from the authority registry" in html.unescape(refused.text)
    no_answer = intake.post(
        f"/demands/{emergency.id}/callbacks",
        data={"csrf_token": token, "number": "+852 2860 2000"},
    )
    assert no_answer.status_code == 422
    assert "confirmed" in no_answer.text
    no_token = intake.post(
        f"/demands/{emergency.id}/callbacks",
        data={"number": "+852 2860 2000", "confirmed": "yes"},
    )
    assert no_token.status_code == 403
    session.expire_all()
    assert callbacks.list_callbacks(session, emergency.id) == []


def test_registry_pages_and_verifying_an_officer(intake: httpx.Client, session: Session) -> None:
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    listing = intake.get("/authorities")
    assert listing.status_code == 200
    assert "Hong Kong Police Force" in listing.text
    assert "Bundeskriminalamt" in listing.text
    assert "+852 2860 2000" in listing.text

    page = intake.get("/authorities/hkpf-nsd")
    assert page.status_code == 200
    assert "wong@police.gov.hk" in page.text
    assert "unverified" in page.text
    token = _hidden(page.text, "csrf_token")
    action = f"/authorities/hkpf-nsd/officers/{officer.id}/verify"
    empty = intake.post(action, data={"csrf_token": token, "evidence": "  "})
    assert empty.status_code == 422
    done = intake.post(
        action, data={"csrf_token": token, "evidence": "called +852 2860 2000, confirmed"}
    )
    assert done.status_code == 303
    page = intake.get("/authorities/hkpf-nsd")
    assert "verification-verified" in page.text
    assert "called +852 2860 2000, confirmed" in page.text
    wrong_authority = intake.post(
        f"/authorities/de-bka/officers/{officer.id}/verify",
        data={"csrf_token": token, "evidence": "x"},
    )
    assert wrong_authority.status_code == 404
    session.expire_all()
    events = audit.for_subject(session, f"account:{officer.id}")
    assert [e.action for e in events][-1] == "account.officer_verified"


def test_officers_see_neither_verification_nor_other_authorities(
    live_server: LiveServer, emergency: Demand, session: Session
) -> None:
    officer = factories.account(session, "wong@police.gov.hk", ["officer"], "hkpf-nsd")
    factories.account(session, "lee@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    with closing(sign_in(live_server.url, officer.email, officer.totp_secret)) as client:
        page = client.get(f"/demands/{emergency.id}")
        assert page.status_code == 200
        assert "Requester verification" not in page.text
        assert "Call-back" not in page.text
        listing = client.get("/authorities").text
        assert re.findall(r'href="/authorities/([^"]+)"', listing) == ["hkpf-nsd"]
        assert client.get("/authorities/de-bka").status_code == 404
        own = client.get("/authorities/hkpf-nsd")
        assert own.status_code == 200
        assert 'id="officers"' not in own.text  # the officer list is for staff
        assert "lee@police.gov.hk" not in own.text
        denied = client.post(
            f"/demands/{emergency.id}/callbacks",
            data={
                "csrf_token": "x",
                "number": "+852 2860 2000",
                "confirmed": "yes",
            },
        )
        assert denied.status_code == 403
