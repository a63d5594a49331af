"""Sealing, listing, downloading and revoking productions. Plain functions taking a session;
they never commit.

The order is the promise (docs/productions.md): :func:`store` writes the bytes (encrypted to
the authority's age key when it has one) to the data directory, then records
``production.sealed`` with the manifest's SHA-256 in the same transaction as the row, so
nothing can be downloaded before the audit log holds what it is. :func:`download` lets one
officer of the demand's authority have it once, before it expires and unless it was
revoked; every attempt, refused or not, is audited. :func:`revoke` withdraws it before
anyone has it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.clock import isoformat_z, utcnow
from dueprocess.demands import service as demands
from dueprocess.demands.models import Demand
from dueprocess.errors import Conflict, DueprocessError, InvalidInput, NotFound
from dueprocess.productions import crypto
from dueprocess.productions.models import Production
from dueprocess.productions.package import DemandFacts, Package, Scope, scope_of
from dueprocess.productions.schemas import ProductionOut
from dueprocess.review import deciding
from dueprocess.runtime import Runtime

#: How long a production waits for its download unless the caller says otherwise.
DEFAULT_EXPIRY = timedelta(days=7)
#: Under the data directory.
DIRECTORY = "productions"


def facts_of(session: Session, demand: Demand, target_id: int | None = None) -> DemandFacts:
    """What a package says about ``demand`` (and its target ``target_id``)."""
    authority = authorities.get(session, demand.authority_id)
    target = next((t for t in demand.targets if t.id == target_id), None)
    if target_id is not None and target is None:
        raise NotFound(f"target {target_id} of demand {demand.id}")
    return DemandFacts(
        demand_id=demand.id,
        reference=demand.reference,
        authority=f"{authority.name} ({authority.slug})" if authority else "",
        jurisdiction=demand.jurisdiction,
        kind=demand.kind.value,
        legal_process=demand.legal_process.value,
        legal_basis=f"{demand.legal_basis_instrument}, {demand.legal_basis_article}",
        received_at=demand.received_at,
        data_categories=tuple(demand.data_categories),
        period_start=demand.period_start,
        period_end=demand.period_end,
        target_id=target_id,
        target=target.identifier if target else None,
    )


def scope_for(session: Session, demand: Demand, target_id: int) -> Scope:
    """The scope of the target's current decision; :class:`Conflict` unless it is
    ``comply`` or ``comply-narrowed`` (nothing else is produced)."""
    for decision in deciding.current_decisions(session, demand.id):
        if decision.target_id == target_id:
            try:
                return scope_of(
                    facts_of(session, demand, target_id),
                    decision.outcome.value,
                    decision.narrowing,
                )
            except ValueError as exc:
                raise Conflict(f"target {target_id}: {exc}") from None
    raise Conflict(f"target {target_id} of demand {demand.id} has no decision")


def _write_atomically(directory: Path, name: str, body: bytes) -> None:
    """``body`` at ``directory/name``, whole or not at all: written to a temporary file in
    the same directory, flushed to disk, then renamed over the name."""
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, directory / name)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def store(
    session: Session,
    runtime: Runtime,
    demand: Demand,
    package: Package,
    recipient: str | None,
    *,
    actor: str,
    expires_in: timedelta = DEFAULT_EXPIRY,
) -> Production:
    """Keep ``package`` for ``demand``'s authority: its archive encrypted to ``recipient``
    (an age ``age1...`` key, normally the authority's; None: the plain tar, offered only as
    an expiring download to the authority's officers), written atomically under the data
    directory, and recorded with ``production.sealed`` (the manifest's and archive's
    SHA-256, the key, the records per category, what the scope guard dropped) in this
    transaction, before anything can download it."""
    if recipient is not None:
        try:
            body = crypto.encrypt(package.archive, recipient)
        except crypto.InvalidRecipient as exc:
            raise InvalidInput.one(("age_recipient",), str(exc)) from None
        recipient = crypto.check_recipient(recipient)
        suffix = ".tar.age"
    else:
        body, suffix = package.archive, ".tar"
    if expires_in <= timedelta(0):
        raise InvalidInput.one(("expires_in",), "must be a positive duration")
    stored = hashlib.sha256(body).hexdigest()
    relative = f"{DIRECTORY}/{demand.id}/{stored}{suffix}"
    _write_atomically(runtime.settings.data_dir / DIRECTORY / str(demand.id), stored + suffix, body)
    now = utcnow()
    target_id = package.manifest["target"]["id"] if package.manifest["target"] else None
    production = Production(
        demand_id=demand.id,
        target_id=target_id,
        name=package.name + suffix,
        manifest_sha256=package.manifest_sha256,
        archive_sha256=package.archive_sha256,
        stored_sha256=stored,
        size=len(body),
        encrypted_to=recipient,
        path=relative,
        created_by=actor,
        created_at=now,
        expires_at=now + expires_in,
    )
    session.add(production)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="production.sealed",
        subject=f"production:{production.id}",
        data={
            "demand_id": demand.id,
            "target_id": target_id,
            "manifest_sha256": package.manifest_sha256,
            "archive_sha256": package.archive_sha256,
            "stored_sha256": stored,
            "size": len(body),
            "encrypted_to": recipient,
            "expires_at": production.expires_at,
            "records": package.counts,
            "scope_guard_dropped": package.dropped,
        },
        at=now,
    )
    return production


def status_of(production: Production, now: datetime) -> str:
    """``revoked``, ``downloaded``, ``expired`` or ``available``, in that precedence."""
    if production.revoked_at is not None:
        return "revoked"
    if production.downloaded_at is not None:
        return "downloaded"
    return "expired" if now >= production.expires_at else "available"


def to_out(production: Production, now: datetime) -> ProductionOut:
    """The output form of a production, with its status at ``now``."""
    out = ProductionOut.model_validate(production, from_attributes=True)
    return out.model_copy(update={"status": status_of(production, now)})


def list_for_demand(
    session: Session, demand_id: int, *, authority_id: int | None = None
) -> list[Production]:
    """The demand's productions, oldest first; with ``authority_id`` (an officer's scope),
    :class:`NotFound` unless the demand is that authority's."""
    demands.get(session, demand_id, authority_id=authority_id)
    query = select(Production).where(Production.demand_id == demand_id).order_by(Production.id)
    return list(session.scalars(query))


