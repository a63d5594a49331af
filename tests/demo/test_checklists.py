"""The demo's checklists: the defaults active, and demands in review with their answers."""

from __future__ import annotations

from sqlalchemy.orm import Session

from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.demo import loader
from dueprocess.review import checklists
from dueprocess.review.models import ChecklistKind, ChecklistStatus
from dueprocess.runtime import Runtime

LEGAL, RIGHTS = ChecklistKind.LEGAL, ChecklistKind.HUMAN_RIGHTS


def test_the_demo_has_the_defaults_and_answered_checklists(
    session: Session, runtime: Runtime
) -> None:
    loader.load(runtime, session)
    session.commit()
    for kind in ChecklistKind:
        active = checklists.active(session, kind)
        assert (active.version, active.status) == (1, ChecklistStatus.ACTIVE)
        assert checklists.digest_of(active) == checklists.default_document(kind).digest()

    in_review = {
        row.id: row
        for row in demands.list_summaries(session, limit=1000)
        if row.status in (DemandStatus.LEGAL_REVIEW, DemandStatus.HUMAN_RIGHTS_REVIEW)
    }
    assert {(r.authority, r.status) for r in in_review.values()} == {
        ("de-bka", DemandStatus.LEGAL_REVIEW),
        ("us-cand-court", DemandStatus.LEGAL_REVIEW),
        ("in-meity", DemandStatus.HUMAN_RIGHTS_REVIEW),
    }
    missing = {
        row.authority: (
            [q.id for q in checklists.missing_required(session, demand_id, LEGAL)],
            [q.id for q in checklists.missing_required(session, demand_id, RIGHTS)],
        )
        for demand_id, row in in_review.items()
    }
    assert missing["de-bka"][0] == []  # answered in full
    assert missing["us-cand-court"][0] == [  # answered in part: the page shows what is left
        "jurisdiction",
        "scope-narrow",
        "dates-bounded",
        "non-disclosure",
    ]
    assert missing["in-meity"] == ([], [])  # legal, then human-rights review, both answered
    india = next(i for i, r in in_review.items() if r.authority == "in-meity")
    shown = checklists.demand_checklist(session, india, RIGHTS)
    aim = next(i for i in shown.items if i.question.id == "targets-protected-expression")
    assert aim.answer is not None
    assert aim.answer.answered_by == loader.STAFF_EMAIL
