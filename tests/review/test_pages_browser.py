"""Review in a real Chromium: intake sends a Hong Kong demand on; a legal reviewer claims it
from the queue, narrows one target and refuses another, and submits; a second person
approves with a TOTP code; the officer sees the reply in the portal. Then the refusals a
browser meets: a stale form (a second tab), and the reviewer approving their own work."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.passwords import current_code
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer
from tests.review.test_service import USER_DATA
from tests.web.test_pages_browser import browser, sign_in  # noqa: F401 - the fixture

pytestmark = pytest.mark.browser


def _code(session: Session, email: str) -> str:
    """The account's current code, read in a transaction of its own and ended at once (on
    SQLite an open one would hold the write lock the server needs)."""
    account = accounts.get_by_email(session, email)
    assert account is not None
    secret = account.totp_secret
    session.commit()  # not rollback: that would expire the test's objects, and reloading
    # them would open a transaction again
    assert secret is not None
    return current_code(secret)


def _page_as(
    browser: Browser,  # noqa: F811
    base: str,
    email: str,
    code: str = "",
    start: str = "/review",
) -> Page:
    """A new browser context (its own cookies) signed in as ``email``, at ``start``."""
    page = browser.new_context().new_page()
    sign_in(page, base, email, code, next_path=start)
    page.wait_for_url(f"**{start}")
    return page


def answer_checklist(page: Page, kind: str) -> None:
    """Answer every question of the ``kind`` checklist on the review page, one form each."""
    while True:
        forms = page.locator(f"#checklist-{kind} form.answer-form")
        unanswered = page.locator(f"#checklist-{kind} li.question:has(p.answer-none) form")
        if unanswered.count() == 0:
            break
        form = unanswered.first
        form.locator("input[value=yes]").check()
        form.locator("textarea[name=note]").fill("checked against the order and the registry")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert forms.count() > 0
    assert "every required question answered" in page.locator(f"#checklist-{kind}").inner_text()


def test_a_hong_kong_demand_is_reviewed_and_approved_in_the_browser(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    session: Session,
    runtime: Runtime,
) -> None:
    """The issue's scenario: a reviewer claims a Hong Kong demand from the queue, answers both
    checklists, sees the political-speech flag with its evidence, narrows one target and
    refuses another; a second person approves with TOTP; the officer sees the reply."""
    factories.authority(session)
    factories.account(session, "intake@example.org", ["intake"])
    factories.account(
        session, "reviewer@example.org", ["legal-reviewer", "human-rights-reviewer"]
    )
    factories.account(session, "approver@example.org", ["approver"])
    factories.account(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    summary = "Posts on the accounts say 光復香港，時代革命 and call people to the rally"
    demand = factories.submit(
        session, runtime, factories.body(**USER_DATA, summary=summary)
    ).demand
    first, second = (t.id for t in demand.targets)
    session.commit()  # and no transaction left open: on SQLite it would hold the write lock
    base = live_server.url
    # Signed in first, so that by the approval the sign-in's code is usually an old one.
    approver = _page_as(
        browser, base, "approver@example.org", _code(session, "approver@example.org"),
        start="/review/approval",
    )  # fmt: skip

    intake = _page_as(browser, base, "intake@example.org", start="/review/intake")
    intake.click(f"a[href='/demands/{demand.id}/review']")
    intake.wait_for_url(f"**/demands/{demand.id}/review")
    assert "HK$100,000" in intake.locator("section.deadline").inner_text()
    intake.select_option("select[name=to]", "legal-review")
    intake.fill("input[name=reason]", "verified by call-back; genuine court order")
    intake.click("text=Send on")
    intake.wait_for_url("**/review?done=send")
    # The political-speech flag sent it to human-rights review first.
    assert "human-rights-review" in intake.locator("h1").inner_text()

    reviewer = _page_as(browser, base, "reviewer@example.org", start="/review/human-rights")
    reviewer.click(f"a[href='/demands/{demand.id}/review']")
    flag = reviewer.locator("#risk-flags li.flag[data-code=political]")
    assert "光復香港" in flag.inner_text(), "the evidence: the words matched"
    reviewer.click("text=Claim it")
    reviewer.wait_for_url("**/review?done=claim")
    answer_checklist(reviewer, "human-rights")
    reviewer.check("input[name=verdict][value=no-objection]")
    verdict = reviewer.locator("form[action$='/review/sign-off']")
    verdict.locator("textarea[name=note]").fill("a court order, narrowly drawn; subscriber data")
    verdict.locator("button[type=submit]").click()
    reviewer.wait_for_url("**/review?done=sign-off")
    assert "legal-review" in reviewer.locator("h1").inner_text()
    reviewer.click("text=Claim it")
    reviewer.wait_for_url("**/review?done=claim")
    answer_checklist(reviewer, "legal")
    reviewer.select_option(f"select[name=outcome-{first}]", "comply-narrowed")
    reviewer.check(f"input[name=categories-{first}][value=subscriber]")
    reviewer.select_option(f"select[name=outcome-{second}]", "refuse")
    reviewer.select_option(f"select[name=reason-{second}]", "human-rights")
    reviewer.fill(f"textarea[name=note-{second}]", "a reporter's account; internal note")
    reviewer.click("text=Save decisions")
    reviewer.wait_for_url("**/review?done=decisions")
    reply = reviewer.locator("textarea[name=reply]").input_value()
    assert "subscriber data only" in reply
    assert "internal note" not in reply
    reviewer.click("text=Submit decisions")
    reviewer.wait_for_url("**/review?done=submit")
    assert "awaiting-approval" in reviewer.locator("h1").inner_text()

    approver.goto(f"{base}/demands/{demand.id}/review")
    while True:
        code = _code(session, "approver@example.org")
        approver.fill("input[name=code]", code)
        approver.click("button[value=approve]")
        approver.wait_for_load_state()
        if "done=approval" in approver.url:
            break
        assert "not your current authenticator code" in approver.content()
        time.sleep(5)  # same step as the sign-in's code: wait for the next one
    assert "decided" in approver.locator("h1").inner_text()

    officer = _page_as(
        browser, base, "officer@police.gov.hk", _code(session, "officer@police.gov.hk"),
        start=f"/portal/demands/{demand.id}",
    )  # fmt: skip
    replies = officer.locator("ol.replies").inner_text()
    assert "subscriber data only" in replies
    assert "internal note" not in replies


def test_a_form_from_a_stale_tab_is_refused_and_changes_nothing(
    browser: Browser,  # noqa: F811
    live_server: LiveServer,
    session: Session,
    runtime: Runtime,
) -> None:
    factories.authority(session)
    factories.account(session, "intake@example.org", ["intake"])
    demand = factories.submit(session, runtime, factories.body(**USER_DATA)).demand
    session.commit()
    base = live_server.url
    page = _page_as(browser, base, "intake@example.org", start=f"/demands/{demand.id}/review")
    old_tab = page.context.new_page()
    old_tab.goto(f"{base}/demands/{demand.id}/review")
    page.select_option("select[name=to]", "legal-review")
    page.fill("input[name=reason]", "genuine")
    page.click("text=Send on")
    page.wait_for_url("**/review?done=send")
    old_tab.select_option("select[name=to]", "human-rights-review")
    old_tab.fill("input[name=reason]", "from the old tab")
    old_tab.click("text=Send on")
    old_tab.wait_for_load_state()
    alert = old_tab.locator("[role=alert]").inner_text()
    assert "changed since this page was loaded" in alert
    assert "legal-review" in old_tab.locator("h1").inner_text(), "moved once, by the fresh tab"
    old_tab.go_back()  # the Back button shows the old form: sending it again is refused too
    old_tab.wait_for_load_state()
    old_tab.select_option("select[name=to]", "human-rights-review")
    old_tab.fill("input[name=reason]", "again, after Back")
    old_tab.click("text=Send on")
    old_tab.wait_for_load_state()
    assert "changed since this page was loaded" in old_tab.locator("[role=alert]").inner_text()
    assert "legal-review" in old_tab.locator("h1").inner_text()
