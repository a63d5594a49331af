"""Checklists: the service others call (the core's moves, the routes, the CLI, the demo).

Plain functions taking a session; they never commit. The caller at the edge (one request,
one command) commits once; a refusal raises before anything is written. Versions (the
shipped defaults, proposals, four-eyes activation) are in
:mod:`dueprocess.review.checklist_versions` and re-exported here.

Answers
    :func:`answer` records one answer (yes, no, not applicable) and its note to one question
    of the *active* version, by a holder of ``review:legal`` (legal checklist) or
    ``review:human-rights`` (human-rights checklist), while the demand is in that review
    (``legal-review``, ``human-rights-review``). Not earlier: the checklist is the record of
    the review, made by the person responsible for that stage, and a demand in ``received``
    has not yet passed intake's checks (who sent it, call-backs). Not on a closed demand
    (withdrawn, refused, redirected, decided, acting, done). Answers already given stay when
    the demand moves on, and can be changed if it comes back (an approver returning it to
    legal review). A note is required: an answer without its reason is not a record anyone
    can check later. A new answer to a question replaces the demand's previous answer to it;
    the audit log keeps each one (``review.checklist_answered``, with the note's SHA-256, not
    the note: a note may describe the user and their speech, and stays in the database, where
    the hash proves it unchanged, while the log is exported to auditors).

Carry-over
    When a version is activated, an answer given to the previous version counts for the new
    one if the question is unchanged: same id and same text. It carries on through later
    versions for as long as the question stays unchanged; a version that changes or drops
    the question breaks the chain. Nothing is copied: :func:`counted_answers` works it out
    from the versions in the order they were activated.

Leaving review
    The moves that take a demand out of review call :func:`require_complete` (or
    :func:`missing_required`) for the checklist of that review (``docs/review.md``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.permissions import Permission
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.review import checklist_versions as versions
from dueprocess.review.checklist_file import Question, text_problem
from dueprocess.review.checklist_schemas import (
    MAX_NOTE,
    AnswerOut,
    DemandChecklistOut,
    ItemOut,
    QuestionOut,
    VersionOut,
)
from dueprocess.review.checklist_versions import (
    INSTALLER as INSTALLER,
    Activation as Activation,
    active as active,
    approve as approve,
    default_document as default_document,
    default_text as default_text,
    digest_of as digest_of,
    document_of as document_of,
    get_version as get_version,
    history as history,
    install_defaults as install_defaults,
    propose as propose,
    questions_of,
    reject as reject,
)
from dueprocess.review.models import (
    Answer,
    ChecklistAnswer,
    ChecklistKind,
    ChecklistStatus,
    ChecklistVersion,
)

K = ChecklistKind
S = DemandStatus
#: The review in which each checklist is answered.
REVIEW_STATUS = {K.LEGAL: S.LEGAL_REVIEW, K.HUMAN_RIGHTS: S.HUMAN_RIGHTS_REVIEW}
#: Who may answer each checklist.
ANSWER_PERMISSION = {
    K.LEGAL: Permission.REVIEW_LEGAL,
    K.HUMAN_RIGHTS: Permission.REVIEW_HUMAN_RIGHTS,
}
#: Demands whose checklists can no longer change.
CLOSED = frozenset({S.WITHDRAWN, S.REFUSED, S.REDIRECTED, S.DECIDED, S.ACTING, S.DONE})


class ChecklistIncomplete(Conflict):
    """A demand cannot leave review: required questions of its checklist are unanswered."""

    def __init__(self, demand_id: int, kind: ChecklistKind, missing: list[Question]) -> None:
        self.missing = missing
        ids = ", ".join(q.id for q in missing)
        super().__init__(
            f"demand {demand_id}: the {kind.value} checklist has {len(missing)} required "
            f"question{'s' if len(missing) != 1 else ''} unanswered: {ids}"
        )


# --- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """The answer that counts for a question of the active version, and the version it was
    given to (``carried_over``: an earlier one, whose question was the same)."""

    row: ChecklistAnswer
    version: ChecklistVersion
    carried_over: bool


def activated(session: Session, kind: ChecklistKind) -> list[ChecklistVersion]:
    """The versions of ``kind`` that have been in force, the active one first, then the
    retired ones from the most recently activated back."""
    current = versions.active(session, kind)
    query = (
        select(ChecklistVersion)
        .where(
            ChecklistVersion.kind == kind,
            ChecklistVersion.status == ChecklistStatus.RETIRED,
        )
        .order_by(ChecklistVersion.decided_at.desc(), ChecklistVersion.id.desc())
    )
    return [current, *session.scalars(query)]


def counted_answers(
    session: Session, demand_id: int, kind: ChecklistKind
) -> tuple[ChecklistVersion, dict[str, Counted]]:
    """The active version of ``kind`` and, for each of its questions answered for the demand,
    the answer that counts: the newest one given to this version or, while the question
    stayed unchanged (same id and text), to the versions before it."""
    chain = activated(session, kind)
    rows = session.scalars(
        select(ChecklistAnswer).where(
            ChecklistAnswer.demand_id == demand_id,
            ChecklistAnswer.checklist_version_id.in_([v.id for v in chain]),
        )
    )
    given: dict[tuple[int, str], ChecklistAnswer] = {
        (row.checklist_version_id, row.question_id): row for row in rows
    }
    current = chain[0]
    counted: dict[str, Counted] = {}
    for question in questions_of(current):
        found: list[Counted] = []
        for version in chain:
            same = next((q for q in questions_of(version) if q.id == question.id), None)
            if same is None or same.text != question.text:
                break
            row = given.get((version.id, question.id))
            if row is not None:
                found.append(Counted(row, version, version.id != current.id))
        if found:
            counted[question.id] = max(found, key=lambda c: (c.row.answered_at, c.row.id))
    return current, counted


def missing_required(session: Session, demand_id: int, kind: ChecklistKind) -> list[Question]:
    """The required questions of the active ``kind`` checklist that have no answer counting
    for the demand, in the checklist's order (empty: the checklist is complete)."""
    current, counted = counted_answers(session, demand_id, kind)
    return [q for q in questions_of(current) if q.required and q.id not in counted]


