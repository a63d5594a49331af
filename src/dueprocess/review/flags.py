"""A demand's risk flags: computed from what the connectors say about its targets, stored,
read back for its reviewers, and the rule that sends a demand to human-rights review.

Plain functions taking a session; the caller commits. The flags themselves are worked out
by the pure :func:`dueprocess.review.risk.assess`; this module gathers its facts (the
demand, a connector look-up per target, the protected-list entries that match) and writes
the result.

Where the review core calls in (not built here): :func:`compute` when a demand enters
review (and again whenever staff ask, e.g. after the protected list changed), and
:func:`requires_human_rights_review` before a demand may go to approval.

``Demand.human_rights_required`` is set by :func:`compute` when a high flag is raised or
the stance is ``escalate``, and never cleared by it: a later computation that finds less
(the content deleted meanwhile, the connector down) must not quietly lift a safeguard a
person or an earlier computation put there. Clearing it is a person's decision, for the
review core to record.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pluggy
from pydantic import BaseModel
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.audit.models import AuditEvent
from dueprocess.clock import utcnow
from dueprocess.connectors import service as connectors
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, Target, TargetType
from dueprocess.review import protected, risk
from dueprocess.review.models import FlagLevel, RiskFlag

log = logging.getLogger("dueprocess.review")

COMPUTED = "review.flags_computed"
_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.\-]*://)[^\s/@]+@", re.IGNORECASE)
#: How much of a connector's error a flag quotes.
_PROBLEM_CHARS = 300


@dataclass(frozen=True)
class Computed:
    """What :func:`compute` stored, and whether the demand now needs human-rights review
    (``newly_required``: this computation made it so)."""

    flags: list[RiskFlag]
    human_rights_required: bool
    reasons: list[str]
    newly_required: bool


class FlagOut(BaseModel):
    """A stored flag as its reviewers see it; ``target`` is the target's identifier, or
    None for a flag about the demand as a whole."""

    code: str
    level: FlagLevel
    summary: str
    evidence: list[dict[str, str]]
    target: str | None
    computed_at: datetime


class FlagsOut(BaseModel):
    """A demand's flags, when they were computed (None: never), and whether human-rights
    review is required."""

    demand_id: int
    computed_at: datetime | None
    human_rights_required: bool
    flags: list[FlagOut]


def look_up(manager: pluggy.PluginManager, target: Target) -> risk.TargetFacts:
    """What the connectors say about ``target``. A connector that raises is a fact
    (``problem``), not a crash: the flag it gives tells the reviewer nothing was checked."""
    facts = risk.TargetFacts(type=target.type.value, identifier=target.identifier)
    try:
        if target.type is TargetType.CONTENT:
            content = connectors.lookup_content(manager, target.identifier)
            return risk.TargetFacts(facts.type, facts.identifier, content=content)
        account = connectors.lookup_account(manager, target.identifier)
        return risk.TargetFacts(facts.type, facts.identifier, account=account)
    except Exception as exc:  # a plugin may raise anything; the reviewer must hear of it
        log.warning("connector failed looking up %s", target.identifier, exc_info=True)
        return risk.TargetFacts(facts.type, facts.identifier, problem=describe_failure(exc))


def describe_failure(exc: BaseException) -> str:
    """What reviewers are shown of a connector's error: its type and the first line of its
    message, with any password in a URL masked (the whole error goes to the server log)."""
    lines = str(exc).strip().splitlines()
    message = _CREDENTIALS.sub(r"\1***@", lines[0] if lines else "")
    return f"{type(exc).__name__}: {message}"[:_PROBLEM_CHARS] if message else type(exc).__name__


def _handles(target: risk.TargetFacts) -> set[str]:
    """The account handles a target names: its identifier's, and the connector's word for
    the account or the content's author."""
    found = {protected.handle_of(target.identifier)}
    if target.account is not None:
        found.add(protected.handle_of(target.account.handle))
    if target.content is not None:
        found.add(protected.handle_of(target.content.author))
    return {h for h in found if h}


def facts_of(demand: Demand, targets: list[risk.TargetFacts]) -> risk.DemandFacts:
    """The demand as :func:`risk.assess` sees it."""
    return risk.DemandFacts(
        kind=demand.kind.value,
        legal_process=demand.legal_process.value,
        data_categories=tuple(str(c) for c in demand.data_categories or ()),
        period_start=demand.period_start,
        period_end=demand.period_end,
        received_at=demand.received_at,
        summary=demand.summary or "",
        stance=demand.stance,
        targets=tuple(targets),
    )


