"""Deciding a demand: per-target decisions, the submission of decisions and reply, the
human-rights sign-off, and approval by a second person (see :mod:`dueprocess.review.service`
for what every step checks and records)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.signin import Principal
from dueprocess.actions import service as actions
from dueprocess.actions.models import ActionKind
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import DataCategory, Demand, DemandStatus, ReplyKind, Target
from dueprocess.errors import Conflict, FieldError, InvalidInput, NotPermitted
from dueprocess.review import checklists, decisions as rules, flags
from dueprocess.review.guards import load, require_assigned, require_role, subject
from dueprocess.review.models import (
    Approval,
    ChecklistKind,
    HumanRightsSignOff,
    Outcome,
    SignOffVerdict,
    Submission,
    TargetDecision,
)
from dueprocess.review.replies import TargetLine, decision_reply

S = DemandStatus


def current_decisions(session: Session, demand_id: int) -> list[TargetDecision]:
    """The decisions in force on the demand's targets (not superseded), by target."""
    query = (
        select(TargetDecision)
        .where(TargetDecision.demand_id == demand_id, TargetDecision.superseded_at.is_(None))
        .order_by(TargetDecision.target_id)
    )
    return list(session.scalars(query))


def targets_of(session: Session, demand_id: int) -> list[Target]:
    """The demand's targets in the order it named them."""
    query = select(Target).where(Target.demand_id == demand_id).order_by(Target.position)
    return list(session.scalars(query))


def asked_of(demand: Demand) -> rules.Asked:
    """What the demand asked for, as narrowings are checked against."""
    return rules.Asked(
        kind=demand.kind,
        data_categories=frozenset(DataCategory(c) for c in demand.data_categories),
        period_start=demand.period_start,
        period_end=demand.period_end,
    )


def decide(
    session: Session,
    demand_id: int,
    proposals: Sequence[rules.Proposed],
    *,
    me: Principal,
    revision: int | None,
) -> list[TargetDecision]:
    """Decide some or all of the demand's targets (a legal reviewer, on a demand in legal
    review assigned to them). Every proposal is checked before anything is written: each
    problem is named by its position (``decisions[N].field``). A target decided again
    supersedes its earlier decision. One ``review.decided`` event."""
    require_role(me, {"legal-reviewer"}, "deciding a demand's targets")
    demand = load(session, demand_id, revision=revision)
    if demand.status is not S.LEGAL_REVIEW:
        raise Conflict(
            f"demand {demand_id} is {demand.status}: targets are decided in legal review"
        )
    require_assigned(demand, me, "deciding its targets")
    targets = {t.id: t for t in targets_of(session, demand_id)}
    asked = asked_of(demand)
    errors: list[FieldError] = []
    checked: list[tuple[rules.Proposed, dict[str, Any] | None]] = []
    seen: set[int] = set()
    for n, proposal in enumerate(proposals):
        loc: tuple[str | int, ...] = ("decisions", n)
        if proposal.target_id not in targets:
            errors.append(FieldError((*loc, "target_id"), "not a target of this demand"))
            continue
        if proposal.target_id in seen:
            errors.append(FieldError((*loc, "target_id"), "decided twice in one request"))
            continue
        seen.add(proposal.target_id)
        narrowing, problems = rules.check_decision(asked, proposal, demand.stance, loc)
        errors.extend(problems)
        checked.append((proposal, narrowing))
    if not proposals:
        errors.append(FieldError(("decisions",), "decide at least one target"))
    if errors:
        raise InvalidInput(errors)
    now = utcnow()
    earlier = {d.target_id: d for d in current_decisions(session, demand_id)}
    made = []
    for proposal, narrowing in checked:
        old = earlier.get(proposal.target_id)
        if old is not None:
            old.superseded_at = now
        decision = TargetDecision(
            demand_id=demand_id,
            target_id=proposal.target_id,
            outcome=proposal.outcome,
            narrowing=narrowing,
            refusal_reason=proposal.refusal_reason,
            note=proposal.note.strip(),
            decided_by=me.account_id,
            decided_at=now,
        )
        session.add(decision)
        made.append(decision)
    demand.revision += 1
    audit.record(
        session,
        actor=me.actor,
        action="review.decided",
        subject=subject(demand),
        data={
            "decisions": [
                {
                    "target": d.target_id,
                    "outcome": d.outcome.value,
                    "narrowing": d.narrowing,
                    "refusal_reason": d.refusal_reason,
                }
                for d in made
            ]
        },
    )
    session.flush()
    return made


def _decision_rows(decided: Sequence[TargetDecision]) -> list[dict[str, Any]]:
    return [
        {
            "target_id": d.target_id,
            "outcome": d.outcome.value,
            "narrowing": d.narrowing,
            "refusal_reason": d.refusal_reason,
            "note": d.note,
        }
        for d in decided
    ]


def submission_digest(decided: Sequence[Mapping[str, Any]], reply: str) -> str:
    """What a submission and its approval pin down: the decisions and the reply together."""
    return rules.digest([*decided, {"target_id": 0, "outcome": "reply", "note": reply}])


