"""Applying a newly activated policy version to every open demand, in sets.

What it does to each demand is :mod:`dueprocess.policy.service`'s rule (its docstring, and
``docs/policy.md``): every open demand is evaluated at the activation time and gets an
evaluation row naming the version, and the version as its ``policy_version_id``; where the
answer (stance and condition) changes, the stance's moves, reply and audit events follow,
exactly as :func:`dueprocess.policy.stances.effect` works them out.

How it is written: demands are read as plain rows, a page of :data:`BATCH` at a time by id,
never as ORM objects. What a policy looks at takes few values, so each distinct set of facts
is evaluated once, and each distinct (facts, status, previous answer) has its effect worked
out once, with its audit data serialised once. Then, per page, every set of demands that
changes alike (the same moves, the same new answer) is written with one UPDATE
(:mod:`dueprocess.demands.sets`), the evaluations and replies each with one INSERT
(PostgreSQL: COPY), and each demand's audit events are recorded in id order, to be appended
together at commit (``bench/policy_activation.py``: the one-at-a-time way took ~50 s over
100,000 open demands). ``tests/policy/test_activation.py`` checks the results and events
against that way, kept there as the reference.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dueprocess import inserts
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands, sets, states
from dueprocess.demands.models import DemandStatus, ReplyKind
from dueprocess.policy.models import PolicyEvaluation, PolicyVersion
from dueprocess.policy.rules import CompiledPolicy, DemandFacts, Evaluation
from dueprocess.policy.stances import changes_answer, effect

#: Open demands read and written per round.
BATCH = 20_000


@dataclass
class Tally:
    """What an activation did, for its answer and its ``policy.reevaluated`` event."""

    evaluated: int = 0
    changed: int = 0
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)
    replies: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class _Plan:
    """What an evaluation does to every demand alike in facts, status and previous answer:
    the moves (``path``, each step's ``(from, to)``), the audit events with their data
    prepared, the reply."""

    path: tuple[DemandStatus, ...]
    steps: tuple[tuple[str, str], ...]
    events: tuple[tuple[str, audit.Prepared], ...]
    reply: tuple[ReplyKind, str] | None


def _plan(
    status: DemandStatus,
    evaluation: Evaluation,
    *,
    version_id: int,
    old_stance: str | None,
    old_condition: str | None,
    at: datetime,
    jurisdiction: str,
) -> _Plan:
    outcome = effect(
        status,
        evaluation,
        version_id=version_id,
        via="activation",
        old_stance=old_stance,
        old_condition=old_condition,
        at=at,
        jurisdiction=jurisdiction,
    )
    path = tuple(step for step, _ in outcome.moves)
    sets.check_path(status, path, (states.SYSTEM,))  # as demands.move checks each move
    events: list[tuple[str, audit.Prepared]] = []
    if outcome.applied is not None:
        events.append(("policy.applied", audit.prepare(outcome.applied)))
    steps = []
    current = status
    for step, recorded in outcome.moves:
        moved = demands.moved_data(current, outcome.reason, recorded)
        events.append((f"demand.{step.value}", audit.prepare(moved)))
        steps.append((current.value, step.value))
        current = step
    return _Plan(path, tuple(steps), tuple(events), outcome.reply)


def reevaluate(
    session: Session, version: PolicyVersion, compiled: CompiledPolicy, at: datetime, actor: str
) -> Tally:
    """Evaluate every open demand at ``at`` against ``version`` and apply changed answers
    (see the module's docstring); the caller commits."""
    tally = Tally()
    now = utcnow()
    evaluations: dict[tuple[str, str, str, str], tuple[Evaluation, dict[str, Any]]] = {}
    plans: dict[tuple[Any, ...], _Plan] = {}
    last = 0
    while True:
        rows = demands.open_rows_after(session, last, BATCH)
        if not rows:
            return tally
        last = rows[-1].id
        records: list[dict[str, Any]] = []
        replies: list[dict[str, Any]] = []
        groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for row in rows:
            facts = (row.jurisdiction, row.authority, row.kind, row.legal_process)
            found = evaluations.get(facts)
            if found is None:
                evaluation = compiled.evaluate(DemandFacts(*facts, at), at)
                found = evaluations[facts] = (evaluation, _record(version, at, evaluation))
            evaluation, record = found
            records.append({"demand_id": row.id, **record})
            tally.evaluated += 1
            new = (evaluation.stance.value, evaluation.condition)
            if not changes_answer(row.stance, row.stance_condition, evaluation):
                groups[(None, (), *new)].append(row.id)
                continue
            status = DemandStatus(row.status)
            key = (facts, status, row.stance, row.stance_condition)
            plan = plans.get(key)
            if plan is None:
                plan = plans[key] = _plan(
                    status,
                    evaluation,
                    version_id=version.id,
                    old_stance=row.stance,
                    old_condition=row.stance_condition,
                    at=at,
                    jurisdiction=row.jurisdiction,
                )
            tally.changed += 1
            tally.transitions[(row.stance or "-", new[0])] += 1
            subject = f"demand:{row.id}"
            for action, data in plan.events:
                audit.record(session, actor=actor, action=action, subject=subject, data=data,
                             at=now)  # fmt: skip
            tally.moves.update(plan.steps)
            if plan.reply is not None:
                tally.replies[plan.reply[0].value] += 1
                demands.add_reply(session, row.id, *plan.reply, rows=replies, at=now)
            groups[(status, plan.path, *new)].append(row.id)
        for (status, path, stance, condition), ids in groups.items():
            values: dict[str, Any] = {
                "stance": stance,
                "stance_condition": condition,
                "policy_version_id": version.id,
            }
            if path:
                values["status"] = path[-1]
            sets.write(session, ids, values, moves=len(path), status=status)
        inserts.insert_rows(session, PolicyEvaluation, records)
        demands.insert_replies(session, replies)


def _record(version: PolicyVersion, at: datetime, ev: Evaluation) -> dict[str, Any]:
    """An evaluation row but its demand (rows share the explanation list, written once)."""
    return {
        "version_id": version.id,
        "at": at,
        "stance": ev.stance.value,
        "rule_id": ev.rule_id,
        "condition": ev.condition,
        "explanation": list(ev.explanation),
    }
