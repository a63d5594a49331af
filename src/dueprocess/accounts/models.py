"""Accounts, API tokens, web sessions and sign-in attempts.

A staff account may hold several staff roles; an officer account holds only ``officer`` and
is bound to one authority. Secrets are never stored in the clear: passwords as argon2 hashes,
tokens and session ids as SHA-256 digests.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime, enum_column


class Role(enum.StrEnum):
    """What a person may do. Permissions are granted to roles in ``accounts.permissions``."""

    INTAKE = "intake"
    LEGAL_REVIEWER = "legal-reviewer"
    HUMAN_RIGHTS_REVIEWER = "human-rights-reviewer"
    APPROVER = "approver"
    POLICY_OWNER = "policy-owner"
    AUDITOR = "auditor"
    ADMIN = "admin"
    OFFICER = "officer"


STAFF_ROLES = frozenset(Role) - {Role.OFFICER}


class AccountKind(enum.StrEnum):
    """Staff of the service, or an officer of a requesting authority."""

    STAFF = "staff"
    OFFICER = "officer"


class Account(Base):
    """One person. ``roles`` is a list of :class:`Role` values."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind))
    authority_id: Mapped[int | None] = mapped_column(ForeignKey("authority.id"), index=True)
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    verification_evidence: Mapped[str | None] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    credentials_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A bearer token for the API. Only its SHA-256 is stored; ``scopes`` limit what it may do."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random id; only its SHA-256 is stored here."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInAttempt(Base):
    """One sign-in attempt, kept to rate-limit repeated failures per e-mail and address."""

    __tablename__ = "sign_in_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    remote: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean)
