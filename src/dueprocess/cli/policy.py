"""``dueprocess policy`` commands: validate, templates, propose, approve, reject, what-if,
history, active, jurisdictions. Thin: each opens one transaction and calls the policy service.

``--as EMAIL`` names the person acting (the CLI is run by an operator trusted with the
database; the account must hold the permission, and approving needs a second person).
Exit codes: 0 done; 1 not found; 2 refused (bad file, bad input, not permitted), with every
problem on standard error as ``file:line: field (rule "id"): message``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from dueprocess.accounts.permissions import Permission
from dueprocess.cli.common import fail, invalid, load_runtime, out, print_json
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.policy.fileformat import PolicyFileError, load_policy
from dueprocess.runtime import Runtime

policy_app = typer.Typer(
    help="Jurisdiction policy: validate a file, see what it would change, propose it, and have "
    "a second person approve it.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="A policy file (YAML); - reads standard input.")]
AsOption = Annotated[str, typer.Option("--as", help="The e-mail of the person acting.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _read(file: Path) -> str:
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read it as UTF-8 text ({exc})")


def _problems(exc: PolicyFileError, source: str) -> NoReturn:
    # One problem a line, never wrapped: editors and scripts parse ``file:line: ...``.
    fail("\n".join(problem.format(source) for problem in exc.problems))


@contextmanager
def _work(runtime: Runtime, source: str = "<policy>") -> Iterator[Session]:
    """One transaction; a refusal exits 2 with its reasons (nothing is written), 1 not found."""
    try:
        with runtime.sessions() as session, session.begin():
            yield session
    except PolicyFileError as exc:
        _problems(exc, source)
    except Conflict as exc:
        fail(f"refused, nothing was written: {exc}")
    except InvalidInput as exc:
        invalid(exc)
    except NotFound as exc:
        fail(f"not found: {exc}", 1)


def _actor(session: Session, email: str, permission: Permission, role: str) -> str:
    from dueprocess.accounts import service as accounts
    from dueprocess.accounts.permissions import permissions_of

    account = accounts.get_by_email(session, email)
    if account is None:
        fail(f"--as: there is no account {email}")
    if account.disabled or permission not in permissions_of(accounts.roles_of(account)):
        fail(f"--as: {account.email} does not hold {permission.value} (the {role} role)")
    return f"account:{account.id}"


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"--at: {value!r} is not a date (2020-07-06) or a time with its zone")
    if parsed.tzinfo is None:
        fail(f"--at: {value!r} has no timezone: add one (e.g. Z or +08:00)")
    return parsed


def _at(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "—"


@policy_app.command("validate")
def validate(file: FileArg) -> None:
    """Check a policy file. Exit 0 if usable, 2 listing every problem with its line."""
    source = str(file)
    try:
        document = load_policy(_read(file), source)
    except PolicyFileError as exc:
        _problems(exc, source)
    count = len(document.rules)
    out.print(
        f"valid: {count} rule{'s' if count != 1 else ''} ({document.name})",
        markup=False,
        highlight=False,
    )


@policy_app.command("templates")
def templates() -> None:
    """List the ready-made policies (July 2020), to start from with show-template."""
    from dueprocess.policy.templates import list_templates, load_template

    table = Table("template", "policy", "description")
    for name in list_templates():
        document = load_template(name)
        table.add_row(name, document.name, document.description or "")
    out.print(table)


@policy_app.command("show-template")
def show_template(
    name: Annotated[str, typer.Argument(help="A name from `policy templates`.")],
) -> None:
    """Print a template's file, comments included (redirect it to a file to edit it)."""
    from dueprocess.policy.templates import template_text

    try:
        text = template_text(name)
    except NotFound as exc:
        fail(str(exc), 1)
    sys.stdout.write(text)


