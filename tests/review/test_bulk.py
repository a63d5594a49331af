"""Bulk steps against the single ones: a demand sent on in a set gets exactly the event (and
the routing to human-rights review) it would get alone; a legal reviewer's set must be theirs."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts import signin
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.review import bulk, service as review
from dueprocess.runtime import Runtime
from tests import factories

S = DemandStatus


def _person(session: Session, email: str, roles: list[str]) -> Principal:
    return signin.principal_of(factories.account(session, email, roles), "session")


def _moves(session: Session, demand_id: int) -> list[tuple[str, dict[str, Any]]]:
    return [
        (e.action, e.data)
        for e in audit.for_subject(session, f"demand:{demand_id}")
        if e.action.startswith(("demand.legal", "demand.human"))
    ]


def test_a_demand_sent_in_a_set_gets_the_event_it_would_get_alone(
    session: Session, runtime: Runtime, posts: dict[str, list[str]]
) -> None:
    factories.authority(session)
    intake = _person(session, "intake@example.org", ["intake"])
    political = {"targets": [{"type": "content", "id": posts["hk_student_union"][0]}]}
    ordinary = {"targets": [{"type": "content", "id": posts["causeway_bay_mum"][0]}]}
    alone_flagged, set_flagged, alone_plain, set_plain = (
        factories.submit(session, runtime, factories.body(reference=f"R-{n}", **extra)).demand.id
        for n, extra in enumerate([political, political, ordinary, ordinary])
    )
    session.commit()
    for demand_id in (alone_flagged, alone_plain):
        review.send_to_review(
            session,
            demand_id,
            S.LEGAL_REVIEW,
            me=intake,
            reason="genuine",
            revision=None,
            connectors=runtime.connectors,
        )
    items = [bulk.Item(i, demands.get(session, i).revision) for i in (set_flagged, set_plain)]
    done = bulk.send(
        session, items, S.LEGAL_REVIEW, me=intake, reason="genuine", connectors=runtime.connectors
    )
    session.commit()
    assert done.changed == [(set_flagged, S.HUMAN_RIGHTS_REVIEW), (set_plain, S.LEGAL_REVIEW)]
    assert _moves(session, set_flagged) == _moves(session, alone_flagged)
    assert _moves(session, set_plain) == _moves(session, alone_plain)
    (routed,) = _moves(session, set_flagged)
    assert routed[0] == "demand.human-rights-review"
    assert routed[1]["routed"] == "human-rights review is required first"
    assert routed[1]["high_flags"] == ["political"]
    for one, other in ((alone_flagged, set_flagged), (alone_plain, set_plain)):
        a, b = demands.get(session, one), demands.get(session, other)
        assert (a.status, a.revision, a.assignee_id, a.human_rights_required) == (
            b.status,
            b.revision,
            b.assignee_id,
            b.human_rights_required,
        )


def test_a_legal_reviewer_sends_on_only_their_own(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    intake = _person(session, "intake@example.org", ["intake"])
    legal = _person(session, "legal@example.org", ["legal-reviewer"])
    ids = [
        factories.submit(session, runtime, factories.body(reference=f"R-{n}")).demand.id
        for n in range(3)
    ]
    for demand_id in ids:
        review.send_to_review(
            session, demand_id, S.LEGAL_REVIEW, me=intake, reason="ok", revision=None
        )
    review.claim(session, ids[0], me=legal, revision=None)
    review.claim(session, ids[1], me=legal, revision=None)
    session.commit()
    items = [bulk.Item(i, demands.get(session, i).revision) for i in ids]
    with pytest.raises(bulk.Refused) as refused:
        bulk.send(
            session, items, S.HUMAN_RIGHTS_REVIEW, me=legal, reason="a journalist", connectors=None
        )
    assert [i for i, _ in refused.value.refused] == [ids[2]]
    session.rollback()
    assert [demands.get(session, i).status for i in ids] == [S.LEGAL_REVIEW] * 3
    done = bulk.send(
        session, items[:2], S.HUMAN_RIGHTS_REVIEW, me=legal, reason="a journalist", connectors=None
    )
    session.commit()
    assert [s for _, s in done.changed] == [S.HUMAN_RIGHTS_REVIEW] * 2
    for demand_id in ids[:2]:
        demand = demands.get(session, demand_id)
        assert (demand.assignee_id, demand.human_rights_required) == (None, True)
        ((_, data),) = [
            m for m in _moves(session, demand_id) if m[0].endswith("human-rights-review")
        ]
        assert data == {
            "from": "legal-review",
            "reason": "a journalist",
            "assignee": legal.account_id,
            "human_rights_required": True,
        }
    other = factories.submit(session, runtime, factories.body(reference="R-9")).demand
    with pytest.raises(bulk.Refused) as refused:  # legal review cannot send from received
        bulk.send(
            session,
            [bulk.Item(other.id, other.revision)],
            S.LEGAL_REVIEW,
            me=legal,
            reason="x",
            connectors=None,
        )
    assert "is for" in refused.value.refused[0][1]
