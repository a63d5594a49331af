"""``dueprocess token``: API tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from dueprocess.cli.common import CLI_ACTOR, load_runtime, out, unit_of_work

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)


@token_app.command("create")
def token_create(
    email: Annotated[str, typer.Option(help="The account the token acts as.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            help="Limit to a permission, e.g. "
            "demands:submit (repeatable). Default: all the account's permissions."
        ),
    ] = None,
) -> None:
    """Create an API token. It is printed once; only its hash is stored."""
    from dueprocess.accounts import signin

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        token, raw = signin.create_token(session, email, name, scope or [], actor=CLI_ACTOR)
    out.print(f"token {token.id} for {email}; keep it secret, it is not shown again:", markup=False)
    sys.stdout.write(raw + "\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token."""
    from dueprocess.accounts import signin

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        signin.revoke_token(session, token_id, actor=CLI_ACTOR)
    out.print(f"token {token_id} revoked")


@token_app.command("list")
def token_list() -> None:
    """List tokens (ids, owners, scopes; never the secrets)."""
    from dueprocess.accounts import service as accounts, signin

    runtime = load_runtime()
    table = Table("id", "account", "name", "scopes", "created", "last used", "revoked")
    with unit_of_work(runtime) as session:
        for t in signin.list_tokens(session):
            owner = accounts.get(session, t.account_id).email
            table.add_row(
                str(t.id),
                owner,
                t.name,
                ", ".join(t.scopes) or "(all)",
                f"{t.created_at:%Y-%m-%d}",
                f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "",
                f"{t.revoked_at:%Y-%m-%d}" if t.revoked_at else "",
            )
    out.print(table)