def require_complete(session: Session, demand_id: int, kind: ChecklistKind) -> None:
    """Refuse (:class:`ChecklistIncomplete`, a :class:`Conflict` naming each question) if a
    required question of the ``kind`` checklist is unanswered for the demand."""
    missing = missing_required(session, demand_id, kind)
    if missing:
        raise ChecklistIncomplete(demand_id, kind, missing)


def _demand(session: Session, demand_id: int) -> Demand:
    if not 1 <= demand_id <= versions.MAX_ROW_ID:
        raise NotFound(f"demand {demand_id}")
    return demands.get(session, demand_id)


def why_not_answerable(status: DemandStatus, kind: ChecklistKind) -> str | None:
    """Why a demand in ``status`` cannot have its ``kind`` checklist answered (None: it can)."""
    if status in CLOSED:
        return f"the demand is {status.value}: its checklists are closed"
    if status is not REVIEW_STATUS[kind]:
        return (
            f"the {kind.value} checklist is answered while the demand is in "
            f"{REVIEW_STATUS[kind].value}; it is {status.value}"
        )
    return None


def _note(note: str) -> str:
    note = note.replace("\r\n", "\n").replace("\r", "\n").strip()
    problem = text_problem(note)
    if problem is not None:
        raise InvalidInput.one(("note",), problem)
    if not note:
        raise InvalidInput.one(("note",), "required: say what you checked and why you answered so")
    if len(note) > MAX_NOTE:
        raise InvalidInput.one(("note",), f"at most {MAX_NOTE} characters")
    return note


