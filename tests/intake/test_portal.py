"""The officers' portal over real HTTP: an officer signs in with TOTP, submits a demand with
its signed PDF, sees each problem next to its field, follows and withdraws the demand.

Helpers here (signing in, reading the form, sample PDFs) are shared with ``test_entry.py``.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import httpx
import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus, ReplyKind, Upload
from dueprocess.intake import forms
from dueprocess.intake.portal import document_limit
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

T = TypeVar("T")
OFFICER = "officer@police.gov.hk"


# --- helpers shared with test_entry.py -------------------------------------------------------


def pdf_bytes(password: str | None = None) -> bytes:
    """A real one-page PDF (encrypted with ``password`` if given)."""
    writer = PdfWriter()
    writer.add_blank_page(72, 72)
    if password is not None:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def read(session: Session, fn: Callable[[Session], T]) -> T:
    """Read in a short transaction: on SQLite an open one would hold the lock the server needs."""
    try:
        return fn(session)
    finally:
        session.rollback()


def count(session: Session, column: Any) -> int:
    return read(session, lambda s: int(s.scalar(select(func.count(column))) or 0))


def sign_in(server: LiveServer, email: str, code: str = "") -> httpx.Client:
    """A client signed in through the real form (``code``: the TOTP code, if the role needs one)."""
    client = httpx.Client(base_url=server.url, follow_redirects=False)
    form = client.get("/sign-in")
    presign = re.search(r'name="presign" value="([^"]+)"', form.text)
    assert presign is not None
    answer = client.post(
        "/sign-in",
        data={
            "email": email,
            "password": factories.PASSWORD,
            "code": code,
            "presign": presign[1],
            "next": "/",
        },
    )
    assert answer.status_code == 303, answer.text
    return client


def events(session: Session, action: str) -> list[dict[str, Any]]:
    """Audit events with this action, as plain dicts (rows would reload after the rollback)."""
    return read(
        session,
        lambda s: [{"actor": e.actor, "data": e.data} for e in audit.search(s, action=action)],
    )


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found is not None, f"no hidden {name}"
    return html.unescape(found[1])


def field_errors(page: str) -> dict[str, str]:
    """Each error shown on the page, by the field it is attached to (``e-NAME``)."""
    return {
        m[1]: html.unescape(m[2])
        for m in re.finditer(r'<p class="field-error" id="e-(\w+)" role="alert">(.*?)</p>', page)
    }


def assert_next_to_field(page: str, name: str) -> None:
    """The error sits in the field's own block, and the input is marked invalid and tied to it."""
    block = re.search(
        rf'<div class="field has-error">\s*<label for="f-{name}">.*?</div>', page, re.DOTALL
    )
    assert block is not None, f"{name}: no field block with an error"
    assert f'id="e-{name}"' in block[0]
    control = re.search(rf'<(input|select|textarea)[^>]*id="f-{name}"[^>]*>', block[0])
    assert control is not None, name
    assert 'aria-invalid="true"' in control[0], name
    assert f"e-{name}" in control[0], name


def good_fields(**changes: Any) -> dict[str, Any]:
    """A complete, valid portal form (HK user-data demand, times in UTC+08:00)."""
    fields: dict[str, Any] = {
        "jurisdiction": "HK",
        "reference": "NSD/202007/0042",
        "kind": "user-data",
        "legal_process": "warrant",
        "legal_basis_instrument": "Implementation Rules for Article 43 of the NSL",
        "legal_basis_article": "Schedule 4",
        "summary": "Subscriber and traffic data of one account",
        "data_categories": ["subscriber", "traffic"],
        "tz": "+08:00",
        "period_start": "2020-07-01",
        "period_end": "2020-07-07",
        "deadline": "2099-07-08T09:30",
        "penalty": "Fine of HK$100,000 and imprisonment for six months",
        "gag_order_basis": "Schedule 4, section 3(2)",
        "gag_order_until": "2099-12-31T00:00",
        "emergency_justification": "",
        "targets": "@hk_student_union\r\n\r\nhttps://microblog.demo/@hk_student_union/12\r\npost:77",
    }
    fields.update(changes)
    return fields


