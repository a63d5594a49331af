"""``dueprocess audit``: checkpoint, export and verify the hash-chained audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dueprocess.cli.common import fail, load_runtime, out, unit_of_work

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Sign the chain's current head with the checkpoint key (kept outside the database)."""
    from dueprocess.audit import service as audit

    runtime = load_runtime()
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

    runtime = load_runtime()
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

    runtime = load_runtime()
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
