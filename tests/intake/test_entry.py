"""Staff entry over real HTTP: intake staff type in a demand that came by e-mail, post or fax
and attach the original; the record says which channel it came by and who sent it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, Upload
from tests import factories
from tests.conftest import LiveServer
from tests.intake.test_portal import (
    assert_next_to_field,
    count,
    events,
    field_errors,
    good_fields,
    hidden,
    pdf_bytes,
    person,
    post_form,
    read,
    sign_in,
)

INTAKE = "intake@example.org"


@pytest.fixture
def staff(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    person(session, INTAKE, ["intake"], None)
    with closing(sign_in(live_server, INTAKE)) as client:
        yield client


def entry_fields(**changes: Any) -> dict[str, Any]:
    fields = good_fields(
        authority="hkpf-nsd",
        channel="email",
        sender="nsd-cyber@police.gov.hk",
        received_at="2020-07-07T09:30",
        deadline="2020-07-08T09:30",
        gag_order_until="2021-07-07T00:00",
    )
    fields.update(changes)
    return fields


def test_entry_records_channel_sender_and_the_original(
    staff: httpx.Client, session: Session
) -> None:
    form = staff.get("/demands/new", follow_redirects=True)
    assert form.status_code == 200
    assert '<option value="de-bka">' in form.text  # the registry is offered
    original = pdf_bytes()
    name = "../../etc/fax.pdf"  # a file name is only ever a display name
    answer = post_form(staff, "/demands/new", entry_fields(channel="fax"), original, name)
    assert answer.status_code == 303, field_errors(answer.text)
    demand_id = read(session, lambda s: s.scalars(select(Demand.id)).one())
    assert answer.headers["location"] == f"/demands/{demand_id}"

    shown = read(session, lambda s: demands.to_out(s, demands.get(s, demand_id)))
    assert shown.channel.value == "fax"
    assert shown.sender == "nsd-cyber@police.gov.hk"
    assert shown.received_at == datetime(2020, 7, 7, 1, 30, tzinfo=UTC)
    assert shown.deadline == datetime(2020, 7, 8, 1, 30, tzinfo=UTC)
    digest = hashlib.sha256(original).hexdigest()
    assert [(d.filename, d.sha256) for d in shown.documents] == [("fax.pdf", digest)]
    assert read(session, lambda s: demands.get(s, demand_id).officer_id) is None

    page = staff.get(answer.headers["location"])
    assert "via fax from nsd-cyber@police.gov.hk" in page.text
    assert f"sha256:{digest}" in page.text  # the original is shown with its hash
    submitted = events(session, "demand.submitted")
    assert submitted[0]["data"]["channel"] == "fax"
    assert submitted[0]["actor"].startswith("account:")


def test_an_empty_jurisdiction_is_the_authoritys(staff: httpx.Client, session: Session) -> None:
    fields = entry_fields(authority="de-bka", jurisdiction="", channel="post")
    fields["sender"] = "Bundeskriminalamt, 65173 Wiesbaden"
    fields["legal_basis_instrument"] = "Strafprozessordnung"
    answer = post_form(staff, "/demands/new", fields, pdf_bytes())
    assert answer.status_code == 303, field_errors(answer.text)
    shown = read(session, lambda s: demands.to_out(s, demands.get(s, 1)))
    assert (shown.authority, shown.jurisdiction, shown.channel.value) == ("de-bka", "DE", "post")


def test_entry_errors_are_named_next_to_their_fields(staff: httpx.Client, session: Session) -> None:
    fields = entry_fields(channel="", sender="", authority="")
    answer = post_form(staff, "/demands/new", fields, pdf_bytes())
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert errors["channel"].startswith("required")
    assert errors["sender"].startswith("required")
    assert errors["authority"] == "required"
    assert_next_to_field(answer.text, "sender")
    assert_next_to_field(answer.text, "authority")
    assert 'id="f-channel" aria-invalid="true"' in answer.text

    wrong = post_form(
        staff, "/demands/new", entry_fields(sender="fax +852 1234", authority="nobody"), None
    )
    errors = field_errors(wrong.text)
    assert errors["sender"] == "for a demand sent by e-mail, give the sender's e-mail address"
    assert errors["document"] == "required: choose the signed document"

    unknown = post_form(staff, "/demands/new", entry_fields(authority="nobody"), pdf_bytes())
    assert field_errors(unknown.text)["authority"] == "no authority 'nobody' in the registry"
    late = post_form(staff, "/demands/new", entry_fields(received_at="2020-07-09T00:00"), b"x")
    assert field_errors(late.text)["deadline"] == "must be after the time it was received"
    future = entry_fields(received_at="2999-01-01T00:00", deadline="2999-02-01T00:00")
    future["gag_order_basis"] = ""
    future["gag_order_until"] = ""
    errors = field_errors(post_form(staff, "/demands/new", future, b"x").text)
    assert errors["received_at"] == "must not be in the future"
    assert count(session, Demand.id) == 0
    assert count(session, Upload.id) == 0


def test_entry_keys_its_form_and_refuses_a_repeat_until_confirmed(
    staff: httpx.Client, session: Session
) -> None:
    opened = staff.get("/demands/new")
    assert opened.status_code == 303
    address = opened.headers["location"]
    assert address.startswith("/demands/new?form_key=entry-")
    page = staff.get(address).text
    key = hidden(page, "form_key")
    assert address.endswith(key)
    portal_key = staff.get("/demands/new", params={"form_key": "portal-" + key[6:]})
    assert portal_key.status_code == 303, "a portal form's key is not taken"

    fields = entry_fields(
        reference="", received_at="", deadline="2099-07-08T09:30", gag_order_until=""
    )
    first = post_form(staff, "/demands/new", fields, pdf_bytes())
    assert first.status_code == 303, field_errors(first.text)
    demand_id = int(first.headers["location"].rsplit("/", 1)[1])
    # Typed in again by someone else from another form (no reference, the same content).
    again = post_form(staff, "/demands/new", fields, pdf_bytes())
    assert again.status_code == 422
    errors = field_errors(again.text)
    assert (
        errors["confirmed_new"]
        == "if it is a new demand all the same, tick this box and send the form again"
    )
    summary = again.text.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f"the same demand as demand {demand_id} (received " in summary
    assert "the same authority asked for the same within 30 days" in summary
    assert count(session, Demand.id) == 1
    confirmed = post_form(staff, "/demands/new", {**fields, "confirmed_new": "yes"}, pdf_bytes())
    assert confirmed.status_code == 303, field_errors(confirmed.text)
    assert count(session, Demand.id) == 2


def test_officers_are_sent_to_the_portal(live_server: LiveServer, session: Session) -> None:
    factories.authority(session)
    officer = person(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    code = current_code(officer.totp_secret)
    with closing(sign_in(live_server, "officer@police.gov.hk", code)) as client:
        assert client.get("/demands/new").headers["location"] == "/portal/demands/new"
        csrf = hidden(client.get("/portal").text, "csrf_token")
        posted = client.post("/demands/new", data={"csrf_token": csrf, **entry_fields()})
        assert posted.status_code == 303
        assert posted.headers["location"] == "/portal/demands/new"
    assert count(session, Demand.id) == 0


def test_pages_offer_the_right_form_to_each(staff: httpx.Client) -> None:
    nav = staff.get("/demands").text
    assert 'href="/demands/new"' in nav
    assert 'href="/portal"' not in nav