def post_form(
    client: httpx.Client,
    path: str,
    fields: dict[str, Any],
    document: bytes | None = None,
    filename: str = "order.pdf",
) -> httpx.Response:
    """GET the form (for its CSRF token and form key), then POST ``fields`` and the file."""
    page = client.get(path, follow_redirects=True)
    assert page.status_code == 200, page.text
    data = {"csrf_token": hidden(page.text, "csrf_token")}
    data["form_key"] = hidden(page.text, "form_key")
    data.update(fields)
    # No file chosen: a browser sends an empty part with an empty file name.
    part = (filename, document, "application/pdf") if document is not None else ("", b"")
    return client.post(path, data=data, files={"document": part})


# --- fixtures ------------------------------------------------------------------------------------


class Person(NamedTuple):
    """An account's id and TOTP secret, read once: ORM rows would reload (and, on SQLite,
    lock the database) when touched after a test's rollback."""

    id: int
    totp_secret: str


def person(session: Session, email: str, roles: list[str], authority: str | None) -> Person:
    account = factories.account(session, email, roles, authority)
    session.commit()
    return Person(account.id, account.totp_secret or "")


@pytest.fixture
def officer(session: Session) -> Person:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    return person(session, OFFICER, ["officer"], "hkpf-nsd")


@pytest.fixture
def portal(live_server: LiveServer, officer: Person) -> Iterator[httpx.Client]:
    with closing(sign_in(live_server, OFFICER, current_code(officer.totp_secret))) as client:
        yield client


def submit_good(portal: httpx.Client, **changes: Any) -> int:
    answer = post_form(portal, "/portal/demands/new", good_fields(**changes), pdf_bytes())
    assert answer.status_code == 303, field_errors(answer.text) or answer.text
    found = re.fullmatch(r"/portal/demands/(\d+)\?submitted=1", answer.headers["location"])
    assert found is not None, answer.headers["location"]
    return int(found[1])


# --- submitting ----------------------------------------------------------------------------------


def test_officer_submits_a_demand_with_its_signed_pdf(
    portal: httpx.Client, session: Session, officer: Person
) -> None:
    form = portal.get("/portal/demands/new", follow_redirects=True)
    assert 'value="HK"' in form.text  # jurisdiction prefilled with the authority's
    assert "Hong Kong Police Force, National Security Department (hkpf-nsd)" in form.text
    pdf = pdf_bytes()
    answer = post_form(portal, "/portal/demands/new", good_fields(), pdf, "签署 order.pdf")
    assert answer.status_code == 303, field_errors(answer.text)
    shown = portal.get(answer.headers["location"])
    assert shown.status_code == 200
    assert "Your demand was received" in shown.text
    assert hashlib.sha256(pdf).hexdigest() in shown.text
    assert "Nothing has been produced for this demand yet." in shown.text
    assert "2099-07-08 01:30 UTC" in shown.text  # 09:30 at UTC+08:00

    demand_id = read(session, lambda s: s.scalars(select(Demand.id)).one())
    full = read(session, lambda s: demands.to_out(s, demands.get(s, demand_id)))
    assert full.channel.value == "portal"
    assert read(session, lambda s: demands.get(s, demand_id).officer_id) == officer.id
    assert full.deadline == datetime(2099, 7, 8, 1, 30, tzinfo=UTC)
    assert full.period_start == datetime(2020, 6, 30, 16, 0, tzinfo=UTC)
    assert full.period_end == datetime(2020, 7, 7, 15, 59, 59, tzinfo=UTC)
    assert full.data_categories == ["subscriber", "traffic"]
    assert [(t.type.value, t.id) for t in full.targets] == [
        ("account", "@hk_student_union"),
        ("content", "https://microblog.demo/@hk_student_union/12"),
        ("content", "post:77"),
    ]
    assert full.gag_order is not None
    assert full.gag_order.until == datetime(2099, 12, 30, 16, 0, tzinfo=UTC)
    assert [d.sha256 for d in full.documents] == [hashlib.sha256(pdf).hexdigest()]
    assert full.documents[0].filename == "签署 order.pdf"
    uploader = read(session, lambda s: s.scalars(select(Upload.account_id)).one())
    assert uploader == officer.id
    submitted = events(session, "demand.submitted")
    assert submitted[0]["data"]["documents"] == [hashlib.sha256(pdf).hexdigest()]
    assert submitted[0]["data"]["channel"] == "portal"

    home = portal.get("/portal")
    assert f'href="/portal/demands/{demand_id}"' in home.text
    assert "NSD/202007/0042" in home.text
    assert "2099-07-08 01:30 UTC" in home.text