def compute(
    session: Session,
    manager: pluggy.PluginManager,
    demand_id: int,
    *,
    actor: str,
    thresholds: risk.Thresholds = risk.DEFAULT_THRESHOLDS,
) -> Computed:
    """Work out the demand's flags and store them in place of its earlier ones; set
    ``human_rights_required`` if a high flag or an ``escalate`` stance calls for it (never
    clear it). One audit event, ``review.flags_computed``, with each flag's code, level and
    target id, and the human-rights outcome (never evidence: it quotes content).

    The connectors are asked before the demand's row is locked, so a slow service does not
    hold up others working on the demand. :class:`NotFound` for an unknown demand.
    """
    demand = demands.get(session, demand_id)
    targets = list(demand.targets)
    looked_up = [look_up(manager, t) for t in targets]
    handles = [_handles(t) for t in looked_up]
    listed = protected.match(session, set().union(*handles))
    matches = [
        risk.ProtectedMatch(position, handle, listed[handle].value)
        for position, names in enumerate(handles)
        for handle in sorted(names)
        if handle in listed
    ]
    found = risk.assess(facts_of(demand, looked_up), matches, thresholds=thresholds)

    locked = session.scalar(
        select(Demand)
        .where(Demand.id == demand_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None  # it was there a moment ago, and demands are never deleted
    demand = locked
    reasons = risk.human_rights_reasons(found, demand.stance)
    newly = bool(reasons) and not demand.human_rights_required
    if newly:
        demand.human_rights_required = True
    session.execute(delete(RiskFlag).where(RiskFlag.demand_id == demand_id))
    now = utcnow()
    rows = [
        RiskFlag(
            demand_id=demand_id,
            target_id=targets[flag.target].id if flag.target is not None else None,
            code=flag.code,
            level=flag.level,
            summary=flag.summary,
            evidence=[e.as_dict() for e in flag.evidence],
            computed_at=now,
        )
        for flag in found
    ]
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=COMPUTED,
        subject=demands.subject_of(demand),
        data={
            "flags": [
                {"code": r.code, "level": r.level.value, "target": r.target_id} for r in rows
            ],
            "human_rights_required": demand.human_rights_required,
            "human_rights_set_now": newly,
            "reasons": reasons,
        },
        at=now,
    )
    return Computed(rows, demand.human_rights_required, reasons, newly)


def stored(session: Session, demand_id: int) -> list[RiskFlag]:
    """The demand's flags as last computed, in the order they were raised."""
    return list(
        session.scalars(
            select(RiskFlag).where(RiskFlag.demand_id == demand_id).order_by(RiskFlag.id)
        )
    )


def computed_at(session: Session, demand_id: int) -> datetime | None:
    """When the demand's flags were last computed (committed), or None if never: no flags
    and flags never computed are different news for a reviewer."""
    query = (
        select(AuditEvent.at)
        .where(AuditEvent.subject == f"demand:{demand_id}", AuditEvent.action == COMPUTED)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    return session.scalar(query)


def shown(session: Session, demand: Demand) -> FlagsOut:
    """The demand's flags for its reviewers (pages, CLI), targets by their identifiers."""
    identifiers = {t.id: t.identifier for t in demand.targets}
    rows = stored(session, demand.id)
    when = computed_at(session, demand.id)
    if when is None and rows:
        when = rows[0].computed_at  # computed in this very transaction
    return FlagsOut(
        demand_id=demand.id,
        computed_at=when,
        human_rights_required=requires_human_rights_review(session, demand),
        flags=[
            FlagOut(
                code=r.code,
                level=r.level,
                summary=r.summary,
                evidence=[_evidence(e) for e in r.evidence],
                target=identifiers.get(r.target_id) if r.target_id is not None else None,
                computed_at=r.computed_at,
            )
            for r in rows
        ],
    )


def _evidence(item: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in dict(item).items()}


def requires_human_rights_review(session: Session, demand: Demand) -> bool:
    """Whether ``demand`` may not reach approval without a human-rights sign-off: it was
    marked so (by a flag computation or a person), its stance is ``escalate``, or a high
    flag is stored for it. Reads only: call :func:`compute` first (when the demand enters
    review), or flags never computed cannot count."""
    if demand.human_rights_required or demand.stance == "escalate":
        return True
    high = exists().where(RiskFlag.demand_id == demand.id, RiskFlag.level == FlagLevel.HIGH)
    return bool(session.scalar(select(high)))
