"""The policy API and pages over real HTTP, against the real app and database."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.accounts.passwords import current_code
from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel, DemandStatus
from dueprocess.demands.schemas import DemandIn
from dueprocess.intake import flow
from dueprocess.policy import service as policy
from dueprocess.policy.templates import template_text
from dueprocess.runtime import Runtime
from dueprocess.web.app import create_app, route_table
from dueprocess.web.auth import declared_permission
from tests import factories
from tests.conftest import LiveServer

FACEBOOK = template_text("facebook-whatsapp-2020")


@pytest.fixture
def world(session: Session, runtime: Runtime) -> dict[str, str]:
    """Two Hong Kong demands (open, no policy yet), and tokens for an owner and an approver."""
    factories.authority(session)
    for reference in ("NSD-1", "NSD-2"):
        data = DemandIn.model_validate(factories.body(reference=reference))
        flow.receive(session, runtime, data, channel=Channel.EMAIL, actor="test")
    tokens = {
        "owner": factories.token(session, "owner@example.org", ["policy-owner"]),
        "approver": factories.token(session, "approver@example.org", ["approver"]),
        "reader": factories.token(session, "reader@example.org", ["legal-reviewer"]),
    }
    session.commit()
    return tokens


@pytest.fixture
def api(live_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server.url) as client:
        yield client


def test_every_policy_route_declares_a_permission(runtime: Runtime) -> None:
    routes = [r for r in route_table(create_app(runtime)) if "/policy" in r.path]
    assert len(routes) == 12
    for route in routes:
        assert declared_permission(route) not in ("undeclared", "public"), route.path


def test_propose_four_eyes_approve_and_read_back(
    api: httpx.Client, world: dict[str, str], session: Session
) -> None:
    owner, approver = factories.bearer(world["owner"]), factories.bearer(world["approver"])
    body = {"text": FACEBOOK, "reason": "NSL", "source_name": "fb.yaml"}
    assert api.post("/api/v1/policy/versions", json=body, headers=approver).status_code == 403
    created = api.post("/api/v1/policy/versions", json=body, headers=owner)
    assert created.status_code == 201, created.text
    version = created.json()
    assert (version["status"], version["source"]) == ("proposed", FACEBOOK)
    assert version["author_email"] == "owner@example.org"

    path = f"/api/v1/policy/versions/{version['id']}/approve"
    own = api.post(path, headers=owner)
    assert own.status_code == 409
    assert "four eyes" in own.json()["detail"]
    done = api.post(path, headers=approver)
    assert done.status_code == 200, done.text
    result = done.json()
    assert (result["evaluated"], result["changed"]) == (2, 2)
    assert result["replies"] == [{"name": "holding", "count": 2}]
    assert api.post(path, headers=approver).status_code == 409

    active = api.get("/api/v1/policy/active", headers=factories.bearer(world["reader"])).json()
    assert active["version"]["id"] == version["id"]
    assert active["version"]["approver_email"] == "approver@example.org"
    assert active["rules"][0]["from"] == "2020-07-06T00:00:00Z"
    listed = api.get("/api/v1/policy/versions", headers=owner).json()
    assert [(v["id"], v["status"]) for v in listed] == [(version["id"], "active")]
    session.expire_all()  # the demands were created in this session: read them afresh
    assert {row.status for row in demands.list_summaries(session)} == {DemandStatus.PAUSED}


def test_a_bad_file_is_422_with_line_and_rule(api: httpx.Client, world: dict[str, str]) -> None:
    text = "policy: Bad\ndefault: process\nrules:\n  - id: r1\n    jurisdiction: HK\n"
    text += "    stance: pause\n"
    for path, body in (
        ("/api/v1/policy/versions", {"text": text, "reason": "x"}),
        ("/api/v1/policy/whatif", {"text": text}),
    ):
        answer = api.post(path, json=body, headers=factories.bearer(world["owner"]))
        assert answer.status_code == 422
        (problem,) = answer.json()["detail"]
        assert problem["loc"] == ["body", "text", "rules", 0, "condition"]
        assert (problem["line"], problem["rule"]) == (6, "r1")
        assert problem["msg"].startswith('line 6: rules[0].condition (rule "r1"): a pause needs')
    versions = api.get("/api/v1/policy/versions", headers=factories.bearer(world["owner"]))
    assert versions.json() == []


def test_whatif_api_lists_the_changes(api: httpx.Client, world: dict[str, str]) -> None:
    answer = api.post(
        "/api/v1/policy/whatif",
        json={"text": FACEBOOK, "at": "2020-07-06T00:00:00Z", "limit": 1},
        headers=factories.bearer(world["reader"]),
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["open_demands"], result["changing"], len(result["changes"])) == (2, 2, 1)
    assert result["changes_truncated"] is True
    assert result["changes"][0]["status_after"] == "paused"
    assert result["deadlines_missed"] == 2
    assert result["deadlines"][0]["penalty"].startswith("Fine of HK$100,000")


# --- pages --------------------------------------------------------------------------------------


def sign_in(client: httpx.Client, account: Account) -> str:
    """Sign in through the real form; returns the session's CSRF token from a page."""
    form = client.get("/sign-in")
    presign = re.search(r'name="presign" value="([^"]+)"', form.text)
    assert presign is not None
    code = current_code(account.totp_secret) if account.totp_secret else ""
    answer = client.post(
        "/sign-in",
        data={
            "email": account.email,
            "password": factories.PASSWORD,
            "code": code,
            "presign": presign[1],
            "next": "/policy",
        },
    )
    assert answer.status_code == 303, answer.text
    page = client.get("/policy")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    return token[1]


