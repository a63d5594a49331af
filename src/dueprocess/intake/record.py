"""Intake: recording a demand as submitted, once, with its targets and documents.

Every channel (API, portal, staff entry, import, the demo loader) reaches :func:`check` and
the row builders here through :func:`dueprocess.intake.flow.receive_many`, so a demand is
validated, de-duplicated and audited the same way whichever door it came in by.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Executable, and_, func, or_, select, text
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import Authority
from dueprocess.clock import as_utc, isoformat_z, utcnow
from dueprocess.demands.models import (
    Channel,
    Demand,
    DemandStatus,
    Document,
    Upload,
)
from dueprocess.demands.schemas import (
    DemandIn,
    DocumentIn,
)
from dueprocess.documents.names import sanitise_filename
from dueprocess.documents.store import DocumentRefused, DocumentStore, StoredDocument
from dueprocess.errors import FieldError, InvalidInput
from dueprocess.jurisdictions import country_of
from dueprocess.review import deadlines

_MAX_FUTURE_SECONDS = 300


@dataclass(frozen=True)
class Submitted:
    """The outcome of :func:`dueprocess.intake.flow.receive`: the demand, and whether this call
    created it (False: a replay of an earlier identical submission)."""

    demand: Demand
    created: bool


def request_hash(data: DemandIn) -> str:
    """A digest of what was asked, used to tell a retry from a different demand.

    Computed over a normal form, so that what ``demand show --json`` prints hashes like the
    submission it came from: times in UTC, documents by the SHA-256 of their bytes (inline or
    referenced), without the idempotency key, the channel, display-only file names or
    ``confirmed_new`` (a retry that confirms a repeat is new is still that submission).
    """
    body = data.model_dump(
        mode="python", exclude={"idempotency_key", "channel", "documents", "confirmed_new"}
    )
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


@dataclass(frozen=True)
class Checked:
    """A submission that passed every check (:func:`check`), with what was resolved on the way:
    its authority, request hash, time of receipt and documents (not added to any session).
    ``earlier`` is the demand an identical earlier submission created (a replay);
    ``repeats``, the demands a new one repeats though its submitter confirmed it is new
    (:class:`Repeats`)."""

    authority: Authority
    digest: str
    received_at: datetime
    documents: list[Document]
    earlier: Demand | None = None
    #: Earlier demands this one repeats, confirmed new all the same (``confirmed_new``).
    repeats: tuple[int, ...] = ()


def check(
    session: Session,
    data: DemandIn,
    *,
    store: DocumentStore,
    max_document_bytes: int,
    restrict_to_authority: int | None = None,
    uploader_id: int | None = None,
    earlier: Callable[[int, str], Demand | None] | None = None,
    now: datetime | None = None,
) -> Checked:
    """Every check a submission must pass before anything is written; :class:`InvalidInput`
    naming every bad field otherwise: an unknown authority, a jurisdiction that is not the
    authority's, times out of order, a document refused by the store's checks, or an
    idempotency key reused with a different body. A replay (same key, same body) comes back
    with ``earlier`` set and no documents stored. ``earlier(authority_id, key)`` finds the
    demand holding a key (default: a query; a caller checking many at once passes its own).
    ``now``: the time of receipt of a submission that does not state one (default: the
    clock).
    ``restrict_to_authority`` is set for officers, who may only submit for their own.
    ``uploader_id`` is the submitting account (API and portal): a document cited by
    ``sha256`` must then be an :class:`Upload` of that account (or a document already on a
    demand); ``None`` (staff entry, import, demo) may cite any stored upload.
    """
    digest = request_hash(data)
    errors = list(data.consistency_errors())
    authority = authorities.get_by_slug(session, data.authority)
    if restrict_to_authority is not None and (
        authority is None or authority.id != restrict_to_authority
    ):
        # An officer learns nothing about other authorities: not even whether one exists.
        errors.append(FieldError(("authority",), f"unknown authority {data.authority!r}"))
    elif authority is None:
        errors.append(
            FieldError(("authority",), f"no authority {data.authority!r} in the registry")
        )
    elif country_of(data.jurisdiction) != country_of(authority.jurisdiction):
        errors.append(
            FieldError(
                ("jurisdiction",),
                f"{data.jurisdiction} is not the jurisdiction of {authority.slug} "
                f"({authority.jurisdiction})",
            )
        )
    now = now or utcnow()
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
        found = (earlier or _stored_with_key(session))(authority.id, data.idempotency_key)
        if found is not None:
            if found.request_hash != digest:
                raise idempotency_conflict()
            return Checked(authority, digest, received_at, [], earlier=found)
    if errors:
        raise InvalidInput(errors)
    assert authority is not None
    documents = _store_documents(session, data, store, max_document_bytes, uploader_id)
    return Checked(authority, digest, received_at, documents)


def idempotency_conflict() -> InvalidInput:
    """The refusal of an idempotency key already used for a different demand."""
    return InvalidInput.one(
        ("idempotency_key",),
        "already used for a different demand; use a new key for a new demand",
        "idempotency_conflict",
    )


def _stored_with_key(session: Session) -> Callable[[int, str], Demand | None]:
    def find(authority_id: int, key: str) -> Demand | None:
        return session.scalar(
            select(Demand).where(Demand.authority_id == authority_id, Demand.idempotency_key == key)
        )

    return find


# --- repeats ----------------------------------------------------------------------------------

#: Two demands of one authority with the same content (:func:`request_hash`) received at most
#: this far apart are taken for one demand sent twice (docs/api.md, "Repeats").
REPEAT_WINDOW = timedelta(days=30)
#: The ``type`` of the refusal of a repeat.
REPEAT = "repeat"
#: How every refusal of a repeat ends: how to submit it all the same. The forms, which confirm
#: with a checkbox, say it their own way.
CONFIRM_NEW = "if it is a new demand, send it again with confirmed_new: true"


@dataclass(frozen=True)
class Earlier:
    """A demand a new one may repeat: a stored one, or one accepted earlier in the same group
    of submissions, which ``label`` then names (an item of a batch: its id would mean nothing
    if the batch is refused)."""

    id: int
    authority_id: int
    reference: str | None
    request_hash: str
    received_at: datetime
    label: str | None = None

    def described(self) -> str:
        """``demand 57 (reference NSD/1, received 2020-07-07T01:30:00Z)``."""
        reference = f"reference {self.reference}, " if self.reference else ""
        when = isoformat_z(self.received_at)
        return f"{self.label or f'demand {self.id}'} ({reference}received {when})"


class Repeats:
    """The demands that new ones may repeat: the stored ones, read in one query for a whole
    group of submissions (:meth:`load`), and the group's own, added as each is accepted.

    A new demand **repeats** an earlier one of the same authority, not withdrawn, that has
    the same non-empty ``reference`` (at any time; compared exactly, as stored), or the
    same content, the same :func:`request_hash`, received within :data:`REPEAT_WINDOW` of
    it. The hash covers the reference, so the same content means the same reference, which
    finds it already: content is looked up only for demands without a reference (and the
    index of hashes holds only those). :meth:`refusal` says which, naming the earlier
    demand; only the submitter's own authority's demands are ever named, and an officer
    may see all of those.
    """

    def __init__(self) -> None:
        self._by_reference: dict[tuple[int, str], list[Earlier]] = {}
        self._by_content: dict[tuple[int, str], list[Earlier]] = {}

    @classmethod
    def load(cls, session: Session, new: Sequence[tuple[DemandIn, Checked]]) -> Repeats:
        """The stored demands any of ``new`` may repeat, in one query, each reference and
        each hash looked up through its index (``ix_demand_reference``,
        ``ix_demand_request_hash``); the authority and the time are checked here."""
        found = cls()
        references = sorted({data.reference for data, _ in new if data.reference})
        hashes = sorted({checked.digest for data, checked in new if not data.reference})
        if not references and not hashes:
            return found
        if session.get_bind().dialect.name == "postgresql":
            query: Executable = _REPEATS_ON_POSTGRESQL
            values = {"references": references, "hashes": hashes, "withdrawn": _WITHDRAWN}
        else:
            query, values = _repeats_query(references, hashes), {}
        authorities = {checked.authority.id for _, checked in new}
        for row in session.execute(query, values):
            earlier = Earlier(*row)
            if earlier.authority_id in authorities:
                found.add(earlier)
        return found

    def add(self, earlier: Earlier) -> None:
        """Count ``earlier`` among the demands later ones may repeat."""
        if earlier.reference:
            key = (earlier.authority_id, earlier.reference)
            self._by_reference.setdefault(key, []).append(earlier)
        else:
            key = (earlier.authority_id, earlier.request_hash)
            self._by_content.setdefault(key, []).append(earlier)

    def of(self, data: DemandIn, checked: Checked) -> tuple[Earlier | None, Earlier | None]:
        """The latest earlier demand with this one's reference, or (without a reference) the
        latest with its content received within the window (``None`` where there is none)."""
        authority_id = checked.authority.id
        if data.reference:
            return _latest(self._by_reference.get((authority_id, data.reference), [])), None
        same_content = [
            e
            for e in self._by_content.get((authority_id, checked.digest), [])
            if abs(e.received_at - checked.received_at) <= REPEAT_WINDOW
        ]
        return None, _latest(same_content)

    def refusal(self, data: DemandIn, checked: Checked) -> InvalidInput | Checked:
        """The refusal of a repeat (``reference``, or the whole demand for the same content),
        or ``checked`` itself; for a demand confirmed new, with the ids it repeats."""
        by_reference, by_content = self.of(data, checked)
        if by_reference is None and by_content is None:
            return checked
        if data.confirmed_new:
            ids = sorted({e.id for e in (by_reference, by_content) if e is not None})
            return replace(checked, repeats=tuple(ids))
        errors = []
        if by_reference is not None:
            errors.append(
                FieldError(
                    ("reference",),
                    f"{by_reference.described()} already has this reference; {CONFIRM_NEW}",
                    REPEAT,
                )
            )
        if by_content is not None:
            errors.append(
                FieldError(
                    (),
                    f"the same demand as {by_content.described()}: the same authority asked "
                    f"for the same within {REPEAT_WINDOW.days} days; {CONFIRM_NEW}",
                    REPEAT,
                )
            )
        return InvalidInput(errors)


_EARLIER = (Demand.id, Demand.authority_id, Demand.reference, Demand.request_hash)
_WITHDRAWN = DemandStatus.WITHDRAWN.value

#: On PostgreSQL, each reference and each hash is looked up on its own through its index, in
#: one statement whose text does not change with the number of items (so psycopg prepares it
#: once it has been used a few times). Each lookup is a subquery the planner may not merge
#: into a join (``OFFSET 0``) and names no column another index could serve: with the
#: authority or the time in the query, the planner, lacking statistics (a new or
#: fast-growing table, before autovacuum analyses it), chose to read all of an authority's
#: demands instead, a cost that grows with the table (measured: 48 ms for 100 references
#: among 30,000 demands; this form, 0.6 ms, statistics or not).
_REPEATS_ON_POSTGRESQL = text(
    """
    SELECT d.id, d.authority_id, d.reference, d.request_hash, d.received_at
    FROM unnest(CAST(:references AS varchar[])) AS wanted(reference)
    CROSS JOIN LATERAL (
        SELECT id, authority_id, reference, request_hash, received_at FROM demand
        WHERE demand.reference = wanted.reference AND demand.status <> :withdrawn
        OFFSET 0
    ) AS d
    UNION ALL
    SELECT d.id, d.authority_id, d.reference, d.request_hash, d.received_at
    FROM unnest(CAST(:hashes AS varchar[])) AS wanted(request_hash)
    CROSS JOIN LATERAL (
        SELECT id, authority_id, reference, request_hash, received_at FROM demand
        WHERE demand.reference IS NULL AND demand.request_hash = wanted.request_hash
        AND demand.status <> :withdrawn
        OFFSET 0
    ) AS d
    """
).columns(*_EARLIER, Demand.received_at)


def _repeats_query(references: list[str], hashes: list[str]) -> Executable:
    """The same lookup elsewhere (SQLite), whose planner takes an index on equality."""
    same: list[ColumnElement[bool]] = []
    if references:
        same.append(Demand.reference.in_(references))
    if hashes:
        same.append(and_(Demand.reference.is_(None), Demand.request_hash.in_(hashes)))
    return select(*_EARLIER, Demand.received_at).where(
        Demand.status != DemandStatus.WITHDRAWN, or_(*same)
    )


def _latest(found: list[Earlier]) -> Earlier | None:
    return max(found, key=lambda e: (e.received_at, e.id)) if found else None


def submitted_data(checked: Checked, data: DemandIn, channel: Channel) -> dict[str, object]:
    """The ``demand.submitted`` audit event's data."""
    return {
        "authority": checked.authority.slug,
        "channel": channel.value,
        "kind": data.kind.value,
        "request_hash": checked.digest,
        "targets": len(data.targets),
        "documents": [d.sha256 for d in checked.documents],
        # Only when it happened, so the events of every other demand keep their shape.
        **({"confirmed_new": True, "repeats": list(checked.repeats)} if checked.repeats else {}),
    }


