"""Intake and reading of demands. Plain functions taking a session; the caller commits.

Every channel (API, portal, staff entry, import, the demo loader) goes through
:func:`submit`, so a demand is validated, de-duplicated and audited the same way whichever
door it came in by.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import Authority
from dueprocess.clock import as_utc, utcnow
from dueprocess.demands import states
from dueprocess.demands.documents import DocumentRefused, DocumentStore
from dueprocess.demands.models import (
    Channel,
    DataCategory,
    Demand,
    DemandKind,
    DemandStatus,
    Document,
    Reply,
    ReplyKind,
    Target,
)
from dueprocess.demands.schemas import (
    DemandIn,
    DemandOut,
    DemandSummary,
    DocumentIn,
    DocumentOut,
    GagOrder,
    LegalBasis,
    TargetOut,
)
from dueprocess.errors import Conflict, FieldError, InvalidInput, NotFound
from dueprocess.jurisdictions import country_of

#: How far in the future a stated ``received_at`` may lie (clock skew between systems).
_MAX_FUTURE_SECONDS = 300


@dataclass(frozen=True)
class Submitted:
    """The outcome of :func:`submit`: the demand, and whether this call created it."""

    demand: Demand
    created: bool


def request_hash(data: DemandIn) -> str:
    """A digest of what was asked, used to tell a retry from a different demand.

    Computed over a normal form, so that what ``demand show --json`` prints hashes like the
    submission it came from: times in UTC, documents by the SHA-256 of their bytes (inline or
    referenced), without the idempotency key, the channel or display-only file names.
    """
    body = data.model_dump(mode="python", exclude={"idempotency_key", "channel", "documents"})
    for key, value in list(body.items()):
        if isinstance(value, datetime):
            body[key] = as_utc(value)
    if data.gag_order is not None and data.gag_order.until is not None:
        body["gag_order"]["until"] = as_utc(data.gag_order.until)
    body["documents"] = [_document_digest(d) for d in data.documents]
    return hashlib.sha256(
        orjson.dumps(body, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    ).hexdigest()


def _document_digest(doc: DocumentIn) -> str:
    if doc.sha256 is not None:
        return doc.sha256
    try:
        raw = base64.b64decode(doc.content_base64 or "", validate=True)
    except (binascii.Error, ValueError):
        return "invalid-base64"
    return hashlib.sha256(raw).hexdigest()


def submit(
    session: Session,
    data: DemandIn,
    *,
    channel: Channel,
    actor: str,
    store: DocumentStore,
    max_document_bytes: int,
    officer_id: int | None = None,
    restrict_to_authority: int | None = None,
) -> Submitted:
    """Record a new demand, or return the one an earlier identical submission created.

    Raises :class:`InvalidInput` naming every bad field (nothing is written): an unknown
    authority, a jurisdiction that is not the authority's, times out of order, a document
    refused by the store's checks, or an idempotency key reused with a different body.
    ``restrict_to_authority`` is set for officers, who may only submit for their own.
    """
    digest = request_hash(data)
    errors = list(data.consistency_errors())
    authority = authorities.get_by_slug(session, data.authority)
    if authority is None or (
        restrict_to_authority is not None and authority.id != restrict_to_authority
    ):
        errors.append(FieldError(("authority",), f"unknown authority {data.authority!r}"))
    elif country_of(data.jurisdiction) != country_of(authority.jurisdiction):
        errors.append(
            FieldError(
                ("jurisdiction",),
                f"{data.jurisdiction} is not the jurisdiction of {authority.slug} "
                f"({authority.jurisdiction})",
            )
        )
    now = utcnow()
    received_at = as_utc(data.received_at) if data.received_at else now
    if (received_at - now).total_seconds() > _MAX_FUTURE_SECONDS:
        errors.append(FieldError(("received_at",), "must not be in the future"))
    if data.received_at is None:
        if data.deadline is not None and as_utc(data.deadline) <= received_at:
            errors.append(FieldError(("deadline",), "has already passed"))
        gag_until = data.gag_order.until if data.gag_order else None
        if gag_until is not None and as_utc(gag_until) <= received_at:
            errors.append(FieldError(("gag_order", "until"), "has already passed"))

    if authority is not None and data.idempotency_key and not errors:
        earlier = session.scalar(
            select(Demand).where(
                Demand.authority_id == authority.id,
                Demand.idempotency_key == data.idempotency_key,
            )
        )
        if earlier is not None:
            if earlier.request_hash != digest:
                raise InvalidInput.one(
                    ("idempotency_key",),
                    "already used for a different demand; use a new key for a new demand",
                    "idempotency_conflict",
                )
            return Submitted(earlier, created=False)
    if errors:
        raise InvalidInput(errors)
    assert authority is not None

    documents = _store_documents(session, data, store, max_document_bytes)
    demand = Demand(
        authority_id=authority.id,
        officer_id=officer_id,
        reference=data.reference,
        jurisdiction=data.jurisdiction,
        channel=channel,
        sender=data.sender,
        kind=data.kind,
        legal_process=data.legal_process,
        legal_basis_instrument=data.legal_basis.instrument,
        legal_basis_article=data.legal_basis.article,
        summary=data.summary,
        data_categories=[c.value for c in data.data_categories],
        period_start=as_utc(data.period_start) if data.period_start else None,
        period_end=as_utc(data.period_end) if data.period_end else None,
        received_at=received_at,
        deadline=as_utc(data.deadline) if data.deadline else None,
        penalty=data.penalty,
        gag_order_basis=data.gag_order.basis if data.gag_order else None,
        gag_order_until=(
            as_utc(data.gag_order.until) if data.gag_order and data.gag_order.until else None
        ),
        emergency_justification=data.emergency_justification,
        status=DemandStatus.RECEIVED,
        idempotency_key=data.idempotency_key,
        request_hash=digest,
        targets=[
            Target(position=i, type=t.type, identifier=t.id, note=t.note)
            for i, t in enumerate(data.targets)
        ],
        documents=documents,
    )
    session.add(demand)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="demand.submitted",
        subject=f"demand:{demand.id}",
        data={
            "authority": authority.slug,
            "channel": channel.value,
            "kind": demand.kind.value,
            "request_hash": digest,
            "targets": len(demand.targets),
            "documents": [d.sha256 for d in documents],
        },
    )
    return Submitted(demand, created=True)


def _store_documents(
    session: Session, data: DemandIn, store: DocumentStore, max_bytes: int
) -> list[Document]:
    errors: list[FieldError] = []
    documents: list[Document] = []
    for i, doc in enumerate(data.documents):
        loc: tuple[str | int, ...] = ("documents", i)
        if doc.sha256 is not None:
            known = session.scalar(select(Document).where(Document.sha256 == doc.sha256).limit(1))
            if known is None or not store.exists(doc.sha256):
                errors.append(FieldError((*loc, "sha256"), "no stored document has this hash"))
                continue
            documents.append(
                Document(
                    sha256=known.sha256,
                    size=known.size,
                    media_type=known.media_type,
                    filename=doc.filename or known.filename,
                )
            )
            continue
        try:
            raw = base64.b64decode(doc.content_base64 or "", validate=True)
        except (binascii.Error, ValueError):
            errors.append(FieldError((*loc, "content_base64"), "is not valid base64"))
            continue
        try:
            stored = store.put(io.BytesIO(raw), doc.filename, max_bytes=max_bytes)
        except DocumentRefused as exc:
            errors.append(FieldError((*loc, "content_base64"), exc.reason))
            continue
        documents.append(
            Document(
                sha256=stored.sha256,
                size=stored.size,
                media_type=stored.media_type,
                filename=stored.filename,
            )
        )
    if errors:
        raise InvalidInput(errors)
    return documents


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
    authority = authorities.get(session, demand.authority_id)
    assert authority is not None
    gag = (
        GagOrder(basis=demand.gag_order_basis, until=demand.gag_order_until)
        if demand.gag_order_basis
        else None
    )
    return DemandOut(
        id=demand.id,
        status=demand.status,
        authority=authority.slug,
        authority_name=authority.name,
        jurisdiction=demand.jurisdiction,
        reference=demand.reference,
        kind=demand.kind,
        legal_process=demand.legal_process,
        legal_basis=LegalBasis(
            instrument=demand.legal_basis_instrument, article=demand.legal_basis_article
        ),
        summary=demand.summary,
        data_categories=[DataCategory(c) for c in demand.data_categories],
        period_start=demand.period_start,
        period_end=demand.period_end,
        received_at=demand.received_at,
        deadline=demand.deadline,
        penalty=demand.penalty,
        gag_order=gag,
        emergency_justification=demand.emergency_justification,
        targets=[TargetOut(type=t.type, id=t.identifier, note=t.note) for t in demand.targets],
        documents=[
            DocumentOut(filename=d.filename, media_type=d.media_type, sha256=d.sha256, size=d.size)
            for d in demand.documents
        ],
        channel=demand.channel,
        sender=demand.sender,
        idempotency_key=demand.idempotency_key,
        created_at=demand.created_at,
    )


def record_view(session: Session, demand: Demand, *, actor: str, via: str) -> None:
    """Audit that ``actor`` looked at the demand (every view of a demand is recorded)."""
    audit.record(
        session,
        actor=actor,
        action="demand.viewed",
        subject=f"demand:{demand.id}",
        data={"via": via},
    )


def received_counts(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, DemandKind, int]]:
    """Demands received in ``[start, end)``, counted per jurisdiction and kind.

    Transparency reads demands through this (and functions like it), never the table.
    """
    query = (
        select(Demand.jurisdiction, Demand.kind, func.count(Demand.id))
        .where(Demand.received_at >= start, Demand.received_at < end)
        .group_by(Demand.jurisdiction, Demand.kind)
        .order_by(Demand.jurisdiction, Demand.kind)
    )
    return [(str(j), DemandKind(k), int(n)) for j, k, n in session.execute(query)]


def move(
    session: Session,
    demand: Demand,
    to: DemandStatus,
    *,
    actor: str,
    reason: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Move ``demand`` to status ``to``: the one place a status changes.

    Refuses (:class:`Conflict`) a move the state table does not allow, and writes the audit
    event ``demand.<to>`` with the previous status and ``reason``, in the caller's
    transaction.
    """
    if not states.can_move(demand.status, to):
        raise Conflict(f"demand {demand.id} cannot move from {demand.status.value} to {to.value}")
    previous = demand.status
    demand.status = to
    audit.record(
        session,
        actor=actor,
        action=f"demand.{to.value}",
        subject=f"demand:{demand.id}",
        data={"from": previous.value, "reason": reason, **(data or {})},
    )


def queue_reply(
    session: Session, demand: Demand, kind: ReplyKind, text: str, *, actor: str
) -> Reply:
    """Queue a message to the requester (the portal and API show it; ``sent_at`` when sent)."""
    reply = Reply(demand_id=demand.id, kind=kind, text=text)
    session.add(reply)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="demand.reply_queued",
        subject=f"demand:{demand.id}",
        data={"reply": reply.id, "kind": kind.value},
    )
    return reply


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
