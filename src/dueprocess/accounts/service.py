"""Account operations. Plain functions taking a session; the caller commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account, AccountKind, Role
from dueprocess.accounts.passwords import hash_password, new_totp_secret
from dueprocess.accounts.schemas import AccountIn, AccountOut
from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
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
