"""``dueprocess report``: transparency reports from the stored data."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from dueprocess.cli.common import fail, load_runtime, out, print_json, unit_of_work

report_app = typer.Typer(help="Transparency reports from the stored data.", no_args_is_help=True)


@report_app.command("counts")
def report_counts(
    period: Annotated[str, typer.Option(help="YYYY, YYYY-H1/H2, YYYY-Q1..Q4 or YYYY-MM.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Demands received per jurisdiction and kind over a period."""
    from dueprocess.transparency import service as transparency
    from dueprocess.transparency.periods import parse_period

    try:
        parsed = parse_period(period)
    except ValueError as exc:
        fail(f"period: {exc}")
    runtime = load_runtime()
    with unit_of_work(runtime) as session:
        report = transparency.received_counts(session, parsed)
    if as_json:
        print_json(report.model_dump(mode="json"))
        return
    table = Table("jurisdiction", "kind", "received", title=f"Demands received, {report.period}")
    for row in report.rows:
        table.add_row(
            f"{row.jurisdiction_name} ({row.jurisdiction})", row.kind.value, str(row.received)
        )
    out.print(table)
    out.print(f"total: {report.total}")
