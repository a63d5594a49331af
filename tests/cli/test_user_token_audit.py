"""``dueprocess user``, ``token`` and ``audit`` commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from dueprocess.cli.main import app
from dueprocess.config import Settings
from tests.conftest import LiveServer

runner = CliRunner()


def test_user_add_list_disable(cli_env: dict[str, str]) -> None:
    added = runner.invoke(
        app,
        [
            "user",
            "add",
            "--email",
            "Ann@Example.org",
            "--name",
            "Ann",
            "--role",
            "approver",
            "--role",
            "legal-reviewer",
        ],
    )
    assert added.exit_code == 0, added.output
    assert "password:" in added.stdout
    assert "otpauth://" in added.stdout  # approvers must have a second factor
    listed = json.loads(runner.invoke(app, ["user", "list", "--json"]).stdout)
    assert [(u["email"], u["roles"], u["totp_enrolled"]) for u in listed] == [
        ("ann@example.org", ["approver", "legal-reviewer"], True)
    ]
    assert runner.invoke(app, ["user", "disable", "ann@example.org"]).exit_code == 0
    assert json.loads(runner.invoke(app, ["user", "list", "--json"]).stdout)[0]["disabled"]


def test_user_add_refuses_bad_input(cli_env: dict[str, str]) -> None:
    officer_as_staff = runner.invoke(
        app,
        [
            "user",
            "add",
            "--email",
            "x@police.gov.hk",
            "--name",
            "X",
            "--role",
            "officer",
            "--role",
            "approver",
            "--authority",
            "hkpf-nsd",
        ],
    )
    assert officer_as_staff.exit_code == 2
    assert "never holds a staff role" in officer_as_staff.stderr
    bad_role = runner.invoke(
        app, ["user", "add", "--email", "y@example.org", "--name", "Y", "--role", "overlord"]
    )
    assert bad_role.exit_code == 2
    assert "roles[0]" in bad_role.stderr
    unknown = runner.invoke(
        app,
        [
            "user",
            "add",
            "--email",
            "z@police.gov.hk",
            "--name",
            "Z",
            "--role",
            "officer",
            "--authority",
            "nowhere",
        ],
    )
    assert unknown.exit_code == 2
    assert "authority" in unknown.stderr


def test_token_create_and_revoke(cli_env: dict[str, str]) -> None:
    runner.invoke(
        app, ["user", "add", "--email", "i@example.org", "--name", "I", "--role", "intake"]
    )
    created = runner.invoke(
        app,
        [
            "token",
            "create",
            "--email",
            "i@example.org",
            "--name",
            "ci",
            "--scope",
            "demands:submit",
        ],
    )
    assert created.exit_code == 0, created.output
    raw = created.stdout.strip().splitlines()[-1]
    assert raw.startswith("dp_")
    assert runner.invoke(app, ["token", "revoke", "1"]).exit_code == 0
    assert runner.invoke(app, ["token", "revoke", "99"]).exit_code == 1
    bad = runner.invoke(
        app, ["token", "create", "--email", "i@example.org", "--name", "x", "--scope", "everything"]
    )
    assert bad.exit_code == 2


def test_token_create_refuses_a_scope_the_account_does_not_hold(cli_env: dict[str, str]) -> None:
    runner.invoke(
        app, ["user", "add", "--email", "ann@example.org", "--name", "Ann", "--role", "approver"]
    )
    refused = runner.invoke(
        app,
        [
            "token",
            "create",
            "--email",
            "ann@example.org",
            "--name",
            "ci",
            "--scope",
            "demands:submit",
        ],
    )
    assert refused.exit_code == 2
    assert "scopes: ann@example.org does not hold demands:submit (roles: approver)" in (
        " ".join(refused.stderr.split())
    )
    assert "nothing was written" in refused.stderr


def _readme_commands(prefix: str) -> list[list[str]]:
    """The README's example lines starting ``dueprocess <prefix>``, as argument lists."""
    import shlex

    readme = Path(__file__).resolve().parents[2] / "README.md"
    found = []
    for line in readme.read_text().splitlines():
        if line.startswith(f".venv/bin/dueprocess {prefix} "):
            found.append(shlex.split(line.split("  #")[0], comments=True)[1:])
    assert found, f"no `dueprocess {prefix}` example in the README"
    return found


def test_the_readme_user_and_token_examples_work_as_written(
    cli_env: dict[str, str], live_server: LiveServer
) -> None:
    import httpx

    from dueprocess.web.app import route_table
    from dueprocess.web.auth import declared_permission

    (add,) = _readme_commands("user add")
    (create,) = _readme_commands("token create")
    assert runner.invoke(app, add).exit_code == 0
    created = runner.invoke(app, create)
    assert created.exit_code == 0, created.output
    raw = created.stdout.strip().splitlines()[-1]
    # Every API read its scopes name lets the token through (it used to be 403 on all).
    scopes = {create[i + 1] for i, arg in enumerate(create) if arg == "--scope"}
    reads = [
        r.path
        for r in route_table(live_server.app)
        if r.path.startswith("/api/")
        and "GET" in (r.methods or ())
        and "{" not in r.path
        and str(declared_permission(r)) in scopes
    ]
    assert reads, scopes
    with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {raw}"}) as h:
        for path in reads:
            assert h.get(path).status_code not in (401, 403), path


def test_audit_export_and_verify_detect_tampering(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    intact = runner.invoke(app, ["audit", "verify"])
    assert intact.exit_code == 0, intact.output
    assert intact.stdout.startswith("OK: ")
    assert intact.stderr == ""  # the demo's log comes signed: no unsigned events to warn of
    export = tmp_path / "audit.jsonl"
    assert runner.invoke(app, ["audit", "export", str(export)]).exit_code == 0
    assert runner.invoke(app, ["audit", "verify", "--export", str(export)]).exit_code == 0

    lines = export.read_bytes().splitlines(keepends=True)
    event = json.loads(lines[5])
    assert event["seq"] == 5
    event["actor"] = "someone-else"
    lines[5] = json.dumps(event, ensure_ascii=False).encode() + b"\n"
    export.write_bytes(b"".join(lines))
    tampered = runner.invoke(app, ["audit", "verify", "--export", str(export)])
    assert tampered.exit_code == 1
    assert "TAMPERED: event 5" in tampered.stdout
    missing = runner.invoke(app, ["audit", "verify", "--export", str(tmp_path / "nope")])
    assert missing.exit_code == 2


def test_standalone_verifier_runs_on_an_export_alone(
    cli_env: dict[str, str], tmp_path: Path, settings: Settings
) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    export = tmp_path / "audit.jsonl"
    assert runner.invoke(app, ["audit", "export", str(export)]).exit_code == 0
    key = settings.keys_dir / "audit-checkpoint.key.pub"
    # Copy the single verifier file elsewhere and run it with a bare interpreter path.
    lone = tmp_path / "outside" / "verify.py"
    lone.parent.mkdir()
    lone.write_bytes(Path(sys.modules["dueprocess.audit.verify"].__file__ or "").read_bytes())
    done = subprocess.run(
        [sys.executable, str(lone), str(export), "--public-key", str(key)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=lone.parent,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("OK: ")
