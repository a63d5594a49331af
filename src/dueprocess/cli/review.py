"""``dueprocess review``: a demand's risk flags, the protected-accounts list, and the
deadline reminders due now.

Thin: each command opens one transaction and calls :mod:`dueprocess.review.flags` or
:mod:`dueprocess.review.protected`. The protected list is sensitive: reading or changing it
needs ``--as EMAIL``, an account holding ``protected:manage`` (a human-rights reviewer), and
is audited. Exit codes: 0 done; 1 not found; 2 refused (bad input, not permitted, already on
the list), the reason on standard error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlalchemy.orm import Session

from dueprocess.cli.common import CLI_ACTOR, fail, invalid, load_runtime, out, print_json
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted, from_validation
from dueprocess.runtime import Runtime

review_app = typer.Typer(
    help="Review: compute a demand's risk flags; keep the protected-accounts list; "
    "list the deadline reminders due.",
    no_args_is_help=True,
)
protected_app = typer.Typer(
    help="The protected-accounts list (journalists, activists, lawyers, politicians): "
    "human-rights reviewers only, every read and change audited.",
    no_args_is_help=True,
)
review_app.add_typer(protected_app, name="protected")

AsOption = Annotated[
    str, typer.Option("--as", help="The e-mail of the person acting (a human-rights reviewer).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@contextmanager
def _work(runtime: Runtime) -> Iterator[Session]:
    """One transaction; a refusal exits 2 with its reason (nothing is written), 1 not found."""
    try:
        with runtime.sessions() as session, session.begin():
            yield session
    except InvalidInput as exc:
        invalid(exc)
    except (Conflict, NotPermitted) as exc:
        fail(f"refused, nothing was written: {exc}")
    except NotFound as exc:
        fail(f"not found: {exc}", 1)


def _person(session: Session, email: str) -> str:
    from dueprocess.accounts import service as accounts

    account = accounts.get_by_email(session, email)
    if account is None:
        fail(f"--as: there is no account {email}")
    return f"account:{account.id}"


@protected_app.command("add")
def protected_add(
    handle: Annotated[
        str,
        typer.Argument(help="@name, name, or the profile's URL (https://microblog.demo/@name)."),
    ],
    category: Annotated[str, typer.Option(help="journalist, activist, lawyer or politician.")],
    as_: AsOption,
    note: Annotated[
        str, typer.Option(help="Why the account is on the list (seen by its keepers only).")
    ] = "",
) -> None:
    """Put an account on the list; demands naming it are then flagged protected-account."""
    from dueprocess.review import protected

    try:
        data = protected.ProtectedIn.model_validate(
            {"handle": handle, "category": category, "note": note}
        )
    except ValidationError as exc:
        invalid(from_validation(exc.errors()))
    runtime = load_runtime()
    with _work(runtime) as session:
        row = protected.add(session, data, actor=_person(session, as_))
        shown = f"entry {row.id}: @{row.handle} is on the list as {row.category.value}"
    out.print(shown, markup=False, highlight=False)


@protected_app.command("remove")
def protected_remove(
    entry_id: Annotated[int, typer.Argument(metavar="ENTRY", help="The entry's id (see list).")],
    as_: AsOption,
) -> None:
    """Take an entry off the list (it stays on record, with who removed it and when)."""
    from dueprocess.review import protected

    runtime = load_runtime()
    with _work(runtime) as session:
        row = protected.remove(session, entry_id, actor=_person(session, as_))
        shown = f"entry {row.id}: @{row.handle} was taken off the list"
    out.print(shown, markup=False, highlight=False)


@protected_app.command("list")
def protected_list(
    as_: AsOption,
    include_removed: Annotated[
        bool, typer.Option("--all", help="Include entries taken off the list.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The list, newest first, with the keepers' notes."""
    from dueprocess.review import protected

    runtime = load_runtime()
    with _work(runtime) as session:
        rows = protected.list_entries(
            session, actor=_person(session, as_), via="cli", include_removed=include_removed
        )
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        out.print("nobody is on the list", markup=False)
        return
    table = Table("entry", "handle", "category", "note", "added", "removed")
    for r in rows:
        table.add_row(
            str(r.id),
            f"@{r.handle}",
            r.category.value,
            r.note,
            f"{r.added_at:%Y-%m-%d %H:%M} {r.added_by}",
            f"{r.removed_at:%Y-%m-%d %H:%M} {r.removed_by}" if r.removed_at else "",
        )
    out.print(table)


