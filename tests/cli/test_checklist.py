"""``dueprocess checklist``: show, validate, propose, approve (four eyes), reject, history; and
``dueprocess init`` installing the defaults."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dueprocess.cli.main import app
from dueprocess.review.checklist_file import load_checklist
from dueprocess.review.checklists import default_document
from dueprocess.review.models import ChecklistKind

runner = CliRunner()


def _file(tmp_path: Path, text: str, name: str = "legal.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_validate_a_good_file_and_name_each_problem(tmp_path: Path) -> None:
    good = "title: T\nkind: legal\nquestions:\n  - id: a\n    text: A?\n  - id: b\n    text: B?\n"
    good += "    required: false\n"
    result = runner.invoke(app, ["checklist", "validate", _file(tmp_path, good)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "valid: legal checklist, 2 questions (1 required): T\n"

    bad = _file(tmp_path, "title: T\nkind: legal\nquestions:\n  - id: a\n    txt: A?\n", "bad.yaml")
    result = runner.invoke(app, ["checklist", "validate", bad])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{bad}:4: questions[0].text (question \"a\"): missing key 'text'",
        f"{bad}:5: questions[0].txt (question \"a\"): unknown key 'txt'; did you mean 'text'?",
    ]
    missing = runner.invoke(app, ["checklist", "validate", str(tmp_path / "none.yaml")])
    assert (missing.exit_code, "no such file" in missing.stderr) == (2, True)


def test_init_installs_the_defaults_and_show_prints_them(cli_env: dict[str, str]) -> None:
    # cli_env ran `dueprocess init`; running it again installs nothing more.
    again = runner.invoke(app, ["init"])
    assert again.exit_code == 0, again.output
    assert "default checklists installed" not in again.stdout
    shown = runner.invoke(app, ["checklist", "show", "legal"])
    assert shown.exit_code == 0, shown.output
    assert "Legal review: legal checklist version 1 (id 1), active" in shown.stdout
    assert "in-writing" in shown.stdout
    as_yaml = runner.invoke(app, ["checklist", "show", "human-rights", "--yaml"])
    assert load_checklist(as_yaml.stdout) == default_document(ChecklistKind.HUMAN_RIGHTS)
    both = json.loads(runner.invoke(app, ["checklist", "show", "--json"]).stdout)
    assert [(v["kind"], v["version"]) for v in both] == [("legal", 1), ("human-rights", 1)]
    assert runner.invoke(app, ["checklist", "show", "--yaml"]).exit_code == 2


def test_propose_approve_four_eyes_reject_and_history(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    for email, role in (("owner@example.org", "policy-owner"), ("boss@example.org", "approver")):
        added = runner.invoke(
            app, ["user", "add", "--email", email, "--name", email, "--role", role]
        )
        assert added.exit_code == 0, added.output
    current = runner.invoke(app, ["checklist", "show", "legal", "--yaml"]).stdout
    path = _file(tmp_path, current.replace("Is the demand in writing?", "Is it on paper?"))

    def run(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, ["checklist", *args])
        return result.exit_code, result.stdout, result.stderr

    code, _, err = run("propose", path, "--reason", "plainer", "--as", "boss@example.org")
    assert (code, err.strip()) == (
        2,
        "refused, nothing was written: boss@example.org does not hold the checklists:propose "
        "permission",
    )
    bad = _file(tmp_path, "title: T\nkind: legal\nquestions: []\n", "bad.yaml")
    code, _, err = run("propose", bad, "--reason", "x", "--as", "owner@example.org")
    assert (code, err) == (2, f"{bad}:3: questions: a checklist needs at least one question\n")
    code, _, err = run("propose", path, "--reason", "", "--as", "owner@example.org")
    assert code == 2
    assert "reason: say why this version is proposed" in err
    code, _, err = run("propose", path, "--reason", "x", "--as", "nobody@example.org")
    assert (code, err) == (2, "--as: there is no account nobody@example.org\n")

    code, out, err = run("propose", path, "--reason", "plainer", "--as", "owner@example.org")
    assert code == 0, err
    assert out.startswith("legal checklist version 2 proposed (id 3): Legal review")
    code, _, err = run("approve", "3", "--as", "owner@example.org")
    assert code == 2
    assert "four eyes: checklist version 3 was proposed by you" in err
    code, out, err = run("approve", "3", "--as", "boss@example.org")
    assert code == 0, err
    assert out.splitlines() == [
        "legal checklist version 2 (id 3) is active; version 1 is retired",
        "  answers carry over for 8 unchanged questions; 1 new or changed must be answered; "
        "0 dropped",
    ]
    code, _, err = run("approve", "3", "--as", "boss@example.org")
    assert code == 2
    assert "is active: only a proposed version" in err
    assert run("approve", "99", "--as", "boss@example.org")[0] == 1

    again = _file(tmp_path, current, "again.yaml")
    assert run("propose", again, "--reason", "back", "--as", "owner@example.org")[0] == 0
    code, out, err = run("reject", "4", "--reason", "no", "--as", "boss@example.org")
    assert (code, out) == (0, "legal checklist version 3 (id 4) rejected\n"), err

    history = json.loads(run("history", "legal", "--json")[1])
    assert [(v["version"], v["status"], v["proposed_by"], v["decided_by"]) for v in history] == [
        (3, "rejected", "owner@example.org", "boss@example.org"),
        (2, "active", "owner@example.org", "boss@example.org"),
        (1, "retired", None, None),
    ]
    code, out, _ = run("history")
    assert code == 0
    assert "human-rights 1" in out
