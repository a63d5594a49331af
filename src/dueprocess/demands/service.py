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
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import orjson
from sqlalchemy import case, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, selectinload

from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import Authority
from dueprocess.authorities.verification import Verification
from dueprocess.clock import as_utc, utcnow
from dueprocess.demands import callbacks, states
from dueprocess.demands.documents import DocumentRefused, DocumentStore, StoredDocument
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
    Upload,
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
    uploader_id: int | None = None,
) -> Submitted:
    """Record a new demand, or return the one an earlier identical submission created.

    Raises :class:`InvalidInput` naming every bad field (nothing is written): an unknown
    authority, a jurisdiction that is not the authority's, times out of order, a document
    refused by the store's checks, or an idempotency key reused with a different body.
    ``restrict_to_authority`` is set for officers, who may only submit for their own.
    ``uploader_id`` is the submitting account (API and portal): a document cited by
    ``sha256`` must then be an :class:`Upload` of that account (or a document already on a
    demand); ``None`` (staff entry, import, demo) may cite any stored upload.
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

    documents = _store_documents(session, data, store, max_document_bytes, uploader_id)
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
    session: Session,
    data: DemandIn,
    store: DocumentStore,
    max_bytes: int,
    uploader_id: int | None = None,
) -> list[Document]:
    """The demand's documents as rows to add; :class:`InvalidInput` naming each bad one.

    A ``sha256`` reference is resolved to an :class:`Upload` or to a document already on a
    demand (the behaviour before uploads existed), and the bytes must still be in the store.
    With ``uploader_id`` (an account submitting through the API or portal) only what that
    account sent counts: its own uploads, and documents on demands it submitted itself, so a
    token that learns another authority's document hash cannot attach the document to its
    own demand and download it. Without (staff entry, import, demo) any stored upload or
    document may be cited. Someone else's file gets the same answer as an unknown hash, so
    nothing can be probed. All references are looked up in at most two queries.
    """
    errors: list[FieldError] = []
    documents: list[Document] = []
    wanted = sorted({d.sha256 for d in data.documents if d.sha256 is not None})
    uploads: dict[str, Upload] = {}
    known: dict[str, Document] = {}
    if wanted:
        first_upload = (
            select(func.min(Upload.id)).where(Upload.sha256.in_(wanted)).group_by(Upload.sha256)
        )
        if uploader_id is not None:
            first_upload = first_upload.where(Upload.account_id == uploader_id)
        for upload in session.scalars(select(Upload).where(Upload.id.in_(first_upload))):
            uploads[upload.sha256] = upload
        missing = [h for h in wanted if h not in uploads]
        if missing:
            first = (
                select(func.min(Document.id))
                .where(Document.sha256.in_(missing))
                .group_by(Document.sha256)
            )
            if uploader_id is not None:
                first = first.join(Demand, Demand.id == Document.demand_id).where(
                    Demand.officer_id == uploader_id
                )
            for document in session.scalars(select(Document).where(Document.id.in_(first))):
                known[document.sha256] = document
    for i, doc in enumerate(data.documents):
        loc: tuple[str | int, ...] = ("documents", i)
        if doc.sha256 is not None:
            found: Upload | Document | None = uploads.get(doc.sha256) or known.get(doc.sha256)
            if found is None or not store.exists(doc.sha256):
                errors.append(FieldError((*loc, "sha256"), "no stored document has this hash"))
                continue
            documents.append(
                Document(
                    sha256=found.sha256,
                    size=found.size,
                    media_type=found.media_type,
                    filename=doc.filename or found.filename,
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


def record_upload(
    session: Session, stored: StoredDocument, *, account_id: int | None, actor: str
) -> Upload:
    """Record that ``account_id`` uploaded ``stored`` (already in the store), audited as
    ``document.uploaded``. Only that account may then cite it by hash (see :func:`submit`).

    Uploading the same bytes twice records two rows (each upload is its own event); the
    store keeps the bytes once.
    """
    upload = Upload(
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        filename=stored.filename,
        account_id=account_id,
    )
    session.add(upload)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="document.uploaded",
        subject=f"upload:{upload.id}",
        data={
            "sha256": stored.sha256,
            "size": stored.size,
            "media_type": stored.media_type,
            "filename": stored.filename,
        },
    )
    return upload


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


def count_received(
    session: Session, authority_id: int, *, since: datetime, until: datetime | None = None
) -> int:
    """How many of the authority's demands were received in ``[since, until)`` (no
    ``until``: from ``since`` on). Requester verification compares the last day with the
    authority's usual volume."""
    query = select(func.count(Demand.id)).where(
        Demand.authority_id == authority_id, Demand.received_at >= since
    )
    if until is not None:
        query = query.where(Demand.received_at < until)
    return int(session.scalar(query) or 0)