@review_app.command("flags")
def flags_command(
    demand_id: Annotated[int, typer.Argument(metavar="DEMAND", help="The demand's id.")],
    as_: Annotated[
        str | None, typer.Option("--as", help="The e-mail of the person asking (audited).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compute the demand's risk flags through the connectors (replacing its earlier ones)
    and print each with its evidence. Sets "human-rights review required" when a high flag
    is raised or the stance is escalate."""
    from dueprocess.demands import service as demands
    from dueprocess.review import flags

    runtime = load_runtime()
    with _work(runtime) as session:
        actor = _person(session, as_) if as_ else CLI_ACTOR
        computed = flags.compute(session, runtime.connectors, demand_id, actor=actor)
        shown = flags.shown(session, demands.get(session, demand_id))
    if as_json:
        print_json(shown.model_dump(mode="json"))
        return
    count = len(shown.flags)
    lines = [f"demand {demand_id}: {count} flag{'s' if count != 1 else ''}"]
    if computed.reasons:
        lines.append("human-rights review required: " + "; ".join(computed.reasons))
    elif shown.human_rights_required:
        lines.append("human-rights review required (marked before)")
    for flag in shown.flags:
        where = f"  [{flag.target}]" if flag.target else ""
        lines.append(f"\n{flag.level.value.upper():6} {flag.code}{where}")
        lines.append(f"       {flag.summary}")
        for item in flag.evidence:
            lines.append(f"       - {item['what']}")
            lines.append(f"         matched: {item['matched']}  (in {item['source']})")
            if "snippet" in item:
                lines.append(f"         text: {item['snippet']}")
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)


@review_app.command("reminders")
def reminders_command(
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="The moment to compute them for, ISO 8601 with its offset "
            "(default: now), e.g. 2020-07-10T09:00:00+08:00.",
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, max=100_000, help="At most this many.")
    ] = 1000,
    as_json: JsonOption = False,
) -> None:
    """The deadline reminders due now: for every open demand due within three days, or
    overdue, the one reminder its deadline calls for, earliest due first, with the penalty
    threatened and the assignee. Computed only: nothing is sent or marked as sent (sending
    comes with the actions work's durable jobs)."""
    from datetime import datetime

    from dueprocess.clock import as_utc, isoformat_z, utcnow
    from dueprocess.review import reminders

    now = utcnow()
    if at is not None:
        try:
            now = as_utc(datetime.fromisoformat(at))
        except ValueError as exc:
            fail(f"--at: {exc}" if "timezone" in str(exc) or "outside" in str(exc) else
                 f"--at: {at!r} is not an ISO 8601 date and time, such as "
                 "2020-07-10T09:00:00+08:00")  # fmt: skip
    runtime = load_runtime()
    with _work(runtime) as session:
        due = reminders.due_now(session, now, limit=limit)
    if as_json:
        print_json(
            [
                {
                    "demand": r.demand_id,
                    "reference": r.reference,
                    "authority": r.authority,
                    "status": r.status.value,
                    "due_at": isoformat_z(r.due_at),
                    "reminder": r.key,
                    "message": r.message,
                    "penalty": r.penalty,
                    "to": r.to,
                }
                for r in due
            ]
        )
        return
    if not due:
        out.print(f"no reminders due at {isoformat_z(now)}")
        return
    lines = [f"{len(due)} reminder{'s' if len(due) != 1 else ''} due at {isoformat_z(now)}"]
    for r in due:
        lines.append(
            f"\ndemand {r.demand_id}  {r.reference or '(no reference)'}  {r.authority}  "
            f"{r.status.value}\n  due {isoformat_z(r.due_at)}: {r.message}; "
            f"to {r.to or 'the queue (unassigned)'}"
        )
        if r.penalty:
            lines.append(f"  penalty threatened: {r.penalty}")
    out.print("\n".join(lines), markup=False, highlight=False, soft_wrap=True)
