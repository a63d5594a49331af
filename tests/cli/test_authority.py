"""``dueprocess authority`` commands and ``user verify-officer``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dueprocess.accounts import service as accounts
from dueprocess.audit import service as audit
from dueprocess.cli.main import app

runner = CliRunner()


HKPF = [
    "authority",
    "add",
    "--slug",
    "hkpf-nsd",
    "--name",
    "Hong Kong Police Force, National Security Department",
    "--jurisdiction",
    "hk",
    "--kind",
    "police",
    "--domain",
    "Police.gov.hk",
    "--phone",
    "+852 2860 2000",
]


def _listed() -> list[dict[str, object]]:
    result = runner.invoke(app, ["authority", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_add_list_verify_suspend_contacts(cli_env: dict[str, str]) -> None:
    added = runner.invoke(app, HKPF)
    assert added.exit_code == 0, added.output
    assert "unverified" in added.stdout
    [row] = _listed()
    assert row["jurisdiction"] == "HK"
    assert row["official_domains"] == ["police.gov.hk"]
    assert row["phone_numbers"] == ["+852 2860 2000"]
    assert row["officers"] == 0

    verified = runner.invoke(
        app, ["authority", "verify", "hkpf-nsd", "--reason", "switchboard checked"]
    )
    assert verified.exit_code == 0, verified.output
    assert "is now verified" in verified.stdout
    again = runner.invoke(app, ["authority", "verify", "hkpf-nsd", "--reason", "again"])
    assert "was already verified" in again.stdout
    suspended = runner.invoke(
        app, ["authority", "suspend", "hkpf-nsd", "--reason", "mailbox hijacked"]
    )
    assert suspended.exit_code == 0
    assert _listed()[0]["status"] == "suspended"

    contacts = runner.invoke(
        app, ["authority", "contacts", "hkpf-nsd", "--phone", "+852 2527 7177"]
    )
    assert contacts.exit_code == 0, contacts.output
    [row] = _listed()
    assert row["phone_numbers"] == ["+852 2527 7177"]
    assert row["official_domains"] == ["police.gov.hk"]

    table = runner.invoke(app, ["authority", "list"])
    assert table.exit_code == 0
    assert "slug" in table.stdout  # a table (its cells are cut to the test terminal's width)


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["authority", "add", *HKPF[2:8], "--kind", "army"], "kind"),
        (["authority", "add", *HKPF[2:6], "--jurisdiction", "UK", *HKPF[8:10]], "jurisdiction"),
        ([*HKPF, "--domain", "not a domain"], "official_domains"),
        ([*HKPF, "--phone", "call me"], "phone_numbers"),
        (["authority", "suspend", "nope", "--reason", "x"], "slug"),
        (["authority", "contacts", "nope", "--phone", "+49 611 550"], "slug"),
        (["authority", "contacts", "hkpf-nsd"], "domain"),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    cli_env: dict[str, str], args: list[str], field: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert f"{field}:" in result.output


def test_reason_is_required(cli_env: dict[str, str]) -> None:
    assert runner.invoke(app, HKPF).exit_code == 0
    missing = runner.invoke(app, ["authority", "suspend", "hkpf-nsd"])
    assert missing.exit_code == 2
    assert "reason" in missing.output
    blank = runner.invoke(app, ["authority", "suspend", "hkpf-nsd", "--reason", " "])
    assert blank.exit_code == 2
    assert "reason:" in blank.output


def test_every_command_has_help(cli_env: dict[str, str]) -> None:
    for command in (
        ["authority"],
        ["authority", "add"],
        ["authority", "list"],
        ["authority", "verify"],
        ["authority", "suspend"],
        ["authority", "contacts"],
        ["authority", "age-key"],
        ["user", "verify-officer"],
    ):
        shown = runner.invoke(app, [*command, "--help"])
        assert shown.exit_code == 0, command
        assert "Usage" in shown.output


def test_verify_officer(cli_env: dict[str, str], session: Session) -> None:
    assert runner.invoke(app, HKPF).exit_code == 0
    for email, roles in (
        ("intake@example.org", ["--role", "intake"]),
        ("audit@example.org", ["--role", "auditor"]),
        ("wong@police.gov.hk", ["--role", "officer", "--authority", "hkpf-nsd"]),
    ):
        made = runner.invoke(app, ["user", "add", "--email", email, "--name", "N", *roles])
        assert made.exit_code == 0, made.output

    def verify(*extra: str) -> tuple[int, str]:
        result = runner.invoke(app, ["user", "verify-officer", *extra])
        return result.exit_code, result.output

    assert verify("wong@police.gov.hk", "--evidence", " ", "--as", "intake@example.org")[0] == 2
    code, output = verify("wong@police.gov.hk", "--evidence", "x", "--as", "nobody@example.org")
    assert code == 2
    assert "as:" in output
    code, output = verify("wong@police.gov.hk", "--evidence", "x", "--as", "wong@police.gov.hk")
    assert code == 2
    assert "as:" in output
    code, output = verify("wong@police.gov.hk", "--evidence", "x", "--as", "audit@example.org")
    assert code == 2
    assert "actor:" in output
    code, output = verify("intake@example.org", "--evidence", "x", "--as", "intake@example.org")
    assert code == 2
    assert "email:" in output
    assert "own account" in output
    code, output = verify(
        "wong@police.gov.hk", "--evidence", "called the switchboard", "--as", "intake@example.org"
    )
    assert code == 0, output
    assert "verified by intake@example.org" in output

    officer = accounts.get_by_email(session, "wong@police.gov.hk")
    staff = accounts.get_by_email(session, "intake@example.org")
    assert officer is not None
    assert staff is not None
    assert officer.verified_by == f"account:{staff.id}"
    assert officer.verification_evidence == "called the switchboard"
    events = audit.for_subject(session, f"account:{officer.id}")
    assert [e.action for e in events][-1] == "account.officer_verified"
    session.rollback()  # end the read before the command line writes (SQLite locks)
    assert _listed()[0]["officers"] == 1


def test_an_age_key_is_set_with_the_authority_or_later_and_a_bad_one_is_refused(
    cli_env: dict[str, str], session: Session
) -> None:
    import pyrage

    key = str(pyrage.x25519.Identity.generate().to_public())
    ssh = runner.invoke(app, [*HKPF, "--age-recipient", "ssh-ed25519 AAAAC3Nza user@host"])
    assert ssh.exit_code == 2
    assert "age_recipient: is an SSH key" in ssh.output
    assert _listed() == []

    added = runner.invoke(app, [*HKPF, "--age-recipient", key.upper()])
    assert added.exit_code == 0, added.output
    assert _listed()[0]["age_recipient"] == key

    removed = runner.invoke(app, ["authority", "age-key", "hkpf-nsd", "--remove"])
    assert removed.exit_code == 0, removed.output
    assert "expiring portal downloads" in removed.output
    assert _listed()[0]["age_recipient"] is None

    bad = runner.invoke(app, ["authority", "age-key", "hkpf-nsd", key[:-1]])
    assert bad.exit_code == 2
    assert "age_recipient: is not a valid age public key" in bad.output
    neither = runner.invoke(app, ["authority", "age-key", "hkpf-nsd"])
    assert neither.exit_code == 2
    assert "age_recipient:" in neither.output

    assert runner.invoke(app, ["authority", "age-key", "hkpf-nsd", key]).exit_code == 0
    assert _listed()[0]["age_recipient"] == key
    events = audit.search(session, action="authority.age_recipient_set", limit=10)
    assert [(e.data["before"], e.data["after"]) for e in events] == [(None, key), (key, None)]
