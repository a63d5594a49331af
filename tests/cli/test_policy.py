"""``dueprocess policy``: validate, templates, propose, approve (four eyes), what-if, history."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dueprocess.cli.main import app
from dueprocess.policy.templates import list_templates, template_text

runner = CliRunner()
GOOD = """\
policy: Test
default: process
rules:
  - id: hk-pause
    jurisdiction: HK
    stance: pause
    condition: pending review
"""


def _file(tmp_path: Path, text: str, name: str = "policy.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_a_good_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "validate", _file(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("valid: 1 rule (Test)")
    two = GOOD + "  - id: de\n    jurisdiction: DE\n    stance: process\n"
    result = runner.invoke(app, ["policy", "validate", _file(tmp_path, two)])
    assert result.stdout.startswith("valid: 2 rules")


@pytest.mark.parametrize(
    ("rule_lines", "expected"),
    [
        ("    jurisdiction: XX\n    stance: process\n", ':5: rules[0].jurisdiction (rule "r"): '),
        (
            "    jurisdiction: HK\n    from: 2020-07-06\n    until: 2020-07-01\n"
            "    stance: process\n",
            ':7: rules[0].until (rule "r"): the window ends',
        ),
        (
            '    jurisdiction: HK\n    stance: pause\n    condition: ""\n',
            ':7: rules[0].condition (rule "r"): has no text',
        ),
        (
            "    jurisdiction: HK\n    kinds: [removal, telepathy]\n    stance: process\n",
            ":6: rules[0].kinds[1] (rule \"r\"): unknown kind 'telepathy'",
        ),
    ],
)
def test_validate_names_file_line_field_and_rule_of_each_problem(
    tmp_path: Path, rule_lines: str, expected: str
) -> None:
    path = _file(tmp_path, "policy: Bad\ndefault: process\nrules:\n  - id: r\n" + rule_lines)
    result = runner.invoke(app, ["policy", "validate", path])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert f"{path}{expected}" in result.stderr


def test_validate_reports_ties_and_every_problem_at_once(tmp_path: Path) -> None:
    text = GOOD + (
        "  - id: hk-refuse\n    jurisdiction: HK\n    stance: refuse\n    condition: no\n"
        "  - id: bad\n    jurisdiction: UK\n    stance: process\n"
    )
    path = _file(tmp_path, text)
    result = runner.invoke(app, ["policy", "validate", path])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f'{path}:8: rules[1] (rule "hk-refuse"): ties with rule "hk-pause"')
    assert lines[1].startswith(f'{path}:13: rules[2].jurisdiction (rule "bad"): ')
    assert "'GB'" in lines[1]
    missing = runner.invoke(app, ["policy", "validate", str(tmp_path / "nope.yaml")])
    assert (missing.exit_code, "no such file" in missing.stderr) == (2, True)


def test_templates_are_listed_and_shown_verbatim() -> None:
    listed = runner.invoke(app, ["policy", "templates"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    for name in list_templates():
        assert name in listed.stdout
    shown = runner.invoke(app, ["policy", "show-template", "zoom-2020"])
    assert shown.stdout == template_text("zoom-2020")
    assert runner.invoke(app, ["policy", "show-template", "nope"]).exit_code == 1


def test_propose_approve_four_eyes_history_and_active(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    for email, role in (("owner@example.org", "policy-owner"), ("boss@example.org", "approver")):
        added = runner.invoke(
            app, ["user", "add", "--email", email, "--name", email, "--role", role]
        )
        assert added.exit_code == 0, added.output
    path = _file(tmp_path, template_text("facebook-whatsapp-2020"))

    refused = runner.invoke(
        app, ["policy", "propose", path, "--reason", "NSL", "--as", "boss@example.org"]
    )
    assert refused.exit_code == 2
    assert "does not hold policy:propose" in refused.stderr
    bad = _file(tmp_path, "policy: x\ndefault: pause\nrules: []\n", "bad.yaml")
    refused = runner.invoke(
        app, ["policy", "propose", bad, "--reason", "x", "--as", "owner@example.org"]
    )
    assert refused.exit_code == 2
    assert f"{bad}:2: default: a pause needs a condition" in refused.stderr

    proposed = runner.invoke(
        app, ["policy", "propose", path, "--reason", "NSL", "--as", "owner@example.org"]
    )
    assert proposed.exit_code == 0, proposed.output
    assert "version 1 proposed" in proposed.stdout

    own = runner.invoke(app, ["policy", "approve", "1", "--as", "owner@example.org"])
    assert own.exit_code == 2
    assert "four eyes" in own.stderr
    approved = runner.invoke(app, ["policy", "approve", "1", "--as", "boss@example.org"])
    assert approved.exit_code == 0, approved.output
    assert "version 1 is active" in approved.stdout
    again = runner.invoke(app, ["policy", "approve", "1", "--as", "boss@example.org"])
    assert (again.exit_code, "only a proposed version" in again.stderr) == (2, True)
    assert runner.invoke(app, ["policy", "approve", "9", "--as", "boss@example.org"]).exit_code == 1

    history = json.loads(runner.invoke(app, ["policy", "history", "--json"]).stdout)
    assert [(v["id"], v["status"], v["author_email"], v["approver_email"]) for v in history] == [
        (1, "active", "owner@example.org", "boss@example.org")
    ]
    active = json.loads(runner.invoke(app, ["policy", "active", "--json"]).stdout)
    assert active["rules"][0]["id"] == "hk-pause-hrdd"
    assert active["rules"][0]["from"] == "2020-07-06T00:00:00Z"
    text = runner.invoke(app, ["policy", "active", "--text"]).stdout
    assert text == template_text("facebook-whatsapp-2020")


def test_whatif_on_the_demo(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    path = _file(tmp_path, template_text("telegram-2020"))
    result = runner.invoke(app, ["policy", "whatif", path, "--json", "--limit", "0"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["policy"] == "July 2020 — Telegram"
    assert answer["changing"] == len(answer["changes"]) > 0
    assert {c["jurisdiction"] for c in answer["changes"]} == {"HK"}
    assert {c["to_stance"] for c in answer["changes"]} <= {"refuse", "process"}
    listed = json.loads(runner.invoke(app, ["demand", "list", "--json", "--limit", "1000"]).stdout)
    assert {d["status"] for d in listed if d["jurisdiction"] == "HK"} <= {"received", "paused"}

    shown = runner.invoke(app, ["policy", "whatif", path, "--at", "2020-07-06"])
    assert shown.exit_code == 0
    assert "would change stance" in shown.stdout
    assert runner.invoke(app, ["policy", "whatif", path, "--at", "6 July"]).exit_code == 2
    table = runner.invoke(app, ["policy", "jurisdictions", "--json"])
    rows = {r["jurisdiction"]: r for r in json.loads(table.stdout)}
    assert rows["HK"]["stance"] == "pause"
    assert rows["HK"]["since"] == "2020-07-06T00:00:00Z"


def test_every_policy_command_has_help() -> None:
    for command in (
        "validate",
        "templates",
        "show-template",
        "propose",
        "approve",
        "reject",
        "whatif",
        "history",
        "active",
        "jurisdictions",
    ):
        result = runner.invoke(app, ["policy", command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout
        assert len(result.stdout.split("Usage", 1)[1].strip()) > 40