def set_verification(
    session: Session, demand: Demand, verification: Verification, *, actor: str
) -> None:
    """Store the requester verification of ``demand`` (state, confidence, reasons) and audit
    it as ``demand.verification_assessed`` with the same three, in the caller's transaction.
    Assessing again replaces the stored result; the audit log keeps every one."""
    demand.verification_state = verification.state
    demand.verification_confidence = verification.confidence
    demand.verification_reasons = [dict(r) for r in verification.reasons]
    audit.record(
        session,
        actor=actor,
        action="demand.verification_assessed",
        subject=f"demand:{demand.id}",
        data={
            "state": verification.state,
            "confidence": verification.confidence,
            "reasons": demand.verification_reasons,
        },
    )


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
    transaction. An emergency disclosure cannot go to approval, decision or action before
    staff record a confirmed call-back to a registry number (:mod:`.callbacks`).
    """
    if not states.can_move(demand.status, to):
        raise Conflict(f"demand {demand.id} cannot move from {demand.status.value} to {to.value}")
    callbacks.check_move(session, demand, to)
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


# --- reads for the policy step ----------------------------------------------------------------
# The jurisdiction policy re-evaluates every open demand when a version is activated, and its
# what-if must do so over a million of them in seconds: these reads give it only the columns a
# policy looks at, grouped in the database or streamed, never whole rows.


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """Open demands alike in everything a policy looks at, and in their recorded stance.

    ``deadlines_from`` counts those with a deadline at or after the cutoff given to
    :func:`open_groups`, ``deadlines_before`` those with one before it.
    """

    jurisdiction: str
    authority: str
    kind: str
    legal_process: str
    status: str
    stance: str | None
    stance_condition: str | None
    count: int
    deadlines_from: int
    deadlines_before: int


@dataclass(frozen=True, slots=True)
class OpenRow:
    """One open demand as the policy step sees it (``kind`` etc. as plain strings)."""

    id: int
    jurisdiction: str
    authority: str
    kind: str
    legal_process: str
    status: str
    stance: str | None
    stance_condition: str | None
    received_at: datetime
    deadline: datetime | None
    penalty: str | None


def _open() -> Any:
    return Demand.status.in_(sorted(states.OPEN))


#: PostgreSQL's planner overestimates the groups of :func:`open_groups` (it multiplies the
#: columns' distinct counts) and, under the default 4 MB ``work_mem``, sorts a million rows to
#: disk; with room for a hash table it aggregates in one pass, about five times faster.
_GROUPING_WORK_MEM = "256MB"


def open_groups(
    session: Session, *, deadline_cutoff: datetime, jurisdiction: str | None = None
) -> list[OpenGroup]:
    """Open demands counted per (jurisdiction, authority, kind, legal process, status, stance,
    condition), in one grouped query; ``jurisdiction`` narrows to a country (and its
    subdivisions) or one subdivision."""
    later = func.sum(case((Demand.deadline >= deadline_cutoff, 1), else_=0))
    earlier = func.sum(case((Demand.deadline < deadline_cutoff, 1), else_=0))
    keys = (
        Demand.jurisdiction,
        Demand.authority_id,
        Demand.kind,
        Demand.legal_process,
        Demand.status,
        Demand.stance,
        Demand.stance_condition,
    )
    query = select(*keys, func.count(), later, earlier).where(_open()).group_by(*keys)
    if jurisdiction is not None:
        query = query.where(_in_jurisdiction(jurisdiction))
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        previous = session.scalar(
            sql_text("SELECT set_config('work_mem', :value, true)"), {"value": _GROUPING_WORK_MEM}
        )
    rows = session.execute(query).all()
    if postgres:
        session.execute(
            sql_text("SELECT set_config('work_mem', :value, true)"), {"value": previous}
        )
    ids = {row[1] for row in rows}
    slugs: dict[int, str] = {}
    for authority_id, slug in session.execute(
        select(Authority.id, Authority.slug).where(Authority.id.in_(ids))
    ):
        slugs[authority_id] = slug
    out = []
    for j, authority_id, kind, process, status, stance, condition, n, after, before in rows:
        out.append(
            OpenGroup(
                jurisdiction=j,
                authority=slugs[authority_id],
                kind=kind.value,
                legal_process=process.value,
                status=status.value,
                stance=stance,
                stance_condition=condition,
                count=int(n),
                deadlines_from=int(after or 0),
                deadlines_before=int(before or 0),
            )
        )
    return out


def _in_jurisdiction(code: str) -> Any:
    if "-" in code:
        return Demand.jurisdiction == code
    return (Demand.jurisdiction == code) | Demand.jurisdiction.startswith(f"{code}-")


_ROW_COLUMNS = (
    Demand.id,
    Demand.jurisdiction,
    Authority.slug,
    Demand.kind,
    Demand.legal_process,
    Demand.status,
    Demand.stance,
    Demand.stance_condition,
    Demand.received_at,
    Demand.deadline,
    Demand.penalty,
)


def iter_open_rows(
    session: Session,
    *,
    jurisdictions: Collection[str],
    deadline_from: datetime | None = None,
    batch: int = 5000,
) -> Iterator[OpenRow]:
    """Open demands of ``jurisdictions`` (exact codes), streamed in batches: by id, or, with
    ``deadline_from``, only those with a deadline at or after it, soonest first.

    The result is closed when the caller stops iterating, so taking the first few is cheap.
    """
    if not jurisdictions:
        return
    query = (
        select(*_ROW_COLUMNS)
        .join(Authority, Authority.id == Demand.authority_id)
        .where(_open(), Demand.jurisdiction.in_(sorted(jurisdictions)))
    )
    if deadline_from is None:
        query = query.order_by(Demand.id)
    else:
        query = query.where(Demand.deadline >= deadline_from).order_by(Demand.deadline, Demand.id)
    result = session.execute(query.execution_options(yield_per=batch))
    try:
        for row in result:
            yield OpenRow(
                row[0], row[1], row[2], row[3].value, row[4].value, row[5].value, *row[6:]
            )
    finally:
        result.close()


def iter_open_demands(session: Session, *, batch: int = 500) -> Iterator[list[Demand]]:
    """Every open demand, in batches by id (keyset), as objects the caller may change.

    A demand moved out of the open states while its batch is handled is not seen again, and
    the next batch is read after the caller's changes (autoflush).
    """
    last = 0
    while True:
        rows = list(
            session.scalars(
                select(Demand).where(_open(), Demand.id > last).order_by(Demand.id).limit(batch)
            )
        )
        if not rows:
            return
        yield rows
        last = rows[-1].id


def jurisdiction_counts(session: Session) -> dict[str, tuple[int, int]]:
    """jurisdiction -> (demands, of which open), for every jurisdiction with a demand."""
    open_ = func.sum(case((_open(), 1), else_=0))
    query = select(Demand.jurisdiction, func.count(), open_).group_by(Demand.jurisdiction)
    return {str(j): (int(n), int(o or 0)) for j, n, o in session.execute(query)}


# --- the officers' portal: an authority's own list, and withdrawing -------------------------


@dataclass(frozen=True, slots=True)
class AuthorityRow:
    """One line of an authority's own list of demands: where it stands and the latest reply."""

    id: int
    reference: str | None
    kind: DemandKind
    status: DemandStatus
    received_at: datetime
    deadline: datetime | None
    stance: str | None
    stance_condition: str | None
    targets: int
    reply_kind: ReplyKind | None
    reply_text: str | None
    reply_at: datetime | None


