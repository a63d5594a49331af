"""``dueprocess sor``: DSA statements of reasons (docs/dsa.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from dueprocess.cli.common import err, fail, invalid, load_runtime, out, unit_of_work
from dueprocess.errors import InvalidInput
from dueprocess.restrictions.sor_export import Format, PendingStatement, export, problems

sor_app = typer.Typer(
    help="DSA statements of reasons for the restrictions applied on government demands.",
    no_args_is_help=True,
)


def _read_lines(path: Path) -> list[PendingStatement]:
    """Each line's statement (or each statement of a line holding a batch payload), labelled
    by its line number; exit 2 naming the line of anything that is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot be read as UTF-8 text ({exc})")
    items: list[PendingStatement] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value: Any = json.loads(line)
        except json.JSONDecodeError as exc:
            fail(f"{path}, line {number}: not valid JSON ({exc.msg}, column {exc.colno})")
        if isinstance(value, dict) and set(value) == {"statements"}:
            batch = value["statements"]
            if not isinstance(batch, list) or not 1 <= len(batch) <= 100:
                fail(f"{path}, line {number}: statements must be an array of 1 to 100 statements")
            items.extend(PendingStatement(f"{number}[{i}]", s) for i, s in enumerate(batch))
        else:
            items.append(PendingStatement(str(number), value))
    return items


@sor_app.command("validate")
def sor_validate(
    file: Annotated[
        Path,
        typer.Argument(
            help='JSON lines: a statement a line (or a batch payload {"statements": [...]}).'
        ),
    ],
) -> None:
    """Check statements against the DSA Transparency Database's rules, naming each bad field.

    Exit 0 if the database would accept every one; 2 otherwise, each problem on a line.
    """
    items = _read_lines(file)
    errors = problems(items, noun="line")
    if errors:
        lines = [
            f"  {e.loc[0]}: {'.'.join(map(str, e.loc[1:])) or 'statement'}: {e.msg}" for e in errors
        ]
        fail(f"{file}: {len(errors)} problem(s):\n" + "\n".join(lines))
    out.print(f"{len(items)} statement(s) valid")


@sor_app.command("export")
def sor_export(
    out_dir: Annotated[
        Path, typer.Option("--out", help="A new or empty directory for the batch files.")
    ],
    format: Annotated[
        Format,
        typer.Option(help="json: one batch-NNNNNN.json per batch; jsonl: one batches.jsonl."),
    ] = Format.JSON,
) -> None:
    """Write the statements of reasons due as the database's batch payloads (at most 100 each).

    Exports are empty until restrictions are recorded: the restriction model that feeds them
    is not built yet. Nothing is written if any statement would be refused; the message names
    its restriction and field.
    """
    from dueprocess.restrictions import service

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        pending = service.statements(session)
    try:
        result = export(
            pending,
            out_dir,
            format=format,
            progress=lambda done, total: err.print(f"written {done}/{total}"),
        )
    except InvalidInput as exc:
        invalid(exc)
    if not result.statements:
        out.print("0 statements of reasons are due; nothing was written")
        return
    out.print(f"{result.statements} statement(s) in {result.batches} batch(es) in {out_dir}")
