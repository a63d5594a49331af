"""Two approvals of the same checklist at once leave exactly one version active, and two
answers to one question at once leave one answer (PostgreSQL: its writers run side by side;
SQLite serialises every write transaction already)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from dueprocess.demands import service as demands
from dueprocess.demands.models import DemandStatus
from dueprocess.review import checklists
from dueprocess.review.checklist_file import dump_checklist
from dueprocess.review.models import Answer, ChecklistAnswer, ChecklistKind, ChecklistStatus
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "postgresql", reason="concurrent writers: PostgreSQL")
LEGAL = ChecklistKind.LEGAL


def _in_other_transaction(runtime: Runtime, work: Callable[[Session], object]) -> threading.Thread:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with runtime.sessions() as other, other.begin():
                work(other)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _wait_until_blocked(session: Session) -> None:
    """Until another backend waits for a lock this transaction holds (it has reached the
    point the test is about); not a timed assertion: it fails only if that never happens."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        waiting = session.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
        if waiting.scalar_one():
            return
        time.sleep(0.01)
    raise AssertionError("the other transaction never waited for the lock")


def _proposal(session: Session, owner: str, wording: str) -> int:
    document = checklists.default_document(LEGAL)
    text_ = dump_checklist(document).replace("Is the demand in writing?", wording)
    return checklists.propose(session, text_, "l.yaml", wording, actor=owner).id


def test_two_approvals_at_once_leave_one_active_version(session: Session, runtime: Runtime) -> None:
    owner = f"account:{factories.account(session, 'owner@example.org', ['policy-owner']).id}"
    one = f"account:{factories.account(session, 'one@example.org', ['approver']).id}"
    two = f"account:{factories.account(session, 'two@example.org', ['approver']).id}"
    first = _proposal(session, owner, "On paper?")
    second = _proposal(session, owner, "In writing, truly?")
    session.commit()

    checklists.approve(session, first, actor=one)  # holds the kind's lock until commit
    other = _in_other_transaction(runtime, lambda s: checklists.approve(s, second, actor=two))
    _wait_until_blocked(session)
    session.commit()
    other.join(timeout=60)
    assert other.errors == []  # type: ignore[attr-defined]

    session.expire_all()
    statuses = {v.id: v.status for v in checklists.history(session, LEGAL)}
    assert list(statuses.values()).count(ChecklistStatus.ACTIVE) == 1
    assert (statuses[first], statuses[second]) == (ChecklistStatus.RETIRED, ChecklistStatus.ACTIVE)
    session.rollback()


def test_two_answers_at_once_leave_one_answer(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    legal = f"account:{factories.account(session, 'legal@example.org', ['legal-reviewer']).id}"
    demand = factories.submit(session, runtime, factories.body()).demand
    demands.move(
        session, demand, DemandStatus.LEGAL_REVIEW, actor="test", by=factories.ANYONE, reason="t"
    )
    version_id = checklists.active(session, LEGAL).id
    session.commit()

    def give(s: Session, value: Answer) -> None:
        checklists.answer(
            s,
            demand.id,
            LEGAL,
            version_id=version_id,
            question_id="in-writing",
            value=value,
            note=value.value,
            actor=legal,
        )

    give(session, Answer.NO)  # locks the demand until commit
    other = _in_other_transaction(runtime, lambda s: give(s, Answer.YES))
    _wait_until_blocked(session)
    session.commit()
    other.join(timeout=60)
    assert other.errors == []  # type: ignore[attr-defined]

    session.expire_all()
    rows = session.query(ChecklistAnswer).all()
    assert [(r.question_id, r.answer) for r in rows] == [("in-writing", Answer.YES)]
    session.rollback()


def test_a_rejection_during_an_approval_is_refused(session: Session, runtime: Runtime) -> None:
    owner = f"account:{factories.account(session, 'owner@example.org', ['policy-owner']).id}"
    approver = f"account:{factories.account(session, 'one@example.org', ['approver']).id}"
    proposal = _proposal(session, owner, "On paper?")
    session.commit()

    checklists.approve(session, proposal, actor=approver)
    other = _in_other_transaction(
        runtime, lambda s: checklists.reject(s, proposal, "no", actor=owner)
    )
    _wait_until_blocked(session)
    session.commit()
    other.join(timeout=60)
    (refused,) = other.errors  # type: ignore[attr-defined]
    assert "is active: only a proposed version can be approved or rejected" in str(refused)
    session.expire_all()
    assert checklists.active(session, LEGAL).id == proposal
    session.rollback()
