"""Sending a demand form twice, in a real Chromium: going Back to a sent form and sending it
again shows the demand already recorded (the portal and staff entry), and the same demand
from a new form is refused as a repeat until the box saying it is new is ticked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.demands.models import Demand
from tests import factories
from tests.conftest import LiveServer
from tests.intake.test_portal import count, pdf_bytes, person
from tests.web.test_pages_browser import browser, sign_in

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the staff page tests

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def _fill_portal_form(page: Page, signed: Path) -> None:
    page.select_option("#f-kind", "removal")
    page.select_option("#f-legal_process", "administrative-order")
    page.fill("#f-reference", "NSD/202007/0099")
    page.fill("#f-legal_basis_instrument", "Implementation Rules for Article 43")
    page.fill("#f-legal_basis_article", "Schedule 4")
    page.fill("#f-targets", "@hk_student_union")
    page.set_input_files("#f-document", str(signed))


def test_back_and_send_again_on_the_portal_shows_the_first_demand(
    page: Page, live_server: LiveServer, session: Session, tmp_path: Path
) -> None:
    factories.authority(session)
    officer = person(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    signed = tmp_path / "signed order.pdf"
    signed.write_bytes(pdf_bytes())
    sign_in(
        page,
        live_server.url,
        "officer@police.gov.hk",
        current_code(officer.totp_secret),
        next_path="/portal",
    )
    page.wait_for_url("**/portal")
    page.click("text=Submit a new demand")
    page.wait_for_url("**/portal/demands/new?form_key=portal-*")
    form_address = page.url
    _fill_portal_form(page, signed)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/demands/*?submitted=1")
    first = page.url.split("?")[0]

    # Back to the form: the browser loads its address again and puts back what was typed
    # (and the file); sending it again shows the demand the first post recorded.
    page.go_back()
    page.wait_for_url(form_address)
    assert page.input_value("#f-reference") == "NSD/202007/0099"
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/demands/*?again=1")
    assert page.url.split("?")[0] == first
    assert "This form had already been sent" in page.inner_text("p.notice")
    assert count(session, Demand.id) == 1

    # The same demand from a new form: refused, naming the first, with the box to confirm.
    page.goto(f"{live_server.url}/portal/demands/new")
    page.wait_for_url("**/portal/demands/new?form_key=portal-*")
    assert page.url != form_address
    assert page.locator("#f-confirmed_new").count() == 0
    _fill_portal_form(page, signed)
    page.click("button[type=submit].primary")
    page.wait_for_selector("#e-reference")
    demand_id = first.rsplit("/", 1)[1]
    assert re.match(
        rf"demand {demand_id} \(reference NSD/202007/0099, received ",
        page.inner_text("#e-reference"),
    )
    assert "tick this box" in page.inner_text("#e-confirmed_new")
    assert count(session, Demand.id) == 1
    page.check("#f-confirmed_new")
    page.set_input_files("#f-document", str(signed))
    page.click("button[type=submit].primary")
    page.wait_for_url("**/portal/demands/*?submitted=1")
    assert page.url.split("?")[0] != first
    assert count(session, Demand.id) == 2


def test_back_and_send_again_in_staff_entry_shows_the_first_demand(
    page: Page, live_server: LiveServer, session: Session, tmp_path: Path
) -> None:
    factories.authority(session)
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    original = tmp_path / "fax.pdf"
    original.write_bytes(pdf_bytes())
    sign_in(page, live_server.url, "intake@example.org", next_path="/demands/new")
    page.wait_for_url("**/demands/new?form_key=entry-*")
    form_address = page.url
    page.select_option("#f-authority", "hkpf-nsd")
    page.check("input[name=channel][value=fax]")
    page.fill("#f-sender", "+852 2860 2000")
    page.fill("#f-reference", "NSD/202007/0100")
    page.select_option("#f-kind", "removal")
    page.select_option("#f-legal_process", "administrative-order")
    page.fill("#f-legal_basis_instrument", "Implementation Rules for Article 43")
    page.fill("#f-legal_basis_article", "Schedule 4")
    page.fill("#f-targets", "@hk_student_union")
    page.set_input_files("#f-document", str(original))
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/demands/\d+$"))
    first = page.url

    page.go_back()
    page.wait_for_url(form_address)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/demands/\d+$"))
    assert page.url == first
    assert count(session, Demand.id) == 1
