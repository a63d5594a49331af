"""The demo's demands past review: one in each state a reviewed demand can reach today, taken
there through the same service calls a reviewer and an approver make, so that
``./scripts/start`` shows every queue and every outcome.

After :mod:`dueprocess.demo.checklists` (two demands in legal review, one in human-rights
review), these demands of the scenario (each the oldest still received of its authority and
kind) go on:

- a Metropolitan Police production order for subscriber data: decided "comply" and
  submitted, **awaiting approval** (the approver's queue);
- an FBI request for subscriber data: narrowed to name, e-mail and sign-up date, submitted
  and **approved** by the demo approver with a TOTP code (``decided``, the reply queued);
- a Metropolitan Police removal order: **refused** (no legal basis for the posts named),
  which needs no approval;
- an FBI preservation request: **no data found** (``decided`` without approval);
- a German removal order: **withdrawn** by the BKA's officer.

Not shown: ``acting`` and ``done`` (the actions work, not built yet) and ``redirected``
(the demo's policy has no redirecting stance; try one at *What if?*).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Account
from dueprocess.accounts.signin import Principal, principal_of
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.review import checklists, service as review
from dueprocess.review.decisions import Proposed
from dueprocess.review.models import Answer, ChecklistKind, Outcome

#: Answers the demo gives where a case does not say otherwise (the question's id: note).
_CHECKED = "Demo: checked against the order as received."


@dataclass(frozen=True)
class _Step:
    """A demand of the scenario (the oldest received of its authority and kind), where it
    ends, and what the legal reviewer answered differently from "yes"."""

    authority: str
    kind: str
    ends: str
    decide: Callable[[Demand, int], Proposed]
    answers: tuple[tuple[str, Answer, str], ...] = ()


def _comply(_demand: Demand, target: int) -> Proposed:
    return Proposed(target, Outcome.COMPLY, note="Demo: a valid order, narrow as written.")


def _narrow(_demand: Demand, target: int) -> Proposed:
    """Subscriber data without the phone number and the sign-up address."""
    return Proposed(
        target,
        Outcome.COMPLY_NARROWED,
        narrowing={"fields": ["name", "email", "created-at"]},
        note="Demo: the facts stated support identifying the account, not locating its user.",
    )


def _refuse(_demand: Demand, target: int) -> Proposed:
    return Proposed(
        target,
        Outcome.REFUSE,
        refusal_reason="no-legal-basis",
        note="Demo: the posts criticise a minister; the order names no offence they commit.",
    )


def _nothing(_demand: Demand, target: int) -> Proposed:
    return Proposed(target, Outcome.NO_DATA, note="Demo: no such account on the service.")


STEPS = [
    _Step("gb-met", "user-data", "awaiting-approval", _comply),
    _Step("us-fbi", "user-data", "approved", _narrow),
    _Step(
        "gb-met",
        "removal",
        "refused",
        _refuse,
        (
            (
                "legal-basis",
                Answer.NO,
                "Cites the Public Order Act 1986 s. 4A; the posts are criticism of a minister, "
                "with no threat or abuse in them.",
            ),
        ),
    ),
    _Step("us-fbi", "preservation", "no-data", _nothing),
]


def load(session: Session, *, staff: Account, approver: Account) -> list[int]:
    """Take :data:`STEPS` through review as ``staff`` (intake, legal and human-rights roles)
    with ``approver`` approving, and have the BKA withdraw a removal order; the demands' ids
    (each step is skipped if the scenario has no such demand received)."""
    me = principal_of(staff, "cli")
    second = principal_of(approver, "cli")
    rows = demands.list_summaries(session, limit=10_000)
    taken: list[int] = []
    used: set[int] = set()

    def oldest(authority: str, kind: str) -> int | None:
        for row in reversed(rows):  # oldest first: the same demand for the same seed
            if (
                row.authority == authority
                and row.kind.value == kind
                and row.status is DemandStatus.RECEIVED
                and row.id not in used
            ):
                used.add(row.id)
                return row.id
        return None

    for step in STEPS:
        found = oldest(step.authority, step.kind)
        if found is not None and _review(session, found, step, me=me, approver=second):
            taken.append(found)
    withdrawn = oldest("de-bka", "removal")
    officer = accounts.get_by_email(session, "anna.becker@bka.bund.de")
    if withdrawn is not None and officer is not None:
        demands.withdraw(
            session,
            withdrawn,
            authority_id=officer.authority_id,
            actor=f"account:{officer.id}",
            by=principal_of(officer, "cli").roles,
            reason="Demo: the posts were taken down by their author; the order is withdrawn.",
        )
        taken.append(withdrawn)
    return taken


def _review(
    session: Session, demand_id: int, step: _Step, *, me: Principal, approver: Principal
) -> bool:
    """One step's way through review; False if the demand was routed elsewhere (to
    human-rights review by a flag), where the demo leaves it."""
    moved = review.send_to_review(
        session,
        demand_id,
        DemandStatus.LEGAL_REVIEW,
        me=me,
        reason="Demo: a genuine demand, for legal review",
        revision=None,
    )
    if moved.status is not DemandStatus.LEGAL_REVIEW:
        return False
    review.claim(session, demand_id, me=me, revision=None)
    _answer_legal(session, demand_id, step.answers, me.actor)
    demand = demands.get(session, demand_id)
    review.decide(
        session,
        demand_id,
        [step.decide(demand, t.id) for t in review.targets_of(session, demand_id)],
        me=me,
        revision=None,
    )
    submission = review.submit(session, demand_id, me=me, reply=None, revision=None)
    if step.ends == "approved":
        review.approve(
            session,
            demand_id,
            me=approver,
            digest=submission.digest,
            code=_code(session, approver),
            revision=None,
        )
    return True


def _answer_legal(
    session: Session, demand_id: int, given: tuple[tuple[str, Answer, str], ...], actor: str
) -> None:
    version = checklists.active(session, ChecklistKind.LEGAL)
    special = {question: (value, note) for question, value, note in given}
    for question in checklists.missing_required(session, demand_id, ChecklistKind.LEGAL):
        value, note = special.get(question.id, (Answer.YES, _CHECKED))
        checklists.answer(
            session,
            demand_id,
            ChecklistKind.LEGAL,
            version_id=version.id,
            question_id=question.id,
            value=value,
            note=note,
            actor=actor,
        )


def _code(session: Session, approver: Principal) -> str:
    """The approver's TOTP code of the step *before* now (real time: the scenario's pinned
    clock does not move TOTP), so that the code a person reads from their authenticator
    right after the demo loads is still unspent."""
    account = accounts.get(session, approver.account_id)
    secret = account.totp_secret or ""
    earlier: datetime = datetime.now().astimezone() - timedelta(seconds=30)
    return pyotp.TOTP(secret).at(earlier)
