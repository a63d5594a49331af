"""Policy versions, their four-eyes activation, and applying the stance to demands.

Plain functions taking a session; they never commit. The caller at the edge (one request,
one command) commits once, so activating a version, re-evaluating every open demand, the
status moves, the replies and the audit events are one transaction: if anything fails,
nothing changes and the previous version stays active.

Lifecycle of a version
    :func:`propose` stores the file's exact text (and its SHA-256) after checking it with
    :func:`~dueprocess.policy.fileformat.load_policy`; a file with any problem is refused
    whole, naming each rule, field and line, and nothing is stored. :func:`approve` by a
    *different* person activates it (four eyes), supersedes the active version, and
    re-evaluates every open demand at the activation time. :func:`reject` closes a proposal.
    Proposing needs ``policy:propose`` (the policy-owner role), approving and rejecting
    ``policy:approve``; the service checks the acting account itself, whatever the door.

What a stance does to a demand (``docs/policy.md`` has the table)
    A demand's *answer* is its stance and condition. At intake the answer is always applied;
    on activation only where it changes, so a person's later decision on a demand (say,
    taking a paused demand into legal review) is not undone by a version that says the same
    thing again. Applying an answer: ``pause`` moves the demand to ``paused`` and queues a
    holding reply; ``refuse`` and ``no-service`` move it to ``refused`` with a refusal or
    no-service reply; ``redirect`` to ``redirected`` with the route to use; ``escalate`` to
    ``human-rights-review`` (the recorded stance lets review require a named approver);
    ``process`` leaves the status alone, except that a paused demand goes back to
    ``received`` (the pause is lifted) and the requester is told. A move the state table
    does not allow in one step goes through ``legal-review`` (e.g. an awaiting-approval
    demand is returned to legal review, then paused). Every demand evaluated against a
    version gets a :class:`PolicyEvaluation` row naming that version. In the audit log each
    move is one ``demand.<status>`` event, the last one carrying the decision and the reply
    (:mod:`dueprocess.policy.stances`).

    On activation all of this is written in sets, not demand by demand
    (:mod:`dueprocess.policy.activation`): the same rows and events, one statement per set.

Concurrency
    Activation takes an exclusive PostgreSQL advisory lock and intake
    (:mod:`dueprocess.intake.flow`) a shared one, before any audit write, so a demand is never
    evaluated against a version that is being replaced. SQLite serialises writers already.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dueprocess import inserts
from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Account
from dueprocess.accounts.permissions import Permission, permissions_of
from dueprocess.audit import service as audit
from dueprocess.clock import as_utc, isoformat_z, utcnow
from dueprocess.db import transaction_memo
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.errors import Conflict, InvalidInput, NotFound
from dueprocess.policy import activation, schemas as out
from dueprocess.policy.fileformat import load_policy
from dueprocess.policy.models import PolicyEvaluation, PolicyVersion, VersionStatus
from dueprocess.policy.rules import CompiledPolicy, DemandFacts, Evaluation, Stance
from dueprocess.policy.stances import (
    Effect as Effect,
    applied_data as applied_data,
    changes_answer as changes_answer,
    effect as effect,
    reply_for as reply_for,
    route as route,
    target_status as target_status,
    why as why,
)

S = DemandStatus
#: Who applies a stance at intake in the audit log: the policy, not the person submitting.
SYSTEM_ACTOR = "system:policy"
_LOCK_KEY = 0x706F_6C69_6379  # "policy": the advisory lock of activation vs intake
_INTAKE_LOCKED = "policy.intake_locked"
_ACTIVE = "policy.active"
_MAX_FUTURE = timedelta(minutes=5)
NO_POLICY = Evaluation(Stance.PROCESS, None, None, None, None, None, "(no active policy)")


class NotPermitted(Conflict):
    """The acting account may not do this to a policy (wrong role, or the author approving)."""


# --- locks, people, compiled versions ---------------------------------------------------------


def _lock(session: Session, *, exclusive: bool) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_EXCLUSIVE if exclusive else _SHARED, {"key": _LOCK_KEY})


# Built once: every intake transaction takes the shared lock.
_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:key)")
_SHARED = text("SELECT pg_advisory_xact_lock_shared(:key)")


def lock_for_intake(session: Session) -> None:
    """Wait for any activation in progress; call before the transaction's first audit write.

    Taken once per transaction (a batch of demands shares it)."""
    memo = transaction_memo(session)
    if not memo.get(_INTAKE_LOCKED):
        _lock(session, exclusive=False)
        memo[_INTAKE_LOCKED] = True


def _person(session: Session, actor: str, permission: Permission, doing: str) -> Account:
    kind, _, raw = actor.partition(":")
    if kind != "account" or not raw.isdigit():
        raise NotPermitted(f"{doing} must be done by a person's account, not {actor!r}")
    account = accounts.get(session, int(raw))
    if account.disabled or permission not in permissions_of(accounts.roles_of(account)):
        raise NotPermitted(f"{account.email} does not hold the {permission.value} permission")
    return account


def normal_text(source: str) -> str:
    # Browsers send CRLF from a textarea: store one form, so the same file hashes the same.
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _sha256(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


_COMPILED: dict[str, CompiledPolicy] = {}


def compiled_for(version: PolicyVersion) -> CompiledPolicy:
    """The version's policy ready to evaluate, compiled once per text (cached by SHA-256).

    Raises :class:`Conflict` if the stored text no longer matches its stored hash (checked on
    every use: hashing a policy file takes microseconds).
    """
    if _sha256(version.source) != version.source_sha256:
        raise Conflict(f"the stored text of policy version {version.id} does not match its hash")
    found = _COMPILED.get(version.source_sha256)
    if found is None:
        found = load_policy(version.source, f"policy version {version.id}").compiled()
        if len(_COMPILED) >= 64:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[version.source_sha256] = found
    return found


# --- versions ---------------------------------------------------------------------------------


def propose(
    session: Session, source: str, source_name: str, reason: str, *, actor: str
) -> PolicyVersion:
    """Store a new proposed version of the policy, to be approved by someone else.

    Refuses, writing nothing: an actor without ``policy:propose`` (:class:`NotPermitted`),
    an empty reason (:class:`InvalidInput`), or a file with any problem
    (:class:`~dueprocess.policy.fileformat.PolicyFileError`, naming rule, field and line).
    """
    _person(session, actor, Permission.POLICY_PROPOSE, "proposing a policy")
    if not reason.strip():
        raise InvalidInput.one(("reason",), "say why this version is proposed")
    source = normal_text(source)
    document = load_policy(source, source_name)
    document.compiled()
    version = PolicyVersion(
        name=document.name,
        source=source,
        source_sha256=_sha256(source),
        reason=reason.strip(),
        status=VersionStatus.PROPOSED,
        author=actor,
        created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="policy.proposed",
        subject=f"policy_version:{version.id}",
        data={
            "name": version.name,
            "sha256": version.source_sha256,
            "file": source_name,
            "rules": len(document.rules),
            "reason": version.reason,
        },
    )
    return version


def get_version(session: Session, version_id: int) -> PolicyVersion:
    """The version, or :class:`NotFound`."""
    version = session.get(PolicyVersion, version_id)
    if version is None:
        raise NotFound(f"policy version {version_id}")
    return version


def _proposed(session: Session, version_id: int) -> PolicyVersion:
    version = get_version(session, version_id)
    if version.status is not VersionStatus.PROPOSED:
        raise Conflict(
            f"policy version {version_id} is {version.status.value}: "
            "only a proposed version can be approved or rejected"
        )
    return version


def history(session: Session) -> list[PolicyVersion]:
    """Every version, newest first."""
    return list(session.scalars(select(PolicyVersion).order_by(PolicyVersion.id.desc())))


def active(session: Session) -> tuple[PolicyVersion, CompiledPolicy] | None:
    """The active version and its compiled policy, or None if no version was ever activated.

    Read once per transaction once the intake lock is held (no activation can then run);
    :func:`approve` forgets it when it activates a version.
    """
    memo = transaction_memo(session)
    if _ACTIVE in memo:
        return memo[_ACTIVE]  # type: ignore[return-value]
    version = session.scalar(_ACTIVE_VERSION)
    found = None if version is None else (version, compiled_for(version))
    if memo.get(_INTAKE_LOCKED):
        memo[_ACTIVE] = found
    return found


_ACTIVE_VERSION = select(PolicyVersion).where(PolicyVersion.status == VersionStatus.ACTIVE)


def approve(
    session: Session, version_id: int, *, actor: str, at: datetime | None = None
) -> out.ActivationOut:
    """Activate a proposed version, approved by a second person, and apply it to every open
    demand as of ``at`` (default: now; a past time is for loading history, e.g. the demo).

    Refuses, writing nothing: an approver without ``policy:approve`` or who proposed the
    version (:class:`NotPermitted`), a version not proposed (:class:`Conflict`), a future
    ``at`` (:class:`InvalidInput`). Audits ``policy.approved``, ``policy.activated`` and,
    after the demands, ``policy.reevaluated`` with the counts.
    """
    _lock(session, exclusive=True)
    _person(session, actor, Permission.POLICY_APPROVE, "approving a policy")
    version = _proposed(session, version_id)
    if version.author == actor:
        raise NotPermitted(
            f"four eyes: policy version {version.id} was proposed by you; another person "
            f"with the {Permission.POLICY_APPROVE.value} permission must approve it"
        )
    now = utcnow()
    when = now if at is None else as_utc(at)
    if when > now + _MAX_FUTURE:
        raise InvalidInput.one(("at",), "an activation cannot be dated in the future")
    compiled = compiled_for(version)
    previous = session.scalar(
        select(PolicyVersion).where(PolicyVersion.status == VersionStatus.ACTIVE)
    )
    if previous is not None:
        previous.status = VersionStatus.SUPERSEDED
        session.flush()
    version.status = VersionStatus.ACTIVE
    transaction_memo(session).pop(_ACTIVE, None)
    version.approver = actor
    version.decided_at = now
    version.effective_from = when
    session.flush()
    subject = f"policy_version:{version.id}"
    audit.record(
        session,
        actor=actor,
        action="policy.approved",
        subject=subject,
        data={"author": version.author, "sha256": version.source_sha256},
    )
    audit.record(
        session,
        actor=actor,
        action="policy.activated",
        subject=subject,
        data={
            "previous": previous.id if previous else None,
            "effective_from": isoformat_z(when),
        },
    )
    tally = activation.reevaluate(session, version, compiled, when, actor)
    audit.record(
        session,
        actor=actor,
        action="policy.reevaluated",
        subject=subject,
        data={"evaluated": tally.evaluated, "changed": tally.changed, "at": isoformat_z(when)},
    )
    return out.ActivationOut(
        version=version_out(session, version),
        previous_version=previous.id if previous else None,
        at=when,
        evaluated=tally.evaluated,
        changed=tally.changed,
        transitions=out.Transition.tally(tally.transitions),
        moves=out.StatusMove.tally(tally.moves),
        replies=out.Count.tally(tally.replies),
    )


def reject(session: Session, version_id: int, reason: str, *, actor: str) -> PolicyVersion:
    """Close a proposed version without activating it (its author may withdraw it too)."""
    version = _proposed(session, version_id)
    if version.author != actor:
        _person(session, actor, Permission.POLICY_APPROVE, "rejecting a policy")
    if not reason.strip():
        raise InvalidInput.one(("reason",), "say why this version is rejected")
    version.status = VersionStatus.REJECTED
    version.approver = actor
    version.decided_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="policy.rejected",
        subject=f"policy_version:{version.id}",
        data={"reason": reason.strip()},
    )
    return version


def emails(session: Session, actors: Iterable[str | None]) -> dict[str, str]:
    """actor (``account:12``) -> that account's e-mail, for showing who wrote and approved."""
    found: dict[str, str] = {}
    for actor in {a for a in actors if a}:
        kind, _, raw = actor.partition(":")
        if kind == "account" and raw.isdigit():
            try:
                found[actor] = accounts.get(session, int(raw)).email
            except NotFound:
                continue
    return found


