"""Activation in sets (:mod:`dueprocess.policy.activation`) against the one-at-a-time way it
replaced (tests/policy/reference_activation.py): over a mix of demands in every open status,
with every earlier answer and every stance, both leave the same demands, replies,
evaluations and audit events, in the same order, and count the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.audit.models import AuditEvent
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus, Reply
from dueprocess.errors import Conflict
from dueprocess.policy import activation, service as policy
from dueprocess.policy.activation import Tally
from dueprocess.policy.models import PolicyEvaluation
from dueprocess.runtime import Runtime
from tests import factories
from tests.policy import reference_activation
from tests.policy.test_service import people, receive  # noqa: F401 - people is a fixture

S = DemandStatus
AT = datetime(2020, 7, 8, tzinfo=UTC)
US = {
    **factories.BKA,
    "slug": "us-fbi",
    "name": "FBI",
    "jurisdiction": "US",
    "official_domains": ["fbi.gov"],
}

#: Before: Hong Kong's removals and emergencies paused on one condition, Germany's court
#: orders escalated.
BEFORE = """\
policy: Before
default: process
rules:
  - id: hk-pause
    jurisdiction: HK
    kinds: [removal, emergency-disclosure]
    stance: pause
    condition: pending an assessment
  - id: de-court
    jurisdiction: DE
    legal_processes: [court-order]
    stance: escalate
    condition: a court order from Germany
"""
#: After: every stance somewhere, and Hong Kong's pause on another condition.
AFTER = """\
policy: After
default: process
rules:
  - id: hk-pause-hrdd
    jurisdiction: HK
    stance: pause
    condition: pending human-rights due diligence
  - id: hk-removal-refuse
    jurisdiction: HK
    kinds: [removal]
    stance: refuse
    condition: removals under the NSL are refused
  - id: hk-emergency
    jurisdiction: HK
    kinds: [emergency-disclosure]
    stance: process
  - id: de-redirect
    jurisdiction: DE
    kinds: [user-data]
    stance: redirect
    condition: through the MLAT with Germany
    reply: Write to the Federal Office of Justice.
  - id: de-preservation
    jurisdiction: DE
    kinds: [preservation]
    stance: escalate
    condition: human-rights review of German preservation orders
  - id: us-ca
    jurisdiction: US-CA
    stance: no-service
"""


def _mixed(session: Session, runtime: Runtime, people: dict[str, str]) -> None:  # noqa: F811
    """Demands in every open status under BEFORE's answers, and some closed ones."""
    factories.authority(session, US)
    version = policy.propose(session, BEFORE, "before.yaml", "set up", actor=people["owner"])
    policy.approve(
        session, version.id, actor=people["approver"], at=datetime(2020, 7, 1, tzinfo=UTC)
    )
    session.commit()
    kinds: list[tuple[str, str, dict[str, Any]]] = [
        ("removal", "administrative-order", {}),
        ("user-data", "court-order", {"data_categories": ["subscriber"]}),
        ("preservation", "subpoena", {}),
        (
            "emergency-disclosure",
            "emergency",
            {"data_categories": ["subscriber"], "emergency_justification": "a life"},
        ),
    ]
    places = [("hkpf-nsd", "HK"), ("de-bka", "DE"), ("us-fbi", "US-CA"), ("us-fbi", "US")]
    n = 0
    for authority, jurisdiction in places:
        for kind, process, extra in kinds:
            for walk in ("stay", "legal", "human-rights", "approval", "close"):
                n += 1
                demand = receive(
                    session,
                    runtime,
                    authority=authority,
                    jurisdiction=jurisdiction,
                    reference=f"MIX-{n}",
                    kind=kind,
                    legal_process=process,
                    received_at="2020-07-02T09:30:00+08:00",
                    **extra,
                )
                _walk(session, demand, walk)
    session.commit()


def _walk(session: Session, demand: Demand, walk: str) -> None:
    """Move a demand along as staff would have (a paused one stays paused)."""
    if demand.status is not S.RECEIVED or walk == "stay":
        return

    def move(to: DemandStatus) -> None:
        demands.move(session, demand, to, actor="test", by=factories.ANYONE, reason="set up")

    if walk == "close":
        move(S.WITHDRAWN)
        return
    move(S.LEGAL_REVIEW)
    if walk == "human-rights":
        move(S.HUMAN_RIGHTS_REVIEW)
    elif walk == "approval" and demand.kind.value != "emergency-disclosure":
        move(S.AWAITING_APPROVAL)


