"""``dueprocess demand import FILE``: demands exported from another system, in bulk.

Reads JSON lines or CSV (layout in :mod:`dueprocess.intake.importer` and ``docs/api.md``)
row by row, never the whole file, and records each good row through the intake flow
(:func:`dueprocess.intake.flow.receive_many`, a batch of rows at a time; channel ``import`` unless
the row or ``--channel`` names another staff channel).

Promises (``tests/cli/test_demand_import.py`` checks each):

- A refused row never stops the import and never leaves anything behind: it is checked
  before anything of it is written, and the rows are written inside a SAVEPOINT; if the
  database refuses the batch, it is rolled back and the rows are written one by one, each in
  its own SAVEPOINT. Every refusal is reported with its line, field and reason.
- Rows are committed in batches (``--batch-size``, one transaction each), so an interrupted
  import keeps whole batches; re-running it is safe: rows with an ``idempotency_key`` are
  replayed (counted apart), and the others are refused as repeats of the demands they
  entered (the same reference, or the same content), not entered twice. A row that repeats
  an earlier demand, or an earlier row, is refused naming it unless its ``confirmed_new``
  is true.
- ``--dry-run`` runs every check, the database's included, then rolls each batch back; new
  documents go to a temporary directory, so nothing at all is written.
- Exit code 0 when every row was accepted or replayed, 2 when any row (or the file itself:
  missing, unknown format, bad CSV header) was refused, 1 if the database failed mid-way
  (batches before the failing one stay committed).
"""

from __future__ import annotations

import json
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Annotated, BinaryIO, cast

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from dueprocess.cli.common import CLI_ACTOR, err, fail, load_runtime, out
from dueprocess.demands.models import STAFF_CHANNELS, Channel
from dueprocess.demands.schemas import DemandIn
from dueprocess.documents.store import DirectoryStore, DocumentStore, Source, StoredDocument
from dueprocess.errors import DueprocessError, FieldError, InvalidInput
from dueprocess.intake import flow, importer
from dueprocess.runtime import Runtime

#: How many refusals the summary prints (``--errors FILE`` has them all).
SHOWN_REFUSALS = 50
#: Without a terminal, a progress line at most this often (seconds).
PLAIN_PROGRESS_SECONDS = 2.0
_STAFF = ", ".join(sorted(c.value for c in STAFF_CHANNELS))


@dataclass
class Tally:
    """What an import did so far. Counts move only when their batch commits (or, in a dry
    run, would have committed)."""

    accepted: int = 0
    replayed: int = 0
    refused: int = 0
    unkeyed: int = 0
    shown: list[tuple[int, FieldError]] = field(default_factory=list)
    more: int = 0

    def add(self, other: Tally) -> None:
        """Fold a batch's tally into the running one (keeping the first refusals to show)."""
        self.accepted += other.accepted
        self.replayed += other.replayed
        self.refused += other.refused
        self.unkeyed += other.unkeyed
        room = SHOWN_REFUSALS - len(self.shown)
        self.shown += other.shown[:room]
        self.more += other.more + max(0, len(other.shown) - room)


class ScratchStore:
    """A dry run's document store: reads from the real store, writes to a scratch one."""

    def __init__(self, real: DocumentStore, scratch: DocumentStore) -> None:
        self.real = real
        self.scratch = scratch

    def put(self, chunks: Source, filename: str, *, max_bytes: int | None = None) -> StoredDocument:
        """Check and store in the scratch directory (the same checks as the real store)."""
        return self.scratch.put(chunks, filename, max_bytes=max_bytes)

    def open(self, sha256: str) -> BinaryIO:
        """From the real store if it has it, else from the scratch one."""
        return (self.real if self.real.exists(sha256) else self.scratch).open(sha256)

    def exists(self, sha256: str) -> bool:
        """Stored in either."""
        return self.real.exists(sha256) or self.scratch.exists(sha256)

    def delete(self, sha256: str) -> bool:
        """Only scratch documents can be deleted during a dry run."""
        return self.scratch.delete(sha256)