def draft_reply(session: Session, demand: Demand) -> str:
    """The reply the decisions in force would send (the reviewer may edit it)."""
    targets = targets_of(session, demand.id)
    decided = {d.target_id: d for d in current_decisions(session, demand.id)}
    lines = [
        TargetLine(
            label=t.identifier,
            outcome=decided[t.id].outcome,
            narrowing=decided[t.id].narrowing,
            refusal_reason=decided[t.id].refusal_reason,
        )
        for t in targets
        if t.id in decided
    ]
    return decision_reply(
        kind=demand.kind, reference=demand.reference, received_at=demand.received_at, targets=lines
    )


def latest_signoff(session: Session, demand_id: int) -> HumanRightsSignOff | None:
    """The newest human-rights verdict on the demand, if any."""
    query = (
        select(HumanRightsSignOff)
        .where(HumanRightsSignOff.demand_id == demand_id)
        .order_by(HumanRightsSignOff.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def open_submission(session: Session, demand_id: int) -> Submission | None:
    """The submission awaiting approval or standing as final, if any (not returned)."""
    query = (
        select(Submission)
        .where(Submission.demand_id == demand_id, Submission.closed_at.is_(None))
        .order_by(Submission.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def submit(
    session: Session,
    demand_id: int,
    *,
    me: Principal,
    reply: str | None,
    revision: int | None,
) -> Submission:
    """Put the decisions and the reply forward (a legal reviewer, on their demand in legal
    review). Every target must be decided; a required human-rights review must have said
    "no objection" (after a block only refusals may go forward). Decisions that disclose or
    restrict go to ``awaiting-approval``; otherwise they stand: ``refused`` when nothing is
    done and something was refused, ``decided`` when nothing was found, and the reply is
    queued for the requester at once. ``reply`` None takes :func:`draft_reply`."""
    require_role(me, {"legal-reviewer"}, "submitting decisions")
    demand = load(session, demand_id, revision=revision)
    if demand.status is not S.LEGAL_REVIEW:
        raise Conflict(
            f"demand {demand_id} is {demand.status}: decisions are submitted from legal review"
        )
    require_assigned(demand, me, "submitting its decisions")
    decided = current_decisions(session, demand_id)
    undecided = [
        t for t in targets_of(session, demand_id) if t.id not in {d.target_id for d in decided}
    ]
    errors: list[FieldError] = [
        FieldError(("targets", t.identifier), "not decided yet") for t in undecided
    ]
    outcomes = [d.outcome for d in decided]
    complying = any(o in rules.COMPLYING for o in outcomes)
    if flags.requires_human_rights_review(session, demand):
        signed = latest_signoff(session, demand_id)
        if signed is None:
            errors.append(
                FieldError(
                    ("human_rights",),
                    "human-rights review is required and "
                    "has not signed off: send it to human-rights review",
                )
            )
        elif signed.verdict is SignOffVerdict.BLOCK and complying:
            errors.append(
                FieldError(
                    ("human_rights",),
                    "human-rights review blocked compliance: only refusals may go forward",
                )
            )
    errors.extend(_unanswered(session, demand_id, ChecklistKind.LEGAL))
    text = (reply if reply is not None else draft_reply(session, demand)).strip()
    if not text:
        errors.append(FieldError(("reply",), "the reply to the requester is empty"))
    if errors:
        raise InvalidInput(errors)
    rows = _decision_rows(decided)
    digest = submission_digest(rows, text)
    submission = Submission(
        demand_id=demand_id,
        submitted_by=me.account_id,
        decisions=rows,
        reply=text,
        digest=digest,
    )
    session.add(submission)
    session.flush()
    recorded = {"submission": submission.id, "digest": digest}
    if rules.needs_approval(demand.kind, outcomes):
        demands.move(
            session,
            demand,
            S.AWAITING_APPROVAL,
            actor=me.actor,
            by=me.roles,
            reason="decisions submitted for approval",
            data=recorded,
        )
        demand.assignee_id = demand.assigned_at = None
        return submission
    _finish(session, demand, submission, me=me, data=recorded, approved=False)
    return submission


def _unanswered(session: Session, demand_id: int, kind: ChecklistKind) -> list[FieldError]:
    """A demand leaves legal or human-rights review only with every required question of
    that review's checklist answered: one error per question that is not."""
    return [
        FieldError(("checklist", kind.value, q.id), f"required, not answered: {q.text}")
        for q in checklists.missing_required(session, demand_id, kind)
    ]


def _finish(
    session: Session,
    demand: Demand,
    submission: Submission,
    *,
    me: Principal,
    data: dict[str, Any],
    approved: bool,
) -> None:
    """Make the submitted decisions stand: the demand's outcome, the move, the reply."""
    outcome = rules.demand_outcome(Outcome(d["outcome"]) for d in submission.decisions)
    demand.outcome = outcome
    to = S.REFUSED if outcome == "refused" else S.DECIDED
    reason = "decisions approved" if approved else "decisions need no approval"
    reply_kind = ReplyKind.REFUSAL if to is S.REFUSED else ReplyKind.DECISION
    demands.move(
        session,
        demand,
        to,
        actor=me.actor,
        by=me.roles,
        reason=reason,
        data={**data, "outcome": outcome, "reply": {"kind": reply_kind.value}},
    )
    demands.add_reply(session, demand, reply_kind, submission.reply)
    demand.assignee_id = demand.assigned_at = None
    _plan_actions(session, demand, submission, actor=me.actor)


def _plan_actions(session: Session, demand: Demand, submission: Submission, *, actor: str) -> None:
    """The actions the standing decisions cause, written in the decision's transaction: no
    decision without its actions, no action without its decision. Each key names the
    submission, so the same decisions can never be planned twice."""
    identifiers = {t.id: t.identifier for t in targets_of(session, demand.id)}
    for then in rules.consequences(
        demand.kind,
        demand.jurisdiction,
        demand.data_categories,
        (demand.period_start, demand.period_end),
        submission.decisions,
        identifiers,
    ):
        actions.plan(
            session,
            kind=ActionKind(then.kind),
            demand_id=demand.id,
            target_id=then.target_id,
            key=f"{then.kind}:{demand.id}:{then.target_id}:{submission.id}",
            payload=then.payload,
            actor=actor,
        )


def sign_off(
    session: Session,
    demand_id: int,
    verdict: SignOffVerdict,
    note: str,
    *,
    me: Principal,
    revision: int | None,
) -> HumanRightsSignOff:
    """The human-rights reviewer's verdict on their demand in human-rights review, with
    their reasons: it goes back to legal review either way, where a block allows only
    refusals. The move's event records the verdict."""
    require_role(me, {"human-rights-reviewer"}, "signing off human-rights review")
    note = note.strip()
    if not note:
        raise InvalidInput.one(("note",), "give the reasons for the verdict")
    demand = load(session, demand_id, revision=revision)
    if demand.status is not S.HUMAN_RIGHTS_REVIEW:
        raise Conflict(f"demand {demand_id} is {demand.status}, not in human-rights review")
    require_assigned(demand, me, "signing it off")
    missing = _unanswered(session, demand_id, ChecklistKind.HUMAN_RIGHTS)
    if missing:
        raise InvalidInput(missing)
    signed = HumanRightsSignOff(
        demand_id=demand_id, verdict=verdict, note=note, signed_by=me.account_id
    )
    session.add(signed)
    demands.move(
        session,
        demand,
        S.LEGAL_REVIEW,
        actor=me.actor,
        by=me.roles,
        reason=f"human-rights review: {verdict}",
        data={"verdict": verdict.value},
    )
    demand.assignee_id = demand.assigned_at = None
    session.flush()
    return signed


def _four_eyes(session: Session, submission: Submission, me: Principal) -> None:
    makers = {submission.submitted_by}
    makers |= {
        d.decided_by
        for d in session.scalars(
            select(TargetDecision).where(
                TargetDecision.demand_id == submission.demand_id,
                TargetDecision.target_id.in_([r["target_id"] for r in submission.decisions]),
            )
        )
    }
    if me.account_id in makers:
        raise NotPermitted(
            "four eyes: you made or submitted decisions on this demand, so someone else "
            "must approve them"
        )


def approve(
    session: Session,
    demand_id: int,
    *,
    me: Principal,
    digest: str,
    code: str,
    note: str = "",
    approved: bool = True,
    revision: int | None,
) -> Approval:
    """Approve (or, ``approved=False``, return for changes) exactly the submission whose
    ``digest`` the approver saw: an approver who made none of its decisions, confirming with
    their current TOTP ``code``. Approved, the decisions stand and the reply is queued;
    returned, the demand goes back to legal review with the approver's ``note``."""
    require_role(me, {"approver"}, "approving decisions")
    demand = load(session, demand_id, revision=revision)
    if demand.status is not S.AWAITING_APPROVAL:
        raise Conflict(f"demand {demand_id} is {demand.status}, not awaiting approval")
    submission = open_submission(session, demand_id)
    if submission is None:  # cannot happen through these functions; refuse, never guess
        raise Conflict(f"demand {demand_id} has no submission to approve")
    if digest != submission.digest:
        raise Conflict(
            "the decisions or reply changed since you read them: reload and read them again"
        )
    _four_eyes(session, submission, me)
    note = note.strip()
    if not approved and not note:
        raise InvalidInput.one(("note",), "say what must change")
    if not accounts.confirm_second_factor(session, me.account_id, code):
        raise InvalidInput.one(("code",), "not your current authenticator code (or used before)")
    record = Approval(
        demand_id=demand_id,
        submission_id=submission.id,
        approved=approved,
        by=me.account_id,
        digest=digest,
        note=note,
    )
    session.add(record)
    data = {"submission": submission.id, "digest": digest, "approved": approved}
    if approved:
        _finish(session, demand, submission, me=me, data=data, approved=True)
    else:
        submission.closed_at = utcnow()
        demands.move(
            session,
            demand,
            S.LEGAL_REVIEW,
            actor=me.actor,
            by=me.roles,
            reason=f"returned for changes: {note}",
            data=data,
        )
        demand.assignee_id = demand.assigned_at = None
    session.flush()
    return record
