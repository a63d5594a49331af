"""Signing in, web sessions and API tokens.

Secrets are compared by their SHA-256 (tokens, session ids) or with argon2 (passwords); the
database never holds one in the clear. Every sign-in, refused or not, writes an audit event
and an attempt row. Repeated failures are throttled by :func:`throttled` (the rule and its
reasons are there), and a refusal never says which of e-mail, password or code was wrong.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Account, AccountKind, ApiToken, SignInAttempt, WebSession
from dueprocess.accounts.passwords import check_password, totp_step
from dueprocess.accounts.permissions import Permission, parse_scopes, permissions_of
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.errors import InvalidInput, NotFound

SESSION_LIFETIME = timedelta(hours=8)
THROTTLE_WINDOW = timedelta(minutes=15)
#: Failures within the window: of one e-mail from one address; of one e-mail from any;
#: from one address on any e-mail (see :func:`throttled`).
PAIR_FAILURES = 5
ACCOUNT_FAILURES = 20
ADDRESS_FAILURES = 30
#: An address an account signed in from within this long is "known" to it.
KNOWN_FOR = timedelta(days=30)
#: The one answer to a refused sign-in, whatever was wrong: e-mail, password, or the code
#: (missing, wrong or used already). Saying "code" only after a right password would tell
#: whoever is guessing that the password is right.
REFUSED = (
    "wrong e-mail, password or code (a code works once: if you just used it, wait for the next)"
)
TOKEN_PREFIX = "dp_"  # noqa: S105 - a label, not a secret


def digest(secret: str) -> str:
    """SHA-256 hex of a bearer secret (tokens and session ids are looked up by this)."""
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is acting on this request, and what they may do."""

    account_id: int
    email: str
    kind: AccountKind
    authority_id: int | None
    permissions: frozenset[Permission]
    via: str  # "session", "token" or "cli"
    #: Role values: what the demand state table (:mod:`dueprocess.demands.states`) checks a
    #: move against. Empty (the default) may make no move.
    roles: frozenset[str] = frozenset()

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"account:{self.account_id}"

    @property
    def authority_scope(self) -> int | None:
        """For an officer, the only authority whose demands they may see; None for staff."""
        return self.authority_id if self.kind is AccountKind.OFFICER else None


def principal_of(account: Account, via: str, scopes: list[str] | None = None) -> Principal:
    """The principal for an account; a scoped token narrows it to ``scopes``."""
    roles = accounts.roles_of(account)
    allowed = permissions_of(roles)
    if scopes:
        allowed = allowed & parse_scopes(scopes)
    return Principal(
        account.id,
        account.email,
        account.kind,
        account.authority_id,
        allowed,
        via,
        frozenset(r.value for r in roles),
    )


@dataclass(frozen=True)
class SignInOutcome:
    """A successful sign-in carries the raw session id and CSRF token for the cookie/form;
    a refused one carries the message to show (never which of e-mail or password was wrong).
    """

    principal: Principal | None
    session_id: str | None = None
    csrf_token: str | None = None
    problem: str | None = None
    throttled: bool = False


@dataclass(frozen=True)
class Failures:
    """Failed sign-ins within :data:`THROTTLE_WINDOW`: of this e-mail from this address
    (``pair``), of this e-mail from any address (``account``), from this address on any
    e-mail (``address``)."""

    pair: int
    account: int
    address: int


