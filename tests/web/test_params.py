"""Ids and offsets in URLs: bounded to what the database holds (``web/params.py``), on every
API and page route, so an id past 2^31-1 (PostgreSQL's ``integer``) or an offset of 2^63 or
more is 422 naming the parameter, never a 500."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing

import annotated_types
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session

from dueprocess.accounts.passwords import current_code
from dueprocess.runtime import Runtime
from dueprocess.web.app import create_app, route_table
from dueprocess.web.params import MAX_ID, MAX_OFFSET
from tests import factories
from tests.conftest import LiveServer
from tests.intake.test_portal import person, sign_in

TOO_BIG = 2**63
SHA = "a" * 64


def _bounds(field_info: object) -> tuple[int | None, int | None]:
    low = high = None
    for item in getattr(field_info, "metadata", []):
        if isinstance(item, annotated_types.Ge):
            low = int(item.ge)  # type: ignore[call-overload]
        elif isinstance(item, annotated_types.Le):
            high = int(item.le)  # type: ignore[call-overload]
    return low, high


def test_every_integer_in_a_path_or_query_is_bounded(runtime: Runtime) -> None:
    app: FastAPI = create_app(runtime)
    unbounded = []
    for route in route_table(app):
        for param in route.dependant.path_params + route.dependant.query_params:
            if param.field_info.annotation is not int and "int" not in str(
                param.field_info.annotation
            ):
                continue
            low, high = _bounds(param.field_info)
            if low is None or high is None or low < 0 or high > MAX_OFFSET:
                unbounded.append(f"{route.path} {param.name}")
    assert unbounded == []


@pytest.fixture
def api(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.authority(session)
    raw = factories.token(session, "staff@example.org", ["intake", "policy-owner", "approver"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


API = [
    ("GET", "/api/v1/demands/{n}", "demand_id"),
    ("GET", f"/api/v1/demands/{{n}}/documents/{SHA}", "demand_id"),
    ("POST", "/api/v1/demands/{n}/withdraw", "demand_id"),
    ("POST", "/api/v1/policy/versions/{n}/approve", "version_id"),
    ("GET", "/api/v1/demands?offset={n}", "offset"),
]


@pytest.mark.parametrize(("method", "path", "name"), API)
def test_api_ids_past_the_database_range_are_422_naming_the_parameter(
    api: httpx.Client, method: str, path: str, name: str
) -> None:
    body = {"reason": "closed"} if method == "POST" else None
    beyond = [MAX_ID + 1, 0] if name != "offset" else [-1]  # an integer column's end
    for n in (TOO_BIG, 10**30, *beyond):
        answer = api.request(method, path.format(n=n), json=body)
        assert answer.status_code == 422, (n, answer.text)
        (problem,) = answer.json()["detail"]
        assert problem["loc"][-1] == name
        assert problem["loc"][0] in ("path", "query")
    if name == "offset":
        assert api.request(method, path.format(n=MAX_OFFSET)).json() == []
    else:
        # The largest id is well formed: it names nothing, so it is not found; a path whose
        # id is not a number at all names no route.
        assert api.request(method, path.format(n=MAX_ID), json=body).status_code == 404
        assert api.request(method, path.format(n="-1"), json=body).status_code == 404
        assert api.request(method, path.format(n="abc"), json=body).status_code == 404


def test_a_path_of_another_route_is_not_read_as_an_id(api: httpx.Client) -> None:
    """``/api/v1/demands/batch`` is the batch route (POST only), not demand "batch"."""
    answer = api.get("/api/v1/demands/batch")
    assert answer.status_code == 405, answer.text
    assert answer.headers["allow"] == "POST"
    both = api.request("OPTIONS", "/api/v1/demands")
    assert both.status_code == 405
    assert both.headers["allow"] == "GET, POST"


@pytest.fixture
def pages(live_server: LiveServer, session: Session) -> Iterator[tuple[httpx.Client, str]]:
    factories.authority(session)
    staff = person(session, "intake@example.org", ["intake", "approver"], None)
    code = current_code(staff.totp_secret)
    with closing(sign_in(live_server, "intake@example.org", code)) as client:
        form = client.get("/demands/new", follow_redirects=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        yield client, token[1]


PAGES = [
    ("GET", "/demands/{n}"),
    ("GET", f"/demands/{{n}}/documents/{SHA}"),
    ("GET", "/policy/versions/{n}"),
    ("GET", "/policy/whatif?version={n}"),
    ("GET", "/policy/versions/1?evaluated={n}"),
    ("POST", "/demands/{n}/callbacks"),
    ("POST", "/authorities/hkpf-nsd/officers/{n}/verify"),
    ("POST", "/policy/versions/{n}/reject"),
]


@pytest.mark.parametrize(("method", "path"), PAGES)
def test_page_ids_past_the_database_range_are_refused_not_500(
    pages: tuple[httpx.Client, str], method: str, path: str
) -> None:
    client, csrf = pages
    answer = client.request(method, path.format(n=TOO_BIG), headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 422, answer.text


def test_portal_ids_past_the_database_range_are_refused_not_500(
    live_server: LiveServer, session: Session
) -> None:
    factories.authority(session)
    officer = person(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    code = current_code(officer.totp_secret)
    with closing(sign_in(live_server, "officer@police.gov.hk", code)) as client:
        form = client.get("/portal/demands/new", follow_redirects=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        headers = {"X-CSRF-Token": token[1]}
        assert client.get(f"/portal/demands/{TOO_BIG}").status_code == 422
        posted = client.post(f"/portal/demands/{TOO_BIG}/withdraw", headers=headers)
        assert posted.status_code == 422