def test_a_form_posted_twice_records_one_demand(portal: httpx.Client, session: Session) -> None:
    page = portal.get("/portal/demands/new", follow_redirects=True).text
    data = {"csrf_token": hidden(page, "csrf_token"), "form_key": hidden(page, "form_key")}
    data.update(good_fields())
    files = {"document": ("order.pdf", pdf_bytes(), "application/pdf")}
    first = portal.post("/portal/demands/new", data=data, files=files)
    second = portal.post("/portal/demands/new", data=data, files=files)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"].endswith("?submitted=1")
    again = second.headers["location"]
    assert again == first.headers["location"].replace("submitted", "again")
    assert "This form had already been sent" in portal.get(again).text
    assert count(session, Demand.id) == 1

    data["summary"] = "something else"
    changed = portal.post("/portal/demands/new", data=data, files=files)
    assert changed.status_code == 422
    assert "already used to submit a different demand" in changed.text
    assert count(session, Demand.id) == 1


def test_the_form_is_opened_at_an_address_holding_its_key(portal: httpx.Client) -> None:
    opened = portal.get("/portal/demands/new")
    assert opened.status_code == 303
    address = opened.headers["location"]
    assert re.fullmatch(r"/portal/demands/new\?form_key=portal-[A-Za-z0-9_-]{22}", address)
    key = address.split("=", 1)[1]
    # Loaded again from its address (a reload, or Back after posting it), the form keeps it.
    for _ in range(2):
        page = portal.get(address)
        assert page.status_code == 200
        assert hidden(page.text, "form_key") == key
        assert 'id="f-confirmed_new"' not in page.text  # only with a repeat's warning
    assert portal.get("/portal/demands/new").headers["location"] != address
    for other in ("x", f"entry-{key.split('-', 1)[1]}", "portal-short", key + "a"):
        fresh = portal.get("/portal/demands/new", params={"form_key": other})
        assert fresh.status_code == 303
        assert fresh.headers["location"] not in {address, f"/portal/demands/new?form_key={other}"}


def test_a_repeat_from_another_form_is_refused_until_confirmed(
    portal: httpx.Client, session: Session
) -> None:
    first = submit_good(portal)
    received = read(session, lambda s: demands.get(s, first).received_at)
    when = received.isoformat().replace("+00:00", "Z")
    # The same demand from a new form (a new key): refused, naming the first, with the box.
    answer = post_form(portal, "/portal/demands/new", good_fields(), pdf_bytes())
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert errors["reference"] == (
        f"demand {first} (reference NSD/202007/0042, received {when}) already has this reference"
    )
    assert errors["confirmed_new"] == forms.CONFIRM_ON_FORM
    assert re.search(
        r'<input type="checkbox" id="f-confirmed_new" name="confirmed_new"', answer.text
    )
    assert 'href="#f-confirmed_new"' in answer.text  # the summary links to the box
    assert count(session, Demand.id) == 1

    confirmed = post_form(
        portal, "/portal/demands/new", good_fields(confirmed_new="yes"), pdf_bytes()
    )
    assert confirmed.status_code == 303, field_errors(confirmed.text)
    assert confirmed.headers["location"].endswith("?submitted=1")
    assert count(session, Demand.id) == 2
    submitted = events(session, "demand.submitted")
    assert [e["data"]["repeats"] for e in submitted if "repeats" in e["data"]] == [[first]]