def throttled(failures: Failures, *, known: bool) -> bool:
    """Whether to refuse a sign-in before looking at its password.

    - :data:`PAIR_FAILURES` failures of one e-mail from one address refuse that e-mail from
      that address. One person's typos lock out only that person, there: colleagues behind
      the same proxy or NAT sign in as before.
    - :data:`ACCOUNT_FAILURES` failures of one e-mail, from any addresses, refuse it from
      every address not ``known`` to it (see :data:`KNOWN_FOR`): guessing one account's
      password from many addresses is held to that many guesses a window, while its owner,
      at an address they signed in from before, still gets in.
    - :data:`ADDRESS_FAILURES` failures from one address, on any e-mails, refuse every
      e-mail not ``known`` at that address: one password tried on many accounts is held
      there, while the people who work behind that address still get in.

    A refused attempt is not itself counted, so a window ends on time however often one
    keeps trying. Someone new to both an account and an address can be held out for one
    window while others guess at either; that is the price of slowing the guessing.
    """
    if failures.pair >= PAIR_FAILURES:
        return True
    if known:
        return False
    return failures.account >= ACCOUNT_FAILURES or failures.address >= ADDRESS_FAILURES


def _failures(session: Session, email: str, remote: str, now: datetime) -> Failures:
    mine = SignInAttempt.email == email
    here = SignInAttempt.remote == remote

    def count(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    row = session.execute(
        select(count(mine & here), count(mine), count(here)).where(
            SignInAttempt.succeeded.is_(False),
            SignInAttempt.at >= now - THROTTLE_WINDOW,
            or_(mine, here),
        )
    ).one()
    return Failures(pair=int(row[0]), account=int(row[1]), address=int(row[2]))


def _known(session: Session, email: str, remote: str, now: datetime) -> bool:
    """Whether ``email`` signed in successfully from ``remote`` within :data:`KNOWN_FOR`."""
    found = session.scalar(
        select(SignInAttempt.id)
        .where(
            SignInAttempt.email == email,
            SignInAttempt.remote == remote,
            SignInAttempt.succeeded.is_(True),
            SignInAttempt.at >= now - KNOWN_FOR,
        )
        .limit(1)
    )
    return found is not None


def _wrong_credentials(
    account: Account | None, password: str, code: str, now: datetime
) -> str | None:
    """What was wrong (for the audit log only), or None when the password and, for an
    account with a second factor, an unused code are right; then the code's step is
    recorded so that it cannot be used again."""
    if not check_password(account.password_hash if account else None, password):
        return "wrong password" if account else "unknown account"
    if account is None:
        return "unknown account"
    if account.totp_secret:
        if not code.strip():
            return "missing code"
        step = totp_step(account.totp_secret, code, account.totp_last_step, now.timestamp())
        if step is None:
            return "wrong or replayed code"
        account.totp_last_step = step
    return None


def sign_in(
    session: Session,
    email: str,
    password: str,
    code: str,
    *,
    remote: str,
    now: datetime | None = None,
) -> SignInOutcome:
    """Check a sign-in and, if good, open a web session. The caller commits either way.

    Refused before its password is checked when :func:`throttled`. Every other refusal
    answers :data:`REFUSED`, whichever part was wrong, except a disabled account's, which is
    only said once every part (password, and code if the account has one) was right.
    """
    now = now or utcnow()
    email = email.strip().lower()
    failures = _failures(session, email, remote, now)
    # Whether the address is known to the account matters only once a limit is reached.
    if throttled(failures, known=False) and throttled(
        failures, known=_known(session, email, remote, now)
    ):
        audit.record(
            session,
            actor="anonymous",
            action="auth.sign_in_throttled",
            data={
                "email": email,
                "remote": remote,
                "failures": {
                    "email_here": failures.pair,
                    "email": failures.account,
                    "here": failures.address,
                },
            },
        )
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        return SignInOutcome(
            None,
            problem=f"too many failed sign-ins; try again in {minutes} minutes",
            throttled=True,
        )
    account = accounts.get_by_email(session, email)
    message = REFUSED
    reason = _wrong_credentials(account, password, code, now)
    if reason is None and account is not None and account.disabled:
        reason, message = "account disabled", "this account is disabled"
    session.add(SignInAttempt(email=email, remote=remote, at=now, succeeded=reason is None))
    if reason is not None or account is None:
        audit.record(
            session,
            actor="anonymous",
            action="auth.sign_in_failed",
            subject=f"account:{account.id}" if account else None,
            data={"email": email, "remote": remote, "reason": reason},
            at=now,
        )
        return SignInOutcome(None, problem=message)
    raw = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            session_hash=digest(raw),
            account_id=account.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    audit.record(
        session,
        actor=f"account:{account.id}",
        action="auth.signed_in",
        subject=f"account:{account.id}",
        data={"remote": remote},
        at=now,
    )
    return SignInOutcome(principal_of(account, "session"), raw, csrf)


@dataclass(frozen=True)
class SessionCheck:
    """The principal behind a session cookie, or why there is none."""

    principal: Principal | None
    csrf_token: str | None = None
    problem: str | None = None


def check_session(session: Session, raw: str, *, now: datetime | None = None) -> SessionCheck:
    """Resolve a session cookie. Expired sessions are refused (and audited once)."""
    now = now or utcnow()
    row = session.scalar(select(WebSession).where(WebSession.session_hash == digest(raw)))
    if row is None or row.ended_at is not None:
        return SessionCheck(None, problem="please sign in")
    account = session.get(Account, row.account_id)
    if account is None or account.disabled:
        return SessionCheck(None, problem="this account is disabled")
    if row.expires_at <= now:
        row.ended_at = now
        audit.record(
            session,
            actor=f"account:{account.id}",
            action="auth.session_expired",
            subject=f"account:{account.id}",
            at=now,
        )
        return SessionCheck(None, problem="your session has expired; please sign in again")
    return SessionCheck(principal_of(account, "session"), row.csrf_token)


def sign_out(session: Session, raw: str) -> None:
    """End the session behind ``raw`` (a no-op for an unknown one)."""
    row = session.scalar(select(WebSession).where(WebSession.session_hash == digest(raw)))
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        audit.record(
            session,
            actor=f"account:{row.account_id}",
            action="auth.signed_out",
            subject=f"account:{row.account_id}",
        )


def create_token(
    session: Session, email: str, name: str, scopes: list[str], *, actor: str
) -> tuple[ApiToken, str]:
    """A new API token for the account; returns the row and the raw token (shown once).

    ``scopes`` narrow the token to some of the account's permissions (none: all of them).
    A scope the account does not hold is refused (:class:`InvalidInput` on ``scopes``,
    naming the scope, the account's roles and the scopes it may have): such a token would
    only ever be answered 403.
    """
    account = accounts.get_by_email(session, email)
    if account is None:
        raise InvalidInput.one(("email",), f"no account {email}")
    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise InvalidInput.one(("scopes",), str(exc)) from exc
    roles = accounts.roles_of(account)
    held = permissions_of(roles)
    missing = sorted(wanted - held)
    if missing:
        raise InvalidInput.one(
            ("scopes",),
            f"{account.email} does not hold {', '.join(missing)} "
            f"(roles: {', '.join(sorted(roles)) or 'none'}); "
            f"scopes it may have: {', '.join(sorted(held - {Permission.SIGNED_IN}))}",
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account.id, name=name, token_hash=digest(raw), scopes=scopes)
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="token.created",
        subject=f"account:{account.id}",
        data={"token": token.id, "name": name, "scopes": scopes},
    )
    return token, raw


def revoke_token(session: Session, token_id: int, *, actor: str) -> ApiToken:
    """Revoke a token; it stops working on the next request."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="token.revoked",
            subject=f"account:{token.account_id}",
            data={"token": token.id},
        )
    return token


def list_tokens(session: Session) -> list[ApiToken]:
    """Every token (never the secret), newest first."""
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id.desc())))


def check_token(session: Session, raw: str) -> Principal | None:
    """The principal behind a bearer token, or None if unknown, revoked or disabled.

    One query (token joined to its account): this runs on every API request.
    """
    row = session.execute(
        select(ApiToken, Account)
        .join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == digest(raw))
    ).first()
    if row is None:
        return None
    token, account = row
    if token.revoked_at is not None or account.disabled:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now
    return principal_of(account, "token", token.scopes)