def authority_demands(
    session: Session, authority_id: int, *, limit: int = 200, offset: int = 0
) -> list[AuthorityRow]:
    """The authority's demands, newest first, each with its stance and the latest reply queued
    for the requester, in one query (the portal's home page)."""
    target_count = (
        select(func.count(Target.id)).where(Target.demand_id == Demand.id).scalar_subquery()
    )
    latest = (
        select(Reply.demand_id, func.max(Reply.id).label("reply_id"))
        .join(Demand, Demand.id == Reply.demand_id)
        .where(Demand.authority_id == authority_id)
        .group_by(Reply.demand_id)
        .subquery()
    )
    query = (
        select(
            Demand.id,
            Demand.reference,
            Demand.kind,
            Demand.status,
            Demand.received_at,
            Demand.deadline,
            Demand.stance,
            Demand.stance_condition,
            target_count,
            Reply.kind,
            Reply.text,
            Reply.created_at,
        )
        .outerjoin(latest, latest.c.demand_id == Demand.id)
        .outerjoin(Reply, Reply.id == latest.c.reply_id)
        .where(Demand.authority_id == authority_id)
        .order_by(Demand.received_at.desc(), Demand.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [
        AuthorityRow(
            id=row[0],
            reference=row[1],
            kind=row[2],
            status=row[3],
            received_at=row[4],
            deadline=row[5],
            stance=row[6],
            stance_condition=row[7],
            targets=int(row[8]),
            reply_kind=row[9],
            reply_text=row[10],
            reply_at=row[11],
        )
        for row in session.execute(query)
    ]


def withdraw(
    session: Session, demand_id: int, *, authority_id: int | None, actor: str, reason: str
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
    move(session, demand, DemandStatus.WITHDRAWN, actor=actor, reason=reason)
    return demand