def _answerable_version(
    session: Session, kind: ChecklistKind, version_id: int, question_id: str
) -> tuple[ChecklistVersion, Question]:
    """The version the answer names, if it is the active one of ``kind``, and its question;
    otherwise a refusal naming the problem."""
    found = None
    if 1 <= version_id <= versions.MAX_ROW_ID:
        found = session.scalar(
            select(ChecklistVersion)
            .where(ChecklistVersion.id == version_id)
            .with_for_update(read=True)
        )
    if found is None:
        raise InvalidInput.one(("version_id",), f"there is no checklist version {version_id}")
    if found.kind is not kind:
        raise InvalidInput.one(
            ("version_id",),
            f"checklist version {version_id} is a {found.kind.value} checklist, not {kind.value}",
        )
    if found.status is not ChecklistStatus.ACTIVE:
        current = versions.active(session, kind)
        same = next((q for q in questions_of(current) if q.id == question_id), None)
        old = next((q for q in questions_of(found) if q.id == question_id), None)
        if same is None:
            fate = f"question {question_id!r} is not in it"
        elif old is not None and old.text == same.text:
            fate = f"question {question_id!r} is unchanged in it (answers to it carry over)"
        else:
            fate = f"question {question_id!r} reads differently in it: read it again"
        raise Conflict(
            f"{kind.value} checklist version {found.version} is {found.status.value}, not "
            f"active: answer version {current.version} (id {current.id}), the active one; "
            f"{fate}"
        )
    question = next((q for q in questions_of(found) if q.id == question_id), None)
    if question is None:
        known = ", ".join(q.id for q in questions_of(found))
        raise InvalidInput.one(
            ("question",),
            f"{kind.value} checklist version {found.version} has no question {question_id!r}; "
            f"its questions are: {known}",
        )
    return found, question


def answer(
    session: Session,
    demand_id: int,
    kind: ChecklistKind,
    *,
    version_id: int,
    question_id: str,
    value: Answer,
    note: str,
    actor: str,
) -> ChecklistAnswer:
    """Record ``actor``'s answer to one question of the active ``kind`` checklist for a
    demand, replacing the demand's previous answer to it; audited as
    ``review.checklist_answered`` (version, question, answer, the note's SHA-256, and the
    answer it replaced).

    Refuses, writing nothing: an actor without ``review:legal`` (legal) or
    ``review:human-rights`` (human rights) (:class:`NotPermitted`); a blank or overlong note,
    an unknown version or one of the other kind, a question the version does not have
    (:class:`InvalidInput`); an unknown demand (:class:`NotFound`); a demand that is closed
    or not in the review of this checklist, or a version that is not the active one (retired,
    proposed, rejected) (:class:`Conflict`, naming the active version).
    """
    permission = ANSWER_PERMISSION[kind]
    account = versions.person(session, actor, permission, f"answering the {kind.value} checklist")
    note = _note(note)
    demand = _demand(session, demand_id)
    session.refresh(demand, with_for_update=True)  # one answer at a time per demand
    problem = why_not_answerable(demand.status, kind)
    if problem is not None:
        raise Conflict(f"demand {demand_id}: {problem}")
    version, question = _answerable_version(session, kind, version_id, question_id)
    _current, counted = counted_answers(session, demand_id, kind)
    before = counted.get(question.id)
    replaces = (
        {"answer": before.row.answer.value, "version": before.version.version}
        if before is not None
        else None
    )
    row = session.scalar(
        select(ChecklistAnswer).where(
            ChecklistAnswer.demand_id == demand_id,
            ChecklistAnswer.checklist_version_id == version.id,
            ChecklistAnswer.question_id == question.id,
        )
    )
    now = utcnow()
    if row is None:
        row = ChecklistAnswer(
            demand_id=demand_id, checklist_version_id=version.id, question_id=question.id
        )
        session.add(row)
    row.answer = value
    row.note = note
    row.answered_by = account.id
    row.answered_at = now
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="review.checklist_answered",
        subject=demands.subject_of(demand),
        data={
            "kind": kind.value,
            "version_id": version.id,
            "version": version.version,
            "question": question.id,
            "answer": value.value,
            "note_sha256": hashlib.sha256(note.encode("utf-8")).hexdigest(),
            "replaces": replaces,
        },
    )
    return row


