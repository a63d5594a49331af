"""``dueprocess audit``: checkpoint, export, verify the hash-chained audit log, and print the
published checkpoint heads (docs/audit-format.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from dueprocess.cli.common import CLI_ACTOR, fail, load_runtime, out, unit_of_work

audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


@audit_app.command("checkpoint")
def audit_checkpoint(
    restore: Annotated[
        bool,
        typer.Option(
            "--restore",
            help="Instead, put back checkpoints this key signed (the published heads) that "
            "were deleted from the database; recorded in the log.",
        ),
    ] = False,
) -> None:
    """Sign the chain's current head with the checkpoint key (kept outside the database).

    Refuses, with exit status 1, if the log does not extend what this key signed last
    (docs/audit-format.md)."""
    from dueprocess.audit import signer

    runtime = load_runtime()
    keys_dir = runtime.settings.keys_dir
    try:
        if restore:
            restored = signer.restore_checkpoints(runtime.sessions, keys_dir, actor=CLI_ACTOR)
            seqs = ", ".join(str(c["seq"]) for c in restored) or "none missing"
            out.print(f"restored {len(restored)} checkpoints ({seqs})", markup=False)
            return
        signed = signer.sign_head(runtime.sessions, keys_dir)
    except signer.SigningRefused as exc:
        print(exc, file=sys.stderr)  # unwrapped: it names files and events to look at
        raise typer.Exit(1) from None
    for note in signed.notes:
        print(f"WARNING: {note}", file=sys.stderr)
    done = signed.checkpoint
    out.print(f"checkpoint signed at event {done['seq']}" if done else "head already checkpointed")


@audit_app.command("export")
def audit_export(
    file: Annotated[Path, typer.Argument(help="Where to write the JSON lines.")],
) -> None:
    """Write every event and checkpoint as JSON lines (docs/audit-format.md).

    The current head is checkpointed first, so the export ends on a signed head. If the
    signer refuses, the export is still written (it is the evidence), and the command exits
    with status 1.
    """
    from dueprocess.audit import service as audit, signer
    from dueprocess.audit.chain import public_key_bytes

    runtime = load_runtime()
    keys_dir = runtime.settings.keys_dir
    refused = None
    try:
        signer.sign_head(runtime.sessions, keys_dir)
    except signer.SigningRefused as exc:
        refused = exc
        print(f"WARNING: {exc}", file=sys.stderr)
    key = signer.ensure_signing_key(keys_dir)
    count = 0
    with unit_of_work(runtime) as session, file.open("wb") as fh:
        for line in audit.export_lines(session, [public_key_bytes(key)]):
            fh.write(line)
            count += 1
    out.print(f"wrote {count} lines to {file}", markup=False)
    if refused is not None:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(
    export: Annotated[
        Path | None, typer.Option(help="Verify this export instead of the database.")
    ] = None,
    public_key: Annotated[
        list[Path] | None,
        typer.Option(
            help="A checkpoint public key (PEM); repeat it for each key the log was signed "
            "with. Default: the key beside this installation's signing key."
        ),
    ] = None,
    expect_checkpoint: Annotated[
        list[Path] | None,
        typer.Option(
            help="Checkpoints you kept (e.g. from `audit heads`); the log must hold and "
            "match them. Repeatable. The database is always checked against this "
            "installation's own published heads."
        ),
    ] = None,
    allow_unsigned_tail: Annotated[
        bool,
        typer.Option(
            "--allow-unsigned-tail",
            help="Pass despite events left unsigned longer than the checkpoint interval "
            "allows, with a loud warning (their checkpoints may have been deleted).",
        ),
    ] = False,
) -> None:
    """Check the chain and every checkpoint signature. Exit 0 intact, 1 tampered, 2 unreadable.

    Events unsigned for longer than the checkpoint interval plus 10 minutes fail, as in the
    standalone verifier; its warnings are printed here the same way."""
    from dueprocess.audit import service as audit, signer
    from dueprocess.audit.verify import load_checkpoints, load_public_key, warning_lines

    runtime = load_runtime()
    keys_dir = runtime.settings.keys_dir
    keys, held = [], []
    for path in public_key or [signer.public_key_file(keys_dir)]:
        try:
            keys.append(load_public_key(str(path)))
        except (OSError, ValueError) as exc:
            fail(f"public key {path}: {exc}")
    for path in expect_checkpoint or []:
        try:
            held += load_checkpoints(str(path))
        except (OSError, ValueError) as exc:
            fail(f"expected checkpoints {path}: {exc}")
    limit = runtime.settings.checkpoint_seconds + 600
    if export is not None:
        from dueprocess.audit.verify import verify_export

        try:
            with export.open("rb") as fh:
                result = verify_export(
                    fh,
                    keys,
                    expected_checkpoints=held,
                    max_unsigned_age=limit,
                    allow_unsigned_tail=allow_unsigned_tail,
                )
        except OSError as exc:
            fail(f"{export}: {exc}")
    else:
        try:  # read before the log, so that each was committed before it is read
            held += signer.signed_here(keys_dir)
        except (OSError, ValueError) as exc:
            print(f"WARNING: the signer's own records were not checked: {exc}", file=sys.stderr)
        with unit_of_work(runtime) as session:
            result = audit.verify_database(
                session,
                keys,
                held=held,
                max_unsigned_age=limit,
                allow_unsigned_tail=allow_unsigned_tail,
            )
    print(result.summary())
    for warning in warning_lines(result):
        print(warning, file=sys.stderr)
    if not result.ok:
        raise typer.Exit(1)


@audit_app.command("heads")
def audit_heads(
    file: Annotated[
        Path | None, typer.Argument(help="Copy them here (default: print them).")
    ] = None,
) -> None:
    """The published checkpoint heads: every checkpoint this installation's key signed, one
    JSON line each. Keep them; `verify.py --expect-checkpoint FILE` holds an export to them."""
    from dueprocess.audit import signer

    runtime = load_runtime()
    source = signer.heads_path(runtime.settings.keys_dir)
    try:
        content = source.read_bytes()
    except FileNotFoundError:
        content = b""
    content = content[: content.rfind(b"\n") + 1]  # never a line still being written
    if file is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        file.write_bytes(content)
        count = content.count(b"\n")
        out.print(f"wrote {count} heads to {file}", markup=False)
