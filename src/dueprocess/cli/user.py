"""``dueprocess user``: staff and officer accounts."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer
from rich.table import Table

from dueprocess.cli.common import (
    CLI_ACTOR,
    fail,
    invalid,
    load_runtime,
    out,
    print_json,
    unit_of_work,
)

user_app = typer.Typer(help="Staff and officer accounts.", no_args_is_help=True)


@user_app.command("add")
def user_add(
    email: Annotated[str, typer.Option(help="Sign-in e-mail.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    role: Annotated[
        list[str],
        typer.Option(
            help="A role (repeat for several): intake, "
            "legal-reviewer, human-rights-reviewer, approver, policy-owner, auditor, "
            "admin; or officer (with --authority)."
        ),
    ],
    authority: Annotated[str | None, typer.Option(help="Officers: their authority's slug.")] = None,
    phone: Annotated[
        str | None, typer.Option(help="Phone (officers: used for call-backs).")
    ] = None,
) -> None:
    """Add an account. Prints a generated password and, where required, the TOTP secret."""
    from pydantic import ValidationError

    from dueprocess.accounts import service as accounts
    from dueprocess.accounts.passwords import totp_uri
    from dueprocess.accounts.schemas import AccountIn
    from dueprocess.errors import from_validation

    password = secrets.token_urlsafe(15)
    try:
        data = AccountIn.model_validate(
            {
                "email": email,
                "display_name": name,
                "roles": role,
                "authority": authority,
                "phone": phone,
                "password": password,
            }
        )
    except ValidationError as exc:
        invalid(from_validation(exc.errors()))
    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        account = accounts.create(session, data, actor=CLI_ACTOR)
        secret = account.totp_secret
    out.print(f"account {account.id} created for {data.email}", markup=False)
    out.print(f"  password: {password}", markup=False)
    if secret:
        out.print(f"  TOTP secret: {secret}", markup=False)
        out.print(f"  authenticator URI: {totp_uri(secret, data.email)}", markup=False)


@user_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List accounts (never their secrets)."""
    from dueprocess.accounts import service as accounts

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        rows = [accounts.to_out(session, a) for a in accounts.list_all(session)]
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("id", "e-mail", "name", "roles", "authority", "2FA", "disabled")
    for r in rows:
        table.add_row(
            str(r.id),
            r.email,
            r.display_name,
            ", ".join(r.roles),
            r.authority or "",
            "yes" if r.totp_enrolled else "no",
            "yes" if r.disabled else "",
        )
    out.print(table)


@user_app.command("disable")
def user_disable(email: Annotated[str, typer.Argument(help="The account's e-mail.")]) -> None:
    """Disable an account: no more sign-ins; its tokens stop working."""
    from dueprocess.accounts import service as accounts

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        accounts.disable(session, email, actor=CLI_ACTOR)
    out.print(f"{email} disabled", markup=False)


@user_app.command("verify-officer")
def user_verify_officer(
    email: Annotated[str, typer.Argument(help="The officer account's e-mail.")],
    evidence: Annotated[
        str,
        typer.Option(
            help="How the officer was checked, e.g. 'called the registry number +852 2860 "
            "2000; Supt. Chan confirmed the officer and the e-mail' (audited)."
        ),
    ],
    as_email: Annotated[
        str,
        typer.Option(
            "--as",
            help="The e-mail of the staff member vouching (needs authorities:manage; "
            "not the officer).",
        ),
    ],
) -> None:
    """Verify an officer account with evidence: a staff action, recorded under the staff
    member's name. Run it again after the officer's credentials change."""
    from dueprocess.accounts import service as accounts
    from dueprocess.accounts.models import AccountKind

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        staff = accounts.get_by_email(session, as_email)
        if staff is None or staff.kind is not AccountKind.STAFF or staff.disabled:
            fail(f"as: {as_email} is not an active staff account")
        account = accounts.verify_officer(
            session, email, evidence=evidence, actor=f"account:{staff.id}"
        )
        shown = f"{account.email} verified by {staff.email}"
    out.print(shown, markup=False)
