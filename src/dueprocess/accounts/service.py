"""Account operations. Plain functions taking a session; the caller commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account, AccountKind, Role
from dueprocess.accounts.passwords import hash_password, new_totp_secret, totp_step
from dueprocess.accounts.permissions import Permission, permissions_of
from dueprocess.accounts.schemas import AccountIn, AccountOut, ContactChange
from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.verification import OfficerStanding
from dueprocess.clock import utcnow
from dueprocess.errors import InvalidInput, NotFound

#: Roles whose holders must sign in with a second factor.
TOTP_REQUIRED = frozenset({Role.APPROVER, Role.ADMIN, Role.OFFICER})


def get_by_email(session: Session, email: str) -> Account | None:
    """The account with this e-mail (case-insensitive), or None."""
    return session.scalar(select(Account).where(Account.email == email.strip().lower()))


def get(session: Session, account_id: int) -> Account:
    """The account, or :class:`NotFound`."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id}")
    return account


def create(session: Session, data: AccountIn, *, actor: str) -> Account:
    """Add an account. A TOTP secret is created for roles that require a second factor."""
    if get_by_email(session, data.email) is not None:
        raise InvalidInput.one(("email",), f"an account for {data.email} already exists")
    authority_id = None
    if data.authority:
        authority = authorities.get_by_slug(session, data.authority)
        if authority is None:
            raise InvalidInput.one(("authority",), f"unknown authority {data.authority!r}")
        authority_id = authority.id
    needs_totp = bool(TOTP_REQUIRED.intersection(data.roles))
    account = Account(
        email=data.email,
        display_name=data.display_name,
        kind=data.kind,
        authority_id=authority_id,
        roles=[r.value for r in data.roles],
        phone=data.phone,
        password_hash=hash_password(data.password) if data.password else None,
        totp_secret=new_totp_secret() if needs_totp else None,
        credentials_changed_at=utcnow(),
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.created",
        subject=f"account:{account.id}",
        data={"email": account.email, "roles": account.roles, "authority": data.authority},
    )
    return account


def list_all(session: Session) -> list[Account]:
    """Every account, staff first, then by e-mail."""
    return list(session.scalars(select(Account).order_by(Account.kind.desc(), Account.email)))


def disable(session: Session, email: str, *, actor: str) -> Account:
    """Disable an account: it can no longer sign in, and its tokens stop working."""
    account = get_by_email(session, email)
    if account is None:
        raise NotFound(f"account {email}")
    account.disabled = True
    audit.record(session, actor=actor, action="account.disabled", subject=f"account:{account.id}")
    return account


def roles_of(account: Account) -> frozenset[Role]:
    """The account's roles as enum members."""
    return frozenset(Role(r) for r in account.roles)


def to_out(session: Session, account: Account) -> AccountOut:
    """The listing form of an account."""
    authority = authorities.get(session, account.authority_id) if account.authority_id else None
    return AccountOut(
        id=account.id,
        email=account.email,
        display_name=account.display_name,
        kind=account.kind,
        roles=sorted(roles_of(account)),
        authority=authority.slug if authority else None,
        disabled=account.disabled,
        totp_enrolled=account.totp_secret is not None,
    )


def is_officer(account: Account) -> bool:
    """Whether the account belongs to a requesting authority."""
    return account.kind is AccountKind.OFFICER


# --- officers: verification and credentials -------------------------------------------------
# Requester verification (authorities.verification) trusts an officer account that staff
# verified with evidence, and distrusts one whose e-mail, phone or password changed since:
# that is what a hijacked account looks like.


#: An account's credentials are set when it is created; changes within this of creation are
#: that setting, not a change to distrust.
_CREATION_SLACK = timedelta(minutes=1)


def officer_standing(session: Session, account_id: int | None) -> OfficerStanding | None:
    """What requester verification needs of the officer who submitted a demand, or ``None``
    when no officer did (staff entry, or ``account_id`` is a staff account or unknown). A
    credentials change counts only if made after staff last verified the account (or, for
    an account never verified, after it was created)."""
    officer = get(session, account_id) if account_id else None
    if officer is None or officer.kind is not AccountKind.OFFICER or officer.authority_id is None:
        return None
    changed = officer.credentials_changed_at
    vetted = officer.verified_at or officer.created_at + _CREATION_SLACK
    return OfficerStanding(
        authority_id=officer.authority_id,
        verified=officer.verified_at is not None,
        totp_enrolled=officer.totp_secret is not None,
        credentials_changed_at=changed if changed is not None and changed > vetted else None,
    )


def officers_of(session: Session, authority_id: int) -> list[Account]:
    """The officer accounts of one authority, by e-mail."""
    query = (
        select(Account)
        .where(Account.kind == AccountKind.OFFICER, Account.authority_id == authority_id)
        .order_by(Account.email)
    )
    return list(session.scalars(query))


