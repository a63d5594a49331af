"""Policy versions, four-eyes activation, applying stances, and the what-if, on a real database.

Demands are entered through :func:`dueprocess.intake.flow.receive`, accounts through the accounts
service; every assertion reads back what the services stored.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.audit.models import AuditEvent
from dueprocess.demands import service as demands, states
from dueprocess.demands.models import Channel, Demand, DemandStatus, ReplyKind
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import Conflict, InvalidInput
from dueprocess.intake import flow
from dueprocess.policy import service as policy, whatif as policy_whatif
from dueprocess.policy.fileformat import PolicyFileError
from dueprocess.policy.models import PolicyEvaluation, PolicyVersion, VersionStatus
from dueprocess.policy.rules import Stance
from dueprocess.policy.templates import template_text
from dueprocess.runtime import Runtime
from tests import factories

FACEBOOK = template_text("facebook-whatsapp-2020")
JULY_6 = datetime(2020, 7, 6, tzinfo=UTC)
PROCESS_ALL = "policy: Process everything\ndefault: process\nrules: []\n"


def hk_rule(stance: str, condition: str | None = "stated condition", **extra: str) -> str:
    """A policy with one undated rule for Hong Kong."""
    lines = [
        "policy: Test",
        "default: process",
        "rules:",
        "  - id: hk-rule",
        "    jurisdiction: HK",
    ]
    lines.append(f"    stance: {stance}")
    if condition is not None:
        lines.append(f"    condition: {condition}")
    lines.extend(f"    {key}: {value}" for key, value in extra.items())
    return "\n".join(lines) + "\n"


@pytest.fixture
def people(session: Session) -> dict[str, str]:
    """Actors: a policy owner, a second policy owner, an approver, an intake reviewer."""
    out = {}
    for name, roles in (
        ("owner", ["policy-owner"]),
        ("owner2", ["policy-owner"]),
        ("approver", ["approver"]),
        ("intake", ["intake"]),
    ):
        out[name] = f"account:{factories.account(session, f'{name}@example.org', roles).id}"
    factories.authority(session)
    factories.authority(session, factories.BKA)
    session.commit()
    return out


def receive(session: Session, runtime: Runtime, **changes: Any) -> Demand:
    """A demand entered through the flow (HK removal unless ``changes`` say otherwise)."""
    data = DemandIn.model_validate(factories.body(**changes))
    return flow.receive(session, runtime, data, channel=Channel.EMAIL, actor="test").demand


def activate(
    session: Session, people: dict[str, str], text: str, at: datetime | None = None
) -> PolicyVersion:
    version = policy.propose(session, text, "test.yaml", "testing", actor=people["owner"])
    policy.approve(session, version.id, actor=people["approver"], at=at)
    session.commit()
    return version


def events(session: Session) -> int:
    return int(session.scalar(select(func.count(AuditEvent.seq))) or 0)


def actions(session: Session, subject: str) -> list[str]:
    return [e.action for e in audit.for_subject(session, subject)]


# --- versions and four eyes ---------------------------------------------------------------------


def test_four_eyes_the_author_cannot_approve_and_both_steps_are_audited(
    session: Session, people: dict[str, str]
) -> None:
    version = policy.propose(session, FACEBOOK, "fb.yaml", "Hong Kong NSL", actor=people["owner"])
    session.commit()
    assert version.status is VersionStatus.PROPOSED
    assert version.source == FACEBOOK
    assert len(version.source_sha256) == 64
    assert actions(session, f"policy_version:{version.id}") == ["policy.proposed"]

    with pytest.raises(Conflict, match="four eyes"):
        policy.approve(session, version.id, actor=people["owner"])
    session.rollback()
    assert policy.get_version(session, version.id).status is VersionStatus.PROPOSED
    assert policy.active(session) is None

    result = policy.approve(session, version.id, actor=people["owner2"])
    session.commit()
    stored = policy.get_version(session, version.id)
    assert stored.status is VersionStatus.ACTIVE
    assert (stored.author, stored.approver) == (people["owner"], people["owner2"])
    assert stored.effective_from == result.at
    trail = audit.for_subject(session, f"policy_version:{version.id}")
    assert [e.action for e in trail] == [
        "policy.proposed",
        "policy.approved",
        "policy.activated",
        "policy.reevaluated",
    ]
    assert trail[0].actor == people["owner"]
    assert {e.actor for e in trail[1:]} == {people["owner2"]}
    assert result.version.author_email == "owner@example.org"
    assert result.version.approver_email == "owner2@example.org"


def test_roles_proposing_needs_policy_owner_and_approving_an_approver(
    session: Session, people: dict[str, str]
) -> None:
    with pytest.raises(Conflict, match="policy:propose"):
        policy.propose(session, FACEBOOK, "fb.yaml", "why", actor=people["approver"])
    with pytest.raises(Conflict, match="person's account"):
        policy.propose(session, FACEBOOK, "fb.yaml", "why", actor="system")
    with pytest.raises(InvalidInput, match="reason"):
        policy.propose(session, FACEBOOK, "fb.yaml", "  ", actor=people["owner"])
    version = policy.propose(session, FACEBOOK, "fb.yaml", "why", actor=people["owner"])
    with pytest.raises(Conflict, match="policy:approve"):
        policy.approve(session, version.id, actor=people["intake"])
    policy.approve(session, version.id, actor=people["approver"])
    with pytest.raises(Conflict, match="only a proposed version"):
        policy.approve(session, version.id, actor=people["owner2"])


def test_reject_closes_a_proposal_with_its_reason(session: Session, people: dict[str, str]) -> None:
    version = policy.propose(session, FACEBOOK, "fb.yaml", "why", actor=people["owner"])
    policy.reject(session, version.id, "not yet", actor=people["approver"])
    session.commit()
    assert policy.get_version(session, version.id).status is VersionStatus.REJECTED
    rejected = audit.for_subject(session, f"policy_version:{version.id}")[-1]
    assert (rejected.action, rejected.data["reason"]) == ("policy.rejected", "not yet")
    with pytest.raises(Conflict):
        policy.approve(session, version.id, actor=people["approver"])
    other = policy.propose(session, FACEBOOK, "fb.yaml", "why", actor=people["owner"])
    with pytest.raises(Conflict, match="policy:approve"):
        policy.reject(session, other.id, "no", actor=people["intake"])


BAD_RULES = {
    "unknown country": ("jurisdiction: XX", "jurisdiction", "unknown jurisdiction"),
    "window ends before it starts": (
        "jurisdiction: HK\n    from: 2020-07-06\n    until: 2020-07-01",
        "until",
        "on or before it starts",
    ),
    "condition with no text": ('jurisdiction: HK\n    condition: "  "', "condition", "no text"),
    "unknown kind": (
        "jurisdiction: HK\n    kinds: [user-data, mind-reading]",
        "kinds",
        "unknown kind",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_a_bad_file_is_refused_naming_rule_field_and_line_storing_nothing(
    session: Session, people: dict[str, str], case: str
) -> None:
    lines, field, message = BAD_RULES[case]
    text = (
        "policy: Bad\ndefault: process\nrules:\n"
        "  - id: good\n    jurisdiction: DE\n    stance: process\n"
        f"  - id: broken\n    {lines}\n    stance: pause\n"
    )
    if "condition" not in lines:
        text = text.replace("stance: pause\n", "stance: pause\n    condition: pending\n")
    before = events(session)
    with pytest.raises(PolicyFileError) as caught:
        policy.propose(session, text, "bad.yaml", "why", actor=people["owner"])
    session.rollback()
    problem = caught.value.problems[0]
    assert problem.rule_id == "broken"
    assert problem.field.startswith(f"rules[1].{field}")
    assert message in problem.msg
    assert 8 <= problem.line <= 11
    assert f"bad.yaml:{problem.line}: rules[1].{field}" in str(caught.value)
    assert session.scalar(select(func.count(PolicyVersion.id))) == 0
    assert events(session) == before


def test_two_equally_specific_conflicting_rules_are_refused_naming_both(
    session: Session, people: dict[str, str]
) -> None:
    text = (
        "policy: Clash\ndefault: process\nrules:\n"
        "  - id: hk-pause\n    jurisdiction: HK\n    stance: pause\n    condition: pending\n"
        "  - id: hk-refuse\n    jurisdiction: HK\n    stance: refuse\n    condition: unlawful\n"
    )
    with pytest.raises(PolicyFileError) as caught:
        policy.propose(session, text, "clash.yaml", "why", actor=people["owner"])
    (problem,) = caught.value.problems
    assert (problem.rule_id, problem.line) == ("hk-refuse", 8)
    assert 'ties with rule "hk-pause"' in problem.msg
    assert session.scalar(select(func.count(PolicyVersion.id))) == 0


# --- applying stances ---------------------------------------------------------------------------


def test_activation_pauses_an_open_hong_kong_demand_with_audit_and_holding_reply(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    hk = receive(session, runtime, received_at="2020-07-03T09:00:00+08:00")
    de = receive(
        session,
        runtime,
        authority="de-bka",
        jurisdiction="DE",
        reference="BKA-1",
        received_at="2020-07-03T09:00:00+02:00",
        deadline="2020-07-30T09:00:00+02:00",
    )
    session.commit()
    assert (hk.status, hk.stance, hk.policy_version_id) == (DemandStatus.RECEIVED, "process", None)

    version = policy.propose(session, FACEBOOK, "fb.yaml", "NSL", actor=people["owner"])
    result = policy.approve(session, version.id, actor=people["approver"])
    session.commit()

    assert (result.evaluated, result.changed) == (2, 1)
    assert [(t.from_stance, t.to_stance, t.count) for t in result.transitions] == [
        ("process", "pause", 1)
    ]
    hk = demands.get(session, hk.id)
    assert hk.status is DemandStatus.PAUSED
    assert (hk.stance, hk.stance_condition) == ("pause", "pending human-rights due diligence")
    assert hk.policy_version_id == version.id
    assert hk.deadline is not None  # deadline and penalty stay on the demand while paused
    assert hk.penalty
    trail = audit.for_subject(session, f"demand:{hk.id}")
    paused = trail[-1]  # one event: the move, with the decision behind it and the reply
    assert paused.action == "demand.paused"
    assert paused.actor == people["approver"]
    assert (paused.data["from"], paused.data["policy_version"]) == ("received", version.id)
    assert paused.data["rule"] == "hk-pause-hrdd"
    decision = paused.data["policy"]
    assert (decision["via"], decision["stance"], decision["from"]) == (
        "activation",
        "pause",
        "process",
    )
    assert decision["condition"] == "pending human-rights due diligence"
    (reply,) = demands.replies(session, hk.id)
    assert paused.data["reply"] == {
        "kind": "holding",
        "text_sha256": hashlib.sha256(reply.text.encode()).hexdigest(),
    }
    (reply,) = demands.replies(session, hk.id)
    assert reply.kind is ReplyKind.HOLDING
    assert "held, not refused" in reply.text
    evaluation = policy.evaluations(session, hk.id)[-1]
    assert (evaluation.version_id, evaluation.stance, evaluation.rule_id) == (
        version.id,
        "pause",
        "hk-pause-hrdd",
    )
    assert evaluation.at == result.at
    assert any("hk-pause-hrdd" in line for line in evaluation.explanation)

    de = demands.get(session, de.id)
    assert (de.status, de.stance, de.policy_version_id) == (
        DemandStatus.RECEIVED,
        "process",
        version.id,
    )
    assert [e.version_id for e in policy.evaluations(session, de.id)] == [version.id]
    assert demands.replies(session, de.id) == []


def test_a_new_version_without_the_pause_lifts_it(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    first = activate(session, people, FACEBOOK)
    hk = receive(session, runtime)  # received 7 July: paused at intake
    session.commit()
    assert hk.status is DemandStatus.PAUSED

    second = activate(session, people, PROCESS_ALL)
    hk = demands.get(session, hk.id)
    assert (hk.status, hk.stance, hk.stance_condition) == (DemandStatus.RECEIVED, "process", None)
    assert hk.policy_version_id == second.id
    assert policy.get_version(session, first.id).status is VersionStatus.SUPERSEDED
    assert policy.get_version(session, second.id).status is VersionStatus.ACTIVE
    kinds = [r.kind for r in demands.replies(session, hk.id)]
    assert kinds == [ReplyKind.HOLDING, ReplyKind.ACKNOWLEDGEMENT]
    assert "pause (pending human-rights due diligence) is lifted" in (
        demands.replies(session, hk.id)[-1].text
    )
    assert [e.version_id for e in policy.evaluations(session, hk.id)] == [first.id, second.id]
    assert actions(session, f"demand:{hk.id}")[-2:] == ["demand.paused", "demand.received"]
    lifted = audit.for_subject(session, f"demand:{hk.id}")[-1]
    assert lifted.data["policy"]["from"] == "pause"
    assert lifted.data["reply"]["kind"] == "acknowledgement"


def test_a_version_that_says_the_same_again_leaves_a_persons_decision_alone(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    activate(session, people, FACEBOOK)
    hk = receive(session, runtime)
    demands.move(
        session,
        hk,
        DemandStatus.LEGAL_REVIEW,
        actor="test",
        by=factories.ANYONE,
        reason="reviewer override",
    )
    session.commit()
    before = events(session)
    result_version = activate(session, people, FACEBOOK.replace("July 2020", "Again, July 2020"))
    hk = demands.get(session, hk.id)
    assert hk.status is DemandStatus.LEGAL_REVIEW
    assert hk.policy_version_id == result_version.id
    assert len(demands.replies(session, hk.id)) == 1
    # proposed, approved, activated, reevaluated: no event about the demand
    assert events(session) == before + 4


def test_intake_applies_the_active_stance_at_received_at(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    version = activate(session, people, FACEBOOK, at=JULY_6)
    before = receive(session, runtime, reference="A", received_at="2020-07-05T23:59:00Z")
    after = receive(session, runtime, reference="B", received_at="2020-07-06T00:00:00Z")
    session.commit()
    assert (before.status, before.stance) == (DemandStatus.RECEIVED, "process")
    assert (after.status, after.stance) == (DemandStatus.PAUSED, "pause")
    assert demands.replies(session, before.id) == []
    assert [r.kind for r in demands.replies(session, after.id)] == [ReplyKind.HOLDING]
    for demand in (before, after):
        (evaluation,) = policy.evaluations(session, demand.id)
        assert (evaluation.version_id, evaluation.at) == (version.id, demand.received_at)
        assert demand.policy_version_id == version.id
    assert actions(session, f"demand:{after.id}") == [
        "demand.submitted",
        "demand.verification_assessed",
        "demand.paused",
    ]
    paused = audit.for_subject(session, f"demand:{after.id}")[-1]
    assert paused.data["policy"]["via"] == "intake"
    assert paused.data["reply"]["kind"] == "holding"
    assert actions(session, f"demand:{before.id}") == [
        "demand.submitted",
        "demand.verification_assessed",
        "policy.applied",  # processed: no move, the decision is recorded on its own
    ]


@pytest.mark.parametrize(
    ("stance", "status", "reply"),
    [
        ("refuse", DemandStatus.REFUSED, ReplyKind.REFUSAL),
        ("redirect", DemandStatus.REDIRECTED, ReplyKind.REDIRECT),
        ("no-service", DemandStatus.REFUSED, ReplyKind.NO_SERVICE),
        ("escalate", DemandStatus.HUMAN_RIGHTS_REVIEW, None),
        ("pause", DemandStatus.PAUSED, ReplyKind.HOLDING),
        ("process", DemandStatus.RECEIVED, None),
    ],
)
def test_each_stance_moves_the_demand_and_replies(
    session: Session,
    runtime: Runtime,
    people: dict[str, str],
    stance: str,
    status: DemandStatus,
    reply: ReplyKind | None,
) -> None:
    activate(session, people, hk_rule(stance, None if stance == "process" else "the condition"))
    demand = receive(session, runtime)
    session.commit()
    assert demand.status is status
    assert demand.stance == stance
    replies = demands.replies(session, demand.id)
    assert [r.kind for r in replies] == ([reply] if reply else [])
    if reply is not None and stance != "no-service":
        assert "the condition" in replies[0].text


def test_the_rules_reply_text_is_sent_verbatim(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    activate(session, people, hk_rule("redirect", "use the MLAT", reply="Write to the DoJ."))
    demand = receive(session, runtime)
    assert [r.text for r in demands.replies(session, demand.id)] == ["Write to the DoJ."]


def test_a_demand_awaiting_approval_is_paused_through_legal_review(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    demand = receive(session, runtime)
    demands.move(
        session,
        demand,
        DemandStatus.LEGAL_REVIEW,
        actor="test",
        by=factories.ANYONE,
        reason="review",
    )
    demands.move(
        session,
        demand,
        DemandStatus.AWAITING_APPROVAL,
        actor="test",
        by=factories.ANYONE,
        reason="ready",
    )
    session.commit()
    activate(session, people, FACEBOOK)
    demand = demands.get(session, demand.id)
    assert demand.status is DemandStatus.PAUSED
    assert actions(session, f"demand:{demand.id}")[-2:] == ["demand.legal-review", "demand.paused"]
    through, paused = audit.for_subject(session, f"demand:{demand.id}")[-2:]
    assert "policy" not in through.data, "the decision and reply go with the last move"
    assert (paused.data["from"], paused.data["policy"]["stance"]) == ("legal-review", "pause")


@pytest.mark.parametrize("status", sorted(states.OPEN))
@pytest.mark.parametrize("stance", list(Stance))
def test_every_open_status_has_a_legal_route_for_every_stance(
    status: DemandStatus, stance: Stance
) -> None:
    steps = policy.route(status, policy.target_status(status, stance))
    current = status
    for step in steps:
        assert states.can_move(current, step)
        current = step
    assert current is policy.target_status(status, stance)


def test_a_closed_demand_is_not_re_evaluated(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    demand = receive(session, runtime)
    demands.move(
        session,
        demand,
        DemandStatus.WITHDRAWN,
        actor="test",
        by=factories.ANYONE,
        reason="withdrawn",
    )
    session.commit()
    result = policy.approve(
        session,
        policy.propose(session, FACEBOOK, "fb.yaml", "why", actor=people["owner"]).id,
        actor=people["approver"],
    )
    assert result.evaluated == 0
    assert demands.get(session, demand.id).stance == "process"


def test_a_failed_activation_changes_nothing(
    session: Session, runtime: Runtime, people: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = activate(session, people, PROCESS_ALL)
    demand = receive(session, runtime)
    session.commit()
    version = policy.propose(session, FACEBOOK, "fb.yaml", "why", actor=people["owner"])
    session.commit()
    before = events(session)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the mail queue is down")

    monkeypatch.setattr(demands, "add_reply", broken)
    with pytest.raises(RuntimeError):
        policy.approve(session, version.id, actor=people["approver"])
    session.rollback()
    assert policy.get_version(session, first.id).status is VersionStatus.ACTIVE
    assert policy.get_version(session, version.id).status is VersionStatus.PROPOSED
    demand = demands.get(session, demand.id)
    assert (demand.status, demand.policy_version_id) == (DemandStatus.RECEIVED, first.id)
    assert events(session) == before


def test_a_tampered_stored_text_is_refused(session: Session, people: dict[str, str]) -> None:
    version = policy.propose(session, PROCESS_ALL, "p.yaml", "why", actor=people["owner"])
    version.source = PROCESS_ALL.replace("process\nrules", "refuse\nrules")
    with pytest.raises(Conflict, match="does not match its hash"):
        policy.approve(session, version.id, actor=people["approver"])


# --- what-if ------------------------------------------------------------------------------------


def test_whatif_lists_exactly_the_changes_and_missed_deadlines_and_writes_nothing(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    # A version that processes everything; then demands of every sort.
    activate(session, people, hk_rule("pause", "older pause"), at=datetime(2020, 1, 1, tzinfo=UTC))
    due = receive(
        session,
        runtime,
        reference="due",
        received_at="2020-07-01T00:00:00Z",
        deadline="2020-07-10T00:00:00Z",
    )
    late = receive(
        session,
        runtime,
        reference="late",
        received_at="2020-06-20T00:00:00Z",
        deadline="2020-06-25T00:00:00Z",
    )
    undated = receive(
        session, runtime, reference="undated", deadline=None, received_at="2020-07-02T00:00:00Z"
    )
    closed = receive(session, runtime, reference="closed", received_at="2020-07-03T00:00:00Z")
    demands.move(
        session,
        closed,
        DemandStatus.WITHDRAWN,
        actor="test",
        by=factories.ANYONE,
        reason="withdrawn",
    )
    german = receive(
        session,
        runtime,
        authority="de-bka",
        jurisdiction="DE",
        reference="de",
        received_at="2020-07-02T00:00:00Z",
        deadline="2020-08-01T00:00:00Z",
    )
    session.commit()
    # All Hong Kong demands are paused under "older pause"; the what-if changes the condition
    # of one of them only if the new text says something else. First: the same text.
    same = policy_whatif.whatif(session, hk_rule("pause", "older pause"), at=JULY_6)
    assert (same.open_demands, same.changing, same.changes) == (4, 0, [])

    before = (events(session), session.scalar(select(func.count(PolicyEvaluation.id))))
    result = policy_whatif.whatif(session, FACEBOOK, at=JULY_6)
    assert result.policy == "July 2020 — Facebook/WhatsApp"
    assert (result.open_demands, result.changing) == (4, 3)
    assert [c.demand_id for c in result.changes] == [due.id, late.id, undated.id]
    change = result.changes[0]
    assert (change.from_stance, change.from_condition) == ("pause", "older pause")
    assert (change.to_stance, change.to_condition) == (
        "pause",
        "pending human-rights due diligence",
    )
    assert (change.status, change.status_after, change.rule_id) == (
        "paused",
        "paused",
        "hk-pause-hrdd",
    )
    # Only a *new* pause makes deadlines pass "while paused": these were paused already.
    assert (result.deadlines_missed, result.deadlines) == (0, [])
    assert [(r.name, r.count) for r in result.replies] == [("holding", 3)]

    # Now from process: lift the older pause, then ask again.
    activate(session, people, PROCESS_ALL, at=datetime(2020, 1, 2, tzinfo=UTC))
    before = (events(session), session.scalar(select(func.count(PolicyEvaluation.id))))
    result = policy_whatif.whatif(session, FACEBOOK, at=JULY_6)
    assert [c.demand_id for c in result.changes] == [due.id, late.id, undated.id]
    assert {(c.from_stance, c.to_stance, c.status_after) for c in result.changes} == {
        ("process", "pause", "paused")
    }
    assert [(t.from_stance, t.to_stance, t.count) for t in result.transitions] == [
        ("process", "pause", 3)
    ]
    assert [(m.from_status, m.to_status, m.count) for m in result.moves] == [
        ("received", "paused", 3)
    ]
    assert [(c.name, c.count) for c in result.by_jurisdiction] == [("HK", 3)]
    assert (result.deadlines_missed, result.deadlines_already_passed) == (1, 1)
    (risk,) = result.deadlines
    assert (risk.demand_id, risk.deadline) == (due.id, datetime(2020, 7, 10, tzinfo=UTC))
    assert risk.penalty == factories.HK_REMOVAL["penalty"]
    assert german.id not in {c.demand_id for c in result.changes}

    # Nothing was written, nothing moved.
    assert (events(session), session.scalar(select(func.count(PolicyEvaluation.id)))) == before
    assert {demands.get(session, d.id).status for d in (due, late, undated)} == {
        DemandStatus.RECEIVED
    }

    # A bounded list keeps exact counts.
    short = policy_whatif.whatif(session, FACEBOOK, at=JULY_6, limit=1)
    assert ([c.demand_id for c in short.changes], short.changing) == ([due.id], 3)
    assert short.changes_truncated
    assert not short.deadlines_truncated

    # And activating that text at that time does exactly what the what-if said.
    version = policy.propose(session, FACEBOOK, "fb.yaml", "go", actor=people["owner"])
    done = policy.approve(session, version.id, actor=people["approver"], at=JULY_6)
    session.commit()
    assert done.changed == result.changing
    assert done.transitions == result.transitions
    assert done.moves == result.moves
    paused = {
        d.id for d in (due, late, undated, german) if demands.get(session, d.id).stance == "pause"
    }
    assert paused == {c.demand_id for c in result.changes}


def test_whatif_refuses_a_bad_file(session: Session, people: dict[str, str]) -> None:
    with pytest.raises(PolicyFileError) as caught:
        policy_whatif.whatif(session, hk_rule("pause", condition=None))
    assert caught.value.problems[0].rule_id == "hk-rule"


# --- jurisdictions and the demo -----------------------------------------------------------------


def test_jurisdiction_table_and_history(
    session: Session, runtime: Runtime, people: dict[str, str]
) -> None:
    assert policy_whatif.jurisdiction_table(session) == []
    first = activate(session, people, FACEBOOK, at=JULY_6)
    receive(session, runtime, authority="de-bka", jurisdiction="DE", reference="de")
    receive(session, runtime)
    session.commit()
    rows = {r.jurisdiction: r for r in policy_whatif.jurisdiction_table(session)}
    assert set(rows) == {"DE", "HK"}
    assert (rows["HK"].stance, rows["HK"].since) == ("pause", JULY_6)
    assert rows["HK"].answers[0].condition == "pending human-rights due diligence"
    assert (rows["HK"].demands, rows["HK"].open_demands) == (1, 1)
    assert rows["DE"].stance == "process"
    telegram = template_text("telegram-2020")
    second = activate(session, people, telegram)
    row = {r.jurisdiction: r for r in policy_whatif.jurisdiction_table(session)}["HK"]
    assert row.stance == "mixed"
    assert {a.stance: a.applies_to for a in row.answers} == {
        "refuse": "user-data; preservation; emergency-disclosure; decryption; interception",
        "process": "removal; geo-restriction; account-restriction",
    }
    assert len(policy_whatif.jurisdiction_table(session, every_country=True)) >= 249

    detail = policy_whatif.jurisdiction_detail(session, "hk")
    assert [h.version.id for h in detail.history] == [second.id, first.id]
    assert [r.id for r in detail.rules] == ["hk-refuse-data"]
    assert all(h.changed for h in detail.history)
    assert [(c.name, c.count) for c in detail.open_by_stance] == [("process", 1)]


def test_the_demo_pauses_hong_kong_demands_open_on_6_july_and_received_after(
    session: Session, runtime: Runtime
) -> None:
    from dueprocess.demo import loader

    loader.load(runtime, session)
    session.commit()
    found = policy.active(session)
    assert found is not None
    version, _compiled = found
    assert version.effective_from == JULY_6
    assert version.author != version.approver
    hong_kong = [
        demands.get(session, row.id)
        for row in demands.list_summaries(session, limit=1000)
        if row.jurisdiction == "HK"
    ]
    before = [d for d in hong_kong if d.received_at < JULY_6]
    after = [d for d in hong_kong if d.received_at >= JULY_6]
    assert len(before) >= 2
    assert len(after) >= 8
    # The policy was adopted on 6 July, in its place in the scenario: demands received
    # before it were processed at intake, with no policy, and those still open that day
    # (all of them: nothing is decided in the demo) were paused by the activation.
    for demand in before:
        assert (demand.status, demand.stance) == (DemandStatus.PAUSED, "pause")
        assert demand.policy_version_id == version.id
        (reply,) = demands.replies(session, demand.id)
        assert (reply.kind, reply.created_at) == (ReplyKind.HOLDING, JULY_6)
        assert [e.at for e in policy.evaluations(session, demand.id)] == [JULY_6]
    for demand in after:
        assert (demand.status, demand.stance) == (DemandStatus.PAUSED, "pause")
        assert demand.policy_version_id == version.id
        (reply,) = demands.replies(session, demand.id)
        assert (reply.kind, reply.created_at) == (ReplyKind.HOLDING, demand.received_at)
        assert demand.deadline is not None
    others = [demands.get(session, r.id) for r in demands.list_summaries(session, limit=1000)]
    assert {d.stance for d in others if d.jurisdiction != "HK"} == {"process"}