def _channel_of(data: DemandIn, default: Channel) -> Channel | FieldError:
    chosen = data.channel or default
    if chosen not in STAFF_CHANNELS:
        return FieldError(
            ("channel",), f"an import records one of {_STAFF}, not {chosen.value!r}", "channel"
        )
    return chosen


def _run_batch(
    runtime: Runtime,
    rows: list[importer.Row],
    fmt: importer.Format,
    default_channel: Channel,
    *,
    dry_run: bool,
    refusals: IO[str] | None,
) -> Tally:
    """One transaction for ``rows``, written together (:func:`flow.receive_many`); a refused
    row is answered on its own and writes nothing."""
    tally = Tally()
    refused: list[tuple[int, list[FieldError]]] = []
    with runtime.sessions() as session:
        transaction = session.begin()
        try:
            good: list[tuple[int, DemandIn, Channel]] = []
            for line, parsed in rows:
                if isinstance(parsed, list):
                    refused.append((line, parsed))
                    continue
                channel = _channel_of(parsed, default_channel)
                if isinstance(channel, FieldError):
                    refused.append((line, [importer.name_error(channel, fmt)]))
                    continue
                good.append((line, parsed, channel))
            for (line, parsed, _), answer in zip(
                good, _receive(session, runtime, good), strict=True
            ):
                if isinstance(answer, list):
                    refused.append((line, [importer.name_error(e, fmt) for e in answer]))
                elif answer.created:
                    tally.accepted += 1
                    tally.unkeyed += parsed.idempotency_key is None
                else:
                    tally.replayed += 1
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    for line, errors in refused:
        tally.refused += 1
        tally.shown += [(line, e) for e in errors]
        if refusals is not None:
            refusals.write(json.dumps(_refusal_record(line, errors), ensure_ascii=False) + "\n")
    return tally


def _receive(
    session: Session, runtime: Runtime, good: list[tuple[int, DemandIn, Channel]]
) -> list[flow.Received | list[FieldError]]:
    """Every row's answer: written together in a SAVEPOINT; if the database refuses the
    group (someone else recorded one of its idempotency keys meanwhile), row by row, each in
    a SAVEPOINT of its own, so only the row that clashes is refused."""
    items = [
        flow.Incoming(data, channel, CLI_ACTOR, label=f"line {line}")
        for line, data, channel in good
    ]
    try:
        with session.begin_nested():
            answers = flow.receive_many(session, runtime, items)
        return [a.errors if isinstance(a, InvalidInput) else a for a in answers]
    except IntegrityError:
        return [_receive_one(session, runtime, item) for item in items]


def _receive_one(
    session: Session, runtime: Runtime, item: flow.Incoming
) -> flow.Received | list[FieldError]:
    try:
        with session.begin_nested():
            (answer,) = flow.receive_many(session, runtime, [item])
            if isinstance(answer, InvalidInput):
                raise answer  # nothing of it was written; leave the SAVEPOINT clean anyway
    except InvalidInput as exc:
        return exc.errors
    except IntegrityError:
        return [
            FieldError(
                ("idempotency_key",),
                "recorded by someone else at the same time; run the import again",
                "conflict",
            )
        ]
    return answer


def _refusal_record(line: int, errors: list[FieldError]) -> dict[str, object]:
    return {
        "line": line,
        "errors": [
            {"field": e.where() if e.loc else "", "loc": list(e.loc), "msg": e.msg, "type": e.type}
            for e in errors
        ],
    }


def _summary(tally: Tally, file: Path, *, dry_run: bool, errors_file: Path | None) -> None:
    title = f"Dry run of {file.name}: nothing was written" if dry_run else f"Import of {file.name}"
    verbs = (
        ("would be accepted", "would be replayed", "would be refused")
        if dry_run
        else (
            "accepted",
            "replayed (already imported)",
            "refused",
        )
    )
    table = Table("rows", "", title=title, title_justify="left")
    for verb, count in zip(verbs, (tally.accepted, tally.replayed, tally.refused), strict=True):
        table.add_row(verb, str(count))
    out.print(table)
    if tally.shown:
        problems = Table("line", "field", "reason", title="Refused rows", title_justify="left")
        for line, error in tally.shown:
            problems.add_row(str(line), error.where() if error.loc else "(row)", error.msg)
        out.print(problems)
        if tally.more:
            where = f"{errors_file} lists them all" if errors_file else "use --errors FILE"
            out.print(f"... and {tally.more} more problems ({where})", markup=False)
    if tally.unkeyed:
        out.print(
            f"note: {tally.unkeyed} accepted rows had no idempotency_key; importing this file "
            "again would refuse them as repeats rather than replay them",
            markup=False,
        )