def officer_counts(session: Session) -> dict[int, int]:
    """authority id -> how many officer accounts it has (authorities with none are absent)."""
    query = (
        select(Account.authority_id, func.count(Account.id))
        .where(Account.kind == AccountKind.OFFICER, Account.authority_id.is_not(None))
        .group_by(Account.authority_id)
    )
    return {int(a): int(n) for a, n in session.execute(query) if a is not None}


def account_of_actor(session: Session, actor: str) -> Account | None:
    """The account an audit actor names (``account:12``), or None for ``cli:…``, ``system``."""
    kind, _, number = actor.partition(":")
    if kind != "account" or not number.isdigit():
        return None
    return session.get(Account, int(number))


def confirm_second_factor(session: Session, account_id: int, code: str) -> bool:
    """Whether ``code`` is the account's current TOTP code, not used before: the step-up a
    second person gives when approving a disclosure. A good code is spent (the account's
    last step advances), so it cannot confirm anything twice; an account without TOTP can
    confirm nothing."""
    account = get(session, account_id)
    if account.totp_secret is None or account.disabled:
        return False
    step = totp_step(account.totp_secret, code, account.totp_last_step)
    if step is None:
        return False
    account.totp_last_step = step
    return True


def describe_actor(session: Session, actor: str) -> str:
    """How pages show an audit actor: the account's e-mail, else the actor as written."""
    account = account_of_actor(session, actor)
    return account.email if account is not None else actor


def verify_officer(
    session: Session, email: str, *, evidence: str, actor: str, now: datetime | None = None
) -> Account:
    """Record that staff checked an officer account belongs to a real officer of its
    authority, and how (``evidence``: e.g. "called the HKPF switchboard +852 2860 2000,
    Supt. Chan confirmed the officer and the e-mail").

    ``actor`` must name an active staff account (``account:N``) holding
    ``authorities:manage``, so the record names a person accountable for it; from the
    command line that is ``--as``. Refused (:class:`InvalidInput`): empty evidence, an
    unknown or disabled account, verifying one's own account, a staff account. Verifying
    again is allowed and records the new evidence: it is how staff clear a recent
    credentials change. Audited ``account.officer_verified``.
    """
    staff = account_of_actor(session, actor)
    if (
        staff is None
        or staff.disabled
        or staff.kind is not AccountKind.STAFF
        or Permission.AUTHORITIES_MANAGE not in permissions_of(roles_of(staff))
    ):
        raise InvalidInput.one(
            ("actor",),
            "officers are verified by an active staff account holding authorities:manage",
        )
    text = evidence.strip()
    if not text:
        raise InvalidInput.one(("evidence",), "say how the officer was checked")
    account = get_by_email(session, email)
    if account is None:
        raise InvalidInput.one(("email",), f"no account {email.strip().lower()}")
    if account.id == staff.id:
        raise InvalidInput.one(("email",), "you cannot verify your own account")
    if account.kind is not AccountKind.OFFICER:
        raise InvalidInput.one(("email",), f"{account.email} is not an officer account")
    if account.disabled:
        raise InvalidInput.one(("email",), f"{account.email} is disabled")
    account.verified_at = now or utcnow()
    account.verified_by = actor
    account.verification_evidence = text
    audit.record(
        session,
        actor=actor,
        action="account.officer_verified",
        subject=f"account:{account.id}",
        data={"email": account.email, "authority_id": account.authority_id, "evidence": text},
        at=account.verified_at,
    )
    return account


def change_contact(
    session: Session,
    account_email: str,
    change: ContactChange,
    *,
    actor: str,
    now: datetime | None = None,
) -> Account:
    """Change an account's e-mail, phone and/or password, and stamp
    ``credentials_changed_at``: requester verification treats a recent, un-reverified change
    to an officer account as a warning sign. Audited ``account.credentials_changed`` naming
    the fields changed (never the password). Refused (:class:`InvalidInput`): an unknown
    ``account``, an ``email`` another account uses, a ``change`` that changes nothing.
    """
    account = get_by_email(session, account_email)
    if account is None:
        raise InvalidInput.one(("account",), f"no account {account_email.strip().lower()}")
    changed: dict[str, object] = {}
    if change.email is not None and change.email != account.email:
        if get_by_email(session, change.email) is not None:
            raise InvalidInput.one(("email",), f"{change.email} is used by another account")
        changed["email"] = {"from": account.email, "to": change.email}
        account.email = change.email
    if change.phone is not None and change.phone != account.phone:
        changed["phone"] = {"from": account.phone, "to": change.phone}
        account.phone = change.phone
    if change.password is not None:
        changed["password"] = "changed"  # noqa: S105 - a marker; the password is never logged
        account.password_hash = hash_password(change.password)
    if not changed:
        raise InvalidInput.one(("change",), "give a new e-mail, phone or password")
    account.credentials_changed_at = now or utcnow()
    audit.record(
        session,
        actor=actor,
        action="account.credentials_changed",
        subject=f"account:{account.id}",
        data={"changed": changed},
        at=account.credentials_changed_at,
    )
    return account
