"""Set up and run this installation: ``init``, ``db upgrade``, ``serve``, ``demo``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from dueprocess.cli.common import ensure_schema, fail, load_runtime, out, unit_of_work
from dueprocess.config import Settings
from dueprocess.runtime import Runtime

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


def init() -> None:
    """Create the data directory, bring the database schema up to date, and install the
    default review checklists if none is active."""
    runtime = load_runtime()
    ensure_schema(runtime)
    from dueprocess.review import checklists

    with unit_of_work(runtime) as session:
        installed = [f"{v.kind.value} {v.version}" for v in checklists.install_defaults(session)]
    if installed:
        out.print(f"default checklists installed: {', '.join(installed)}")
    out.print(f"database ready: {runtime.engine.url.render_as_string(hide_password=True)}")
    out.print(f"data directory: {runtime.settings.data_dir}")
    from dueprocess.audit import signer

    public_key = signer.public_key_file(runtime.settings.keys_dir)
    out.print(f"audit public key (give it to auditors): {public_key}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (safe to run repeatedly)."""
    runtime = load_runtime()
    ensure_schema(runtime)
    out.print("database schema is up to date")


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


def demo(
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Load, then exit.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the generated scenario.")] = 2020,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
) -> None:
    """Load the demo service and the July 2020 Hong Kong scenario (once), then serve."""
    from dueprocess.demo import loader

    runtime = load_runtime()
    ensure_schema(runtime)
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
