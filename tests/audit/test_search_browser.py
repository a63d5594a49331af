"""The audit search page in a real Chromium: a prefix search, paging, and a bad date shown
beside its field."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from tests import factories
from tests.conftest import LiveServer
from tests.web.test_pages_browser import ARGS, CHROMIUM, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True, timeout=30_000)
        yield b
        b.close()


def test_search_by_prefix_page_through_and_see_a_bad_date(
    browser: Browser, live_server: LiveServer, session: Session
) -> None:
    factories.account(session, "auditor@example.org", ["auditor"])
    start = datetime(2020, 7, 6, tzinfo=UTC)
    for i in range(120):
        audit.record(session, actor="system", action="policy.evaluated", at=start + timedelta(i))
    audit.record(session, actor="system", action="policyx.other")
    session.commit()

    page = browser.new_page(viewport={"width": 390, "height": 844})
    sign_in(page, live_server.url, "auditor@example.org", next_path="/audit")
    page.wait_for_url("**/audit")
    page.fill("input[name=action]", "policy")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/audit?action=policy**")
    assert page.locator("p.paging").inner_text().startswith("Events 1–120 of 120 found")
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 120
    assert "policyx.other" not in page.locator("table.audit").inner_text()

    page.goto(f"{live_server.url}/audit?action=policy&limit=50")
    assert page.locator("p.paging").inner_text().startswith("Events 1–50 of 120 found")
    page.click("a[rel=next]")
    page.wait_for_url("**offset=50**")
    assert page.locator("p.paging").inner_text().startswith("Events 51–100 of 120 found")
    assert page.locator("table.audit tbody tr").count() == 50

    page.fill("input[name=since]", "2020-07-06")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**since=2020-07-06**")
    alert = page.locator("[role=alert]")
    assert "since: give a time zone" in alert.inner_text()
    assert page.locator("input[name=since]").get_attribute("aria-invalid") == "true"
    assert page.locator("input[name=since]").input_value() == "2020-07-06"
    assert page.locator("table.audit").count() == 0
