"""``dueprocess checklist`` commands: show, validate, propose, approve, reject, history.
Thin: each opens one transaction and calls :mod:`dueprocess.review.checklists`.

``--as EMAIL`` names the person acting (the CLI is run by an operator trusted with the
database; the account must hold the permission, and approving needs a second person).
Exit codes: 0 done; 1 not found; 2 refused (bad file, bad input, not permitted, four eyes),
with every problem on standard error as ``file:line: field (question "id"): message``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from dueprocess.cli.common import fail, invalid, load_runtime, out, print_json
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted
from dueprocess.review.checklist_file import ChecklistFileError, load_checklist
from dueprocess.review.models import ChecklistKind
from dueprocess.runtime import Runtime

checklist_app = typer.Typer(
    help="Review checklists: show the active ones, validate a file, propose it, and have a "
    "second person approve it.",
    no_args_is_help=True,
)

FileArg = Annotated[Path, typer.Argument(help="A checklist file (YAML); - reads standard input.")]
AsOption = Annotated[str, typer.Option("--as", help="The e-mail of the person acting.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
VersionArg = Annotated[int, typer.Argument(metavar="ID", help="The version's id (history).")]


def _read(file: Path) -> str:
    if str(file) == "-":
        return sys.stdin.read()
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{file}: cannot read it as UTF-8 text ({exc})")


def _problems(exc: ChecklistFileError, source: str) -> NoReturn:
    # One problem a line, never wrapped: editors and scripts parse ``file:line: ...``.
    fail("\n".join(problem.format(source) for problem in exc.problems))


@contextmanager
def _work(runtime: Runtime, source: str = "<checklist>") -> Iterator[Session]:
    """One transaction; a refusal exits 2 with its reasons (nothing is written), 1 not found."""
    try:
        with runtime.sessions() as session, session.begin():
            yield session
    except ChecklistFileError as exc:
        _problems(exc, source)
    except (Conflict, NotPermitted) as exc:
        fail(f"refused, nothing was written: {exc}")
    except InvalidInput as exc:
        invalid(exc)
    except NotFound as exc:
        fail(f"not found: {exc}", 1)


def _actor(session: Session, email: str) -> str:
    """The person ``--as`` names (the service checks what they may do)."""
    from dueprocess.accounts import service as accounts

    account = accounts.get_by_email(session, email)
    if account is None:
        fail(f"--as: there is no account {email}")
    return f"account:{account.id}"


def _say(text: str) -> None:
    out.print(text, markup=False, highlight=False, soft_wrap=True)


@checklist_app.command("show")
def show(
    kind: Annotated[
        ChecklistKind | None, typer.Argument(help="legal or human-rights (default: both).")
    ] = None,
    as_yaml: Annotated[
        bool, typer.Option("--yaml", help="Print the file, to edit and propose (needs KIND).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The active checklist of KIND (or both): its version and questions."""
    from dueprocess.review import checklists
    from dueprocess.review.checklist_file import dump_checklist

    if as_yaml and kind is None:
        fail("--yaml: name the checklist, e.g. dueprocess checklist show legal --yaml")
    runtime = load_runtime()
    kinds = [kind] if kind is not None else list(ChecklistKind)
    with _work(runtime) as session:
        shown = [checklists.version_out(session, checklists.active(session, k)) for k in kinds]
        text = dump_checklist(checklists.document_of(checklists.active(session, kinds[0])))
    if as_yaml:
        sys.stdout.write(text)
        return
    if as_json:
        print_json([v.model_dump(mode="json") for v in shown])
        return
    for v in shown:
        who = f"approved by {v.decided_by}" if v.decided_by else "the shipped default, installed"
        _say(f"{v.title}: {v.kind.value} checklist version {v.version} (id {v.id}), active")
        _say(f"  {who} {v.decided_at:%Y-%m-%d %H:%M} UTC")
        _say(f"  sha256 {v.sha256}")
        table = Table("#", "id", "question", "required")
        for number, q in enumerate(v.questions, 1):
            table.add_row(str(number), q.id, q.text, "yes" if q.required else "no")
        out.print(table)


