"""``dueprocess user``, ``token`` and ``audit`` commands (kept apart from :mod:`cli` to keep
both short). Thin: each opens one transaction and calls services.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from dueprocess.cli import (
    CLI_ACTOR,
    _print_json,
    _runtime,
    audit_app,
    fail,
    out,
    token_app,
    unit_of_work,
    user_app,
)


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
    from dueprocess.cli import _invalid
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
        _invalid(from_validation(exc.errors()))
    runtime = _runtime()
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

    runtime = _runtime()
    with unit_of_work(runtime) as session:
        rows = [accounts.to_out(session, a) for a in accounts.list_all(session)]
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
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

    runtime = _runtime()
    with unit_of_work(runtime) as session:
        accounts.disable(session, email, actor=CLI_ACTOR)
    out.print(f"{email} disabled", markup=False)


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

    runtime = _runtime()
    with unit_of_work(runtime) as session:
        token, raw = signin.create_token(session, email, name, scope or [], actor=CLI_ACTOR)
    out.print(f"token {token.id} for {email}; keep it secret, it is not shown again:", markup=False)
    sys.stdout.write(raw + "\n")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token."""
    from dueprocess.accounts import signin

    runtime = _runtime()
    with unit_of_work(runtime) as session:
        signin.revoke_token(session, token_id, actor=CLI_ACTOR)
    out.print(f"token {token_id} revoked")


@token_app.command("list")
def token_list() -> None:
    """List tokens (ids, owners, scopes; never the secrets)."""
    from dueprocess.accounts import service as accounts, signin

    runtime = _runtime()
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


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's current head with the checkpoint key (kept outside the database)."""
    from dueprocess.audit import service as audit

    runtime = _runtime()
    key = audit.ensure_signing_key(runtime.settings.keys_dir)
    with unit_of_work(runtime) as session:
        row = audit.checkpoint(session, key)
    out.print(f"checkpoint signed at event {row.seq}" if row else "head already checkpointed")


@audit_app.command("export")
def audit_export(
    file: Annotated[Path, typer.Argument(help="Where to write the JSON lines.")],
) -> None:
    """Write every event and checkpoint as JSON lines (docs/audit-format.md).

    The current head is checkpointed first, so the export ends on a signed head.
    """
    from dueprocess.audit import service as audit
    from dueprocess.audit.chain import public_key_bytes

    runtime = _runtime()
    key = audit.ensure_signing_key(runtime.settings.keys_dir)
    with unit_of_work(runtime) as session:
        audit.checkpoint(session, key)
    count = 0
    with unit_of_work(runtime) as session, file.open("wb") as fh:
        for line in audit.export_lines(session, [public_key_bytes(key)]):
            fh.write(line)
            count += 1
    out.print(f"wrote {count} lines to {file}", markup=False)


@audit_app.command("verify")
def audit_verify(
    export: Annotated[
        Path | None, typer.Option(help="Verify this export instead of the database.")
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            help="The checkpoint public key (PEM). "
            "Default: the key beside this installation's signing key."
        ),
    ] = None,
) -> None:
    """Check the chain and every checkpoint signature. Exit 0 intact, 1 tampered, 2 unreadable."""
    from dueprocess.audit import service as audit
    from dueprocess.audit.verify import load_public_key, verify_export

    runtime = _runtime()
    key_path = public_key or audit.public_key_file(runtime.settings.keys_dir)
    try:
        keys = [load_public_key(str(key_path))]
    except (OSError, ValueError) as exc:
        fail(f"public key {key_path}: {exc}")
    if export is not None:
        try:
            with export.open("rb") as fh:
                result = verify_export(fh, keys)
        except OSError as exc:
            fail(f"{export}: {exc}")
    else:
        with unit_of_work(runtime) as session:
            result = audit.verify_database(session, keys)
    print(result.summary())
    if not result.ok:
        raise typer.Exit(1)
