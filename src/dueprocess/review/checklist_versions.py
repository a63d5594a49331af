"""Checklist versions: the shipped defaults, proposals, and four-eyes activation.

Plain functions taking a session; they never commit (the caller at the edge commits once; a
refusal raises before anything is written). :mod:`dueprocess.review.checklists` is the entry
point others call; it re-exports these.

A checklist is data: a file (:mod:`dueprocess.review.checklist_file`) stored as a
:class:`~dueprocess.review.models.ChecklistVersion`. :func:`propose` (``checklists:propose``,
the policy owner) stores a new version of its kind; :func:`approve` by *another* person
holding ``checklists:approve`` activates it and retires the version it replaces;
:func:`reject` closes a proposal (its proposer may withdraw it the same way). The defaults
shipped with dueprocess (``review/checklists/*.yaml``) are installed as version 1 of each kind
by :func:`install_defaults`, which ``dueprocess init`` and the demo call; :func:`active`
installs them too if it finds no active version, so a demand can never leave review unchecked
because nobody installed a checklist. Every step is audited: ``checklist.installed``,
``checklist.proposed``, ``checklist.approved`` (naming the version it retired, which gets
``checklist.retired``), ``checklist.rejected``; each records the content's SHA-256
(:func:`~dueprocess.review.checklist_file.content_digest`), which the version's page shows.

Proposing, approving and installing take a per-kind lock (PostgreSQL advisory lock; SQLite
serialises writers already), so two approvals at once cannot leave two versions active.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Account
from dueprocess.accounts.permissions import Permission, permissions_of
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted
from dueprocess.review.checklist_file import (
    ChecklistDocument,
    Question,
    content_digest,
    load_checklist,
    text_problem,
)
from dueprocess.review.checklist_schemas import MAX_REASON
from dueprocess.review.models import ChecklistKind, ChecklistStatus, ChecklistVersion

K = ChecklistKind
#: Who installs the shipped defaults, in the audit log.
INSTALLER = "system:checklists"
#: The files of the shipped defaults, in the package (``review/checklists/``).
DEFAULT_FILES = {K.LEGAL: "legal.yaml", K.HUMAN_RIGHTS: "human-rights.yaml"}
#: The largest id a row can have (SQL INTEGER); a larger one names nothing.
MAX_ROW_ID = 2_147_483_647
_LOCK_KEYS = {K.LEGAL: 0x636B_6C69_7374_01, K.HUMAN_RIGHTS: 0x636B_6C69_7374_02}


def person(session: Session, actor: str, permission: Permission, doing: str) -> Account:
    account = accounts.account_of_actor(session, actor)
    if account is None:
        raise NotPermitted(f"{doing} must be done by a person's account, not {actor!r}")
    if account.disabled or permission not in permissions_of(accounts.roles_of(account)):
        raise NotPermitted(f"{account.email} does not hold the {permission.value} permission")
    return account


def _lock(session: Session, kind: ChecklistKind) -> None:
    """Serialise proposing, activating and installing versions of one kind (PostgreSQL; on
    SQLite every write transaction is serialised already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEYS[kind]})


def default_text(kind: ChecklistKind) -> str:
    """The shipped default checklist file of ``kind``, comments included."""
    folder = files("dueprocess.review").joinpath("checklists")
    return folder.joinpath(DEFAULT_FILES[kind]).read_text(encoding="utf-8")


def default_document(kind: ChecklistKind) -> ChecklistDocument:
    """The shipped default checklist of ``kind``, checked."""
    return load_checklist(default_text(kind), f"review/checklists/{DEFAULT_FILES[kind]}")


def questions_of(version: ChecklistVersion) -> tuple[Question, ...]:
    """The version's questions, in order."""
    return tuple(Question.of(q) for q in version.questions)


def document_of(version: ChecklistVersion) -> ChecklistDocument:
    """The version as a checklist document (``dump_checklist`` turns it into a file)."""
    return ChecklistDocument(version.title, version.kind, questions_of(version))


def digest_of(version: ChecklistVersion) -> str:
    """SHA-256 of the version's content, as its audit events record it."""
    return content_digest(version.title, version.kind, version.questions)


