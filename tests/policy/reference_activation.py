"""The way activation re-evaluated open demands until the queues work (issue 20): one demand
at a time, as ORM objects, each move through :func:`dueprocess.demands.service.move` and each
reply through the session. Kept as the reference that :mod:`dueprocess.policy.activation`
must match (tests/policy/test_activation.py) and as the old path's time in
bench/policy_activation.py. Copied from ``dueprocess.policy.service`` as it was at commit
95abba0 (``_apply`` and ``_reevaluate``), unchanged but for names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.demands import service as demands, states
from dueprocess.demands.models import Demand
from dueprocess.policy.activation import Tally
from dueprocess.policy.models import PolicyEvaluation, PolicyVersion
from dueprocess.policy.rules import CompiledPolicy, DemandFacts, Evaluation
from dueprocess.policy.stances import changes_answer, effect


def _apply(
    session: Session,
    demand: Demand,
    version: PolicyVersion | None,
    evaluation: Evaluation,
    *,
    at: datetime,
    actor: str,
    via: str,
    tally: Tally,
) -> None:
    old_stance, old_condition = demand.stance, demand.stance_condition
    new = evaluation.stance.value
    tally.evaluated += 1
    if changes_answer(old_stance, old_condition, evaluation):
        tally.changed += 1
        tally.transitions[(old_stance or "-", new)] += 1
        outcome = effect(
            demand.status,
            evaluation,
            version_id=version.id if version is not None else None,
            via=via,
            old_stance=old_stance,
            old_condition=old_condition,
            at=at,
            jurisdiction=demand.jurisdiction,
        )
        if outcome.applied is not None:
            audit.record(
                session,
                actor=actor,
                action="policy.applied",
                subject=demands.subject_of(demand),
                data=outcome.applied,
            )
        for step, recorded in outcome.moves:
            tally.moves[(demand.status.value, step.value)] += 1
            demands.move(
                session,
                demand,
                step,
                actor=actor,
                by=(states.SYSTEM,),
                reason=outcome.reason,
                data=recorded,
            )
        if outcome.reply is not None:
            tally.replies[outcome.reply[0].value] += 1
            demands.add_reply(session, demand, *outcome.reply)
    demand.stance = new
    demand.stance_condition = evaluation.condition
    demand.policy_version_id = version.id if version is not None else None


def _record(
    version: PolicyVersion, demand_id: int, at: datetime, ev: Evaluation
) -> dict[str, object]:
    return {
        "demand_id": demand_id,
        "version_id": version.id,
        "at": at,
        "stance": ev.stance.value,
        "rule_id": ev.rule_id,
        "condition": ev.condition,
        "explanation": list(ev.explanation),
    }


def _facts_key(
    session: Session, demand: Demand, slugs: dict[int, str]
) -> tuple[str, str, str, str]:
    slug = slugs.get(demand.authority_id)
    if slug is None:
        authority = authorities.get(session, demand.authority_id)
        assert authority is not None
        slug = slugs[demand.authority_id] = authority.slug
    return (demand.jurisdiction, slug, demand.kind.value, demand.legal_process.value)


def reevaluate(
    session: Session, version: PolicyVersion, compiled: CompiledPolicy, at: datetime, actor: str
) -> Tally:
    """Evaluate every open demand at ``at`` and apply changed answers, one by one."""
    tally = Tally()
    slugs: dict[int, str] = {}
    memo: dict[tuple[str, str, str, str], Evaluation] = {}
    for batch in demands.iter_open_demands(session):
        rows = []
        for demand in batch:
            key = _facts_key(session, demand, slugs)
            evaluation = memo.get(key)
            if evaluation is None:
                evaluation = memo[key] = compiled.evaluate(DemandFacts(*key, at), at)
            _apply(
                session,
                demand,
                version,
                evaluation,
                at=at,
                actor=actor,
                via="activation",
                tally=tally,
            )
            rows.append(_record(version, demand.id, at, evaluation))
        session.execute(insert(PolicyEvaluation), rows)
        session.flush()
        for demand in batch:
            session.expunge(demand)
    return tally
