"""The officers' portal in a real Chromium, on a phone-sized screen: sign in with TOTP, fill
in the form, upload the signed PDF, submit, see the demand, withdraw it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from tests import factories
from tests.conftest import LiveServer
from tests.intake.test_portal import pdf_bytes, person, read
from tests.web.test_pages_browser import browser, sign_in

__all__ = ["browser"]  # the module-scoped Chromium fixture, shared with the staff page tests

pytestmark = pytest.mark.browser
PHONE: ViewportSize = {"width": 390, "height": 844}
#: Set to a directory to keep screenshots of the pages (to look at the layout by eye).
SHOTS = os.environ.get("DUEPROCESS_SCREENSHOTS")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, is_mobile=True)
    page = context.new_page()
    yield page
    context.close()


def fits_the_screen(page: Page) -> bool:
    """Nothing is wider than the viewport (no sideways scrolling on a phone)."""
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


def shot(page: Page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_officer_submits_follows_and_withdraws_on_a_phone(
    phone: Page, live_server: LiveServer, session: Session, tmp_path: Path
) -> None:
    factories.authority(session)
    officer = person(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    signed = tmp_path / "signed order.pdf"
    signed.write_bytes(pdf_bytes())

    sign_in(
        phone,
        live_server.url,
        "officer@police.gov.hk",
        current_code(officer.totp_secret),
        next_path="/portal",
    )
    phone.wait_for_url("**/portal")
    assert "Your authority has not submitted any demands yet." in phone.content()
    phone.click("text=Submit a new demand")
    phone.wait_for_url("**/portal/demands/new?form_key=portal-*")
    assert fits_the_screen(phone)
    assert phone.input_value("#f-jurisdiction") == "HK"

    # First without a legal basis article: the message appears next to that field.
    phone.select_option("#f-kind", "removal")
    phone.select_option("#f-legal_process", "administrative-order")
    phone.fill("#f-legal_basis_instrument", "Implementation Rules for Article 43")
    phone.fill("#f-legal_basis_article", " ")
    phone.fill("#f-targets", "https://microblog.demo/@hk_student_union/12\n@hk_student_union")
    phone.select_option("#f-tz", "+08:00")
    phone.fill("#f-deadline", "2099-07-08T09:30")
    phone.fill("#f-penalty", "Fine of HK$100,000 and imprisonment for six months")
    phone.set_input_files("#f-document", str(signed))
    shot(phone, "portal-form")
    phone.click("button[type=submit].primary")
    phone.wait_for_selector("#e-legal_basis_article")
    assert phone.get_attribute("#f-legal_basis_article", "aria-invalid") == "true"
    assert phone.inner_text("#e-legal_basis_article") == "required"
    assert "choose the file again" in phone.inner_text("#e-document")
    assert phone.input_value("#f-penalty").startswith("Fine of HK$100,000")  # kept
    assert fits_the_screen(phone)
    shot(phone, "portal-form-errors")

    phone.fill("#f-legal_basis_article", "Schedule 4")
    phone.set_input_files("#f-document", str(signed))
    phone.click("button[type=submit].primary")
    phone.wait_for_url("**/portal/demands/*?submitted=1")
    assert "Your demand was received" in phone.inner_text("p.notice")
    assert "received" in phone.inner_text("h1 .status")
    assert "2099-07-08 01:30 UTC" in phone.inner_text("div.deadline")
    assert "signed order.pdf" in phone.inner_text("ul.documents")
    assert "sha256:" in phone.inner_text("ul.documents")
    assert "Nothing has been produced for this demand yet." in phone.content()
    assert fits_the_screen(phone)
    shot(phone, "portal-demand")

    phone.fill("#f-reason", "The post has been taken down by its author.")
    phone.click("button.danger")
    phone.wait_for_url("**?withdrawn=1")
    assert "withdrawn" in phone.inner_text("h1 .status")
    assert phone.locator("button.danger").count() == 0
    demand_id = int(phone.url.split("/portal/demands/")[1].split("?")[0])
    status = read(session, lambda s: demands.get(s, demand_id).status)
    assert status is DemandStatus.WITHDRAWN

    phone.click("text=← Your authority's demands")
    phone.wait_for_url("**/portal")
    assert "withdrawn" in phone.inner_text("ul.cards")
    assert fits_the_screen(phone)
    shot(phone, "portal-home")
