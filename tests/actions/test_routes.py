"""Actions over real HTTP and in Chromium: staff list a demand's actions, officers cannot;
retry and revoke refused by status (409 naming it) or without a reason (422 naming it);
on the demand page a legal reviewer revokes a pending production with a reason."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser
from sqlalchemy.orm import Session

from dueprocess.actions import service as actions
from dueprocess.actions.models import ActionKind, ActionStatus
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer
from tests.web.test_pages_browser import browser, sign_in

__all__ = ["browser"]


def _planned(session: Session, runtime: Runtime) -> tuple[int, int]:
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body()).demand.id
    action = actions.plan(
        session, kind=ActionKind.PRODUCE, demand_id=demand, target_id=None, key="r-1",
        payload={"target": "@someone"}, actor="test",
    ).id  # fmt: skip
    return demand, action


def test_staff_see_and_change_actions_officers_do_not(
    live_server: Any, session: Session, runtime: Runtime
) -> None:
    demand, action = _planned(session, runtime)
    legal = factories.token(session, "legal@example.org", ["legal-reviewer"])
    officer = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(legal)) as api:
        listed = api.get(f"/api/v1/demands/{demand}/actions")
        assert listed.status_code == 200, listed.text
        assert [(a["id"], a["kind"], a["status"]) for a in listed.json()] == [
            (action, "produce", "pending")
        ]
        assert api.get("/api/v1/demands/999999/actions").status_code == 404
        retry = api.post(f"/api/v1/actions/{action}/retry")
        assert retry.status_code == 409
        assert "is pending: only a failed one is retried" in retry.json()["detail"]
        blank = api.post(f"/api/v1/actions/{action}/revoke", json={"reason": "  "})
        assert blank.status_code == 422
        assert blank.json()["detail"][0]["loc"] == ["body", "reason"]
        done = api.post(f"/api/v1/actions/{action}/revoke", json={"reason": "order withdrawn"})
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "revoked"
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(officer)) as api:
        assert api.get(f"/api/v1/demands/{demand}/actions").status_code == 403


@pytest.mark.browser
def test_a_reviewer_revokes_a_pending_production_on_the_demand_page(
    browser: Browser, live_server: LiveServer, session: Session, runtime: Runtime
) -> None:
    demand, action = _planned(session, runtime)
    factories.account(session, "legal@example.org", ["legal-reviewer"])
    session.commit()
    page = browser.new_page()
    sign_in(page, live_server.url, "legal@example.org", next_path=f"/demands/{demand}")
    page.wait_for_url(f"**/demands/{demand}")
    row = page.locator("#actions + table tr", has_text="produce")
    assert "pending" in row.inner_text()
    assert "@someone" in row.inner_text()
    row.locator("input[name=reason]").fill("the officer withdrew the order by phone")
    row.locator("form[action$=revoke] button").click()
    page.wait_for_url(f"**/demands/{demand}#actions")
    assert "revoked" in page.locator("#actions + table").inner_text()
    session.expire_all()
    assert actions.get(session, action).status is ActionStatus.REVOKED
