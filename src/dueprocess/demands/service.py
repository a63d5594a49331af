"""The demands domain's operations: plain functions taking a session; the caller commits.

This module is the domain's one entry point for other domains, the web and the CLI. Intake
itself lives in :mod:`dueprocess.intake.record` and the read models in
:mod:`dueprocess.demands.queries`; both are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, BinaryIO, cast, overload

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, selectinload

from dueprocess import inserts
from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import Authority
from dueprocess.authorities.verification import Verification
from dueprocess.demands import callbacks, states
from dueprocess.demands.models import (
    Demand,
    DemandStatus,
    Document,
    Reply,
    ReplyKind,
    Target,
)
from dueprocess.demands.queries import (
    AuthorityRow as AuthorityRow,
    OpenGroup as OpenGroup,
    OpenRow as OpenRow,
    authority_demands as authority_demands,
    iter_open_demands as iter_open_demands,
    iter_open_rows as iter_open_rows,
    jurisdiction_counts as jurisdiction_counts,
    open_groups as open_groups,
    open_rows_after as open_rows_after,
    received_counts as received_counts,
)
from dueprocess.demands.schemas import (
    DemandOut,
    DemandSummary,
)
from dueprocess.documents.store import DocumentStore
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted


def get(session: Session, demand_id: int, *, authority_id: int | None = None) -> Demand:
    """The demand, or :class:`NotFound`; with ``authority_id``, only if it is that authority's.

    An officer asking for another authority's demand gets the same answer as for one that
    does not exist, so ids reveal nothing.
    """
    query = (
        select(Demand)
        .where(Demand.id == demand_id)
        .options(selectinload(Demand.targets), selectinload(Demand.documents))
    )
    if authority_id is not None:
        query = query.where(Demand.authority_id == authority_id)
    demand = session.scalar(query)
    if demand is None:
        raise NotFound(f"demand {demand_id}")
    return demand


def list_summaries(
    session: Session,
    *,
    authority_id: int | None = None,
    status: DemandStatus | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[DemandSummary]:
    """Demands newest first, one line each, in one query."""
    target_count = (
        select(func.count(Target.id)).where(Target.demand_id == Demand.id).scalar_subquery()
    )
    query = (
        select(Demand, Authority.slug, target_count)
        .join(Authority, Authority.id == Demand.authority_id)
        .order_by(Demand.received_at.desc(), Demand.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if authority_id is not None:
        query = query.where(Demand.authority_id == authority_id)
    if status is not None:
        query = query.where(Demand.status == status)
    return [
        DemandSummary(
            id=d.id,
            status=d.status,
            authority=slug,
            jurisdiction=d.jurisdiction,
            kind=d.kind,
            legal_process=d.legal_process,
            received_at=d.received_at,
            deadline=d.deadline,
            targets=int(n),
        )
        for d, slug, n in session.execute(query)
    ]


def to_out(session: Session, demand: Demand) -> DemandOut:
    """The output form; accepted back by :class:`DemandIn` (``demand show --json`` round trip)."""
    return DemandOut.model_validate(answer(session, demand))


def answer(session: Session, demand: Demand) -> dict[str, Any]:
    """:func:`to_out` as plain data (:func:`answer_of`)."""
    authority = authorities.get(session, demand.authority_id)
    assert authority is not None
    values = {column.key: getattr(demand, column.key) for column in Demand.__table__.columns}
    return answer_of(
        values,
        [{"type": t.type.value, "id": t.identifier, "note": t.note} for t in demand.targets],
        [document_answer(d) for d in demand.documents],
        authority,
    )


def answer_of(
    values: Mapping[str, Any],
    targets: list[dict[str, Any]],
    documents: list[dict[str, Any]],
    authority: Authority,
) -> dict[str, Any]:
    """:class:`DemandOut` as plain data, from a demand's column values (a row being written,
    or a model's): enums as their values, times as aware datetimes. ``orjson`` with
    ``OPT_UTC_Z`` serialises it as ``DemandOut`` would (``tests/demands/test_answers.py``),
    at a fraction of the cost, which matters for a batch's hundred answers;
    ``DemandOut.model_validate`` turns it into the model."""
    gag = (
        {"basis": values["gag_order_basis"], "until": values["gag_order_until"]}
        if values["gag_order_basis"]
        else None
    )
    return {
        "id": values["id"],
        "status": _value(values["status"]),
        "authority": authority.slug,
        "authority_name": authority.name,
        "jurisdiction": values["jurisdiction"],
        "reference": values["reference"],
        "kind": _value(values["kind"]),
        "legal_process": _value(values["legal_process"]),
        "legal_basis": {
            "instrument": values["legal_basis_instrument"],
            "article": values["legal_basis_article"],
        },
        "summary": values["summary"],
        "data_categories": [_value(c) for c in values["data_categories"]],
        "period_start": values["period_start"],
        "period_end": values["period_end"],
        "received_at": values["received_at"],
        "deadline": values["deadline"],
        "penalty": values["penalty"],
        "gag_order": gag,
        "emergency_justification": values["emergency_justification"],
        "targets": targets,
        "documents": documents,
        "channel": _value(values["channel"]),
        "sender": values["sender"],
        "idempotency_key": values["idempotency_key"],
        "created_at": values["created_at"],
    }


def document_answer(document: Document) -> dict[str, Any]:
    """A document of :func:`answer_of` (``DocumentOut`` as plain data)."""
    return {
        "filename": document.filename,
        "media_type": document.media_type,
        "sha256": document.sha256,
        "size": document.size,
    }


def _value(member: Any) -> Any:
    return getattr(member, "value", member)


def insert_new(
    session: Session,
    *,
    demands: list[dict[str, Any]],
    targets: list[dict[str, Any]],
    documents: list[dict[str, Any]],
    replies: list[dict[str, Any]],
) -> None:
    """Write new demands given as rows, with their targets, documents and replies: one
    INSERT (PostgreSQL: COPY) per table. Ids are the caller's (:func:`allocate_ids`). The
    caller then counts them in the authorities' volume
    (:func:`dueprocess.authorities.volume.count_received`) as the last write before its commit."""
    inserts.insert_rows(session, Demand, demands)
    inserts.insert_rows(session, Target, targets)
    inserts.insert_rows(session, Document, documents)
    inserts.insert_rows(session, Reply, replies)


def allocate_ids(session: Session, count: int) -> list[int]:
    """Ids for ``count`` demands about to be written as rows (:func:`insert_new`)."""
    return inserts.allocate_ids(session, cast(Table, Demand.__table__), count)


def subject_of(demand: Demand) -> str:
    """The audit subject of a stored demand (intake writes its rows with their ids)."""
    assert demand.id is not None, "a demand is audited once it is written"
    return f"demand:{demand.id}"


def record_view(session: Session, demand: Demand, *, actor: str, via: str) -> None:
    """Audit that ``actor`` looked at the demand (every view of a demand is recorded)."""
    audit.record(
        session,
        actor=actor,
        action="demand.viewed",
        subject=f"demand:{demand.id}",
        data={"via": via},
    )


def verification_values(verification: Verification) -> dict[str, Any]:
    """The demand's verification columns for ``verification``."""
    return {
        "verification_state": verification.state,
        "verification_confidence": verification.confidence,
        "verification_reasons": [dict(r) for r in verification.reasons],
    }


