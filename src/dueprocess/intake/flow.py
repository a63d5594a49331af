"""The flow a demand takes through the domains, in one place: intake, requester
verification, then policy.

Every door (the API and its batches, the officers' portal, staff entry, import, the demo
loader) calls :func:`receive` or :func:`receive_many`, so a demand is checked, assessed and
given its jurisdiction's stance the moment it is recorded, whichever way it came in, and is
written the same way: as rows, one statement per table for however many arrive together
(``receive`` is ``receive_many`` for one). Later steps of the flow (review) will be added
here, in order.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from dueprocess.accounts import service as accounts
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel, Demand, DemandKind, DemandStatus
from dueprocess.demands.schemas import DemandIn, DemandOut
from dueprocess.documents import signatures
from dueprocess.errors import InvalidInput
from dueprocess.intake import record
from dueprocess.policy import service as policy
from dueprocess.review import search
from dueprocess.runtime import Runtime

#: Who the audit log names for the automatic requester assessment.
VERIFICATION_ACTOR = "system:verification"


def receive(
    session: Session,
    runtime: Runtime,
    data: DemandIn,
    *,
    channel: Channel,
    actor: str,
    officer_id: int | None = None,
    restrict_to_authority: int | None = None,
    uploader_id: int | None = None,
    second_factor: bool = False,
) -> record.Submitted:
    """Record one demand and apply the active policy's stance to it, in the caller's
    transaction: :func:`receive_many` for one, with the demand loaded back as a model.

    Refuses bad input with :class:`InvalidInput` naming each field, writing nothing, and so a
    repeat of an earlier demand of the authority not ``confirmed_new``
    (:class:`record.Repeats`); a replay (same idempotency key, same body) returns the earlier
    demand untouched. A new demand's requester is assessed
    (:func:`~dueprocess.authorities.service.verify_requester`;
    ``second_factor``: submitted in a web session signed in with TOTP) and the demand is
    evaluated at its ``received_at`` with the active policy: it may be paused, refused or
    redirected at once, with its reply queued; the audit log names ``system:policy`` as the
    actor of those steps, and ``actor`` as the submitter. The policy lock is taken first,
    before any audit write, so an activation running at the same time is either wholly
    before or wholly after this demand.
    """
    (answer,) = receive_many(
        session,
        runtime,
        [
            Incoming(
                data,
                channel,
                actor,
                officer_id=officer_id,
                restrict_to_authority=restrict_to_authority,
                uploader_id=uploader_id,
                second_factor=second_factor,
            )
        ],
    )
    if isinstance(answer, InvalidInput):
        raise answer
    # With its targets and documents, as callers read them (after commit, too).
    loaded = [selectinload(Demand.targets), selectinload(Demand.documents)]
    demand = session.get(Demand, answer.demand.id, options=loaded)
    assert demand is not None
    return record.Submitted(demand, answer.created)


# --- many at once ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Incoming:
    """One submission for :func:`receive_many`, with who sent it and how (as for
    :func:`receive`)."""

    data: DemandIn
    channel: Channel
    actor: str
    officer_id: int | None = None
    restrict_to_authority: int | None = None
    uploader_id: int | None = None
    second_factor: bool = False
    #: How a later item of the same call that repeats this one names it, where this one's id
    #: would mean nothing to its sender (``item 3 of this batch``, ``line 12``); ``None``:
    #: by the id of the demand it becomes.
    label: str | None = None

    @classmethod
    def from_api(cls, data: DemandIn, me: Principal, label: str | None = None) -> Incoming:
        """A submission through the API by ``me`` (an officer only for their authority)."""
        return cls(
            data,
            Channel.API,
            me.actor,
            officer_id=me.account_id if me.authority_scope else None,
            restrict_to_authority=me.authority_scope,
            uploader_id=me.account_id,
            label=label,
        )


@dataclass(frozen=True)
class Received:
    """A demand :func:`receive_many` wrote (``created``), or the earlier one a replay names:
    ``answer`` is its :class:`DemandOut` as plain data (:func:`demands.answer_of`), which a
    batch serialises straight away; :attr:`demand` is the model."""

    answer: dict[str, Any]
    created: bool

    @property
    def demand(self) -> DemandOut:
        return DemandOut.model_validate(self.answer)


def receive_many(
    session: Session, runtime: Runtime, items: Sequence[Incoming]
) -> list[Received | InvalidInput]:
    """:func:`receive` for many submissions, written as rows: one INSERT (PostgreSQL: COPY)
    per table for all of them, no ORM objects. The answer for each item, in order: what was
    written or replayed, or the :class:`InvalidInput` that refused it (nothing of it written;
    the others are). Each item gets the rows and audit events it would get received alone
    (``tests/test_flow.py`` compares the two), except that the items share one instant of
    receipt (unless they state theirs) and count into their authority's volume together, as
    one arrival; an idempotency key repeated within ``items`` replays or conflicts as with
    an earlier demand. A new demand that repeats an earlier one of its authority, stored or
    earlier in ``items`` (:class:`record.Repeats`), is refused unless it is
    ``confirmed_new``; the stored ones are found in one query for all the items. The caller
    commits.
    """
    policy.lock_for_intake(session)
    ids = iter(demands.allocate_ids(session, len(items)))
    stored = _stored_keys(session, items)
    rows = _Rows(session, runtime)
    answers: list[Received | InvalidInput | None] = []
    checked_new: list[tuple[int, Incoming, record.Checked]] = []  # (answer index, item, checks)
    repeats: list[tuple[int, int]] = []  # (answer index, index of the first with its key)
    in_group: dict[tuple[int, str], tuple[str, int]] = {}
    for index, item in enumerate(items):
        data = item.data
        try:
            checked = record.check(
                session,
                data,
                store=runtime.store,
                max_document_bytes=runtime.settings.max_body_bytes,
                restrict_to_authority=item.restrict_to_authority,
                uploader_id=item.uploader_id,
                earlier=lambda authority_id, key: stored.get((authority_id, key)),
                now=rows.now,
            )
        except InvalidInput as refused:
            answers.append(refused)
            continue
        if checked.earlier is not None:
            answers.append(Received(demands.answer(session, checked.earlier), created=False))
            continue
        key = (checked.authority.id, data.idempotency_key or "")
        if data.idempotency_key and key in in_group:
            digest, first = in_group[key]
            answers.append(record.idempotency_conflict() if digest != checked.digest else None)
            if digest == checked.digest:
                repeats.append((index, first))
            continue
        if data.idempotency_key:
            in_group[key] = (checked.digest, index)
        answers.append(None)
        checked_new.append((index, item, checked))
    new = _not_repeats(session, checked_new, answers, ids)
    rows.arrive([checked for _, _, checked, _ in new])
    for index, item, checked, demand_id in new:
        answers[index] = rows.add(item, checked, demand_id)
    for index, first in repeats:
        written = answers[first]
        assert written is not None
        answers[index] = (
            Received(written.answer, created=False) if isinstance(written, Received) else written
        )
    rows.write()
    return [answer for answer in answers if answer is not None]


def _not_repeats(
    session: Session,
    checked: list[tuple[int, Incoming, record.Checked]],
    answers: list[Received | InvalidInput | None],
    ids: Iterator[int],
) -> list[tuple[int, Incoming, record.Checked, int]]:
    """The items that repeat no earlier demand (or are confirmed new), each with its id;
    the others are answered with their refusal. Earlier items count as earlier demands."""
    found = record.Repeats.load(session, [(item.data, c) for _, item, c in checked])
    new: list[tuple[int, Incoming, record.Checked, int]] = []
    for index, item, first_checks in checked:
        outcome = found.refusal(item.data, first_checks)
        if isinstance(outcome, InvalidInput):
            answers[index] = outcome
            continue
        demand_id = next(ids)
        found.add(
            record.Earlier(
                demand_id,
                outcome.authority.id,
                item.data.reference,
                outcome.digest,
                outcome.received_at,
                item.label,
            )
        )
        new.append((index, item, outcome, demand_id))
    return new


def _stored_keys(session: Session, items: Sequence[Incoming]) -> dict[tuple[int, str], Demand]:
    """The stored demands holding any of the items' idempotency keys, in one query."""
    keys = {i.data.idempotency_key for i in items if i.data.idempotency_key}
    if not keys:
        return {}
    found = session.scalars(select(Demand).where(Demand.idempotency_key.in_(keys)))
    return {(d.authority_id, d.idempotency_key or ""): d for d in found}


