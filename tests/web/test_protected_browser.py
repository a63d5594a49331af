"""The protected-accounts list in a real Chromium: a human-rights reviewer adds a journalist,
is refused adding them twice, removes them; the demand naming them then shows the flag with
its category and evidence."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import Session

from dueprocess.review import flags
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer
from tests.microblog import posts
from tests.web.test_pages_browser import browser, sign_in

__all__ = ["browser", "posts"]  # fixtures shared with the staff page and review tests

pytestmark = pytest.mark.browser


def test_a_reviewer_keeps_the_list_and_sees_the_flag_it_raises(
    browser: Browser,
    live_server: LiveServer,
    session: Session,
    runtime: Runtime,
    posts: dict[str, list[str]],
) -> None:
    factories.authority(session)
    factories.account(session, "rights@example.org", ["human-rights-reviewer"])
    reporting = posts["standnews_reporter"][0]
    demand = factories.submit(
        session, runtime, factories.body(targets=[{"type": "content", "id": reporting}])
    ).demand
    session.commit()

    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    sign_in(page, live_server.url, "rights@example.org", next_path="/protected-accounts")
    page.wait_for_url("**/protected-accounts")
    assert page.title() == "Protected accounts · dueprocess"
    assert "Nobody is on the list." in page.locator("p.empty").inner_text()

    page.fill("input[name=handle]", "https://microblog.demo/@StandNews_Reporter")
    page.select_option("select[name=category]", "journalist")
    page.fill("textarea[name=note]", "Covered the July 2020 arrests")
    page.click("form.add-protected button[type=submit]")
    page.wait_for_url("**/protected-accounts?added=standnews_reporter")
    assert page.locator("p.notice").inner_text() == "@standnews_reporter is on the list."
    row = page.locator("table.protected tbody tr")
    assert row.count() == 1
    assert "@standnews_reporter" in row.inner_text()
    assert "journalist" in row.inner_text()
    assert "rights@example.org" in row.inner_text()

    # The same account again, by another form of its handle: refused, the form kept.
    page.fill("input[name=handle]", "@standnews_reporter")
    page.select_option("select[name=category]", "activist")
    page.click("form.add-protected button[type=submit]")
    assert "already on the list as journalist" in page.locator("div.problem").inner_text()
    assert page.input_value("input[name=handle]") == "@standnews_reporter"

    # While they are on the list, the demand naming them shows the flag with its category.
    flags.compute(session, runtime.connectors, demand.id, actor="test")
    session.commit()
    page.goto(f"{live_server.url}/demands/{demand.id}")
    section = page.locator("section.risk-flags")
    assert "Human-rights review is required" in section.inner_text()
    protected_flag = section.locator("li[data-code=protected-account]")
    assert "(journalist)" in protected_flag.inner_text()
    assert "Covered the July 2020 arrests" not in section.inner_text()
    journalism = section.locator("li[data-code=journalism]")
    assert "記者" in journalism.locator("mark").first.inner_text()
    # On a phone the flags wrap: nothing in them is wider than the screen.
    assert section.evaluate("el => el.scrollWidth <= el.clientWidth")

    page.goto(f"{live_server.url}/protected-accounts")
    page.click("button[aria-label='Remove @standnews_reporter']")
    page.wait_for_url("**/protected-accounts?taken_off=standnews_reporter")
    assert "Nobody is on the list." in page.locator("p.empty").inner_text()
    page.click("text=Show removed entries too")
    page.wait_for_url("**/protected-accounts?removed=true")
    removed = page.locator("table.protected tbody tr.removed")
    assert removed.count() == 1
    assert "rights@example.org" in removed.locator("td").nth(4).inner_text()
