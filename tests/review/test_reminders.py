"""Deadline reminders computed now (review/reminders.py): for each open demand the one
reminder its due time calls for, paused demands included and closed ones not, earliest due
first, with the penalty and the assignee; ``sent`` keys left out; the CLI and the API over
real HTTP, with a bad moment named."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dueprocess.accounts.signin import principal_of
from dueprocess.cli.main import app
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.review import reminders, service as review
from dueprocess.runtime import Runtime
from tests import factories

NOW = datetime(2020, 7, 8, 0, 0, tzinfo=UTC)


@pytest.fixture
def due(session: Session, runtime: Runtime) -> dict[str, int]:
    """Demands received 2020-07-07T01:30Z: ``soon`` due 07-08 01:30Z (legal deadline),
    ``day`` due 07-09 01:30Z, ``target`` due 07-10 01:30Z (the removal target of 3 days, no
    deadline), ``later`` due 07-21 (user data, 14 days), ``paused`` and ``gone`` (withdrawn)
    due like ``soon``."""
    factories.authority(session)

    def submit(ref: str, **changes: Any) -> int:
        data = factories.body(reference=ref, **changes)
        return factories.submit(session, runtime, data).demand.id

    ids = {
        "soon": submit("R-soon"),
        "day": submit("R-day", deadline="2020-07-09T09:30:00+08:00"),
        "target": submit("R-target", deadline=None),
        "later": submit(
            "R-later",
            kind="user-data",
            legal_process="court-order",
            deadline=None,
            data_categories=["subscriber"],
            penalty=None,
        ),
        "paused": submit("R-paused"),
        "gone": submit("R-gone"),
    }
    demands.move(
        session, demands.get(session, ids["paused"]), DemandStatus.PAUSED, actor="test",
        by=factories.ANYONE, reason="pending a human-rights review",
    )  # fmt: skip
    demands.withdraw(
        session, ids["gone"], authority_id=None, actor="test", by=factories.ANYONE,
        reason="sent in error",
    )  # fmt: skip
    session.commit()
    return ids


def test_each_open_demand_gets_the_reminder_its_due_time_calls_for(
    session: Session, due: dict[str, int]
) -> None:
    found = reminders.due_now(session, NOW)
    got = {r.demand_id: r.key for r in found}
    assert got == {
        due["soon"]: "lead-14400",  # due in 1 h 30: the 4-hour reminder, the only one
        due["paused"]: "lead-14400",  # paused: the authority's clock runs on
        due["day"]: "lead-259200",  # due in 25 h 30: 3 days before has passed, 1 day not
        due["target"]: "lead-259200",  # the service's own target
    }
    assert [r.due_at for r in found] == sorted(r.due_at for r in found)
    first = next(r for r in found if r.demand_id == due["soon"])
    assert first.message == "1 h 30 min left"
    assert first.penalty == "Fine of HK$100,000 and imprisonment for six months"
    assert first.to is None
    assert first.status is DemandStatus.RECEIVED

    later = reminders.due_now(session, datetime(2020, 7, 8, 2, 0, tzinfo=UTC))
    (late,) = [r for r in later if r.demand_id == due["soon"]]
    assert (late.key, late.message) == ("overdue", "overdue by 30 min")


def test_sent_reminders_are_left_out_and_the_limit_holds(
    session: Session, due: dict[str, int]
) -> None:
    sent = {due["soon"]: frozenset({"lead-14400"}), due["day"]: frozenset({"lead-86400"})}
    got = [r.demand_id for r in reminders.due_now(session, NOW, sent=sent)]
    assert due["soon"] not in got
    assert due["day"] in got  # another reminder was sent; this one was not
    assert len(reminders.due_now(session, NOW, sent=sent, limit=2)) == 2
    assert [r.demand_id for r in reminders.due_now(session, NOW, limit=1)] == [due["soon"]]


def test_the_assignee_is_reminded(session: Session, due: dict[str, int]) -> None:
    intake = factories.account(session, "intake@example.org", ["intake"])
    review.claim(session, due["day"], me=principal_of(intake, "cli"), revision=None)
    session.commit()
    (day,) = [r for r in reminders.due_now(session, NOW) if r.demand_id == due["day"]]
    assert day.to == "intake@example.org"


def test_the_command_lists_them_and_names_a_bad_moment(
    cli_env: dict[str, str], due: dict[str, int]
) -> None:
    runner = CliRunner()
    shown = runner.invoke(app, ["review", "reminders", "--at", "2020-07-08T08:00:00+08:00"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.startswith("4 reminders due at 2020-07-08T00:00:00Z")
    assert "R-paused" in shown.output
    assert "R-gone" not in shown.output
    assert "penalty threatened: Fine of HK$100,000" in shown.output
    bad = runner.invoke(app, ["review", "reminders", "--at", "2020-07-08"])
    assert bad.exit_code == 2
    assert "--at: datetime must carry a timezone" in bad.output


def test_the_api_gives_them_to_a_reviewer(
    live_server: Any, session: Session, due: dict[str, int]
) -> None:
    raw = factories.token(session, "legal@example.org", ["legal-reviewer"])
    officer = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        answer = client.get("/api/v1/review/reminders", params={"at": "2020-07-08T00:00:00Z"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [r["reference"] for r in body["reminders"]][:2] == ["R-soon", "R-paused"]
        assert body["reminders"][0]["reminder"] == "lead-14400"
        bad = client.get("/api/v1/review/reminders", params={"at": "2020-07-08"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "at"]
        assert client.get("/api/v1/review/reminders", params={"limit": 0}).status_code == 422
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(officer)) as client:
        assert client.get("/api/v1/review/reminders").status_code == 403