@policy_app.command("propose")
def propose(
    file: FileArg,
    reason: Annotated[str, typer.Option(help="Why this version is proposed (kept with it).")],
    as_: AsOption,
) -> None:
    """Store a new version, to be approved by another person. Refused whole if the file has
    any problem."""
    from dueprocess.policy import service as policy

    text = _read(file)
    runtime = load_runtime()
    with _work(runtime, str(file)) as session:
        actor = _actor(session, as_, Permission.POLICY_PROPOSE, "policy-owner")
        version = policy.propose(session, text, str(file), reason, actor=actor)
    out.print(
        f"version {version.id} proposed: {version.name}\n"
        f"  sha256 {version.source_sha256}\n"
        f"  see what it would change: dueprocess policy whatif {file}\n"
        f"  another person activates it: dueprocess policy approve {version.id} --as EMAIL",
        markup=False,
        highlight=False,
    )


@policy_app.command("approve")
def approve(
    version_id: Annotated[int, typer.Argument(metavar="VERSION", help="The version's id.")],
    as_: AsOption,
) -> None:
    """Approve and activate a proposed version (not your own): every open demand is
    re-evaluated now, and moved, replied to and audited where its stance changes."""
    from dueprocess.policy import service as policy

    runtime = load_runtime()
    with _work(runtime) as session:
        actor = _actor(session, as_, Permission.POLICY_APPROVE, "approver or policy-owner")
        result = policy.approve(session, version_id, actor=actor)
    previous = f" (supersedes version {result.previous_version})" if result.previous_version else ""
    out.print(
        f"version {result.version.id} is active from {_at(result.at)}{previous}\n"
        f"  open demands re-evaluated: {result.evaluated}; stance changed: {result.changed}",
        markup=False,
        highlight=False,
    )
    for t in result.transitions:
        out.print(f"  {t.from_stance} -> {t.to_stance}: {t.count}", markup=False)
    for m in result.moves:
        out.print(f"  moved {m.from_status} -> {m.to_status}: {m.count}", markup=False)
    for r in result.replies:
        out.print(f"  {r.name} replies queued: {r.count}", markup=False)


@policy_app.command("reject")
def reject(
    version_id: Annotated[int, typer.Argument(metavar="VERSION", help="The version's id.")],
    reason: Annotated[str, typer.Option(help="Why it is rejected (audited).")],
    as_: AsOption,
) -> None:
    """Reject a proposed version (its author may withdraw it the same way)."""
    from dueprocess.accounts import service as accounts
    from dueprocess.policy import service as policy

    runtime = load_runtime()
    with _work(runtime) as session:
        account = accounts.get_by_email(session, as_)
        if account is None:
            fail(f"--as: there is no account {as_}")
        version = policy.reject(session, version_id, reason, actor=f"account:{account.id}")
    out.print(f"version {version.id} rejected", markup=False)


@policy_app.command("whatif")
def whatif(
    file: FileArg,
    as_json: JsonOption = False,
    at: Annotated[
        str | None, typer.Option(help="As if activated then (default: now), e.g. 2020-07-06.")
    ] = None,
    limit: Annotated[
        int, typer.Option(help="List at most this many demands per list (0: all).", min=0)
    ] = 50,
) -> None:
    """Show, before activating FILE, which open demands would change stance and how, and
    which deadlines would pass while they are paused. Writes nothing."""
    from dueprocess.policy import whatif as policy_whatif

    text = _read(file)
    when = _when(at)
    runtime = load_runtime()
    with _work(runtime, str(file)) as session:
        result = policy_whatif.whatif(
            session, text, at=when, limit=limit or None, source_name=str(file)
        )
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    say = out.print
    say(f'what-if: "{result.policy}" as of {_at(result.at)}', markup=False, highlight=False)
    say(f"  open demands: {result.open_demands}; would change stance: {result.changing}")
    for t in result.transitions:
        say(f"  {t.from_stance} -> {t.to_stance}: {t.count}", markup=False)
    for m in result.moves:
        say(f"  status {m.from_status} -> {m.to_status}: {m.count}", markup=False)
    for r in result.replies:
        say(f"  {r.name} replies would be queued: {r.count}", markup=False)
    if result.changes:
        table = Table("id", "jurisdiction", "authority", "kind", "status", "stance", "rule")
        for c in result.changes:
            table.add_row(
                str(c.demand_id),
                c.jurisdiction,
                c.authority,
                c.kind,
                f"{c.status} -> {c.status_after}",
                f"{c.from_stance} -> {c.to_stance}",
                c.rule_id or "(default)",
            )
        out.print(table)
        if result.changes_truncated:
            say(f"  ... {result.changing - len(result.changes)} more (--limit 0 lists all)")
    say(
        f"deadlines that would pass while paused: {result.deadlines_missed} "
        f"(already passed before the pause: {result.deadlines_already_passed})"
    )
    if result.deadlines:
        table = Table("id", "jurisdiction", "authority", "kind", "deadline", "penalty")
        for d in result.deadlines:
            table.add_row(
                str(d.demand_id),
                d.jurisdiction,
                d.authority,
                d.kind,
                _at(d.deadline),
                d.penalty or "none stated",
            )
        out.print(table)