def _visible(session: Session, production_id: int, authority_id: int | None) -> Production:
    production = session.get(Production, production_id)
    if production is None:
        raise NotFound(f"production {production_id}")
    if authority_id is not None:
        demands.get(session, production.demand_id, authority_id=authority_id)
    return production


@dataclass
class Attempt:
    """A download attempt, audited either way: the production and its open bytes, or the
    refusal to raise once the audit event is committed (the caller commits first)."""

    production: Production | None
    handle: BinaryIO | None = None
    refused: DueprocessError | None = None


def download(
    session: Session,
    runtime: Runtime,
    production_id: int,
    *,
    account_id: int,
    authority_id: int,
    via: str,
) -> Attempt:
    """The production's bytes for an officer (``account_id``) of ``authority_id``, once.

    Refused (and audited ``production.download_refused`` with the reason): not this
    authority's, or no such production (:class:`NotFound`, the two alike); revoked, already
    downloaded, or expired (:class:`Conflict`, saying which and when); the stored bytes not
    what was sealed. Otherwise marked downloaded by this officer (a conditional update, so
    two requests at once cannot both have it) and audited ``production.downloaded``.
    """
    now = utcnow()
    subject = f"production:{production_id}"
    actor = f"account:{account_id}"

    def refuse(reason: str, error: DueprocessError) -> Attempt:
        audit.record(
            session,
            actor=actor,
            action="production.download_refused",
            subject=subject,
            data={"reason": reason, "via": via},
            at=now,
        )
        return Attempt(None, refused=error)

    try:
        production = _visible(session, production_id, authority_id)
    except NotFound as exc:
        return refuse("not-found", exc)
    if production.revoked_at is not None:
        return refuse(
            "revoked",
            Conflict(
                f"production {production_id} was revoked at {isoformat_z(production.revoked_at)}"
                f": {production.revoke_reason}"
            ),
        )
    if production.downloaded_at is not None:
        return refuse(
            "already-downloaded",
            Conflict(
                f"production {production_id} was already downloaded at "
                f"{isoformat_z(production.downloaded_at)}; it can be downloaded once. "
                "Ask the service for a new production if you need it again."
            ),
        )
    if now >= production.expires_at:
        return refuse(
            "expired",
            Conflict(
                f"production {production_id} expired at {isoformat_z(production.expires_at)}"
                "; ask the service for a new production"
            ),
        )
    path = runtime.settings.data_dir / production.path
    digest = hashlib.sha256()
    try:
        with path.open("rb") as stored:
            while chunk := stored.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        digest = hashlib.sha256(b"missing")
    if digest.hexdigest() != production.stored_sha256:
        return refuse(
            "damaged",
            Conflict(
                f"production {production_id} is damaged or missing in storage; "
                "the service has been told"
            ),
        )
    marked = session.execute(
        update(Production)
        .where(Production.id == production_id, Production.downloaded_at.is_(None))
        .values(downloaded_at=now, downloaded_by=account_id)
        .execution_options(synchronize_session=False)
    )
    if marked.rowcount != 1:  # type: ignore[attr-defined]
        return refuse(
            "already-downloaded",
            Conflict(
                f"production {production_id} was already downloaded; it can be downloaded once"
            ),
        )
    session.refresh(production)
    audit.record(
        session,
        actor=actor,
        action="production.downloaded",
        subject=subject,
        data={
            "demand_id": production.demand_id,
            "stored_sha256": production.stored_sha256,
            "size": production.size,
            "via": via,
        },
        at=now,
    )
    return Attempt(production, handle=path.open("rb"))


def revoke(session: Session, production_id: int, *, actor: str, reason: str) -> Production:
    """Withdraw a production before it is downloaded: it can no longer be. ``reason`` is
    required. Audited ``production.revoked``. A downloaded one cannot be (the data has
    left: :class:`Conflict`); revoking a revoked one changes nothing and writes nothing."""
    if not reason.strip():
        raise InvalidInput.one(("reason",), "say why the production is withdrawn")
    production = _visible(session, production_id, None)
    if production.revoked_at is not None:
        return production
    if production.downloaded_at is not None:
        raise Conflict(
            f"production {production_id} was downloaded at "
            f"{isoformat_z(production.downloaded_at)}: it can no longer be revoked"
        )
    production.revoked_at = utcnow()
    production.revoked_by = actor
    production.revoke_reason = reason.strip()
    audit.record(
        session,
        actor=actor,
        action="production.revoked",
        subject=f"production:{production_id}",
        data={"demand_id": production.demand_id, "reason": production.revoke_reason},
        at=production.revoked_at,
    )
    return production