def demand_import(
    file: Annotated[Path, typer.Argument(help="JSON lines (.jsonl) or CSV (.csv) to import.")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl or csv (default: from the file's extension)."),
    ] = None,
    channel: Annotated[
        str, typer.Option(help="Channel of rows that name none: email, post, fax or import.")
    ] = Channel.IMPORT.value,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check every row, then write nothing.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Rows per transaction.")
    ] = 500,
    errors: Annotated[
        Path | None, typer.Option("--errors", help="Write every refusal here as JSON lines.")
    ] = None,
) -> None:
    """Import demands exported from another system, with a summary of what was refused.

    Exit code 0: every row accepted or replayed; 2: some row refused (each is listed with its
    line, field and reason; the others were imported), or the file could not be read.
    """
    guessed = fmt or importer.format_of(file)
    if guessed not in ("jsonl", "csv"):
        fail(
            f"format: {fmt!r} is not jsonl or csv"
            if fmt
            else f"format: cannot tell from {file.name!r}; give --format jsonl or --format csv"
        )
    chosen = cast(importer.Format, guessed)
    try:
        default_channel = Channel(channel)
    except ValueError:
        fail(f"channel: {channel!r} is not one of {_STAFF}")
    if default_channel not in STAFF_CHANNELS:
        fail(f"channel: an import records one of {_STAFF}, not {channel!r}")
    if not file.is_file():
        fail(f"{file}: no such file")
    runtime = load_runtime()
    tally = Tally()
    with ExitStack() as stack:
        stack.callback(runtime.close)
        if dry_run:
            # Runtime.store is a cached property: seed the cache with the scratch store, so
            # the intake flow (which takes the runtime) stores new documents there.
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="dueprocess-dry-"))
            real = runtime.store
            runtime.__dict__["store"] = ScratchStore(real, DirectoryStore(scratch))
        try:
            stream = importer.CountingReader(stack.enter_context(file.open("rb")))
            sink = stack.enter_context(errors.open("w", encoding="utf-8")) if errors else None
        except OSError as exc:
            fail(f"{exc.filename}: {exc.strerror}")
        total = file.stat().st_size
        rows = importer.read(stream, chosen, max_line_bytes=runtime.settings.max_body_bytes)
        progress = Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        )
        task = progress.add_task("importing" if not dry_run else "checking", total=total)
        last_note = time.monotonic()
        with progress:
            for batch in importer.chunked(rows, batch_size):
                try:
                    done = _run_batch(
                        runtime, batch, chosen, default_channel, dry_run=dry_run, refusals=sink
                    )
                except (SQLAlchemyError, DueprocessError) as exc:
                    # Not a row's fault (the database, or a stored policy that no longer
                    # loads): stop, keeping the batches already committed.
                    _summary(tally, file, dry_run=dry_run, errors_file=errors)
                    fail(
                        f"the batch starting at line {batch[0][0]} failed and was rolled "
                        f"back; earlier batches are kept: {exc}",
                        1,
                    )
                tally.add(done)
                progress.update(
                    task,
                    completed=stream.count,
                    description=f"{tally.accepted + tally.replayed} in, {tally.refused} refused",
                )
                if progress.disable and time.monotonic() - last_note >= PLAIN_PROGRESS_SECONDS:
                    last_note = time.monotonic()
                    err.print(
                        f"up to line {batch[-1][0]}: {tally.accepted} accepted, "
                        f"{tally.replayed} replayed, {tally.refused} refused "
                        f"({stream.count * 100 // max(total, 1)}% of the file)",
                        markup=False,
                        highlight=False,
                    )
    _summary(tally, file, dry_run=dry_run, errors_file=errors)
    if tally.refused:
        raise typer.Exit(2)
