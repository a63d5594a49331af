"""Operations on the authority registry. Plain functions taking a session; no commits.

Every change to the registry is audited (``authority.*``): the registry is what intake
trusts (official domains for senders, phone numbers for emergency call-backs), so who
changed it, when and why must be on record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.agekeys import InvalidRecipient, check_recipient
from dueprocess.audit import service as audit
from dueprocess.authorities.models import Authority, AuthorityStatus
from dueprocess.authorities.schemas import AuthorityIn, AuthorityOut, ContactsIn
from dueprocess.authorities.verification import (
    BASELINE_DAYS,
    OfficerStanding,
    RequesterSignals,
    Verification,
    assess,
)
from dueprocess.authorities.volume import (
    count_received as count_received,
    received_volume as received_volume,
)
from dueprocess.db import transaction_memo
from dueprocess.errors import InvalidInput, NotFound


#: A credentials change this close to account creation is the initial setting, not a change.
def get_by_slug(session: Session, slug: str) -> Authority | None:
    """The authority with this slug, or None. Found ones are remembered for the rest of the
    transaction (slugs never change), so a batch from one authority looks it up once."""
    memo = transaction_memo(session)
    key = ("authority.slug", slug.lower())
    found = memo.get(key)
    if isinstance(found, Authority):
        return found
    authority = session.scalar(select(Authority).where(Authority.slug == slug.lower()))
    if authority is not None:
        memo[key] = authority
    return authority


def get(session: Session, authority_id: int) -> Authority | None:
    """The authority with this id, or None."""
    return session.get(Authority, authority_id)


def create(session: Session, data: AuthorityIn, *, actor: str) -> Authority:
    """Add an authority; a slug already in use is refused."""
    if get_by_slug(session, data.slug) is not None:
        raise InvalidInput.one(("slug",), f"authority {data.slug!r} already exists")
    authority = Authority(**data.model_dump())
    session.add(authority)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="authority.created",
        subject=f"authority:{authority.id}",
        data={
            "slug": authority.slug,
            "jurisdiction": authority.jurisdiction,
            "age_recipient": authority.age_recipient,
        },
    )
    return authority


def list_all(session: Session, *, authority_id: int | None = None) -> list[Authority]:
    """Every authority, by jurisdiction then name; with ``authority_id`` (an officer's
    scope), only that one."""
    query = select(Authority).order_by(Authority.jurisdiction, Authority.name)
    if authority_id is not None:
        query = query.where(Authority.id == authority_id)
    return list(session.scalars(query))


def to_out(authority: Authority, *, officers: int = 0) -> AuthorityOut:
    """The output form of a stored authority (``officers``: how many officer accounts)."""
    out = AuthorityOut.model_validate(authority, from_attributes=True)
    return out.model_copy(update={"officers": officers})


def _existing(session: Session, slug: str) -> Authority:
    authority = get_by_slug(session, slug)
    if authority is None:
        raise InvalidInput.one(("slug",), f"unknown authority {slug!r}")
    return authority


def _contacts(authority: Authority) -> dict[str, list[str]]:
    return {
        "official_domains": list(authority.official_domains),
        "phone_numbers": list(authority.phone_numbers),
    }


def update_contacts(session: Session, slug: str, data: ContactsIn, *, actor: str) -> Authority:
    """Replace the authority's official domains and/or phone numbers (a list left out of
    ``data`` is kept). Audited ``authority.contacts_updated`` with the lists before and after.

    Phone numbers are the only ones staff may call back for an emergency disclosure, and
    official domains decide whether a sender looks genuine, so each change is on record.
    """
    authority = _existing(session, slug)
    before = _contacts(authority)
    if data.official_domains is not None:
        authority.official_domains = data.official_domains
    if data.phone_numbers is not None:
        authority.phone_numbers = data.phone_numbers
    after = _contacts(authority)
    if after != before:
        audit.record(
            session,
            actor=actor,
            action="authority.contacts_updated",
            subject=f"authority:{authority.id}",
            data={"slug": authority.slug, "before": before, "after": after},
        )
    return authority


def set_age_recipient(
    session: Session, slug: str, recipient: str | None, *, actor: str
) -> Authority:
    """Set (or, with None, remove) the age public key the authority's productions are
    encrypted to; a key that is not an age X25519 recipient is refused naming
    ``age_recipient``. Audited ``authority.age_recipient_set`` with the keys before and after
    (public keys: nothing secret). Setting the key it already has writes nothing.

    A production already sealed stays sealed to the key it was sealed to.
    """
    authority = _existing(session, slug)
    if recipient is not None:
        try:
            recipient = check_recipient(recipient)
        except InvalidRecipient as exc:
            raise InvalidInput.one(("age_recipient",), str(exc)) from None
    before = authority.age_recipient
    if before == recipient:
        return authority
    authority.age_recipient = recipient
    audit.record(
        session,
        actor=actor,
        action="authority.age_recipient_set",
        subject=f"authority:{authority.id}",
        data={"slug": authority.slug, "before": before, "after": recipient},
    )
    return authority


def set_status(
    session: Session, slug: str, status: AuthorityStatus, *, reason: str, actor: str
) -> Authority:
    """Verify, suspend or un-verify an authority. ``reason`` is required (what was checked,
    or why it is suspended); audited ``authority.status_changed`` with the old and new
    status. Setting the status it already has changes nothing and writes nothing.
    """
    if not reason.strip():
        raise InvalidInput.one(("reason",), "say why (what was checked, or why it is suspended)")
    authority = _existing(session, slug)
    previous = authority.status
    if previous is status:
        return authority
    authority.status = status
    audit.record(
        session,
        actor=actor,
        action="authority.status_changed",
        subject=f"authority:{authority.id}",
        data={
            "slug": authority.slug,
            "from": previous.value,
            "to": status.value,
            "reason": reason.strip(),
        },
    )
    return authority


def volume(
    session: Session, authority_id: int, now: datetime, arriving: Sequence[datetime]
) -> tuple[int, int]:
    """(baseline, last day) for the volume signal of demands arriving ``now`` from the
    authority, ``arriving`` being the times of receipt of those not written yet (all of them
    count, together): the authority's demands received from 24 hours before ``now`` on, and
    in the :data:`BASELINE_DAYS` days before that. The stored count is read once per
    transaction (by the hour: :func:`dueprocess.authorities.volume.received_volume`, at most
    8 stripes an hour, not a scan of the demands); what arrives is added to it for the rest of the
    transaction, so each demand is counted once however many groups it comes in."""
    memo = transaction_memo(session)
    key = ("authority.volume", authority_id)
    cached = memo.get(key)
    if isinstance(cached, tuple):
        baseline, last_day, split, since = cached
    else:
        split = now - timedelta(hours=24)
        since = split - timedelta(days=BASELINE_DAYS)
        baseline, last_day = received_volume(
            session, authority_id, since=since, split=split
        )
    for received in arriving:
        if received >= split:
            last_day += 1
        elif received >= since:
            baseline += 1
    memo[key] = (baseline, last_day, split, since)
    return baseline, last_day


def verify_requester(
    session: Session,
    *,
    authority_id: int,
    officer: OfficerStanding | None,
    second_factor: bool,
    sender: str | None,
    documents_signed: bool | None,
    emergency: bool,
    now: datetime,
    volume: tuple[int, int],
) -> Verification:
    """Gather the signals about a just-submitted demand's requester and score them
    (:func:`dueprocess.authorities.verification.assess`). Reads only; writes nothing.

    ``officer``: the standing of the officer account that submitted it
    (:func:`dueprocess.accounts.service.officer_standing`), ``None`` for staff entry.
    ``second_factor``: the officer submitted in a web session (``Principal.via ==
    "session"``); it counts only if the account has TOTP enrolled, since sign-in asks for a
    code only then. An API token is never a second factor. ``documents_signed``: from
    :func:`dueprocess.documents.signatures.documents_signed`. ``now``: the time of
    submission. ``volume``: (baseline, last day) from :func:`volume` for the demands
    arriving with this one (a batch of 100 is one arrival of 100: every demand in it counts
    all of them, whatever its place in the batch).
    """
    authority = get(session, authority_id)
    if authority is None:
        raise NotFound(f"authority {authority_id}")
    changed_days: int | None = None
    if officer is not None and officer.credentials_changed_at is not None:
        changed_days = max(0, (now - officer.credentials_changed_at).days)
    baseline, last_day = volume
    signals = RequesterSignals(
        authority_status=authority.status,
        officer_present=officer is not None,
        officer_verified=officer is not None and officer.verified,
        officer_of_authority=officer is None or officer.authority_id == authority.id,
        second_factor=officer is not None and second_factor and officer.totp_enrolled,
        credentials_changed_days_ago=changed_days,
        sender=sender,
        official_domains=tuple(authority.official_domains),
        documents_signed=documents_signed,
        emergency=emergency,
        received_last_24h=last_day,
        received_baseline=baseline,
    )
    return assess(signals)