@checklist_app.command("validate")
def validate(file: FileArg) -> None:
    """Check a checklist file. Exit 0 if usable, 2 listing every problem with its line."""
    source = str(file)
    try:
        document = load_checklist(_read(file), source)
    except ChecklistFileError as exc:
        _problems(exc, source)
    count = len(document.questions)
    required = sum(q.required for q in document.questions)
    _say(
        f"valid: {document.kind.value} checklist, {count} question{'s' if count != 1 else ''} "
        f"({required} required): {document.title}"
    )


@checklist_app.command("propose")
def propose(
    file: FileArg,
    as_: AsOption,
    reason: Annotated[str, typer.Option(help="Why this version is proposed (kept with it).")],
) -> None:
    """Store a new version of the checklist the file names, to be approved by another
    person. Refused whole if the file has any problem."""
    from dueprocess.review import checklists

    text = _read(file)
    runtime = load_runtime()
    with _work(runtime, str(file)) as session:
        version = checklists.propose(session, text, str(file), reason, actor=_actor(session, as_))
        shown = checklists.version_out(session, version)
    _say(
        f"{shown.kind.value} checklist version {shown.version} proposed (id {shown.id}): "
        f"{shown.title}\n  sha256 {shown.sha256}\n"
        f"  another person activates it: dueprocess checklist approve {shown.id} --as EMAIL"
    )


@checklist_app.command("approve")
def approve(version_id: VersionArg, as_: AsOption) -> None:
    """Approve and activate a proposed version (not your own); the active version of its
    kind is retired, and answers to its unchanged questions carry over."""
    from dueprocess.review import checklists

    runtime = load_runtime()
    with _work(runtime) as session:
        done = checklists.approve(session, version_id, actor=_actor(session, as_))
        kind, number = done.version.kind.value, done.version.version
        line = f"{kind} checklist version {number} (id {version_id}) is active"
        if done.retired is not None:
            changes, dropped = checklists.compare(done.version, done.retired)
            kept = sum(c.change == "unchanged" for c in changes)
            line += (
                f"; version {done.retired.version} is retired\n"
                f"  answers carry over for {kept} unchanged question{'s' if kept != 1 else ''};"
                f" {len(changes) - kept} new or changed must be answered; {len(dropped)} dropped"
            )
    _say(line)


@checklist_app.command("reject")
def reject(
    version_id: VersionArg,
    as_: AsOption,
    reason: Annotated[str, typer.Option(help="Why it is rejected (audited).")],
) -> None:
    """Reject a proposed version (its proposer may withdraw it the same way)."""
    from dueprocess.review import checklists

    runtime = load_runtime()
    with _work(runtime) as session:
        version = checklists.reject(session, version_id, reason, actor=_actor(session, as_))
        kind, number = version.kind.value, version.version
    _say(f"{kind} checklist version {number} (id {version_id}) rejected")


@checklist_app.command("history")
def history(
    kind: Annotated[
        ChecklistKind | None, typer.Argument(help="legal or human-rights (default: both).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every version, newest first: status, who proposed and decided it, when, and why."""
    from dueprocess.review import checklists

    runtime = load_runtime()
    with _work(runtime) as session:
        rows = checklists.versions_out(session, kind)
    if as_json:
        print_json([r.model_dump(mode="json") for r in rows])
        return
    table = Table()
    for name in ("id", "checklist", "status"):
        table.add_column(name, no_wrap=True)
    for name in ("proposed by", "decided by", "decided (UTC)", "reason"):
        table.add_column(name)
    for r in rows:
        table.add_row(
            str(r.id),
            f"{r.kind.value} {r.version}",
            r.status.value,
            r.proposed_by or "shipped default",
            r.decided_by or "",
            f"{r.decided_at:%Y-%m-%d %H:%M}" if r.decided_at else "",
            r.reason,
        )
    out.print(table)
