"""``dueprocess review``: the protected list kept from the command line (with --as, by its
keepers only), and a demand's flags computed and printed with their evidence."""

from __future__ import annotations

import json

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from dueprocess.audit import service as audit
from dueprocess.cli.main import app
from dueprocess.runtime import Runtime
from tests import factories
from tests.microblog import posts

__all__ = ["posts"]  # the demo microblog's posts (fixture)

runner = CliRunner()


def test_protected_add_list_remove(cli_env: dict[str, str], session: Session) -> None:
    factories.account(session, "rights@example.org", ["human-rights-reviewer"])
    session.commit()
    add = ["review", "protected", "add", "@LamWingKee_HK", "--category", "activist"]
    result = runner.invoke(app, [*add, "--note", "organiser", "--as", "rights@example.org"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "entry 1: @lamwingkee_hk is on the list as activist"

    twice = runner.invoke(app, [*add, "--as", "rights@example.org"])
    assert twice.exit_code == 2
    assert "refused, nothing was written: @lamwingkee_hk is already on the list" in twice.stderr

    listed = runner.invoke(
        app, ["review", "protected", "list", "--json", "--as", "rights@example.org"]
    )
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["handle"], row["category"], row["note"]) == (
        "lamwingkee_hk",
        "activist",
        "organiser",
    )

    gone = runner.invoke(app, ["review", "protected", "remove", "1", "--as", "rights@example.org"])
    assert gone.exit_code == 0, gone.output
    assert "taken off the list" in gone.stdout
    empty = runner.invoke(app, ["review", "protected", "list", "--as", "rights@example.org"])
    assert empty.stdout.strip() == "nobody is on the list"
    assert (
        runner.invoke(
            app, ["review", "protected", "remove", "7", "--as", "rights@example.org"]
        ).exit_code
        == 1
    )
    session.expire_all()
    actions = [e.action for e in audit.search(session, action="review.protected_*")]
    assert actions == [
        "review.protected_listed",
        "review.protected_removed",
        "review.protected_listed",
        "review.protected_added",
    ]


def test_protected_is_refused_to_others_and_bad_input(
    cli_env: dict[str, str], session: Session
) -> None:
    factories.account(session, "legal@example.org", ["legal-reviewer"])
    session.commit()
    result = runner.invoke(app, ["review", "protected", "list", "--as", "legal@example.org"])
    assert result.exit_code == 2
    assert "needs the protected:manage permission" in result.stderr
    result = runner.invoke(app, ["review", "protected", "list", "--as", "nobody@example.org"])
    assert result.exit_code == 2
    assert "--as: there is no account nobody@example.org" in result.stderr
    result = runner.invoke(
        app,
        [
            "review",
            "protected",
            "add",
            "two words",
            "--category",
            "priest",
            "--as",
            "legal@example.org",
        ],
    )
    assert result.exit_code == 2
    assert "handle:" in result.stderr
    assert "category:" in result.stderr


def test_flags_are_computed_and_printed_with_their_evidence(
    cli_env: dict[str, str], session: Session, runtime: Runtime, posts: dict[str, list[str]]
) -> None:
    factories.authority(session)
    demand = factories.submit(
        session,
        runtime,
        factories.body(targets=[{"type": "content", "id": posts["hk_student_union"][1]}]),
    ).demand
    session.commit()
    result = runner.invoke(app, ["review", "flags", str(demand.id)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"demand {demand.id}: 1 flag"
    assert lines[1] == "human-rights review required: political flag (high)"
    assert f"HIGH   political  [{posts['hk_student_union'][1]}]" in result.stdout
    assert "matched: 五大诉求，缺一不可" in result.stdout

    as_json = runner.invoke(app, ["review", "flags", str(demand.id), "--json"])
    shown = json.loads(as_json.stdout)
    assert shown["human_rights_required"] is True
    assert [f["code"] for f in shown["flags"]] == ["political"]
    assert runner.invoke(app, ["review", "flags", "999999"]).exit_code == 1
