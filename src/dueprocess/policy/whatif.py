"""What a policy would do, and what it does now: the what-if and the jurisdiction tables.

Reads only. The what-if evaluates a candidate policy against every open demand without
writing anything, and says which demands would change stance and how, and which deadlines
would pass while they are paused. It groups open demands in the database and evaluates each
distinct combination once (``bench/policy_whatif.py``: 1,000,000 open demands in PostgreSQL).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice

import pycountry
from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.clock import as_utc, utcnow
from dueprocess.demands import service as demands
from dueprocess.errors import NotFound
from dueprocess.jurisdictions import UnknownJurisdiction, normalise
from dueprocess.policy import schemas as out
from dueprocess.policy.fileformat import load_policy
from dueprocess.policy.models import PolicyVersion, VersionStatus
from dueprocess.policy.rules import DemandFacts, Evaluation, Stance
from dueprocess.policy.service import (
    S,
    changes_answer,
    compiled_for,
    emails,
    history,
    normal_text,
    reply_for,
    target_status,
)

_Key = tuple[str, str, str, str, str, str | None, str | None]


@dataclass(frozen=True, slots=True)
class _Plan:
    evaluation: Evaluation
    from_stance: str
    status_after: str
    newly_paused: bool


def whatif(
    session: Session,
    source: str,
    *,
    at: datetime | None = None,
    limit: int | None = 200,
    source_name: str = "<what-if>",
) -> out.WhatIfOut:
    """What activating ``source`` at ``at`` (default now) would do to the open demands.

    Reads only. The open demands are counted in the database per combination of what the
    policy looks at (jurisdiction, authority, kind, legal process) and what it would change
    (status, recorded stance and condition); each combination is evaluated once, so the cost
    is one grouped scan however many demands there are. Then only the demands of affected
    jurisdictions are streamed to list the first ``limit`` changes (by id) and the first
    ``limit`` deadlines that would pass while paused (soonest first); ``limit=None`` lists
    all. Raises :class:`~dueprocess.policy.fileformat.PolicyFileError` for a bad file.
    """
    compiled = load_policy(normal_text(source), source_name).compiled()
    when = utcnow() if at is None else as_utc(at)
    memo: dict[tuple[str, str, str, str], Evaluation] = {}
    plans: dict[_Key, _Plan] = {}
    transitions: Counter[tuple[str, str]] = Counter()
    moves: Counter[tuple[str, str]] = Counter()
    places: Counter[str] = Counter()
    replies: Counter[str] = Counter()
    total = missed = passed = 0
    for g in demands.open_groups(session, deadline_cutoff=when):
        total += g.count
        facts_key = (g.jurisdiction, g.authority, g.kind, g.legal_process)
        evaluation = memo.get(facts_key)
        if evaluation is None:
            facts = DemandFacts(*facts_key, when)
            evaluation = memo[facts_key] = compiled.evaluate(facts, when, explain=False)
        if not changes_answer(g.stance, g.stance_condition, evaluation):
            continue
        from_stance = g.stance or Stance.PROCESS.value
        after = target_status(S(g.status), evaluation.stance).value
        newly_paused = evaluation.stance is Stance.PAUSE and from_stance != Stance.PAUSE.value
        plans[(*facts_key, g.status, g.stance, g.stance_condition)] = _Plan(
            evaluation, from_stance, after, newly_paused
        )
        transitions[(from_stance, evaluation.stance.value)] += g.count
        if after != g.status:
            moves[(g.status, after)] += g.count
        places[g.jurisdiction] += g.count
        reply = reply_for(g.stance, g.stance_condition, evaluation, g.jurisdiction)
        if reply is not None:
            replies[reply[0].value] += g.count
        if newly_paused:
            missed += g.deadlines_from
            passed += g.deadlines_before
    changing = sum(places.values())
    changes = [
        out.StanceChange.model_validate(
            {
                **_row_fields(row, "legal_process", "received_at", "status"),
                "status_after": plan.status_after,
                "from_stance": plan.from_stance,
                "from_condition": row.stance_condition,
                "to_stance": plan.evaluation.stance.value,
                "to_condition": plan.evaluation.condition,
                "rule_id": plan.evaluation.rule_id,
            }
        )
        for row, plan in islice(_planned(session, plans, None), limit if changing else 0)
    ]
    deadlines = [
        out.DeadlineRisk.model_validate(
            {**_row_fields(row, "penalty"), "from_stance": plan.from_stance}
        )
        for row, plan in islice(_planned(session, plans, when), limit if missed else 0)
    ]
    return out.WhatIfOut(
        policy=compiled.document.name,
        at=when,
        open_demands=total,
        changing=changing,
        transitions=out.Transition.tally(transitions),
        moves=out.StatusMove.tally(moves),
        by_jurisdiction=out.Count.tally(places),
        replies=out.Count.tally(replies),
        changes=changes,
        changes_truncated=len(changes) < changing,
        deadlines_missed=missed,
        deadlines_already_passed=passed,
        deadlines=deadlines,
        deadlines_truncated=len(deadlines) < missed,
    )


def _planned(
    session: Session, plans: dict[_Key, _Plan], deadline_from: datetime | None
) -> Iterator[tuple[demands.OpenRow, _Plan]]:
    """The open demands a plan covers, by id; or, with ``deadline_from``, those newly paused
    with a deadline at or after it, soonest first. Only affected jurisdictions are read."""
    paused_only = deadline_from is not None
    places = {key[0] for key, plan in plans.items() if plan.newly_paused or not paused_only}
    rows = demands.iter_open_rows(session, jurisdictions=places, deadline_from=deadline_from)
    for row in rows:
        key = (row.jurisdiction, row.authority, row.kind, row.legal_process, row.status)
        plan = plans.get((*key, row.stance, row.stance_condition))
        if plan is not None and (plan.newly_paused or not paused_only):
            yield row, plan


def _row_fields(row: demands.OpenRow, *extra: str) -> dict[str, object]:
    names = ("jurisdiction", "authority", "kind", "deadline", *extra)
    return {"demand_id": row.id, **{name: getattr(row, name) for name in names}}


# --- jurisdictions ----------------------------------------------------------------------------


def _chain(session: Session) -> out.Chain:
    """Versions that have been in force, in activation order (the last is the active one)."""
    rows = session.scalars(
        select(PolicyVersion)
        .where(PolicyVersion.status.in_([VersionStatus.ACTIVE, VersionStatus.SUPERSEDED]))
        .order_by(PolicyVersion.decided_at, PolicyVersion.id)
    )
    return [(version, compiled_for(version)) for version in rows]


def jurisdiction_table(
    session: Session, *, every_country: bool = False, at: datetime | None = None
) -> list[out.JurisdictionRow]:
    """Each jurisdiction with a rule in the active version or a demand (with
    ``every_country``, every ISO 3166-1 country too) and its stance at ``at`` (default now)."""
    when = utcnow() if at is None else as_utc(at)
    chain = _chain(session)
    counts = demands.jurisdiction_counts(session)
    codes = set(counts)
    if chain:
        codes |= {rule.jurisdiction for rule in chain[-1][1].document.rules}
    if every_country:
        codes |= {str(country.alpha_2) for country in pycountry.countries}
    return [out.JurisdictionRow.build(c, chain, when, counts.get(c, (0, 0))) for c in sorted(codes)]


def jurisdiction_detail(session: Session, code: str) -> out.JurisdictionDetail:
    """One jurisdiction: its stance now, the rules that concern it in the active version and
    in every version before (newest first), and its open demands per stance."""
    try:
        code = normalise(code)
    except UnknownJurisdiction as exc:
        raise NotFound(str(exc)) from exc
    when = utcnow()
    chain = _chain(session)
    row = out.JurisdictionRow.build(
        code, chain, when, demands.jurisdiction_counts(session).get(code, (0, 0))
    )
    versions = history(session)
    people = emails(session, [a for v in versions for a in (v.author, v.approver)])
    shapes = []
    for version in versions:
        document = compiled_for(version).document
        rules = [out.RuleOut.of(r) for r in document.rules if out.concerns(r, code)]
        shapes.append((version, rules, document.default.value))
    past = [
        out.JurisdictionVersion(
            version=out.VersionOut.of(version, people),
            rules=rules,
            default=default,
            changed=i + 1 == len(shapes) or (rules, default) != shapes[i + 1][1:],
        )
        for i, (version, rules, default) in enumerate(shapes)
    ]
    current = next((p.rules for p in past if p.version.status is VersionStatus.ACTIVE), [])
    stances: Counter[str] = Counter()
    for group in demands.open_groups(session, deadline_cutoff=when, jurisdiction=code):
        stances[group.stance or "-"] += group.count
    return out.JurisdictionDetail(
        row=row, rules=current, history=past, open_by_stance=out.Count.tally(stances)
    )
