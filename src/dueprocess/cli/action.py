"""``dueprocess worker`` and ``dueprocess action``: run the durable jobs, and list, retry or
revoke them. Thin: :mod:`dueprocess.actions.worker` and :mod:`dueprocess.actions.service`.
Exit codes: 0 done; 1 not found; 2 refused (the reason on standard error)."""

from __future__ import annotations

import os
import signal
import socket
import threading
from typing import Annotated

import typer
from rich.table import Table

from dueprocess.cli.common import CLI_ACTOR, fail, load_runtime, out, print_json

action_app = typer.Typer(
    help="Actions (productions, restrictions, notices, reminders): list, retry, revoke.",
    no_args_is_help=True,
)


def worker(
    name: Annotated[
        str | None,
        typer.Option(help="This worker's name in the log (default: host and process id)."),
    ] = None,
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Actions claimed at a time.")] = 10,
    until_idle: Annotated[
        bool, typer.Option("--until-idle", help="Stop when no action is due, instead of waiting.")
    ] = False,
) -> None:
    """Run due actions through the service's connectors until stopped (Ctrl-C, SIGTERM).
    Several workers may run at once on PostgreSQL; run one on SQLite."""
    from dueprocess.actions import worker as jobs

    runtime = load_runtime()
    if runtime.engine.dialect.name == "sqlite":
        out.print("SQLite: run one worker at a time (PostgreSQL for several).")
    me = name or f"{socket.gethostname()}:{os.getpid()}"
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    out.print(f"worker {me}: running due actions" + (" until idle" if until_idle else ""))
    done = jobs.run(runtime, me, stop=stop, batch=batch, until_idle=until_idle,
                    progress=lambda n: out.print(f"{n} action(s) run"))  # fmt: skip
    out.print(f"worker {me}: stopped after {done} action(s)")


@action_app.command("list")
def list_command(
    demand: Annotated[int, typer.Argument(min=1, help="The demand's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A demand's actions: kind, target, status, attempts, last error."""
    from dueprocess.actions import service as actions

    runtime = load_runtime()
    with runtime.sessions() as session:
        rows = actions.of_demand(session, demand)
        shown = [
            {
                "id": a.id,
                "kind": a.kind.value,
                "target": a.target_id,
                "status": a.status.value,
                "attempts": a.attempts,
                "last_error": a.last_error,
                "key": a.key,
            }
            for a in rows
        ]
    if as_json:
        print_json(shown)
        return
    if not shown:
        out.print(f"demand {demand} has no actions")
        return
    table = Table("id", "kind", "target", "status", "attempts", "last error")
    for a in shown:
        table.add_row(str(a["id"]), str(a["kind"]), str(a["target"] or ""), str(a["status"]),
                      str(a["attempts"]), str(a["last_error"] or ""))  # fmt: skip
    out.print(table)


@action_app.command("retry")
def retry_command(action: Annotated[int, typer.Argument(min=1, help="The action's id.")]) -> None:
    """Try a failed action again (same idempotency key: nothing is done twice)."""
    _change(action, None)


@action_app.command("revoke")
def revoke_command(
    action: Annotated[int, typer.Argument(min=1, help="The action's id.")],
    reason: Annotated[str, typer.Option(help="Why (recorded in the audit log).")],
) -> None:
    """Cancel a pending or failed action, with a reason."""
    _change(action, reason)


def _change(action_id: int, reason: str | None) -> None:
    from dueprocess.actions import service as actions
    from dueprocess.errors import Conflict, NotFound

    runtime = load_runtime()
    try:
        with runtime.sessions() as session, session.begin():
            if reason is None:
                changed = actions.retry(session, action_id, actor=CLI_ACTOR)
            else:
                changed = actions.revoke(session, action_id, actor=CLI_ACTOR, reason=reason)
            status = changed.status.value
    except NotFound as exc:
        fail(f"not found: {exc}", 1)
    except Conflict as exc:
        fail(f"refused, nothing was written: {exc}")
    out.print(f"action {action_id}: {status}")
