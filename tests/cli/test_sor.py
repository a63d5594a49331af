"""``dueprocess sor``: validate a file of statements; export (empty until restrictions are
recorded)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dueprocess.cli.main import app
from dueprocess.restrictions.sor import statement
from tests.restrictions.test_sor import FRENCH_REMOVAL, GERMAN_REMOVAL

runner = CliRunner()


def test_validate_accepts_statements_and_batch_payloads(tmp_path: Path) -> None:
    file = tmp_path / "s.jsonl"
    lines = [
        json.dumps(statement(GERMAN_REMOVAL)),
        "",
        json.dumps({"statements": [statement(FRENCH_REMOVAL)]}),
    ]
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["sor", "validate", str(file)])
    assert result.exit_code == 0, result.output
    assert "2 statement(s) valid" in result.stdout


def test_validate_names_each_line_and_field(tmp_path: Path) -> None:
    bad = dict(statement(GERMAN_REMOVAL), puid="@hassprediger_x", territorial_scope=["HK"])
    twice = statement(FRENCH_REMOVAL)
    file = tmp_path / "s.jsonl"
    rows = [json.dumps(bad), json.dumps(twice), json.dumps({"statements": [twice]})]
    file.write_text("\n".join(rows), encoding="utf-8")
    result = runner.invoke(app, ["sor", "validate", str(file)])
    assert result.exit_code == 2
    assert "line 1: territorial_scope: territorial_scope has 'HK'" in result.stderr
    assert "line 1: puid: puid may hold only letters" in result.stderr
    assert "line 3[0]: puid: puid 'video_5521' is also the puid of line 2" in result.stderr


def test_validate_names_a_line_that_is_not_json(tmp_path: Path) -> None:
    file = tmp_path / "s.jsonl"
    file.write_text('{"puid": "a"}\n{not json\n', encoding="utf-8")
    result = runner.invoke(app, ["sor", "validate", str(file)])
    assert result.exit_code == 2
    assert "line 2: not valid JSON" in result.stderr
    missing = runner.invoke(app, ["sor", "validate", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 2
    assert "no such file" in missing.stderr


def test_export_is_empty_until_restrictions_are_recorded(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["sor", "export", "--out", str(tmp_path / "sor")])
    assert result.exit_code == 0, result.output
    assert "0 statements of reasons are due; nothing was written" in result.stdout
    assert not (tmp_path / "sor").exists()
    helped = runner.invoke(app, ["sor", "export", "--help"])
    assert "empty until restrictions are recorded" in helped.stdout