@policy_app.command("history")
def history(as_json: JsonOption = False) -> None:
    """Every version, newest first: status, author, approver, times and reason."""
    from dueprocess.policy import service as policy

    runtime = load_runtime()
    with _work(runtime) as session:
        rows = policy.versions_out(session)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("id", "status", "policy", "author", "approver", "proposed", "in force from")
    for r in rows:
        table.add_row(
            str(r.id),
            r.status.value,
            r.name,
            r.author_email or r.author,
            r.approver_email or r.approver or "",
            _at(r.created_at),
            _at(r.effective_from),
        )
    out.print(table)


@policy_app.command("active")
def active(
    as_json: JsonOption = False,
    show_text: Annotated[bool, typer.Option("--text", help="Print the version's file.")] = False,
) -> None:
    """The version in force and its rules."""
    from dueprocess.policy import service as policy

    runtime = load_runtime()
    with _work(runtime) as session:
        shown = policy.active_out(session)
    if as_json:
        print_json(shown.model_dump(mode="json", by_alias=True))
        return
    if shown.version is None:
        out.print("no policy is active: every demand is processed")
        return
    if show_text:
        sys.stdout.write(shown.version.source)
        return
    v = shown.version
    out.print(
        f'version {v.id}: "{v.name}", in force from {_at(v.effective_from)}\n'
        f"  proposed by {v.author_email or v.author}, approved by {v.approver_email or v.approver}"
        f"\n  default stance: {shown.default}",
        markup=False,
        highlight=False,
    )
    table = Table("rule", "jurisdiction", "applies to", "from", "until", "stance", "condition")
    for r in shown.rules:
        scope = ", ".join([*(r.kinds or []), *(r.legal_processes or [])]) or "all demands"
        if r.authority:
            scope = f"{r.authority}: {scope}"
        table.add_row(
            r.id, r.jurisdiction, scope, _at(r.starts), _at(r.ends), r.stance, r.condition or ""
        )
    out.print(table)


@policy_app.command("jurisdictions")
def jurisdictions(
    as_json: JsonOption = False,
    every_country: Annotated[
        bool, typer.Option("--all", help="Every ISO country, not only those with rules or demands.")
    ] = False,
) -> None:
    """Each jurisdiction's stance now under the active policy, and since when."""
    from dueprocess.policy import whatif as policy_whatif

    runtime = load_runtime()
    with _work(runtime) as session:
        rows = policy_whatif.jurisdiction_table(session, every_country=every_country)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table("jurisdiction", "stance", "condition / applies to", "since", "open", "demands")
    for r in rows:
        detail = "; ".join(
            f"{a.stance}: {a.applies_to}" if len(r.answers) > 1 else (a.condition or "")
            for a in r.answers
        )
        table.add_row(
            f"{r.name} ({r.jurisdiction})",
            r.stance,
            detail,
            _at(r.since),
            str(r.open_demands),
            str(r.demands),
        )
    out.print(table)