@pytest.fixture
def staff(session: Session, world: dict[str, str]) -> dict[str, Account]:
    out = {
        "owner": factories.account(session, "owner-page@example.org", ["policy-owner"]),
        "approver": factories.account(session, "approver-page@example.org", ["approver"]),
    }
    session.commit()
    return out


def test_pages_table_jurisdiction_whatif_and_approval(
    live_server: LiveServer, session: Session, runtime: Runtime, staff: dict[str, Account]
) -> None:
    version = policy.propose(
        session, FACEBOOK, "fb.yaml", "NSL", actor=f"account:{staff['owner'].id}"
    )
    session.commit()
    with httpx.Client(base_url=live_server.url) as owner:
        csrf = sign_in(owner, staff["owner"])
        index = owner.get("/policy").text
        assert "Hong Kong (HK)" in index
        assert "No policy is active" in index
        assert f'href="/policy/versions/{version.id}"' in index

        form = owner.get("/policy/whatif?template=telegram-2020")
        assert "hk-refuse-data" in html.unescape(form.text)
        shown = owner.post(
            "/policy/whatif", data={"text": FACEBOOK, "at": "2020-07-06", "csrf_token": csrf}
        )
        assert shown.status_code == 200
        page = html.unescape(shown.text)
        assert "2 of 2 open demands would change stance" in re.sub(r"<[^>]+>", "", page)
        assert "Fine of HK$100,000" in page  # deadlines missed while paused, with the penalty
        refused = owner.post("/policy/whatif", data={"text": FACEBOOK})
        assert refused.status_code == 403
        bad = owner.post(
            "/policy/whatif",
            data={"text": "policy: x\ndefault: nope\nrules: []\n", "csrf_token": csrf},
        )
        assert bad.status_code == 422
        assert "line 2: default: unknown stance" in html.unescape(bad.text)

        mine = owner.get(f"/policy/versions/{version.id}").text
        assert "another person must approve it" in mine
        assert "Approve and activate" not in mine

    with httpx.Client(base_url=live_server.url) as approver:
        csrf = sign_in(approver, staff["approver"])
        page = approver.get(f"/policy/versions/{version.id}").text
        assert "Approve and activate" in page
        assert "policy.proposed" in page
        done = approver.post(f"/policy/versions/{version.id}/approve", data={"csrf_token": csrf})
        assert done.status_code == 303
        after = approver.get(done.headers["location"]).text
        assert "2 open demands re-evaluated, 2 changed stance" in after
        assert "policy.activated" in after

        hk = html.unescape(approver.get("/policy/hk").text)
        assert "pending human-rights due diligence" in hk
        assert "hk-pause-hrdd" in hk
        session.expire_all()
        since = policy.get_version(session, version.id).effective_from
        demand_id = demands.list_summaries(session)[0].id
        session.rollback()  # end the read: on SQLite it holds the write lock
        assert since is not None  # activated now, after its rule's start (6 July 2020)
        assert f"Since {since:%Y-%m-%d %H:%M} UTC" in hk
        assert approver.get("/policy/XX").status_code == 404

        shown_demand = html.unescape(approver.get(f"/demands/{demand_id}").text)
        assert "pending human-rights due diligence" in shown_demand
        assert f'href="/policy/versions/{version.id}"' in shown_demand
        assert "held, not refused" in shown_demand  # the queued holding reply
        assert "HK$100,000" in shown_demand  # the penalty stays visible while paused


def test_rejecting_on_the_page(
    live_server: LiveServer, session: Session, staff: dict[str, Account]
) -> None:
    version = policy.propose(
        session, FACEBOOK, "fb.yaml", "NSL", actor=f"account:{staff['owner'].id}"
    )
    session.commit()
    with httpx.Client(base_url=live_server.url) as approver:
        csrf = sign_in(approver, staff["approver"])
        path = f"/policy/versions/{version.id}/reject"
        empty = approver.post(path, data={"csrf_token": csrf, "reason": " "})
        assert empty.status_code == 409
        assert "say why" in empty.text
        done = approver.post(path, data={"csrf_token": csrf, "reason": "wait for counsel"})
        assert done.status_code == 303
        assert "rejected" in approver.get(done.headers["location"]).text
    session.expire_all()
    assert policy.get_version(session, version.id).status.value == "rejected"
    assert policy.active(session) is None
    assert policy.get_version(session, version.id).decided_at is not None
    assert policy.get_version(session, version.id).decided_at <= datetime.now(UTC)  # type: ignore[operator]