def test_each_bad_field_is_named_next_to_it_and_nothing_is_written(
    portal: httpx.Client, session: Session
) -> None:
    bad = good_fields(
        jurisdiction="XX",
        kind="",
        legal_basis_article="  ",
        tz="",
        targets="@fine\nnot a handle\nhttps://microblog.demo/x",
        reference="NSD/keep-me",
        summary="typed text <kept>",
    )
    answer = post_form(portal, "/portal/demands/new", bad, pdf_bytes())
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    fields = {"jurisdiction", "kind", "legal_basis_article", "tz", "targets", "document"}
    assert set(errors) == fields
    assert "unknown jurisdiction 'XX'" in errors["jurisdiction"]
    assert errors["kind"] == "required: choose one from the list"
    assert errors["legal_basis_article"] == "required"
    assert errors["tz"] == "choose the time zone of the dates and times you entered"
    assert errors["targets"].startswith("line 2: account target 'not a handle'")
    assert errors["document"].startswith("choose the file again")
    for name in sorted(fields):
        assert_next_to_field(answer.text, name)
    # What was typed is kept (escaped), the summary at the top links to each field.
    assert 'value="NSD/keep-me"' in answer.text
    assert "typed text &lt;kept&gt;</textarea>" in answer.text
    assert 'value="traffic" checked' in answer.text
    assert '<option value="warrant" selected>' in answer.text
    assert 'href="#f-legal_basis_article"' in answer.text
    assert "Nothing was submitted" in answer.text

    rules = good_fields(kind="emergency-disclosure", data_categories=[], gag_order_basis="")
    rules["emergency_justification"] = ""
    answer = post_form(portal, "/portal/demands/new", rules, pdf_bytes())
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert errors["gag_order_basis"].startswith("give the order or law")
    assert errors["emergency_justification"] == "an emergency disclosure must state the emergency"

    category = good_fields(data_categories=[])
    answer = post_form(portal, "/portal/demands/new", category, pdf_bytes())
    errors = field_errors(answer.text)
    assert errors["data_categories"] == "a user-data demand must name at least one"

    # Refused by the service rather than the form: mapped to the same fields.
    late = good_fields(jurisdiction="DE", deadline="2020-07-08T09:30")
    answer = post_form(portal, "/portal/demands/new", late, pdf_bytes())
    assert answer.status_code == 422
    errors = field_errors(answer.text)
    assert errors["deadline"] == "has already passed"
    assert errors["jurisdiction"] == "DE is not the jurisdiction of hkpf-nsd (HK)"
    assert_next_to_field(answer.text, "deadline")

    assert count(session, Demand.id) == 0
    assert count(session, Upload.id) == 0
    assert events(session, "demand.submitted") == []


def test_missing_file_is_required(portal: httpx.Client, session: Session) -> None:
    answer = post_form(portal, "/portal/demands/new", good_fields(), None)
    assert answer.status_code == 422
    assert field_errors(answer.text) == {"document": "required: choose the signed document"}
    assert count(session, Demand.id) == 0


def test_encrypted_pdf_is_refused_next_to_the_upload(
    portal: httpx.Client, session: Session
) -> None:
    answer = post_form(portal, "/portal/demands/new", good_fields(), pdf_bytes(password="pw"))
    assert answer.status_code == 422
    assert field_errors(answer.text) == {
        "document": "the PDF is encrypted; send it without a password or restrictions"
    }
    assert_next_to_field(answer.text, "document")
    assert count(session, Demand.id) == 0


def test_a_program_renamed_pdf_is_refused_by_its_content(
    portal: httpx.Client, session: Session
) -> None:
    answer = post_form(portal, "/portal/demands/new", good_fields(), b"MZ\x90\x00" + bytes(600))
    assert answer.status_code == 422
    assert field_errors(answer.text)["document"].startswith("not an allowed type")
    assert count(session, Demand.id) == 0


def test_an_image_named_pdf_is_kept_under_an_image_name(
    portal: httpx.Client, session: Session
) -> None:
    from tests.documents.test_store import png

    answer = post_form(portal, "/portal/demands/new", good_fields(), png(), "signed order.pdf")
    assert answer.status_code == 303, field_errors(answer.text)
    demand_id = read(session, lambda s: s.scalars(select(Demand.id)).one())
    full = read(session, lambda s: demands.to_out(s, demands.get(s, demand_id)))
    assert [(d.media_type, d.filename) for d in full.documents] == [
        ("image/png", "signed order.png")
    ]