class _Rows:
    """The rows and audit events of the new demands of one :func:`receive_many` call, and
    what its items share: one instant of receipt (the transaction's, for items that do not
    state theirs) and the policy's decisions, each made once per distinct set of facts (a
    pure function of them: :func:`policy.decide_at_intake`)."""

    def __init__(self, session: Session, runtime: Runtime) -> None:
        self.session, self.runtime = session, runtime
        self.now = utcnow()
        self.demands: list[dict[str, Any]] = []
        self.targets: list[dict[str, Any]] = []
        self.documents: list[dict[str, Any]] = []
        self.replies: list[dict[str, Any]] = []
        self.evaluations: list[dict[str, object]] = []
        self.searches: list[dict[str, Any]] = []
        self._decisions: dict[tuple[str, str, str, str, datetime], _Stance] = {}
        self._volumes: dict[int, tuple[int, int]] = {}
        self._assessed: dict[
            tuple[int, int | None, bool, str | None, bool | None, bool],
            tuple[dict[str, Any], audit.Prepared],
        ] = {}

    def arrive(self, new: list[record.Checked]) -> None:
        """Count the group's new demands into their authorities' volume, all at once."""
        arriving: dict[int, list[datetime]] = {}
        for checked in new:
            arriving.setdefault(checked.authority.id, []).append(checked.received_at)
        for authority_id, times in arriving.items():
            self._volumes[authority_id] = authorities.volume(
                self.session, authority_id, self.now, times
            )

    def assess(
        self, item: Incoming, checked: record.Checked
    ) -> tuple[dict[str, Any], audit.Prepared]:
        """The requester's assessment (its columns, and its audit data prepared), made once
        per distinct signals in the group."""
        data = item.data
        signed = signatures.documents_signed(self.runtime.store, checked.documents)
        emergency = data.kind is DemandKind.EMERGENCY_DISCLOSURE
        signals = (
            checked.authority.id,
            item.officer_id,
            item.second_factor,
            data.sender,
            signed,
            emergency,
        )
        found = self._assessed.get(signals)
        if found is None:
            verification = authorities.verify_requester(
                self.session,
                authority_id=checked.authority.id,
                officer=accounts.officer_standing(self.session, item.officer_id),
                second_factor=item.second_factor,
                sender=data.sender,
                documents_signed=signed,
                emergency=emergency,
                now=self.now,
                volume=self._volumes[checked.authority.id],
            )
            columns = demands.verification_values(verification)
            found = (columns, audit.prepare(demands.verification_data(columns)))
            self._assessed[signals] = found
        return found

    def decide(self, data: DemandIn, checked: record.Checked) -> _Stance:
        """The policy's stance on this item (:func:`policy.decide_at_intake`), worked out
        once per distinct facts."""
        facts = (
            data.jurisdiction,
            checked.authority.slug,
            data.kind.value,
            data.legal_process.value,
            checked.received_at,
        )
        stance = self._decisions.get(facts)
        if stance is None:
            decision = policy.decide_at_intake(
                self.session,
                jurisdiction=facts[0],
                authority_slug=facts[1],
                kind=facts[2],
                legal_process=facts[3],
                received_at=facts[4],
            )
            stance = self._decisions[facts] = _Stance.of(decision)
        return stance

    def add(self, item: Incoming, checked: record.Checked, demand_id: int) -> Received:
        session, data, now = self.session, item.data, self.now
        values = record.new_demand_values(
            checked, data, channel=item.channel, officer_id=item.officer_id
        )
        values["id"] = demand_id
        subject = f"demand:{demand_id}"
        audit.record(
            session,
            actor=item.actor,
            action="demand.submitted",
            subject=subject,
            data=record.submitted_data(checked, data, item.channel),
            at=now,
        )
        columns, assessed = self.assess(item, checked)
        values.update(columns)
        audit.record(
            session,
            actor=VERIFICATION_ACTOR,
            action="demand.verification_assessed",
            subject=subject,
            data=assessed,
            at=now,
        )
        self._apply(values, self.decide(data, checked), subject)
        values["created_at"] = now
        self.demands.append(values)
        self.targets.extend(
            {
                "demand_id": demand_id,
                "position": i,
                "type": t.type,
                "identifier": t.id,
                "note": t.note,
            }
            for i, t in enumerate(data.targets)
        )
        found = search.document(data.reference, data.summary, (t.id for t in data.targets))
        self.searches.append({"demand_id": demand_id, "text": found.text, "terms": found.terms})
        self.documents.extend(
            {
                "demand_id": demand_id,
                "sha256": d.sha256,
                "size": d.size,
                "media_type": d.media_type,
                "filename": d.filename,
                "received_at": now,
            }
            for d in checked.documents
        )
        out = demands.answer_of(
            values,
            [{"type": t.type.value, "id": t.id, "note": t.note} for t in data.targets],
            [demands.document_answer(d) for d in checked.documents],
            checked.authority,
        )
        return Received(out, created=True)

    def _apply(self, values: dict[str, Any], stance: _Stance, subject: str) -> None:
        """The policy's stance on a new demand: its audit events, its reply, its columns and
        its evaluation row."""
        for action, prepared in stance.events:
            audit.record(
                self.session,
                actor=policy.SYSTEM_ACTOR,
                action=action,
                subject=subject,
                data=prepared,
                at=self.now,
            )
        values["status"] = stance.status
        decision = stance.decision
        if decision.effect.reply is not None:
            kind, text = decision.effect.reply
            self.replies.append(
                {
                    "demand_id": values["id"],
                    "kind": kind,
                    "text": text,
                    "created_at": self.now,
                    "sent_at": None,
                }
            )
        evaluation = decision.evaluation
        values["stance"] = evaluation.stance.value
        values["stance_condition"] = evaluation.condition
        values["policy_version_id"] = stance.version_id
        record = decision.record(values["id"], values["received_at"])
        if record is not None:
            self.evaluations.append(record)

    def write(self) -> None:
        session = self.session
        demands.insert_new(
            session,
            demands=self.demands,
            targets=self.targets,
            documents=self.documents,
            replies=self.replies,
        )
        policy.record_evaluations(session, self.evaluations)
        search.store(session, self.searches)
        authorities.count_received(
            session, [(d["authority_id"], d["received_at"]) for d in self.demands]
        )


@dataclass(frozen=True)
class _Stance:
    """A policy decision at intake with what it does to every demand it is made for: the
    audit events of its :class:`~dueprocess.policy.stances.Effect` (each move, or
    ``policy.applied``), their data prepared once, and the status the demand ends in."""

    decision: policy.IntakeDecision
    version_id: int | None
    events: list[tuple[str, audit.Prepared]]
    status: DemandStatus

    @classmethod
    def of(cls, decision: policy.IntakeDecision) -> _Stance:
        version = decision.version
        outcome = decision.effect
        events: list[tuple[str, audit.Prepared]] = []
        if outcome.applied is not None:
            events.append(("policy.applied", audit.prepare(outcome.applied)))
        status = DemandStatus.RECEIVED
        for step, recorded in outcome.moves:
            moved = demands.moved_data(status, outcome.reason, recorded)
            events.append((f"demand.{step.value}", audit.prepare(moved)))
            status = step
        return cls(decision, version.id if version is not None else None, events, status)
