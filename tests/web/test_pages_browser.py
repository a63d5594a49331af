"""The staff pages in a real Chromium (Debian's, installed by scripts/install-chromium)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True, timeout=30_000)
        yield b
        b.close()


def sign_in(page: Page, base: str, email: str, code: str = "", next_path: str = "/demands") -> None:
    """Sign in through the real form, starting from a protected page."""
    page.goto(f"{base}{next_path}")
    page.wait_for_url("**/sign-in?**")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", factories.PASSWORD)
    if code:
        page.fill("input[name=code]", code)
    page.click("form.stacked button[type=submit]")


def test_list_then_open_a_demand(
    browser: Browser, live_server: LiveServer, session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    factories.account(session, "intake@example.org", ["intake", "legal-reviewer"])
    demand = factories.submit(
        session, runtime, factories.body(summary="光復香港，時代革命 post", idempotency_key="b-1")
    ).demand
    session.commit()

    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    sign_in(page, live_server.url, "intake@example.org")
    page.wait_for_url("**/demands")
    assert page.title() == "Demands · dueprocess"
    row = page.locator("table.demands tbody tr")
    assert row.count() == 1
    assert "hkpf-nsd" in row.inner_text()
    page.click(f"a[href='/demands/{demand.id}']")
    page.wait_for_url(f"**/demands/{demand.id}")
    assert "HK$100,000" in page.locator("section.deadline").inner_text()
    assert "光復香港，時代革命" in page.locator("dl.facts").inner_text()
    trail = page.locator("table.trail").inner_text()
    assert "demand.submitted" in trail
    assert "demand.viewed" in trail


def test_status_filter_shows_empty_state(
    browser: Browser, live_server: LiveServer, session: Session
) -> None:
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    page = browser.new_page()
    sign_in(page, live_server.url, "intake@example.org")
    page.wait_for_url("**/demands")
    page.select_option("select[name=status]", "paused")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=paused")
    assert "No demands with status paused" in page.locator("p.empty").inner_text()