def test_oversized_uploads_are_refused(
    portal: httpx.Client, session: Session, runtime: Runtime
) -> None:
    limit = document_limit(runtime.settings.max_body_bytes)
    assert limit < runtime.settings.max_body_bytes
    # Over the document limit but within the body limit: said next to the upload field.
    big = pdf_bytes() + b"%" * (limit + 1)
    answer = post_form(portal, "/portal/demands/new", good_fields(), big)
    assert answer.status_code == 422
    assert "the limit is" in field_errors(answer.text)["document"]
    assert_next_to_field(answer.text, "document")
    # Over the body limit: refused by the server before the form is read.
    huge = pdf_bytes() + b"%" * runtime.settings.max_body_bytes
    answer = post_form(portal, "/portal/demands/new", good_fields(), huge)
    assert answer.status_code == 413
    assert "larger than the limit" in answer.text
    assert answer.headers["content-type"].startswith("text/html")
    assert count(session, Demand.id) == 0
    assert count(session, Upload.id) == 0


# --- following and withdrawing ---------------------------------------------------------------


def test_home_shows_status_deadline_stance_and_latest_reply(
    portal: httpx.Client, session: Session, runtime: Runtime
) -> None:
    own = submit_good(portal, reference="NSD/own")
    other = factories.submit(session, runtime, factories.body(**_bka())).demand
    demand = demands.get(session, own)
    demands.add_reply(session, demand, ReplyKind.ACKNOWLEDGEMENT, "Received.")
    demands.add_reply(session, demand, ReplyKind.HOLDING, "Held pending review.")
    session.commit()
    home = portal.get("/portal")
    assert home.status_code == 200
    assert "NSD/own" in home.text
    assert "Held pending review." in home.text
    assert "Received." not in home.text  # only the latest reply
    assert f"/portal/demands/{other.id}" not in home.text
    shown = portal.get(f"/portal/demands/{own}")
    assert "Received." in shown.text
    assert "Held pending review." in shown.text


def _bka() -> dict[str, Any]:
    return {
        "authority": "de-bka",
        "jurisdiction": "DE",
        "reference": "BKA-1",
        "legal_basis": {"instrument": "StPO", "article": "§ 100g"},
    }


def test_another_authoritys_demand_is_not_found(
    portal: httpx.Client, session: Session, runtime: Runtime
) -> None:
    other = factories.submit(session, runtime, factories.body(**_bka())).demand
    session.commit()
    assert portal.get(f"/portal/demands/{other.id}").status_code == 404
    assert portal.get("/portal/demands/999999").status_code == 404
    csrf = hidden(portal.get("/portal").text, "csrf_token")
    refused = portal.post(
        f"/portal/demands/{other.id}/withdraw", data={"csrf_token": csrf, "reason": "mine now"}
    )
    assert refused.status_code == 404
    status = read(session, lambda s: demands.get(s, other.id).status)
    assert status is DemandStatus.RECEIVED
    assert events(session, "demand.withdrawn") == []


def test_withdraw_needs_a_reason_and_is_audited(
    portal: httpx.Client, session: Session, officer: Person
) -> None:
    demand_id = submit_good(portal)
    page = portal.get(f"/portal/demands/{demand_id}").text
    csrf = hidden(page, "csrf_token")
    path = f"/portal/demands/{demand_id}/withdraw"
    assert f'action="{path}"' in page

    assert portal.post(path, data={"reason": "no token"}).status_code == 403
    blank = portal.post(path, data={"csrf_token": csrf, "reason": "  "})
    assert blank.status_code == 422
    assert field_errors(blank.text) == {"reason": "required: say why the demand is withdrawn"}

    done = portal.post(path, data={"csrf_token": csrf, "reason": "The suspect was identified."})
    assert done.status_code == 303
    assert done.headers["location"] == f"/portal/demands/{demand_id}?withdrawn=1"
    shown = portal.get(done.headers["location"]).text
    assert "Your demand was withdrawn." in shown
    assert "This demand has been withdrawn." in shown
    assert f'action="{path}"' not in shown
    assert read(session, lambda s: demands.get(s, demand_id).status) is DemandStatus.WITHDRAWN
    withdrawn = events(session, "demand.withdrawn")
    assert len(withdrawn) == 1
    assert withdrawn[0]["actor"] == f"account:{officer.id}"
    assert withdrawn[0]["data"]["reason"] == "The suspect was identified."
    assert withdrawn[0]["data"]["from"] == "received"

    again = portal.post(path, data={"csrf_token": csrf, "reason": "twice"})
    assert again.status_code == 409
    assert "can no longer be withdrawn" in again.text
    assert len(events(session, "demand.withdrawn")) == 1


