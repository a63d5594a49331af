"""In a real Chromium: signing in from the start lands an officer at the portal and staff on
their pages, and what goes wrong is shown as a page, never as raw JSON."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from tests import factories
from tests.conftest import LiveServer
from tests.web.test_pages_browser import browser

__all__ = ["browser"]

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _sign_in_from_the_start(page: Page, base: str, email: str, code: str = "") -> None:
    page.goto(f"{base}/")
    page.wait_for_url("**/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", factories.PASSWORD)
    page.fill("input[name=code]", code)
    page.click("form.stacked button[type=submit]")


def _status(page: Page, url: str) -> int:
    answer = page.goto(url)
    assert answer is not None
    return answer.status


def _shows_a_page(page: Page, heading: str) -> str:
    """The page's text, checked to be a page with ``heading``, not a JSON document."""
    assert page.locator("h1").inner_text() == heading
    text = page.inner_text("body")
    assert not text.lstrip().startswith("{")
    assert page.evaluate("document.contentType") == "text/html"
    return text


def test_an_officer_lands_on_the_portal(
    page: Page, live_server: LiveServer, session: Session
) -> None:
    factories.authority(session)
    officer = factories.account(session, "chan@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    assert officer.totp_secret
    _sign_in_from_the_start(page, live_server.url, officer.email, current_code(officer.totp_secret))
    page.wait_for_url("**/portal")
    assert "Your authority has not submitted any demands yet." in page.content()
    page.goto(f"{live_server.url}/demands")  # the staff list, by name
    page.wait_for_url("**/portal")


def test_staff_land_on_their_pages_and_errors_are_pages(
    page: Page, live_server: LiveServer, session: Session
) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    _sign_in_from_the_start(page, live_server.url, "intake@example.org")
    page.wait_for_url("**/demands")
    assert page.title() == "Demands · dueprocess"

    assert _status(page, f"{live_server.url}/no/such/page") == 404
    assert "There is no page at this address." in _shows_a_page(page, "Not Found")

    assert _status(page, f"{live_server.url}/demands?status=nonsense") == 422
    assert "query.status" in _shows_a_page(page, "Not accepted")

    assert _status(page, f"{live_server.url}/demands/999999") == 404
    _shows_a_page(page, "Not Found")

    assert _status(page, f"{live_server.url}/audit") == 403  # intake does not read the audit log
    assert "audit:read" in _shows_a_page(page, "Not allowed")


def test_an_api_address_in_a_browser_says_how_to_sign_in(
    page: Page, live_server: LiveServer
) -> None:
    assert _status(page, f"{live_server.url}/api/v1/demands") == 401
    assert "an API token is required" in _shows_a_page(page, "Sign in")
    page.click("main a[href='/sign-in']")
    page.wait_for_url("**/sign-in")
    assert page.locator("input[name=password]").count() == 1
