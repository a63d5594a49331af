"""Checklists in a real Chromium: a legal reviewer answers the legal checklist on the demand's
page, and is refused (with the reason, nothing changed) when the checklist changed under the
form; a policy owner proposes a version, sees a malformed file's problems with their lines,
and another person approves it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.review import checklists
from dueprocess.review.checklist_file import dump_checklist
from dueprocess.review.models import Answer, ChecklistKind, ChecklistStatus
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer
from tests.web.test_pages_browser import browser, sign_in

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the staff page tests

pytestmark = pytest.mark.browser
LEGAL = ChecklistKind.LEGAL
#: Set to a directory to keep screenshots of the pages (to look at the layout by eye).
SHOTS = os.environ.get("DUEPROCESS_SCREENSHOTS")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    yield context.new_page()
    context.close()


def shot(page: Page, name: str, selector: str = "main") -> None:
    if SHOTS:
        page.locator(selector).first.screenshot(path=str(Path(SHOTS) / f"{name}.png"))


def test_a_reviewer_answers_on_the_demand_page_and_a_stale_form_is_refused(
    page: Page, live_server: LiveServer, session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    factories.account(session, "legal@example.org", ["legal-reviewer"])
    owner = factories.account(session, "owner@example.org", ["policy-owner"])
    approver = factories.account(session, "approver@example.org", ["approver"])
    demand = factories.submit(session, runtime, factories.body()).demand
    demands.move(
        session, demand, DemandStatus.LEGAL_REVIEW, actor="test", by=factories.ANYONE, reason="t"
    )
    session.commit()

    sign_in(page, live_server.url, "legal@example.org", next_path=f"/demands/{demand.id}")
    page.wait_for_url(f"**/demands/{demand.id}")
    legal = page.locator("section#checklist-legal")
    assert "9 required questions unanswered" not in legal.inner_text()  # 8 required, 1 optional
    assert "8 required questions unanswered" in legal.inner_text()
    rights = page.locator("section#checklist-human-rights")
    assert "Not open for answers" in rights.inner_text()
    assert rights.locator("form").count() == 0

    question = legal.locator("li#q-legal-in-writing")
    question.locator("input[value=yes]").check()
    question.locator("textarea[name=note]").fill("The order arrived as a signed PDF.\nChecked.")
    question.locator("button[type=submit]").click()
    page.wait_for_url(f"**/demands/{demand.id}#q-legal-in-writing")
    answered = page.locator("li#q-legal-in-writing p.answer")
    assert "Yes" in answered.inner_text()
    assert "The order arrived as a signed PDF." in answered.inner_text()
    assert "legal@example.org" in answered.inner_text()
    assert "7 required questions unanswered" in page.locator("section#checklist-legal").inner_text()
    assert "review.checklist_answered" in page.locator("table.trail").inner_text()
    shot(page, "checklist-answered", "li#q-legal-in-writing")
    shot(page, "checklist-open", "li#q-legal-legal-basis")

    # While the form for "signed-by-competent-official" is open, a new version rewords it.
    document = checklists.default_document(LEGAL)
    old = document.question("signed-by-competent-official")
    assert old is not None
    text = dump_checklist(document).replace(
        f"text: {old.text}", "text: Who signed it, and may they?"
    )
    version = checklists.propose(session, text, "l.yaml", "clearer", actor=f"account:{owner.id}")
    checklists.approve(session, version.id, actor=f"account:{approver.id}")
    session.commit()

    stale = page.locator("li#q-legal-signed-by-competent-official")
    stale.locator("input[value=no]").check()
    stale.locator("textarea[name=note]").fill("Unsigned copy")
    stale.locator("button[type=submit]").click()
    page.wait_for_url(f"**/demands/{demand.id}/checklists/legal")
    problem = page.locator("div.problem[role=alert]").inner_text()
    assert "legal checklist version 1 is retired, not active: answer version 2" in problem
    assert "reads differently in it: read it again" in problem
    # Nothing changed; the page now shows version 2, whose unchanged answer carried over.
    section = page.locator("section#checklist-legal")
    assert "version 2" in section.inner_text()
    assert "Who signed it, and may they?" in section.inner_text()
    assert (
        "Not answered yet."
        in section.locator("li#q-legal-signed-by-competent-official").inner_text()
    )
    carried = section.locator("li#q-legal-in-writing p.answer").inner_text()
    assert "given to version 1, carried over: the question is unchanged" in carried
    session.expire_all()
    counted = checklists.counted_answers(session, demand.id, LEGAL)[1]
    session.rollback()
    assert set(counted) == {"in-writing"}
    assert counted["in-writing"].row.answer is Answer.YES


def test_propose_with_line_numbered_problems_then_another_person_approves(
    page: Page, browser: Browser, live_server: LiveServer, session: Session
) -> None:
    factories.account(session, "owner@example.org", ["policy-owner"])
    approver = factories.account(session, "approver@example.org", ["approver"])
    checklists.install_defaults(session)
    session.commit()

    sign_in(
        page,
        live_server.url,
        "owner@example.org",
        next_path="/checklists/propose?kind=human-rights",
    )
    page.wait_for_url("**/checklists/propose?kind=human-rights")
    form_text = page.locator("textarea[name=text]").input_value()
    assert form_text.startswith("title: Human-rights review\nkind: human-rights\n")
    page.fill(
        "textarea[name=text]",
        "title: Human-rights review\nkind: human-rights\nquestions:\n"
        "  - id: legitimate-aim\n    text: Is the aim legitimate?\n    colour: red\n"
        "  - id: legitimate-aim\n    text: ''\n",
    )
    page.fill("input[name=reason]", "shorter")
    page.click("form.checklist-file button[type=submit]")
    problems = page.locator("ul.file-problems li").all_inner_texts()
    assert problems == [
        "line 6: questions[0].colour (question \"legitimate-aim\"): unknown key 'colour'; "
        "use id, text, help, required",
        'line 7: questions[1].id (question "legitimate-aim"): id "legitimate-aim" is already '
        "used by questions[0] (line 4)",
        'line 8: questions[1].text (question "legitimate-aim"): has no text',
    ]
    assert page.locator("input[name=reason]").input_value() == "shorter"  # the form is kept
    shot(page, "checklist-propose-problems")

    fixed = form_text.replace(
        "text: Does the demand pursue a legitimate aim, supported by the facts it states?",
        "text: Does the demand pursue a legitimate aim, on the facts it states?",
    )
    page.fill("textarea[name=text]", fixed)
    page.click("form.checklist-file button[type=submit]")
    page.wait_for_url("**/checklists/versions/*")
    assert "human-rights version 2" in page.locator("h1").inner_text()
    assert "another person must approve it (four eyes)" in page.inner_text("main")
    assert page.locator("text=Approve and activate").count() == 0
    changes = page.locator("table.questions tbody tr")
    assert "text changed: to be answered again" in changes.nth(0).inner_text()
    assert "unchanged: answers carry over" in changes.nth(1).inner_text()
    version_url = page.url

    other = browser.new_context().new_page()
    code = current_code(approver.totp_secret or "")
    sign_in(
        other,
        live_server.url,
        "approver@example.org",
        code,
        next_path=version_url.split(live_server.url)[1],
    )
    other.wait_for_url(version_url)
    other.click("text=Approve and activate")
    other.wait_for_url(version_url)
    assert "active" in other.locator("h1").inner_text()
    assert "checklist.approved" in other.locator("table.trail").inner_text()
    other.goto(f"{live_server.url}/checklists")
    assert "on the facts it states" in other.locator("section#active-human-rights").inner_text()
    other.context.close()
    session.expire_all()
    statuses = [v.status for v in checklists.history(session, ChecklistKind.HUMAN_RIGHTS)]
    session.rollback()
    assert statuses == [ChecklistStatus.ACTIVE, ChecklistStatus.RETIRED]