def test_portal_views_are_audited(portal: httpx.Client, session: Session) -> None:
    demand_id = submit_good(portal)
    portal.get(f"/portal/demands/{demand_id}")
    views = events(session, "demand.viewed")
    assert [e["data"]["via"] for e in views] == ["portal"]


def test_staff_are_sent_to_the_staff_pages(
    live_server: LiveServer, session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body()).demand
    factories.account(session, "intake@example.org", ["intake"])
    session.commit()
    with closing(sign_in(live_server, "intake@example.org")) as staff:
        assert staff.get("/portal").headers["location"] == "/demands"
        assert staff.get("/portal/demands/new").headers["location"] == "/demands/new"
        assert staff.get(f"/portal/demands/{demand.id}").headers["location"] == (
            f"/demands/{demand.id}"
        )
        csrf = hidden(staff.get("/demands").text, "csrf_token")
        posted = staff.post(
            "/portal/demands/new", data={"csrf_token": csrf, **good_fields(data_categories="")}
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == "/demands/new"
        withdraw = staff.post(
            f"/portal/demands/{demand.id}/withdraw", data={"csrf_token": csrf, "reason": "x"}
        )
        assert withdraw.status_code == 303
    assert count(session, Demand.id) == 1
    assert read(session, lambda s: demands.get(s, demand.id).status) is DemandStatus.RECEIVED


# --- the form logic on its own -----------------------------------------------------------------


def test_times_without_a_zone_are_refused_and_own_offsets_are_kept() -> None:
    form = forms.DemandForm(
        {
            "jurisdiction": "HK",
            "kind": "removal",
            "legal_process": "administrative-order",
            "legal_basis_instrument": "NSL",
            "legal_basis_article": "43",
            "targets": "post:1",
            "deadline": "2099-01-01T10:00-05:00",
        }
    )
    checked = forms.validate(form, authority="hkpf-nsd", staff=False)
    assert checked.errors == {}
    assert checked.demand is not None
    assert checked.demand.deadline is not None
    assert checked.demand.deadline.astimezone(UTC) == datetime(2099, 1, 1, 15, 0, tzinfo=UTC)

    form.values["period_start"] = "2020-07-01"
    assert forms.validate(form, authority="hkpf-nsd", staff=False).errors == {
        "tz": "choose the time zone of the dates and times you entered"
    }
    form.values.update(tz="+05:45", period_start="01/07/2020")
    assert forms.validate(form, authority="hkpf-nsd", staff=False).errors == {
        "period_start": "not a date: use the form 2020-07-01"
    }
    form.values["tz"] = "+99:00"
    assert "tz" in forms.validate(form, authority="hkpf-nsd", staff=False).errors


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("legal_basis", "article"), "legal_basis_article"),
        (("legal_basis",), "legal_basis_instrument"),
        (("gag_order", "until"), "gag_order_until"),
        (("documents", 0, "sha256"), "document"),
        (("targets", 3, "id"), "targets"),
        (("data_categories", 1), "data_categories"),
        (("idempotency_key",), "form"),
        (("something_else",), "form"),
        ((), "form"),
    ],
)
def test_every_error_location_has_a_field(loc: tuple[str | int, ...], field: str) -> None:
    assert forms.field_of(loc) == field