def _subject(version: ChecklistVersion) -> str:
    return f"checklist_version:{version.id}"


def _next_number(session: Session, kind: ChecklistKind) -> int:
    numbers = session.scalars(select(ChecklistVersion.version).where(ChecklistVersion.kind == kind))
    return max(numbers, default=0) + 1


def _find_active(session: Session, kind: ChecklistKind) -> ChecklistVersion | None:
    query = select(ChecklistVersion).where(
        ChecklistVersion.kind == kind, ChecklistVersion.status == ChecklistStatus.ACTIVE
    )
    return session.scalar(query)


def _install(session: Session, kind: ChecklistKind) -> ChecklistVersion:
    """The active version of ``kind``, installing the shipped default if there is none."""
    _lock(session, kind)
    found = _find_active(session, kind)
    if found is not None:
        return found
    document = default_document(kind)
    now = utcnow()
    version = ChecklistVersion(
        kind=kind,
        version=_next_number(session, kind),
        title=document.title,
        questions=document.stored_questions(),
        reason="The default checklist shipped with dueprocess.",
        status=ChecklistStatus.ACTIVE,
        proposed_by=None,
        proposed_at=now,
        decided_by=None,
        decided_at=now,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=INSTALLER,
        action="checklist.installed",
        subject=_subject(version),
        data={
            "kind": kind.value,
            "version": version.version,
            "title": version.title,
            "questions": len(document.questions),
            "sha256": document.digest(),
            "file": f"review/checklists/{DEFAULT_FILES[kind]}",
        },
    )
    return version


def install_defaults(session: Session) -> list[ChecklistVersion]:
    """Install the shipped default of each kind that has no active version; returns those
    installed (none if every kind has one). Safe to call on every start."""
    installed = []
    for kind in ChecklistKind:
        if _find_active(session, kind) is None:
            installed.append(_install(session, kind))
    return installed


def active(session: Session, kind: ChecklistKind) -> ChecklistVersion:
    """The active version of ``kind`` (the shipped default is installed if none is)."""
    return _find_active(session, kind) or _install(session, kind)


def get_version(session: Session, version_id: int) -> ChecklistVersion:
    """The version, or :class:`NotFound`."""
    if not 1 <= version_id <= MAX_ROW_ID:
        raise NotFound(f"checklist version {version_id}")
    version = session.get(ChecklistVersion, version_id)
    if version is None:
        raise NotFound(f"checklist version {version_id}")
    return version


def history(session: Session, kind: ChecklistKind | None = None) -> list[ChecklistVersion]:
    """Every version (of ``kind``, or of both), newest first."""
    query = select(ChecklistVersion).order_by(ChecklistVersion.id.desc())
    if kind is not None:
        query = query.where(ChecklistVersion.kind == kind)
    return list(session.scalars(query))


# --- versions: propose, approve, reject ---------------------------------------------------------


def _reason(reason: str, doing: str) -> str:
    reason = reason.strip()
    problem = text_problem(reason)
    if problem is not None:
        raise InvalidInput.one(("reason",), problem)
    if not reason:
        raise InvalidInput.one(("reason",), f"say why this version is {doing}")
    if len(reason) > MAX_REASON:
        raise InvalidInput.one(("reason",), f"at most {MAX_REASON} characters")
    return reason