def new_demand_values(
    checked: Checked, data: DemandIn, *, channel: Channel, officer_id: int | None
) -> dict[str, Any]:
    """The column values of the new demand (status ``received``; no verification or stance)."""
    return {
        "authority_id": checked.authority.id,
        "officer_id": officer_id,
        "reference": data.reference,
        "jurisdiction": data.jurisdiction,
        "channel": channel,
        "sender": data.sender,
        "kind": data.kind,
        "legal_process": data.legal_process,
        "legal_basis_instrument": data.legal_basis.instrument,
        "legal_basis_article": data.legal_basis.article,
        "summary": data.summary,
        "data_categories": [c.value for c in data.data_categories],
        "period_start": as_utc(data.period_start) if data.period_start else None,
        "period_end": as_utc(data.period_end) if data.period_end else None,
        "received_at": checked.received_at,
        "deadline": as_utc(data.deadline) if data.deadline else None,
        "due_at": deadlines.due_at(
            checked.received_at, as_utc(data.deadline) if data.deadline else None, data.kind
        ),
        "emergency": deadlines.is_emergency(data.kind, data.legal_process),
        "penalty": data.penalty,
        "gag_order_basis": data.gag_order.basis if data.gag_order else None,
        "gag_order_until": (
            as_utc(data.gag_order.until) if data.gag_order and data.gag_order.until else None
        ),
        "emergency_justification": data.emergency_justification,
        "status": DemandStatus.RECEIVED,
        "idempotency_key": data.idempotency_key,
        "request_hash": checked.digest,
    }


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
                    # The name cited is the requester's text, like an upload's: sanitised,
                    # with the extension of the content it names.
                    filename=sanitise_filename(doc.filename or found.filename, found.media_type),
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
    ``document.uploaded``. Only that account may then cite it by hash (see :func:`check`).

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
