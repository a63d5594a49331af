"""The README's ``demand import`` line, run as written against the file the project ships
(``examples/demands.csv``), on an installation with the demo loaded as ``./scripts/start``
loads it."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dueprocess.cli.main import app
from dueprocess.demands.models import Demand

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _readme_line(command: str) -> list[str]:
    """The README's example line running ``command``, as arguments (its comment left out)."""
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith(f".venv/bin/dueprocess {command} "):
            return shlex.split(line, comments=True)
    raise AssertionError(f"the README has no `dueprocess {command}` line")


def _rows(result_stdout: str) -> dict[str, str]:
    """The summary table's counts, by what they count."""
    return {
        line.split("│")[1].strip(): line.split("│")[2].strip()
        for line in result_stdout.splitlines()
        if line.count("│") == 3
    }


def test_the_readme_import_line_imports_the_shipped_example(
    cli_env: dict[str, str], session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = _readme_line("demand import")
    assert args[0] == ".venv/bin/dueprocess"
    shipped = ROOT / args[-1]
    assert shipped.is_file(), f"{args[-1]} is not shipped"
    monkeypatch.chdir(ROOT)  # where ./scripts/start runs it
    assert runner.invoke(app, ["demo", "--no-serve"]).exit_code == 0
    before = session.scalar(select(func.count(Demand.id)))
    session.rollback()

    result = runner.invoke(app, args[1:])
    assert result.exit_code == 0, result.output
    rows = sum(1 for line in shipped.read_text(encoding="utf-8").splitlines()[1:] if line)
    assert _rows(result.stdout)["accepted"] == str(rows)
    assert session.scalar(select(func.count(Demand.id))) == (before or 0) + rows
    session.rollback()

    again = runner.invoke(app, args[1:])  # every row has a key: a replay, nothing new
    assert again.exit_code == 0, again.output
    assert _rows(again.stdout)["replayed (already imported)"] == str(rows)
