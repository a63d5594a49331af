"""Dates at the ends of the calendar, on every door: a time whose UTC instant falls outside
years 1 to 9999 is bad input naming its field (422, a form error, an import row's error),
never a 500 from an ``OverflowError`` deep in the flow."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.clock import as_utc
from dueprocess.demands.models import Demand
from dueprocess.intake import importer
from tests import factories
from tests.conftest import LiveServer
from tests.intake.test_portal import (
    OFFICER,
    count,
    field_errors,
    good_fields,
    pdf_bytes,
    person,
    post_form,
    sign_in,
)

LATE = "9999-12-31T23:59:59-23:59"  # 10000-01-01 in UTC
EARLY = "0001-01-01T00:00:00+23:59"  # year 0 in UTC

# (field of DemandIn, how to set it on a body, where the error is)
FIELDS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("deadline", lambda v: {"deadline": v}, ("deadline",)),
    ("received_at", lambda v: {"received_at": v}, ("received_at",)),
    ("period_start", lambda v: {"period_start": v}, ("period_start",)),
    ("period_end", lambda v: {"period_end": v}, ("period_end",)),
    (
        "gag_order.until",
        lambda v: {"gag_order": {"basis": "Schedule 4", "until": v}},
        ("gag_order", "until"),
    ),
]


def test_as_utc_refuses_an_instant_no_datetime_can_hold() -> None:
    from datetime import datetime

    for text in (LATE, EARLY):
        with pytest.raises(ValueError, match="between the years 1 and 9999"):
            as_utc(datetime.fromisoformat(text))


@pytest.fixture
def http(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.authority(session)
    raw = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


@pytest.mark.parametrize("value", [LATE, EARLY])
@pytest.mark.parametrize(("name", "setter", "loc"), FIELDS, ids=[f[0] for f in FIELDS])
def test_api_and_batch_refuse_each_date_field_naming_it(
    http: httpx.Client, session: Session, name: str, setter: Any, loc: tuple[str, ...], value: str
) -> None:
    body = factories.body(**setter(value))
    single = http.post("/api/v1/demands", json=body)
    assert single.status_code == 422, single.text
    assert [e["loc"] for e in single.json()["detail"]] == [["body", *loc]]
    assert "between the years 1 and 9999" in single.json()["detail"][0]["msg"]

    batch = http.post("/api/v1/demands/batch", json={"demands": [factories.body(), body]})
    assert batch.status_code == 422, batch.text
    assert batch.json()["items"] == [
        {
            "index": 1,
            "errors": [
                {
                    "loc": list(loc),
                    "msg": single.json()["detail"][0]["msg"],
                    "type": "value_error",
                }
            ],
        }
    ]
    assert count(session, Demand.id) == 0


def test_what_if_refuses_an_instant_out_of_range(live_server: LiveServer, session: Session) -> None:
    raw = factories.token(session, "owner@example.org", ["policy-owner"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as http:
        answer = http.post("/api/v1/policy/whatif", json={"text": "rules: []\n", "at": LATE})
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "at"]]


@pytest.fixture
def portal(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.authority(session)
    officer = person(session, OFFICER, ["officer"], "hkpf-nsd")
    with closing(sign_in(live_server, OFFICER, current_code(officer.totp_secret))) as client:
        yield client


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"tz": "-12:00", "deadline": "9999-12-31T23:59"}, "deadline"),
        ({"tz": "-12:00", "gag_order_until": "9999-12-31T18:00"}, "gag_order_until"),
        ({"tz": "-12:00", "period_end": "9999-12-31"}, "period_end"),
        ({"tz": "+14:00", "period_start": "0001-01-01"}, "period_start"),
        ({"deadline": LATE}, "deadline"),
    ],
)
def test_the_portal_names_the_field_of_a_date_out_of_range(
    portal: httpx.Client, session: Session, changes: dict[str, str], field: str
) -> None:
    answer = post_form(portal, "/portal/demands/new", good_fields(**changes), pdf_bytes())
    assert answer.status_code == 422, answer.text
    errors = field_errors(answer.text)
    assert "between the years 1 and 9999" in errors[field], errors
    assert count(session, Demand.id) == 0


def test_import_refuses_the_row_naming_the_column() -> None:
    jsonl = json.dumps(factories.body(deadline=LATE)) + "\n"
    ((line, parsed),) = importer.read_text(jsonl, "jsonl")
    assert isinstance(parsed, list)
    assert [e.loc for e in parsed] == [("deadline",)]
    assert "between the years 1 and 9999" in parsed[0].msg

    header = "authority,jurisdiction,kind,legal_process,legal_basis_instrument,"
    header += "legal_basis_article,targets,gag_order_basis,gag_order_until\n"
    row = f"hkpf-nsd,HK,removal,warrant,Rules,Art 1,@someone,Schedule 4,{EARLY}\n"
    ((line, parsed),) = importer.read_text(header + row, "csv")
    assert line == 2
    assert isinstance(parsed, list)
    assert [e.loc for e in parsed] == [("gag_order_until",)]


@pytest.mark.parametrize("value", [0, 1594085400, "1594085400", 1.5])
def test_a_number_is_not_a_time(http: httpx.Client, session: Session, value: object) -> None:
    """Pydantic would read a number as seconds since 1970, in UTC: a time must say its
    offset, so a number is refused (schemathesis found ``"received_at": 0`` accepted)."""
    answer = http.post("/api/v1/demands", json=factories.body(received_at=value))
    assert answer.status_code == 422, answer.text
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", "received_at"]]
    assert count(session, Demand.id) == 0