# --- read models for pages, the API and the CLI ---------------------------------------------------


def _emails(session: Session, ids: set[int | None]) -> dict[int, str]:
    return {i: accounts.get(session, i).email for i in ids if i is not None}


def version_out(session: Session, version: ChecklistVersion) -> VersionOut:
    """The output form of a version, people by e-mail."""
    people = _emails(session, {version.proposed_by, version.decided_by})
    return _version_out(version, people)


def _version_out(version: ChecklistVersion, people: dict[int, str]) -> VersionOut:
    return VersionOut(
        id=version.id,
        kind=version.kind,
        version=version.version,
        title=version.title,
        status=version.status,
        reason=version.reason,
        questions=[QuestionOut.of(q) for q in questions_of(version)],
        sha256=digest_of(version),
        proposed_by=people.get(version.proposed_by) if version.proposed_by else None,
        proposed_at=version.proposed_at,
        decided_by=people.get(version.decided_by) if version.decided_by else None,
        decided_at=version.decided_at,
    )


def versions_out(session: Session, kind: ChecklistKind | None = None) -> list[VersionOut]:
    """Every version (of ``kind``, or both), newest first."""
    for each in ChecklistKind:
        versions.active(session, each)  # a first look installs the defaults
    rows = history(session, kind)
    people = _emails(session, {i for v in rows for i in (v.proposed_by, v.decided_by)})
    return [_version_out(v, people) for v in rows]


def active_out(session: Session) -> list[VersionOut]:
    """The active version of each kind: legal, then human rights."""
    return [version_out(session, versions.active(session, kind)) for kind in ChecklistKind]


@dataclass(frozen=True)
class QuestionChange:
    """How a question of a proposed version compares with the active version's."""

    question: Question
    change: str  # "unchanged" (answers carry over), "changed" (text), "new"


def compare(
    proposed: ChecklistVersion, current: ChecklistVersion
) -> tuple[list[QuestionChange], list[Question]]:
    """Each question of ``proposed`` against ``current`` (unchanged: same id and text, so
    answers carry over), and the questions of ``current`` that ``proposed`` drops."""
    old = {q.id: q for q in questions_of(current)}
    new = questions_of(proposed)
    changes = [
        QuestionChange(
            q, "new" if q.id not in old else "unchanged" if old[q.id].text == q.text else "changed"
        )
        for q in new
    ]
    kept = {q.id for q in new}
    return changes, [q for q in questions_of(current) if q.id not in kept]


def demand_checklist(session: Session, demand_id: int, kind: ChecklistKind) -> DemandChecklistOut:
    """A demand's ``kind`` checklist: the active version's questions with the answers that
    count for them, what is missing, and whether it can be answered now (:class:`NotFound`
    for an unknown demand)."""
    demand = _demand(session, demand_id)
    current, counted = counted_answers(session, demand_id, kind)
    people = _emails(session, {c.row.answered_by for c in counted.values()})
    items = []
    for question in questions_of(current):
        found = counted.get(question.id)
        shown = None
        if found is not None:
            shown = AnswerOut(
                answer=found.row.answer,
                note=found.row.note,
                answered_by=people.get(found.row.answered_by, f"account:{found.row.answered_by}"),
                answered_at=found.row.answered_at,
                version_id=found.version.id,
                version=found.version.version,
                carried_over=found.carried_over,
            )
        items.append(ItemOut(question=QuestionOut.of(question), answer=shown))
    missing = [q.id for q in questions_of(current) if q.required and q.id not in counted]
    why_not = why_not_answerable(demand.status, kind)
    return DemandChecklistOut(
        demand_id=demand_id,
        demand_status=demand.status.value,
        kind=kind,
        version_id=current.id,
        version=current.version,
        title=current.title,
        items=items,
        missing_required=missing,
        complete=not missing,
        answerable=why_not is None,
        why_not=why_not,
        answer_permission=ANSWER_PERMISSION[kind].value,
    )
