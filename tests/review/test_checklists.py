"""The checklist service in a real database: versions proposed and approved by two people,
answers given to the active version only, by the right people at the right stage, carried
over when a question is unchanged, and what is missing before a demand leaves review."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand, DemandStatus
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted
from dueprocess.review import checklists
from dueprocess.review.checklist_file import ChecklistFileError, dump_checklist
from dueprocess.review.models import (
    Answer,
    ChecklistAnswer,
    ChecklistKind,
    ChecklistStatus,
    ChecklistVersion,
)
from dueprocess.runtime import Runtime
from tests import factories

LEGAL, RIGHTS = ChecklistKind.LEGAL, ChecklistKind.HUMAN_RIGHTS
S = DemandStatus


@dataclass
class World:
    demand: Demand
    owner: str
    approver: str
    legal: str
    rights: str
    intake: str


def move(session: Session, demand: Demand, to: DemandStatus) -> None:
    demands.move(session, demand, to, actor="test", by=factories.ANYONE, reason="test")


@pytest.fixture
def world(session: Session, runtime: Runtime) -> World:
    factories.authority(session)
    demand = factories.submit(session, runtime, factories.body()).demand
    people = {}
    for name, role in (
        ("owner", "policy-owner"),
        ("approver", "approver"),
        ("legal", "legal-reviewer"),
        ("rights", "human-rights-reviewer"),
        ("intake", "intake"),
    ):
        people[name] = f"account:{factories.account(session, f'{name}@example.org', [role]).id}"
    move(session, demand, S.LEGAL_REVIEW)
    session.commit()
    return World(demand, **people)


def legal_text(**changes: str) -> str:
    """The default legal checklist as a file, with some questions' text changed (by id)."""
    document = checklists.default_document(LEGAL)
    text = dump_checklist(document)
    for question_id, new in changes.items():
        old = document.question(question_id)
        assert old is not None
        text = text.replace(f"text: {old.text}", f"text: {new}")
    return text


def answer(
    session: Session,
    world: World,
    question: str,
    value: Answer = Answer.YES,
    *,
    kind: ChecklistKind = LEGAL,
    actor: str | None = None,
    version_id: int | None = None,
    note: str = "checked the order",
) -> ChecklistAnswer:
    return checklists.answer(
        session,
        world.demand.id,
        kind,
        version_id=version_id or checklists.active(session, kind).id,
        question_id=question,
        value=value,
        note=note,
        actor=actor or (world.legal if kind is LEGAL else world.rights),
    )


