"""``dueprocess demand``: submit (staff entry), list, show, import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table

from dueprocess.cli.common import (
    CLI_ACTOR,
    fail,
    invalid,
    load_runtime,
    out,
    print_json,
    read_json,
    unit_of_work,
)
from dueprocess.cli.demand_import import demand_import
from dueprocess.errors import InvalidInput, from_validation

demand_app = typer.Typer(help="Submit, list, show and import demands.", no_args_is_help=True)
demand_app.command("import")(demand_import)


@demand_app.command("submit")
def demand_submit(
    file: Annotated[
        Path, typer.Argument(help="A demand as JSON (the form `demand show --json` prints).")
    ],
    channel: Annotated[
        str | None, typer.Option(help="How it arrived: email, post, fax or import.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the stored demand as JSON.")
    ] = False,
    new: Annotated[
        bool,
        typer.Option(
            "--new",
            help="It is a new demand, though it repeats an earlier one of the same authority "
            "(the same reference, or the same content within 30 days): record it all the same.",
        ),
    ] = False,
) -> None:
    """Enter a demand that arrived by e-mail, post or fax (staff entry).

    A demand that repeats an earlier one of its authority is refused (exit 2, naming the
    earlier demand) unless ``--new`` says it is new; a replay of the same idempotency key and
    body answers with the earlier demand.
    """
    from dueprocess.demands import service as demands
    from dueprocess.demands.models import STAFF_CHANNELS, Channel
    from dueprocess.demands.schemas import DemandIn
    from dueprocess.intake import flow, record

    raw = read_json(file)
    try:
        data = DemandIn.model_validate(raw)
    except ValidationError as exc:
        invalid(from_validation(exc.errors()))
    if new:
        data = data.model_copy(update={"confirmed_new": True})
    chosen = channel or (data.channel.value if data.channel else "email")
    try:
        how = Channel(chosen)
    except ValueError:
        fail(f"channel: {chosen!r} is not one of email, post, fax, import")
    if how not in STAFF_CHANNELS and channel is not None:
        fail(f"channel: staff entry is by email, post, fax or import, not {chosen!r}")
    runtime = load_runtime()
    try:
        with runtime.sessions() as session, session.begin():
            result = flow.receive(session, runtime, data, channel=how, actor=CLI_ACTOR)
            shown = demands.to_out(session, result.demand)
    except InvalidInput as exc:
        lines = [f"  {e.where()}: {e.msg}" for e in exc.errors]
        if any(e.type == record.REPEAT for e in exc.errors):
            lines.append("  (or, for a new demand all the same: demand submit FILE --new)")
        fail("refused, nothing was written:\n" + "\n".join(lines))
    if as_json:
        print_json(shown.model_dump(mode="json"))
    else:
        verb = (
            "submitted" if result.created else "already submitted (same idempotency key and body)"
        )
        out.print(f"demand {shown.id} {verb}: {shown.kind.value} from {shown.authority}")


@demand_app.command("list")
def demand_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 100,
) -> None:
    """List demands, newest first."""
    from dueprocess.demands import service as demands

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        rows = demands.list_summaries(session, limit=limit)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("id", "received", "jurisdiction", "authority", "kind", "status", "targets")
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.received_at:%Y-%m-%d %H:%M}",
            r.jurisdiction,
            r.authority,
            r.kind.value,
            r.status.value,
            str(r.targets),
        )
    out.print(table)


@demand_app.command("show")
def demand_show(
    demand_id: Annotated[int, typer.Argument(metavar="ID", help="The demand's id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (accepted back by submit).")
    ] = False,
) -> None:
    """Show one demand."""
    from dueprocess.demands import service as demands

    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        demand = demands.get(session, demand_id)
        demands.record_view(session, demand, actor=CLI_ACTOR, via="cli")
        shown = demands.to_out(session, demand)
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    out.print(f"[bold]Demand {shown.id}[/bold]  {shown.status.value}")
    for label, value in (
        ("authority", f"{shown.authority_name} ({shown.authority})"),
        ("jurisdiction", shown.jurisdiction),
        ("kind", shown.kind.value),
        ("legal process", shown.legal_process.value),
        ("legal basis", f"{shown.legal_basis.instrument}, {shown.legal_basis.article}"),
        ("received", f"{shown.received_at:%Y-%m-%d %H:%M} UTC via {shown.channel.value}"),
        ("deadline", f"{shown.deadline:%Y-%m-%d %H:%M} UTC" if shown.deadline else "none"),
        ("penalty", shown.penalty or "none stated"),
        (
            "gag order",
            f"{shown.gag_order.basis} until {shown.gag_order.until or 'no end date'}"
            if shown.gag_order
            else "none",
        ),
        ("summary", shown.summary),
    ):
        out.print(f"  {label:14} {value}", markup=False, highlight=False)
    for t in shown.targets:
        out.print(f"  target         {t.type.value} {t.id}", markup=False, highlight=False)
    for d in shown.documents:
        out.print(
            f"  document       {d.filename} {d.media_type} sha256:{d.sha256}",
            markup=False,
            highlight=False,
        )
