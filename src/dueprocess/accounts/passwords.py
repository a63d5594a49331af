"""Password hashing (argon2id, memory-hard) and TOTP second factors (RFC 6238).

A TOTP code is accepted once: the time step it was accepted for is stored, and a code for the
same or an earlier step is refused, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()
TOTP_ISSUER = "dueprocess"


def hash_password(password: str) -> str:
    """An argon2id hash with a random salt."""
    return _HASHER.hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing or corrupt hash never matches."""
    if not stored_hash:
        # Spend the same time as a real check so timing does not reveal unknown accounts.
        _HASHER.hash(password)
        return False
    try:
        return _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def totp_step(secret: str, code: str, last_step: int | None, at: float | None = None) -> int | None:
    """The time step ``code`` is valid for (allowing one step of clock drift), or None.

    Returns None for a wrong code and for a replay (a step not after ``last_step``).
    """
    now = time.time() if at is None else at
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    current = int(now // totp.interval)
    for step in (current, current - 1, current + 1):
        if totp.verify(code, for_time=step * totp.interval) and (
            last_step is None or step > last_step
        ):
            return step
    return None


def current_code(secret: str, at: float | None = None) -> str:
    """The code an authenticator would show now (demo and tests use this)."""
    return pyotp.TOTP(secret).at(time.time() if at is None else at)