def count(session: Session, model: type[object]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


# --- versions -----------------------------------------------------------------------------------


def test_the_defaults_are_installed_once_and_audited(session: Session, world: World) -> None:
    installed = checklists.install_defaults(session)
    assert [(v.kind, v.version, v.status) for v in installed] == [
        (LEGAL, 1, ChecklistStatus.ACTIVE),
        (RIGHTS, 1, ChecklistStatus.ACTIVE),
    ]
    assert checklists.install_defaults(session) == []
    assert checklists.active(session, LEGAL).id == installed[0].id
    events = audit.for_subject(session, f"checklist_version:{installed[0].id}")
    assert [(e.actor, e.action) for e in events] == [("system:checklists", "checklist.installed")]
    assert events[0].data["sha256"] == checklists.default_document(LEGAL).digest()
    assert events[0].data["sha256"] == checklists.digest_of(installed[0])


def test_the_first_look_installs_the_defaults(session: Session, world: World) -> None:
    assert count(session, ChecklistVersion) == 0
    shown = checklists.demand_checklist(session, world.demand.id, RIGHTS)
    assert shown.version == 1
    assert count(session, ChecklistVersion) == 1


def test_propose_then_another_person_approves(session: Session, world: World) -> None:
    first = checklists.active(session, LEGAL)
    version = checklists.propose(
        session,
        legal_text(**{"in-writing": "Is it written?"}),
        "l.yaml",
        "clearer",
        actor=world.owner,
    )
    assert (version.kind, version.version, version.status) == (LEGAL, 2, ChecklistStatus.PROPOSED)
    assert checklists.active(session, LEGAL).id == first.id  # a proposal changes nothing yet

    with pytest.raises(NotPermitted, match=r"four eyes: checklist version \d+ was proposed by you"):
        checklists.approve(session, version.id, actor=world.owner)
    with pytest.raises(NotPermitted, match="does not hold the checklists:approve permission"):
        checklists.approve(session, version.id, actor=world.legal)
    assert version.status is ChecklistStatus.PROPOSED

    done = checklists.approve(session, version.id, actor=world.approver)
    assert done.retired is not None
    assert done.retired.id == first.id
    assert (first.status, version.status) == (ChecklistStatus.RETIRED, ChecklistStatus.ACTIVE)
    assert checklists.active(session, LEGAL).id == version.id
    with pytest.raises(Conflict, match="is active: only a proposed version"):
        checklists.approve(session, version.id, actor=world.approver)
    trail = [e.action for e in audit.for_subject(session, f"checklist_version:{version.id}")]
    assert trail == ["checklist.proposed", "checklist.approved"]
    retired = [e.action for e in audit.for_subject(session, f"checklist_version:{first.id}")]
    assert retired == ["checklist.installed", "checklist.retired"]
    shown = checklists.version_out(session, version)
    assert (shown.proposed_by, shown.decided_by) == ("owner@example.org", "approver@example.org")


def test_refused_proposals_store_nothing(session: Session, world: World) -> None:
    checklists.install_defaults(session)
    before = count(session, ChecklistVersion)
    with pytest.raises(NotPermitted, match="checklists:propose"):
        checklists.propose(session, legal_text(), "l.yaml", "why", actor=world.approver)
    with pytest.raises(NotPermitted, match="a person's account"):
        checklists.propose(session, legal_text(), "l.yaml", "why", actor="cli:root")
    with pytest.raises(InvalidInput, match="say why"):
        checklists.propose(
            session, legal_text(**{"in-writing": "b?"}), "l.yaml", " ", actor=world.owner
        )
    with pytest.raises(InvalidInput, match="identical to version 1 of the legal checklist"):
        checklists.propose(session, legal_text(), "l.yaml", "why", actor=world.owner)
    with pytest.raises(ChecklistFileError) as caught:
        checklists.propose(session, "title: x\nkind: legal\n", "bad.yaml", "why", actor=world.owner)
    assert str(caught.value) == "bad.yaml:1: questions: missing key 'questions'"
    with pytest.raises(InvalidInput, match="NUL"):
        checklists.propose(session, legal_text(), "l.yaml", "why\x00", actor=world.owner)
    assert count(session, ChecklistVersion) == before


def test_reject_by_another_or_withdrawn_by_the_proposer(session: Session, world: World) -> None:
    one = checklists.propose(
        session, legal_text(**{"in-writing": "One?"}), "1.yaml", "try", actor=world.owner
    )
    two = checklists.propose(
        session, legal_text(**{"in-writing": "Two?"}), "2.yaml", "try", actor=world.owner
    )
    with pytest.raises(InvalidInput, match="say why this version is rejected"):
        checklists.reject(session, one.id, "", actor=world.approver)
    with pytest.raises(NotPermitted, match="checklists:approve"):
        checklists.reject(session, one.id, "no", actor=world.legal)
    checklists.reject(session, one.id, "not yet", actor=world.approver)
    checklists.reject(session, two.id, "withdrawn", actor=world.owner)  # the proposer withdraws
    assert (one.status, two.status) == (ChecklistStatus.REJECTED, ChecklistStatus.REJECTED)
    with pytest.raises(Conflict, match="is rejected"):
        checklists.approve(session, one.id, actor=world.approver)
    with pytest.raises(NotFound):
        checklists.approve(session, 999_999, actor=world.approver)
    assert checklists.active(session, LEGAL).version == 1


# --- answers ------------------------------------------------------------------------------------


def test_an_answer_is_recorded_and_audited_without_its_note(session: Session, world: World) -> None:
    note = "Signed by Chief Superintendent Lee; warrant no. 12"
    row = answer(session, world, "in-writing", Answer.NO, note=note)
    session.commit()
    assert (row.answer, row.note, row.question_id) == (Answer.NO, note, "in-writing")
    (event,) = [
        e
        for e in audit.for_subject(session, f"demand:{world.demand.id}")
        if e.action == "review.checklist_answered"
    ]
    version = checklists.active(session, LEGAL)
    assert event.actor == world.legal
    assert event.data == {
        "kind": "legal",
        "version_id": version.id,
        "version": 1,
        "question": "in-writing",
        "answer": "no",
        "note_sha256": hashlib.sha256(note.encode()).hexdigest(),
        "replaces": None,
    }
    assert note not in str(event.data)


def test_a_new_answer_replaces_the_previous_one(session: Session, world: World) -> None:
    answer(session, world, "in-writing", Answer.NO, note="first")
    answer(session, world, "in-writing", Answer.YES, note="the written order arrived")
    rows = session.scalars(select(ChecklistAnswer)).all()
    assert [(r.answer, r.note) for r in rows] == [(Answer.YES, "the written order arrived")]
    events = audit.for_subject(session, f"demand:{world.demand.id}")
    answered = [e.data for e in events if e.action == "review.checklist_answered"]
    assert [a["answer"] for a in answered] == ["no", "yes"]  # the log keeps both
    assert answered[1]["replaces"] == {"answer": "no", "version": 1}


def test_who_may_answer_which_checklist(session: Session, world: World) -> None:
    for actor, kind in (
        (world.rights, LEGAL),
        (world.intake, LEGAL),
        (world.approver, LEGAL),
        (world.legal, RIGHTS),
    ):
        with pytest.raises(NotPermitted, match="does not hold the review:"):
            answer(session, world, "in-writing", kind=kind, actor=actor)
    assert count(session, ChecklistAnswer) == 0


def test_answers_only_in_the_review_of_their_checklist(
    session: Session, world: World, runtime: Runtime
) -> None:
    with pytest.raises(
        Conflict,
        match="the human-rights checklist is answered while the demand is in "
        "human-rights-review; it is legal-review",
    ):
        answer(session, world, "legitimate-aim", kind=RIGHTS)
    move(session, world.demand, S.HUMAN_RIGHTS_REVIEW)
    answer(session, world, "legitimate-aim", kind=RIGHTS)
    with pytest.raises(Conflict, match="answered while the demand is in legal-review"):
        answer(session, world, "in-writing")

    fresh = factories.submit(session, runtime, factories.body(reference="NEW-1")).demand
    with pytest.raises(Conflict, match=f"demand {fresh.id}: the legal checklist is answered"):
        checklists.answer(
            session,
            fresh.id,
            LEGAL,
            version_id=checklists.active(session, LEGAL).id,
            question_id="in-writing",
            value=Answer.YES,
            note="early",
            actor=world.legal,
        )
    move(session, world.demand, S.WITHDRAWN)
    with pytest.raises(Conflict, match="the demand is withdrawn: its checklists are closed"):
        answer(session, world, "legitimate-aim", kind=RIGHTS)
    with pytest.raises(NotFound):
        checklists.answer(
            session,
            999_999,
            LEGAL,
            version_id=1,
            question_id="in-writing",
            value=Answer.YES,
            note="x",
            actor=world.legal,
        )
    assert count(session, ChecklistAnswer) == 1


def test_an_answer_to_a_retired_version_is_refused_naming_the_active_one(
    session: Session, world: World
) -> None:
    old = checklists.active(session, LEGAL)
    new = checklists.propose(
        session,
        legal_text(**{"in-writing": "Do we hold the demand as a document?"}),
        "l.yaml",
        "clearer",
        actor=world.owner,
    )
    with pytest.raises(Conflict, match="legal checklist version 2 is proposed, not active"):
        answer(session, world, "in-writing", version_id=new.id)
    checklists.approve(session, new.id, actor=world.approver)
    with pytest.raises(Conflict) as caught:
        answer(session, world, "in-writing", version_id=old.id)
    assert str(caught.value) == (
        f"legal checklist version 1 is retired, not active: answer version 2 (id {new.id}), "
        "the active one; question 'in-writing' reads differently in it: read it again"
    )
    with pytest.raises(Conflict, match="'legal-basis' is unchanged in it"):
        answer(session, world, "legal-basis", version_id=old.id)
    assert count(session, ChecklistAnswer) == 0
    answer(session, world, "in-writing", version_id=new.id)
    assert count(session, ChecklistAnswer) == 1


def test_bad_answers_name_the_field(session: Session, world: World) -> None:
    rights = checklists.active(session, RIGHTS)
    cases: list[tuple[str, int | None, str, str, str]] = [
        ("nope", None, "ok", "question", "has no question 'nope'; its questions are: in-writing"),
        ("in-writing", rights.id, "ok", "version_id", "is a human-rights checklist, not legal"),
        ("in-writing", 999_999, "ok", "version_id", "there is no checklist version 999999"),
        ("in-writing", None, "  ", "note", "required: say what you checked"),
        ("in-writing", None, "x" * 5001, "note", "at most 5000 characters"),
        ("in-writing", None, "a\x00b", "note", "contains a NUL character"),
    ]
    for question, version_id, note, field, message in cases:
        with pytest.raises(InvalidInput) as caught:
            answer(session, world, question, version_id=version_id, note=note)
        (error,) = caught.value.errors
        assert error.loc == (field,)
        assert message in error.msg
    assert count(session, ChecklistAnswer) == 0


# --- carry-over and what is missing --------------------------------------------------------------


def test_missing_required_and_require_complete(session: Session, world: World) -> None:
    required = [q.id for q in checklists.default_document(LEGAL).questions if q.required]
    assert [q.id for q in checklists.missing_required(session, world.demand.id, LEGAL)] == required
    with pytest.raises(checklists.ChecklistIncomplete) as caught:
        checklists.require_complete(session, world.demand.id, LEGAL)
    assert str(caught.value).startswith(
        f"demand {world.demand.id}: the legal checklist has {len(required)} required questions "
        "unanswered: in-writing, signed-by-competent-official"
    )
    for question in required:
        answer(session, world, question, Answer.NOT_APPLICABLE)
    assert checklists.missing_required(session, world.demand.id, LEGAL) == []
    checklists.require_complete(session, world.demand.id, LEGAL)
    shown = checklists.demand_checklist(session, world.demand.id, LEGAL)
    assert shown.complete
    assert shown.answerable
    assert shown.missing_required == []
    optional = [i for i in shown.items if not i.question.required]
    assert optional
    assert all(i.answer is None for i in optional)
    # The other checklist is its own: nothing of it is answered.
    assert len(checklists.missing_required(session, world.demand.id, RIGHTS)) == 5


def test_answers_to_unchanged_questions_carry_over(session: Session, world: World) -> None:
    answer(session, world, "in-writing", Answer.YES, note="written")
    answer(session, world, "legal-basis", Answer.NO, note="basis not in force")
    answer(session, world, "jurisdiction", Answer.YES, note="HK entity")
    # Version 2: in-writing reworded, jurisdiction dropped, a new question added.
    text = legal_text(**{"in-writing": "Do we hold the demand as a document?"})
    start = text.index("  - id: jurisdiction")
    end = text.index("  - id: scope-narrow")
    text = text[:start] + text[end:]
    text += "  - id: translation\n    text: Is a certified translation attached?\n"
    v2 = checklists.propose(session, text, "v2.yaml", "reworded", actor=world.owner)
    changes, dropped = checklists.compare(v2, checklists.active(session, LEGAL))
    assert {c.question.id: c.change for c in changes}["in-writing"] == "changed"
    assert {c.question.id: c.change for c in changes}["legal-basis"] == "unchanged"
    assert {c.question.id: c.change for c in changes}["translation"] == "new"
    assert [q.id for q in dropped] == ["jurisdiction"]
    checklists.approve(session, v2.id, actor=world.approver)

    shown = checklists.demand_checklist(session, world.demand.id, LEGAL)
    answers = {i.question.id: i.answer for i in shown.items}
    assert answers["in-writing"] is None  # changed text: to be answered again
    carried = answers["legal-basis"]
    assert carried is not None
    assert (carried.answer, carried.note, carried.version, carried.carried_over) == (
        Answer.NO,
        "basis not in force",
        1,
        True,
    )
    assert carried.answered_by == "legal@example.org"
    assert "jurisdiction" not in answers
    missing = [q.id for q in checklists.missing_required(session, world.demand.id, LEGAL)]
    assert "in-writing" in missing
    assert "legal-basis" not in missing
    assert "translation" in missing

    # Version 3 keeps legal-basis unchanged: the answer given to version 1 still counts.
    v3 = checklists.propose(
        session, text.replace("certified translation", "translation"), "v3", "x", actor=world.owner
    )
    checklists.approve(session, v3.id, actor=world.approver)
    counted = checklists.demand_checklist(session, world.demand.id, LEGAL).items
    assert next(i for i in counted if i.question.id == "legal-basis").answer is not None
    # A new answer to the active version wins over the carried one.
    answer(session, world, "legal-basis", Answer.YES, note="amended order cites it")
    current = next(
        i
        for i in checklists.demand_checklist(session, world.demand.id, LEGAL).items
        if i.question.id == "legal-basis"
    )
    assert current.answer is not None
    assert (current.answer.answer, current.answer.version, current.answer.carried_over) == (
        Answer.YES,
        3,
        False,
    )


def test_a_changed_question_breaks_the_chain_for_later_versions(
    session: Session, world: World
) -> None:
    answer(session, world, "in-writing", Answer.YES, note="written")
    original = checklists.active(session, LEGAL).questions[0]["text"]
    for text in ("Reworded?", original):  # v2 changes it, v3 restores v1's text
        version = checklists.propose(
            session, legal_text(**{"in-writing": text}), "v.yaml", "x", actor=world.owner
        )
        checklists.approve(session, version.id, actor=world.approver)
    shown = checklists.demand_checklist(session, world.demand.id, LEGAL)
    assert shown.version == 3
    assert shown.items[0].question.id == "in-writing"
    assert shown.items[0].answer is None  # answered under v1, but v2 asked something else


def test_answers_survive_a_move_and_can_change_when_it_comes_back(
    session: Session, world: World
) -> None:
    answer(session, world, "in-writing", Answer.YES, note="written")
    move(session, world.demand, S.HUMAN_RIGHTS_REVIEW)
    shown = checklists.demand_checklist(session, world.demand.id, LEGAL)
    assert shown.items[0].answer is not None
    assert not shown.answerable
    assert shown.why_not == (
        "the legal checklist is answered while the demand is in legal-review; it is "
        "human-rights-review"
    )
    move(session, world.demand, S.LEGAL_REVIEW)
    answer(session, world, "in-writing", Answer.NO, note="the copy was unsigned after all")
    again = checklists.demand_checklist(session, world.demand.id, LEGAL).items[0].answer
    assert again is not None
    assert again.answer is Answer.NO