def version_out(session: Session, version: PolicyVersion) -> out.VersionOut:
    """The listing form of a version, with the author's and approver's e-mails."""
    return out.VersionOut.of(version, emails(session, [version.author, version.approver]))


def version_detail(session: Session, version: PolicyVersion) -> out.VersionDetail:
    """A version with its text."""
    return out.VersionDetail(**version_out(session, version).model_dump(), source=version.source)


def versions_out(session: Session) -> list[out.VersionOut]:
    """Every version, newest first, in listing form."""
    rows = history(session)
    people = emails(session, [a for v in rows for a in (v.author, v.approver)])
    return [out.VersionOut.of(v, people) for v in rows]


def active_out(session: Session) -> out.ActiveOut:
    """The policy in force, with its rules (``version`` None: every demand is processed)."""
    found = active(session)
    if found is None:
        return out.ActiveOut(version=None, default=str(Stance.PROCESS))
    version, compiled = found
    document = compiled.document
    return out.ActiveOut(
        version=version_detail(session, version),
        default=str(document.default),
        default_condition=document.default_condition,
        rules=[out.RuleOut.of(rule) for rule in document.rules],
    )


# --- applying a stance to a demand ------------------------------------------------------------


@dataclass(frozen=True)
class IntakeDecision:
    """What the active policy does with a new demand (:func:`decide_at_intake`)."""

    version: PolicyVersion | None
    evaluation: Evaluation
    effect: Effect

    def record(self, demand_id: int, at: datetime) -> dict[str, object] | None:
        """The policy evaluation row to store, or None with no active version."""
        if self.version is None:
            return None
        return {"demand_id": demand_id, **_record(self.version, None, at, self.evaluation)}


