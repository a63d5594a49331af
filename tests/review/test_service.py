"""Review's steps on real demands in a real database: claim, send, decide, submit, sign off,
approve. Every refusal names the problem and leaves nothing changed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts, signin
from dueprocess.accounts.passwords import current_code
from dueprocess.accounts.signin import Principal
from dueprocess.actions import service as actions
from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus, Reply, ReplyKind
from dueprocess.errors import Conflict, InvalidInput, NotPermitted
from dueprocess.review import checklist_versions, checklists, service as review
from dueprocess.review.decisions import Proposed
from dueprocess.review.models import (
    Answer,
    ChecklistKind,
    Outcome,
    SignOffVerdict,
    TargetDecision,
)
from dueprocess.runtime import Runtime
from tests import factories

S = DemandStatus

USER_DATA = {
    "reference": "NSD/202007/0042",
    "kind": "user-data",
    "legal_process": "court-order",
    "data_categories": ["subscriber", "content"],
    "period_start": "2020-07-01T00:00:00+08:00",
    "period_end": "2020-07-31T00:00:00+08:00",
    "targets": [
        {"type": "account", "id": "@hk_student_union"},
        {"type": "account", "id": "@reporter_lee"},
    ],
}


@dataclass
class Staff:
    intake: Principal
    legal: Principal
    legal2: Principal
    rights: Principal
    approver: Principal
    legal_approver: Principal


def _principal(session: Session, email: str, roles: list[str]) -> Principal:
    account = factories.account(session, email, roles)
    return signin.principal_of(account, "session")


@pytest.fixture
def staff(session: Session) -> Staff:
    factories.authority(session)
    people = Staff(
        intake=_principal(session, "intake@example.org", ["intake"]),
        legal=_principal(session, "legal@example.org", ["legal-reviewer"]),
        legal2=_principal(session, "legal2@example.org", ["legal-reviewer"]),
        rights=_principal(session, "rights@example.org", ["human-rights-reviewer"]),
        approver=_principal(session, "approver@example.org", ["approver"]),
        legal_approver=_principal(session, "both@example.org", ["legal-reviewer", "approver"]),
    )
    session.commit()
    return people


def _demand(session: Session, runtime: Runtime, **changes: object) -> Demand:
    demand = factories.submit(session, runtime, factories.body(**{**USER_DATA, **changes})).demand
    session.commit()
    return demand


def _to_legal(session: Session, demand: Demand, staff: Staff, reviewer: Principal) -> None:
    review.send_to_review(
        session, demand.id, S.LEGAL_REVIEW, me=staff.intake, reason="genuine", revision=None
    )
    review.claim(session, demand.id, me=reviewer, revision=None)
    answer_checklist(session, demand.id, ChecklistKind.LEGAL, reviewer)
    session.commit()


def _code(session: Session, who: Principal) -> str:
    secret = accounts.get(session, who.account_id).totp_secret
    assert secret is not None
    return current_code(secret)


def answer_checklist(
    session: Session, demand_id: int, kind: ChecklistKind, who: Principal
) -> None:
    """Answer every required question of the active ``kind`` checklist, as ``who``."""
    version = checklist_versions.active(session, kind)
    for question in checklists.missing_required(session, demand_id, kind):
        checklists.answer(
            session, demand_id, kind, version_id=version.id, question_id=question.id,
            value=Answer.YES, note="checked against the order", actor=who.actor,
        )  # fmt: skip


def _targets(session: Session, demand: Demand) -> list[int]:
    return [t.id for t in review.targets_of(session, demand.id)]


def test_a_demand_goes_from_intake_to_an_approved_decision(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    first, second = _targets(session, demand)
    review.decide(
        session,
        demand.id,
        [
            Proposed(
                first,
                Outcome.COMPLY_NARROWED,
                narrowing={"data_categories": ["subscriber"], "fields": ["email", "name"]},
            ),
            Proposed(second, Outcome.REFUSE, refusal_reason="human-rights", note="a reporter"),
        ],
        me=staff.legal,
        revision=demand.revision,
    )
    submission = review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    session.commit()
    assert demand.status is S.AWAITING_APPROVAL
    assert "subscriber data only; these fields only: email, name" in submission.reply
    assert "a reporter" not in submission.reply, "reviewers' notes never reach the requester"
    assert not [r for r in demands.replies(session, demand.id) if r.kind is ReplyKind.DECISION]

    review.approve(
        session,
        demand.id,
        me=staff.approver,
        digest=submission.digest,
        code=_code(session, staff.approver),
        revision=demand.revision,
    )
    pending = audit.pending_actions(session)
    session.commit()
    assert demand.status.value == "decided"
    assert demand.outcome == "partly-complied"
    # One move, one event; and in the same transaction the production the decision causes
    # (the complied target only, in the narrowed scope), never the refused one.
    assert pending == ["demand.decided", "action.planned"]
    reply = session.scalars(select(Reply).where(Reply.demand_id == demand.id)).all()[-1]
    assert reply.kind is ReplyKind.DECISION
    assert reply.text == submission.reply
    (planned,) = actions.of_demand(session, demand.id)
    assert (planned.kind.value, planned.target_id, planned.status.value) == (
        "produce", first, "pending",
    )  # fmt: skip
    assert planned.payload["data_categories"] == ["subscriber"]
    assert planned.payload["fields"] == ["email", "name"]
    assert planned.key == f"produce:{demand.id}:{first}:{submission.id}"


def test_refusing_every_target_needs_no_approval(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    proposals = [Proposed(t, Outcome.REFUSE, refusal_reason="overbroad") for t in
                 _targets(session, demand)]  # fmt: skip
    review.decide(session, demand.id, proposals, me=staff.legal, revision=None)
    review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    session.commit()
    assert demand.status is S.REFUSED
    assert demand.outcome == "refused"
    assert demands.replies(session, demand.id)[-1].kind is ReplyKind.REFUSAL


def test_a_stale_form_is_refused_and_changes_nothing(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    loaded = demand.revision
    _to_legal(session, demand, staff, staff.legal)
    first, _ = _targets(session, demand)
    with pytest.raises(Conflict, match="changed since this page was loaded"):
        review.decide(
            session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.legal, revision=loaded
        )
    session.rollback()
    assert review.current_decisions(session, demand.id) == []


def test_the_reviewer_cannot_approve_their_own_decisions(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal_approver)
    proposals = [Proposed(t, Outcome.COMPLY) for t in _targets(session, demand)]
    review.decide(session, demand.id, proposals, me=staff.legal_approver, revision=None)
    submission = review.submit(
        session, demand.id, me=staff.legal_approver, reply=None, revision=None
    )
    session.commit()
    with pytest.raises(NotPermitted, match="four eyes"):
        review.approve(
            session,
            demand.id,
            me=staff.legal_approver,
            digest=submission.digest,
            code=_code(session, staff.legal_approver),
            revision=None,
        )
    session.rollback()
    assert demand.status is S.AWAITING_APPROVAL


def test_an_approval_needs_the_current_code_once_and_the_digest_that_was_read(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    proposals = [Proposed(t, Outcome.COMPLY) for t in _targets(session, demand)]
    review.decide(session, demand.id, proposals, me=staff.legal, revision=None)
    submission = review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    session.commit()
    with pytest.raises(InvalidInput) as wrong:
        review.approve(
            session, demand.id, me=staff.approver, digest=submission.digest, code="000000",
            revision=None,
        )  # fmt: skip
    assert wrong.value.errors[0].loc == ("code",)
    session.rollback()
    with pytest.raises(Conflict, match="changed since you read them"):
        review.approve(
            session, demand.id, me=staff.approver, digest="0" * 64,
            code=_code(session, staff.approver), revision=None,
        )  # fmt: skip
    session.rollback()
    code = _code(session, staff.approver)
    review.approve(
        session, demand.id, me=staff.approver, digest=submission.digest, code=code,
        approved=False, note="narrow the second target", revision=None,
    )  # fmt: skip
    session.commit()
    assert demand.status is S.LEGAL_REVIEW
    review.claim(session, demand.id, me=staff.legal, revision=None)
    again = review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    session.commit()
    with pytest.raises(InvalidInput) as replay:
        review.approve(
            session, demand.id, me=staff.approver, digest=again.digest, code=code, revision=None
        )
    assert replay.value.errors[0].loc == ("code",), "a code confirms one thing only"


def test_narrowing_that_widens_scope_is_refused_naming_the_field(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    first, _ = _targets(session, demand)
    with pytest.raises(InvalidInput) as refused:
        review.decide(
            session,
            demand.id,
            [Proposed(first, Outcome.COMPLY_NARROWED, narrowing={"data_categories": ["traffic"]})],
            me=staff.legal,
            revision=None,
        )
    assert [e.where() for e in refused.value.errors] == [
        "decisions[0].narrowing.data_categories"
    ]
    session.rollback()
    assert review.current_decisions(session, demand.id) == []


def test_deciding_needs_the_demand_assigned_to_you_and_in_legal_review(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    first, _ = _targets(session, demand)
    with pytest.raises(Conflict, match="decided in legal review"):
        review.decide(session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.legal,
                      revision=None)  # fmt: skip
    session.rollback()
    _to_legal(session, demand, staff, staff.legal)
    with pytest.raises(Conflict, match="not assigned to you"):
        review.decide(session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.legal2,
                      revision=None)  # fmt: skip
    session.rollback()
    with pytest.raises(NotPermitted):
        review.decide(session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.approver,
                      revision=None)  # fmt: skip


def test_a_withdrawn_demand_cannot_be_decided(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    demands.withdraw(session, demand.id, authority_id=None, actor="test", by=["intake"],
                     reason="closed")  # fmt: skip
    session.commit()
    first, _ = _targets(session, demand)
    with pytest.raises(Conflict, match="withdrawn"):
        review.decide(session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.legal,
                      revision=None)  # fmt: skip


def test_a_decision_against_a_holding_stance_is_refused(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    demand.stance = "pause"  # as recorded by the policy; a guard against any path around it
    session.commit()
    first, _ = _targets(session, demand)
    with pytest.raises(InvalidInput) as refused:
        review.decide(session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.legal,
                      revision=None)  # fmt: skip
    assert "stance on this demand is pause" in refused.value.errors[0].msg


def test_human_rights_review_is_required_once_escalated_and_a_block_allows_only_refusal(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    targets = _targets(session, demand)
    review.decide(session, demand.id, [Proposed(t, Outcome.COMPLY) for t in targets],
                  me=staff.legal, revision=None)  # fmt: skip
    review.send_to_review(session, demand.id, S.HUMAN_RIGHTS_REVIEW, me=staff.legal,
                          reason="political speech", revision=None)  # fmt: skip
    session.commit()
    assert demand.human_rights_required
    review.claim(session, demand.id, me=staff.rights, revision=None)
    answer_checklist(session, demand.id, ChecklistKind.HUMAN_RIGHTS, staff.rights)
    review.sign_off(session, demand.id, SignOffVerdict.BLOCK, "the post is protest speech",
                    me=staff.rights, revision=None)  # fmt: skip
    review.claim(session, demand.id, me=staff.legal, revision=None)
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    assert [e.where() for e in refused.value.errors] == ["human_rights"]
    session.rollback()
    review.decide(session, demand.id,
                  [Proposed(t, Outcome.REFUSE, refusal_reason="human-rights") for t in targets],
                  me=staff.legal, revision=None)  # fmt: skip
    review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    session.commit()
    assert demand.status is S.REFUSED


def test_submitting_needs_every_target_decided(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    first, _ = _targets(session, demand)
    review.decide(session, demand.id, [Proposed(first, Outcome.NO_DATA)], me=staff.legal,
                  revision=None)  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    assert [e.where() for e in refused.value.errors] == ["targets.@reporter_lee"]


def test_a_decision_again_supersedes_the_first(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    first, _ = _targets(session, demand)
    review.decide(session, demand.id, [Proposed(first, Outcome.COMPLY)], me=staff.legal,
                  revision=None)  # fmt: skip
    review.decide(session, demand.id, [Proposed(first, Outcome.NO_DATA)], me=staff.legal,
                  revision=None)  # fmt: skip
    session.commit()
    assert [d.outcome for d in review.current_decisions(session, demand.id)] == [Outcome.NO_DATA]
    all_rows = session.scalars(select(TargetDecision)).all()
    assert len(all_rows) == 2
    assert sum(d.superseded_at is not None for d in all_rows) == 1


def test_claiming_someone_elses_demand_is_refused_and_intake_can_reassign(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    _to_legal(session, demand, staff, staff.legal)
    with pytest.raises(Conflict, match=r"assigned to legal@example\.org"):
        review.claim(session, demand.id, me=staff.legal2, revision=None)
    session.rollback()
    review.assign(session, demand.id, staff.legal2.account_id, me=staff.intake, revision=None)
    session.commit()
    assert demand.assignee_id == staff.legal2.account_id
    with pytest.raises(InvalidInput) as refused:
        review.assign(session, demand.id, staff.rights.account_id, me=staff.intake, revision=None)
    assert "cannot work on a demand in legal-review" in refused.value.errors[0].msg


def test_an_emergency_disclosure_needs_a_confirmed_call_back_before_approval(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(
        session,
        runtime,
        kind="emergency-disclosure",
        legal_process="emergency",
        emergency_justification="a threat to life",
        deadline=None,
    )
    _to_legal(session, demand, staff, staff.legal)
    review.decide(session, demand.id, [Proposed(t, Outcome.COMPLY) for t in
                  _targets(session, demand)], me=staff.legal, revision=None)  # fmt: skip
    with pytest.raises(Conflict, match="call-back"):
        review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)


def test_a_demand_with_a_high_risk_flag_goes_to_human_rights_review_first(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime, summary="Posts saying 光復香港，時代革命")
    review.send_to_review(
        session, demand.id, S.LEGAL_REVIEW, me=staff.intake, reason="genuine", revision=None,
        connectors=runtime.connectors,
    )  # fmt: skip
    pending = audit.pending_actions(session)
    session.commit()
    assert demand.status is S.HUMAN_RIGHTS_REVIEW
    assert demand.human_rights_required
    assert pending == ["review.flags_computed", "demand.human-rights-review"]
    moved = [e for e in audit.for_subject(session, f"demand:{demand.id}")
             if e.action == "demand.human-rights-review"][-1]  # fmt: skip
    assert moved.data["routed"] == "human-rights review is required first"
    assert "political" in moved.data["high_flags"]


def test_a_demand_without_high_flags_goes_where_intake_sends_it(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime, summary="Subscriber records for a fraud investigation")
    review.send_to_review(
        session, demand.id, S.LEGAL_REVIEW, me=staff.intake, reason="genuine", revision=None,
        connectors=runtime.connectors,
    )  # fmt: skip
    session.commit()
    assert demand.status is S.LEGAL_REVIEW
    assert not review.requires_human_rights_review(session, demand)


def test_a_demand_leaves_review_only_with_its_checklist_answered(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    review.send_to_review(session, demand.id, S.LEGAL_REVIEW, me=staff.intake, reason="ok",
                          revision=None)  # fmt: skip
    review.claim(session, demand.id, me=staff.legal, revision=None)
    review.decide(session, demand.id, [Proposed(t, Outcome.NO_DATA) for t in
                  _targets(session, demand)], me=staff.legal, revision=None)  # fmt: skip
    session.commit()
    with pytest.raises(InvalidInput) as refused:
        review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    where = [e.where() for e in refused.value.errors]
    assert where
    assert all(w.startswith("checklist.legal.") for w in where)
    session.rollback()
    assert demand.status is S.LEGAL_REVIEW
    answer_checklist(session, demand.id, ChecklistKind.LEGAL, staff.legal)
    review.submit(session, demand.id, me=staff.legal, reply=None, revision=None)
    session.commit()
    assert demand.status.value == "decided"


def test_human_rights_review_returns_by_its_verdict_not_by_sending(
    session: Session, runtime: Runtime, staff: Staff
) -> None:
    demand = _demand(session, runtime)
    review.send_to_review(session, demand.id, S.HUMAN_RIGHTS_REVIEW, me=staff.intake,
                          reason="a reporter", revision=None)  # fmt: skip
    review.claim(session, demand.id, me=staff.rights, revision=None)
    session.commit()
    with pytest.raises(Conflict, match="with the human-rights verdict"):
        review.send_to_review(session, demand.id, S.LEGAL_REVIEW, me=staff.rights,
                              reason="skip it", revision=None)  # fmt: skip
    session.rollback()
    with pytest.raises(InvalidInput) as refused:
        review.sign_off(session, demand.id, SignOffVerdict.NO_OBJECTION, "fine",
                        me=staff.rights, revision=None)  # fmt: skip
    assert all(e.where().startswith("checklist.human-rights.") for e in refused.value.errors)