def propose(
    session: Session, source: str, source_name: str, reason: str, *, actor: str
) -> ChecklistVersion:
    """Store a new proposed version of the checklist the file names, to be approved by
    someone else.

    Refuses, writing nothing: an actor without ``checklists:propose`` (:class:`NotPermitted`),
    an empty reason, a file identical to the active version (:class:`InvalidInput`), or a
    file with any problem (:class:`~dueprocess.review.checklist_file.ChecklistFileError`,
    each problem with its line).
    """
    account = person(session, actor, Permission.CHECKLISTS_PROPOSE, "proposing a checklist")
    reason = _reason(reason, "proposed")
    if text_problem(source_name) is not None or len(source_name) > 200:
        source_name = "<checklist>"
    document = load_checklist(source.replace("\r\n", "\n").replace("\r", "\n"), source_name)
    current = active(session, document.kind)
    _lock(session, document.kind)
    if digest_of(current) == document.digest():
        raise InvalidInput.one(
            ("text",),
            f"identical to version {current.version} of the {document.kind.value} checklist, "
            "which is active: nothing to propose",
        )
    version = ChecklistVersion(
        kind=document.kind,
        version=_next_number(session, document.kind),
        title=document.title,
        questions=document.stored_questions(),
        reason=reason,
        status=ChecklistStatus.PROPOSED,
        proposed_by=account.id,
        proposed_at=utcnow(),
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="checklist.proposed",
        subject=_subject(version),
        data={
            "kind": version.kind.value,
            "version": version.version,
            "title": version.title,
            "questions": len(document.questions),
            "sha256": document.digest(),
            "file": source_name,
            "reason": reason,
        },
    )
    return version


def _proposed(session: Session, version_id: int) -> ChecklistVersion:
    version = get_version(session, version_id)
    if version.status is not ChecklistStatus.PROPOSED:
        raise Conflict(
            f"checklist version {version_id} ({version.kind.value} {version.version}) is "
            f"{version.status.value}: only a proposed version can be approved or rejected"
        )
    return version


@dataclass(frozen=True)
class Activation:
    """What :func:`approve` did: the version now active, and the one it retired."""

    version: ChecklistVersion
    retired: ChecklistVersion | None


def approve(session: Session, version_id: int, *, actor: str) -> Activation:
    """Activate a proposed version, approved by a second person; the active version of its
    kind is retired. From now on answers are given to it; answers to its unchanged
    questions carry over (module docstring).

    Refuses, writing nothing: an approver without ``checklists:approve``, or who proposed
    the version (four eyes) (:class:`NotPermitted`); a version not proposed
    (:class:`Conflict`); an unknown version (:class:`NotFound`).
    """
    account = person(session, actor, Permission.CHECKLISTS_APPROVE, "approving a checklist")
    version = get_version(session, version_id)
    _lock(session, version.kind)
    session.refresh(version)
    version = _proposed(session, version_id)
    if version.proposed_by == account.id:
        raise NotPermitted(
            f"four eyes: checklist version {version.id} was proposed by you; another person "
            f"with the {Permission.CHECKLISTS_APPROVE.value} permission must approve it"
        )
    previous = _find_active(session, version.kind)
    now = utcnow()
    if previous is not None:
        previous.status = ChecklistStatus.RETIRED
        session.flush()
    version.status = ChecklistStatus.ACTIVE
    version.decided_by = account.id
    version.decided_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="checklist.approved",
        subject=_subject(version),
        data={
            "kind": version.kind.value,
            "version": version.version,
            "sha256": digest_of(version),
            "proposed_by": f"account:{version.proposed_by}",
            "retired": previous.id if previous is not None else None,
        },
    )
    if previous is not None:
        audit.record(
            session,
            actor=actor,
            action="checklist.retired",
            subject=_subject(previous),
            data={"kind": previous.kind.value, "version": previous.version, "by": version.id},
        )
    return Activation(version, previous)


def reject(session: Session, version_id: int, reason: str, *, actor: str) -> ChecklistVersion:
    """Close a proposed version without activating it (its proposer may withdraw it too).

    Refuses: an actor who is neither its proposer nor holds ``checklists:approve``
    (:class:`NotPermitted`), an empty reason (:class:`InvalidInput`), a version not proposed
    (:class:`Conflict`)."""
    version = get_version(session, version_id)
    _lock(session, version.kind)  # not at the same time as an approval of it
    session.refresh(version)
    version = _proposed(session, version_id)
    account = accounts.account_of_actor(session, actor)
    if account is None or account.id != version.proposed_by:
        account = person(session, actor, Permission.CHECKLISTS_APPROVE, "rejecting a checklist")
    reason = _reason(reason, "rejected")
    version.status = ChecklistStatus.REJECTED
    version.decided_by = account.id
    version.decided_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="checklist.rejected",
        subject=_subject(version),
        data={"kind": version.kind.value, "version": version.version, "reason": reason},
    )
    return version