def decide_at_intake(
    session: Session,
    *,
    jurisdiction: str,
    authority_slug: str,
    kind: str,
    legal_process: str,
    received_at: datetime,
) -> IntakeDecision:
    """What the active policy does with a new demand, evaluated at its ``received_at``: the
    evaluation and its :class:`~dueprocess.policy.stances.Effect` on a demand just
    ``received`` (moves, audit data, reply), as data for
    :func:`dueprocess.intake.flow.receive_many`,
    which writes them (the module docstring has the semantics). Callers take
    :func:`lock_for_intake` first."""
    found = active(session)
    version, evaluation = None, NO_POLICY
    if found is not None:
        version, compiled = found
        facts = DemandFacts(jurisdiction, authority_slug, kind, legal_process, received_at)
        evaluation = compiled.evaluate(facts)
    outcome = effect(
        S.RECEIVED,
        evaluation,
        version_id=version.id if version is not None else None,
        via="intake",
        old_stance=None,
        old_condition=None,
        at=received_at,
        jurisdiction=jurisdiction,
    )
    return IntakeDecision(version, evaluation, outcome)


def record_evaluations(session: Session, rows: list[dict[str, object]]) -> None:
    """Store evaluation rows made by :meth:`IntakeDecision.record` (one INSERT for all)."""
    if rows:
        inserts.insert_rows(session, PolicyEvaluation, rows)


