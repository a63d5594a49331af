"""``dueprocess worker`` and ``dueprocess action``: a due action runs (here one of a kind with
no handler yet, which is recorded as a failed attempt, never as done), is listed with its
error, revoked with a reason; refusals exit 2 and unknown actions 1."""

from __future__ import annotations

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dueprocess.actions import service as actions
from dueprocess.actions.models import ActionKind, ActionStatus
from dueprocess.cli.main import app
from dueprocess.runtime import Runtime
from tests import factories

runner = CliRunner()


def test_the_worker_runs_what_is_due_and_staff_revoke_it(
    cli_env: dict[str, str], session: Session, runtime: Runtime
) -> None:
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body()).demand.id
    action = actions.plan(
        session, kind=ActionKind.PRODUCE, demand_id=demand, target_id=None, key="cli-1",
        payload={}, actor="test",
    ).id  # fmt: skip
    session.commit()

    ran = runner.invoke(app, ["worker", "--until-idle", "--name", "w-test"])
    assert ran.exit_code == 0, ran.output
    assert "worker w-test: stopped after 1 action(s)" in ran.output
    listed = runner.invoke(app, ["action", "list", str(demand), "--json"])
    assert listed.exit_code == 0
    assert '"last_error": "NoHandler: no handler for produce actions is installed"' in listed.output
    assert '"status": "pending"' in listed.output

    retry = runner.invoke(app, ["action", "retry", str(action)])
    assert retry.exit_code == 2
    assert "only a failed one is retried" in retry.output
    revoked = runner.invoke(app, ["action", "revoke", str(action), "--reason", "order withdrawn"])
    assert revoked.exit_code == 0, revoked.output
    session.expire_all()
    assert actions.get(session, action).status is ActionStatus.REVOKED
    assert runner.invoke(app, ["action", "retry", "999999"]).exit_code == 1