def _capture(session: Session, run: Callable[[], Tally]) -> dict[str, Any]:
    """Run one way of re-evaluating in the session's transaction, read what it left, and
    roll it back."""
    mark = int(session.scalar(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)) or 0)
    replies_before = int(session.scalar(select(Reply.id).order_by(Reply.id.desc()).limit(1)) or 0)
    tally = run()
    session.flush()
    audit.append_pending(session, chain_now=True)
    session.expire_all()
    shown = {
        "tally": (
            tally.evaluated,
            tally.changed,
            dict(tally.transitions),
            dict(tally.moves),
            dict(tally.replies),
        ),
        "demands": [
            (
                d.id,
                d.status,
                d.stance,
                d.stance_condition,
                d.policy_version_id,
                d.revision,
                d.assignee_id,
            )
            for d in session.scalars(select(Demand).order_by(Demand.id))
        ],
        "replies": [
            (r.demand_id, r.kind, r.text)
            for r in session.scalars(
                select(Reply).where(Reply.id > replies_before).order_by(Reply.id)
            )
        ],
        "evaluations": sorted(
            (
                e.demand_id,
                e.version_id,
                e.at,
                e.stance,
                e.rule_id,
                e.condition,
                tuple(e.explanation),
            )
            for e in session.scalars(select(PolicyEvaluation).where(PolicyEvaluation.at == AT))
        ),
        "events": [
            (e.actor, e.action, e.subject, e.data)
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.seq > mark).order_by(AuditEvent.seq)
            )
        ],
    }
    session.rollback()
    return shown


def test_sets_leave_exactly_what_one_at_a_time_left(
    session: Session,
    runtime: Runtime,
    people: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _mixed(session, runtime, people)
    version = policy.propose(session, AFTER, "after.yaml", "compare", actor=people["owner"])
    session.commit()
    compiled = policy.compiled_for(version)
    actor = people["approver"]
    old = _capture(
        session, lambda: reference_activation.reevaluate(session, version, compiled, AT, actor)
    )
    monkeypatch.setattr(activation, "BATCH", 7)  # several rounds, sets split across them
    new = _capture(session, lambda: activation.reevaluate(session, version, compiled, AT, actor))
    assert new["tally"] == old["tally"]
    assert new["demands"] == old["demands"]
    assert new["replies"] == old["replies"]
    assert new["evaluations"] == old["evaluations"]
    assert new["events"] == old["events"]
    # and the mix was one: every stance applied, moves through legal review, replies of each kind
    evaluated, changed, transitions, moves, replies = new["tally"]
    assert changed > 0
    assert evaluated == 67  # 80 demands, 13 withdrawn (those not paused or escalated at intake)
    assert {to for _, to in transitions} == {
        "pause",
        "refuse",
        "redirect",
        "escalate",
        "process",
        "no-service",
    }
    assert ("awaiting-approval", "legal-review") in moves
    assert set(replies) == {"holding", "refusal", "redirect", "no-service", "acknowledgement"}
    assert {a for _, a, _, _ in new["events"]} >= {
        "policy.applied",
        "demand.paused",
        "demand.refused",
        "demand.redirected",
    }


def test_an_activation_moved_under_it_changes_nothing(
    session: Session,
    runtime: Runtime,
    people: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A set written while one of its demands is not where it was read (here, moved by hand
    between the read and the write) is refused whole: the transaction rolls back."""
    hk = receive(session, runtime)
    session.commit()
    version = policy.propose(session, AFTER, "after.yaml", "x", actor=people["owner"])
    session.commit()
    original = demands.open_rows_after

    def read_then_move(s: Session, after: int, limit: int) -> list[Any]:
        rows = original(s, after, limit)
        if rows:
            demands.move(
                s,
                demands.get(s, hk.id),
                S.LEGAL_REVIEW,
                actor="test",
                by=factories.ANYONE,
                reason="meanwhile",
            )
        return rows

    monkeypatch.setattr(demands, "open_rows_after", read_then_move)
    with pytest.raises(Conflict, match="changed while they were being moved"):
        policy.approve(session, version.id, actor=people["approver"])
    monkeypatch.undo()
    session.rollback()
    assert demands.get(session, hk.id).status is S.RECEIVED
    assert policy.get_version(session, version.id).status.value == "proposed"
