"""The command line, run in-process through Typer's runner and, once, as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from dueprocess.cli.main import app
from tests import factories

runner = CliRunner()


def test_submit_show_round_trip_and_list(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    file = tmp_path / "demand.json"
    file.write_text(json.dumps(factories.body(idempotency_key="cli-1")), encoding="utf-8")

    submitted = runner.invoke(app, ["demand", "submit", str(file), "--json"])
    assert submitted.exit_code == 0, submitted.output
    first = json.loads(submitted.stdout)
    assert first["channel"] == "email"

    shown = runner.invoke(app, ["demand", "show", str(first["id"]), "--json"])
    assert shown.exit_code == 0
    (tmp_path / "shown.json").write_text(shown.stdout, encoding="utf-8")
    again = runner.invoke(app, ["demand", "submit", str(tmp_path / "shown.json"), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["id"] == first["id"]

    without_key = json.loads(shown.stdout)
    without_key["idempotency_key"] = None
    (tmp_path / "copy.json").write_text(json.dumps(without_key), encoding="utf-8")
    repeat = runner.invoke(app, ["demand", "submit", str(tmp_path / "copy.json"), "--json"])
    assert repeat.exit_code == 2, repeat.output
    named = f"demand {first['id']} (reference NSD/202007/0001, received 2020-07-07T01:30:00Z)"
    assert f"reference: {named} already has this reference" in repeat.stderr
    assert "the same demand as" not in repeat.stderr  # one earlier demand is named once
    assert "--new" in repeat.stderr
    confirmed = runner.invoke(
        app, ["demand", "submit", str(tmp_path / "copy.json"), "--json", "--new"]
    )
    assert confirmed.exit_code == 0, confirmed.output
    copy = json.loads(confirmed.stdout)
    assert copy["id"] != first["id"]
    assert {k: v for k, v in copy.items() if k not in {"id", "created_at", "idempotency_key"}} == {
        k: v for k, v in first.items() if k not in {"id", "created_at", "idempotency_key"}
    }

    listed = json.loads(runner.invoke(app, ["demand", "list", "--json"]).stdout)
    assert {first["id"], copy["id"]} <= {row["id"] for row in listed}


def test_bad_input_exits_2_naming_fields(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(factories.body(jurisdiction="XX", deadline="2020-01-01T00:00:00Z")))
    result = runner.invoke(app, ["demand", "submit", str(file)])
    assert result.exit_code == 2
    assert "jurisdiction" in result.stderr
    assert "nothing was written" in result.stderr

    file.write_text(json.dumps(factories.body(deadline="2020-01-01T00:00:00Z")))
    result = runner.invoke(app, ["demand", "submit", str(file)])
    assert result.exit_code == 2
    assert "deadline: must be after received_at" in result.stderr

    file.write_text("{oops")
    assert runner.invoke(app, ["demand", "submit", str(file)]).exit_code == 2
    assert runner.invoke(app, ["demand", "submit", str(tmp_path / "missing.json")]).exit_code == 2
    assert runner.invoke(app, ["report", "counts", "--period", "2020-H9"]).exit_code == 2
    assert runner.invoke(app, ["demand", "show", "424242"]).exit_code == 1


def test_report_counts_json_from_demo(cli_env: dict[str, str]) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    result = runner.invoke(app, ["report", "counts", "--period", "2020-H2", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    hk = {row["kind"]: row["received"] for row in report["rows"] if row["jurisdiction"] == "HK"}
    assert sum(hk.values()) >= 10
    listed = json.loads(runner.invoke(app, ["demand", "list", "--json", "--limit", "1000"]).stdout)
    in_h2 = [d for d in listed if d["received_at"] >= "2020-07-01"]
    assert report["total"] == len(in_h2)


def test_every_command_has_help() -> None:
    for args in (
        ["--help"],
        ["init", "--help"],
        ["db", "upgrade", "--help"],
        ["serve", "--help"],
        ["demo", "--help"],
        ["demand", "submit", "--help"],
        ["demand", "list", "--help"],
        ["demand", "show", "--help"],
        ["report", "counts", "--help"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, args
        assert "Usage" in result.stdout


def test_real_subprocess_init_is_idempotent(cli_env: dict[str, str]) -> None:
    env = {**os.environ, **cli_env}
    exe = Path(sys.executable).with_name("dueprocess")
    for _ in range(2):
        done = subprocess.run(
            [str(exe), "init"], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert "database ready" in done.stdout


def test_the_same_file_submitted_twice_is_refused_the_second_time(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from dueprocess.audit import service as audit
    from dueprocess.config import Settings
    from dueprocess.demands.models import Demand
    from dueprocess.runtime import Runtime

    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    file = tmp_path / "d.json"
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = factories.body(received_at=None, deadline=deadline, reference="NSD/202612/0001")
    file.write_text(json.dumps(body), encoding="utf-8")

    first = runner.invoke(app, ["demand", "submit", str(file), "--json"])
    assert first.exit_code == 0, first.output
    stored = json.loads(first.stdout)
    second = runner.invoke(app, ["demand", "submit", str(file)])
    assert second.exit_code == 2, second.output
    received = stored["received_at"].replace("+00:00", "Z")
    named = f"demand {stored['id']} (reference NSD/202612/0001, received {received})"
    assert f"reference: {named} already has this reference" in second.stderr
    assert "nothing was written" in second.stderr

    runtime = Runtime(Settings.from_env())
    with runtime.sessions() as session:
        count = select(func.count(Demand.id)).where(Demand.reference == "NSD/202612/0001")
        assert session.scalar(count) == 1
    third = runner.invoke(app, ["demand", "submit", str(file), "--new", "--json"])
    assert third.exit_code == 0, third.output
    again = json.loads(third.stdout)
    with runtime.sessions() as session:
        assert session.scalar(count) == 2
        (submitted,) = [
            e
            for e in audit.for_subject(session, f"demand:{again['id']}")
            if e.action == "demand.submitted"
        ]
        assert submitted.data["confirmed_new"] is True
        assert submitted.data["repeats"] == [stored["id"]]
    runtime.close()