def _record(
    version: PolicyVersion, demand_id: int | None, at: datetime, ev: Evaluation
) -> dict[str, object]:
    # demand_id None: the caller links the demand object (a new demand has no id yet).
    return {
        **({"demand_id": demand_id} if demand_id is not None else {}),
        "version_id": version.id,
        "at": at,
        "stance": ev.stance.value,
        "rule_id": ev.rule_id,
        "condition": ev.condition,
        "explanation": list(ev.explanation),
    }


def evaluations(session: Session, demand_id: int) -> list[PolicyEvaluation]:
    """Every evaluation of one demand, oldest first (each names the version it used)."""
    query = select(PolicyEvaluation).where(PolicyEvaluation.demand_id == demand_id)
    return list(session.scalars(query.order_by(PolicyEvaluation.id)))


def demand_policy(session: Session, demand_id: int) -> out.DemandPolicy:
    """One demand's stance, condition and version, its replies and its evaluations."""
    demand = demands.get(session, demand_id)
    return out.DemandPolicy(
        stance=demand.stance,
        condition=demand.stance_condition,
        version_id=demand.policy_version_id,
        replies=[
            out.ReplyOut(kind=r.kind.value, text=r.text, created_at=r.created_at, sent_at=r.sent_at)
            for r in demands.replies(session, demand_id)
        ],
        evaluations=[
            out.EvaluationOut.model_validate(e, from_attributes=True)
            for e in evaluations(session, demand_id)
        ],
    )
