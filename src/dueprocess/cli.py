"""The ``dueprocess`` command line. Thin: parses options, opens a transaction, calls services.

Exit codes: 0 done; 1 a check failed (e.g. audit verify found tampering); 2 bad input,
with each bad field named on standard error.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from dueprocess.config import Settings
from dueprocess.errors import InvalidInput, NotFound, from_validation
from dueprocess.runtime import Runtime

app = typer.Typer(
    help="dueprocess: handle government demands to online services properly.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
demand_app = typer.Typer(help="Submit, list and show demands.", no_args_is_help=True)
report_app = typer.Typer(help="Transparency reports from the stored data.", no_args_is_help=True)
user_app = typer.Typer(help="Staff and officer accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demand_app, name="demand")
app.add_typer(report_app, name="report")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")

out = Console()
err = Console(stderr=True)
CLI_ACTOR = f"cli:{getpass.getuser()}"


def _runtime() -> Runtime:
    return Runtime(Settings.from_env())


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``message`` to standard error and exit with ``code``."""
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(code)


def _invalid(exc: InvalidInput) -> NoReturn:
    lines = [f"  {e.where()}: {e.msg}" for e in exc.errors]
    fail("refused, nothing was written:\n" + "\n".join(lines))


@contextmanager
def unit_of_work(runtime: Runtime) -> Iterator[Session]:
    """One transaction; service errors become exit code 2 (bad input) or 1 (not found)."""
    try:
        with runtime.sessions() as session, session.begin():
            yield session
    except InvalidInput as exc:
        _invalid(exc)
    except NotFound as exc:
        fail(f"not found: {exc}", 1)


def _ensure_schema(runtime: Runtime) -> None:
    from dueprocess.audit import signer
    from dueprocess.migrations import upgrade

    runtime.settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(runtime.engine)
    signer.ensure_signing_key(runtime.settings.keys_dir)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")


@app.command()
def init() -> None:
    """Create the data directory and bring the database schema up to date."""
    runtime = _runtime()
    _ensure_schema(runtime)
    out.print(f"database ready: {runtime.engine.url.render_as_string(hide_password=True)}")
    out.print(f"data directory: {runtime.settings.data_dir}")
    from dueprocess.audit import signer

    public_key = signer.public_key_file(runtime.settings.keys_dir)
    out.print(f"audit public key (give it to auditors): {public_key}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    runtime = _runtime()
    _ensure_schema(runtime)
    out.print("database schema is up to date")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int, typer.Option(help="Worker processes sharing the port (PostgreSQL only).", min=1)
    ] = 1,
) -> None:
    """Serve the web pages and the API."""
    from dueprocess.web.server import serve as run_server

    settings = Settings.from_env()
    if workers > 1 and settings.database_url.startswith("sqlite"):
        fail("workers: several workers need PostgreSQL (DUEPROCESS_DATABASE_URL=postgresql://...)")
    out.print(f"dueprocess on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    run_server(settings, host, port, workers)


@app.command()
def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load, then exit.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the generated scenario.")] = 2020,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Load the demo service and the July 2020 Hong Kong scenario (once), then serve."""
    from dueprocess.demo import loader

    runtime = _runtime()
    _ensure_schema(runtime)
    with unit_of_work(runtime) as session:
        login = loader.load(runtime, session, seed=seed)
    out.print("demo loaded" if login else "demo already loaded")
    _sign_audit_log(runtime)
    login = login or loader.saved_login(runtime)
    if login:
        print(login.describe())  # plain: a wrapped password is hard to copy
    if not no_serve:
        serve(host=host, port=port, workers=1)


def _sign_audit_log(runtime: Runtime) -> None:
    """Checkpoint the audit log after a command that wrote much of it, as the server would."""
    from dueprocess.audit import signer

    try:
        signer.sign_head(runtime.sessions, runtime.settings.keys_dir)
    except signer.SigningRefused as exc:
        print(f"WARNING: {exc}", file=sys.stderr)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{path}: not valid JSON ({exc})")


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
) -> None:
    """Enter a demand that arrived by e-mail, post or fax (staff entry)."""
    from dueprocess import flow
    from dueprocess.demands import service as demands
    from dueprocess.demands.models import STAFF_CHANNELS, Channel
    from dueprocess.demands.schemas import DemandIn

    raw = _read_json(file)
    try:
        data = DemandIn.model_validate(raw)
    except ValidationError as exc:
        _invalid(from_validation(exc.errors()))
    chosen = channel or (data.channel.value if data.channel else "email")
    try:
        how = Channel(chosen)
    except ValueError:
        fail(f"channel: {chosen!r} is not one of email, post, fax, import")
    if how not in STAFF_CHANNELS and channel is not None:
        fail(f"channel: staff entry is by email, post, fax or import, not {chosen!r}")
    runtime = _runtime()
    with unit_of_work(runtime) as session:
        result = flow.receive(session, runtime, data, channel=how, actor=CLI_ACTOR)
        shown = demands.to_out(session, result.demand)
    if as_json:
        _print_json(shown.model_dump(mode="json"))
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

    runtime = _runtime()
    with unit_of_work(runtime) as session:
        rows = demands.list_summaries(session, limit=limit)
    if as_json:
        _print_json([r.model_dump(mode="json") for r in rows])
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

    runtime = _runtime()
    with unit_of_work(runtime) as session:
        demand = demands.get(session, demand_id)
        demands.record_view(session, demand, actor=CLI_ACTOR, via="cli")
        shown = demands.to_out(session, demand)
    if as_json:
        _print_json(shown.model_dump(mode="json"))
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
    runtime = _runtime()
    with unit_of_work(runtime) as session:
        report = transparency.received_counts(session, parsed)
    if as_json:
        _print_json(report.model_dump(mode="json"))
        return
    table = Table("jurisdiction", "kind", "received", title=f"Demands received, {report.period}")
    for row in report.rows:
        table.add_row(
            f"{row.jurisdiction_name} ({row.jurisdiction})", row.kind.value, str(row.received)
        )
    out.print(table)
    out.print(f"total: {report.total}")


def main() -> None:
    """Entry point of the ``dueprocess`` script."""
    import dueprocess.cli_admin
    import dueprocess.cli_policy  # registers the policy commands
    import dueprocess.cli_registry  # noqa: F401 - registers the authority commands
    from dueprocess import cli_import  # noqa: F401 - registers demand import

    app()


__all__: list[str] = ["app", "main"]