def verification_data(values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``demand.verification_assessed`` audit event's data, from the columns."""
    return {
        "state": values["verification_state"],
        "confidence": values["verification_confidence"],
        "reasons": values["verification_reasons"],
    }


def move(
    session: Session,
    demand: Demand,
    to: DemandStatus,
    *,
    actor: str,
    by: Iterable[str],
    reason: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Move ``demand`` to status ``to``: the one place a status changes.

    ``by``: the roles the actor holds (role values), or ``[states.SYSTEM]`` when the service
    moves it (a policy stance). Refuses (:class:`Conflict`) a move the state table does not
    allow at all, and (:class:`NotPermitted`) one it allows but not to ``by``; otherwise
    writes the audit event ``demand.<to>`` with the previous status and ``reason``, in the
    caller's transaction, and counts the move in ``Demand.revision`` (a form loaded before
    it is then stale). An emergency disclosure cannot go to approval, decision or action
    before staff record a confirmed call-back to a registry number (:mod:`.callbacks`).
    """
    which = f"demand {demand.id}" if demand.id is not None else "a new demand"
    if not states.can_move(demand.status, to):
        raise Conflict(f"{which} cannot move from {demand.status.value} to {to.value}")
    roles = frozenset(by)
    if not states.may_move(demand.status, to, roles):
        allowed = ", ".join(sorted(states.movers(demand.status, to)))
        raise NotPermitted(
            f"{which}: moving from {demand.status.value} to {to.value} is for {allowed}, "
            f"not for {', '.join(sorted(roles)) or 'no role'}"
        )
    callbacks.check_move(session, demand, to)
    previous = demand.status
    demand.status = to
    demand.revision = (demand.revision or 0) + 1
    audit.record(
        session,
        actor=actor,
        action=f"demand.{to.value}",
        subject=subject_of(demand),
        data=moved_data(previous, reason, data),
    )


def moved_data(
    previous: DemandStatus, reason: str, data: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The ``demand.<status>`` audit event's data for a move from ``previous``."""
    return {"from": previous.value, "reason": reason, **(data or {})}


@overload
def add_reply(session: Session, demand: Demand, kind: ReplyKind, text: str) -> Reply: ...


@overload
def add_reply(
    session: Session,
    demand: int,
    kind: ReplyKind,
    text: str,
    *,
    rows: list[dict[str, Any]],
    at: datetime,
) -> None: ...


def add_reply(
    session: Session,
    demand: Demand | int,
    kind: ReplyKind,
    text: str,
    *,
    rows: list[dict[str, Any]] | None = None,
    at: datetime | None = None,
) -> Reply | None:
    """Queue a message to the requester (the portal and API show it; ``sent_at`` when sent).

    ``demand`` is the demand (the reply is added to the session, written at its next flush),
    or the id of one when the caller works in rows (a policy's activation over every open
    demand): the reply's row, made ``at`` then, is appended to ``rows`` for the caller to
    write with the others (:func:`insert_replies`).

    Not audited here: the event of the step that queued it records the reply (see
    :mod:`dueprocess.policy.stances`)."""
    if isinstance(demand, Demand):
        reply = Reply(demand=demand, kind=kind, text=text)
        session.add(reply)  # written at the next flush; a batch writes them together
        return reply
    if rows is None or at is None:
        raise TypeError("a reply by demand id needs the rows it goes with and its time")
    rows.append(
        {"demand_id": demand, "kind": kind, "text": text, "created_at": at, "sent_at": None}
    )
    return None


def insert_replies(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write replies made by :func:`add_reply` as rows: one INSERT (PostgreSQL: COPY)."""
    inserts.insert_rows(session, Reply, rows)


def replies(session: Session, demand_id: int) -> list[Reply]:
    """The replies to the requester about one demand, oldest first."""
    return list(
        session.scalars(select(Reply).where(Reply.demand_id == demand_id).order_by(Reply.id))
    )


def open_document(
    session: Session,
    store: DocumentStore,
    demand_id: int,
    sha256: str,
    *,
    actor: str,
    via: str,
    authority_id: int | None = None,
) -> tuple[Document, BinaryIO]:
    """A document of a demand the caller may see, opened for reading; the download is audited.

    A hash that is not one of this demand's documents is :class:`NotFound`, whatever the
    store holds, so a requester cannot fetch another authority's file by its hash.
    """
    demand = get(session, demand_id, authority_id=authority_id)
    document = next((d for d in demand.documents if d.sha256 == sha256), None)
    if document is None:
        raise NotFound(f"document {sha256} of demand {demand_id}")
    handle = store.open(sha256)
    audit.record(
        session,
        actor=actor,
        action="document.downloaded",
        subject=f"demand:{demand_id}",
        data={"sha256": sha256, "via": via},
    )
    return document, handle


# --- reads for the policy step ----------------------------------------------------------------
# The jurisdiction policy re-evaluates every open demand when a version is activated, and its
# what-if must do so over a million of them in seconds: these reads give it only the columns a
# policy looks at, grouped in the database or streamed, never whole rows.


def withdraw(
    session: Session,
    demand_id: int,
    *,
    authority_id: int | None,
    actor: str,
    by: Iterable[str],
    reason: str,
) -> Demand:
    """The requester withdraws its demand: :func:`move` to ``withdrawn``, audited with ``reason``.

    ``authority_id`` scopes it as :func:`get` does (another authority's demand is
    :class:`NotFound`). A blank reason is :class:`InvalidInput` on ``reason``; a demand the
    state table lets no longer be withdrawn (decided, done, refused...) is :class:`Conflict`.
    The row is locked first, so two withdrawals at once record one move.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput.one(("reason",), "required: say why the demand is withdrawn")
    if len(reason) > 2000:
        raise InvalidInput.one(("reason",), "at most 2000 characters")
    query = select(Demand).where(Demand.id == demand_id).with_for_update()
    if authority_id is not None:
        query = query.where(Demand.authority_id == authority_id)
    demand = session.scalar(query.execution_options(populate_existing=True))
    if demand is None:
        raise NotFound(f"demand {demand_id}")
    move(session, demand, DemandStatus.WITHDRAWN, actor=actor, by=by, reason=reason)
    return demand
