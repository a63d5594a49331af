"""Validated input and output for the authority registry."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dueprocess import jurisdictions
from dueprocess.agekeys import check_recipient
from dueprocess.authorities.lookalike import assess_sender_domain
from dueprocess.authorities.models import AuthorityKind, AuthorityStatus

_PHONE = re.compile(r"^\+?[0-9 ().\-]+$")


def phone_digits(number: str) -> str:
    """The digits of a phone number, the form numbers are compared in (``+852 2860-2000``
    and ``85228602000`` are the same number)."""
    return "".join(ch for ch in number if ch.isdigit())


def official_domain(value: str) -> str:
    """A registrable domain as the registry keeps it (ASCII ``xn--`` form, lower case, no
    trailing dot); :class:`ValueError` for anything that is not a domain name."""
    if "@" in value:
        raise ValueError(f"{value!r} is an e-mail address; give only the domain after the @")
    assessed = assess_sender_domain(value, [])
    if assessed.verdict == "invalid":
        raise ValueError(assessed.reasons[0])
    return assessed.domain


def phone_number(value: str) -> str:
    """A phone number kept as written (trimmed); :class:`ValueError` unless it is digits with
    an optional leading ``+`` and spaces, dots, hyphens or brackets, 6 to 15 digits long."""
    written = " ".join(value.split())
    if not _PHONE.match(written) or not 6 <= len(phone_digits(written)) <= 15:
        raise ValueError(f"{value!r} is not a phone number (6 to 15 digits, e.g. +852 2860 2000)")
    return written


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Slug = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9-]{1,79}$"),
]


class AuthorityIn(BaseModel):
    """A new authority for the registry."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    jurisdiction: str
    kind: AuthorityKind
    status: AuthorityStatus = AuthorityStatus.UNVERIFIED
    official_domains: list[str] = Field(default_factory=list)
    phone_numbers: list[str] = Field(default_factory=list)
    age_recipient: str | None = None

    @field_validator("jurisdiction")
    @classmethod
    def _known(cls, value: str) -> str:
        return jurisdictions.normalise(value)

    @field_validator("official_domains")
    @classmethod
    def _domains(cls, values: list[str]) -> list[str]:
        return _unique([official_domain(v) for v in values])

    @field_validator("phone_numbers")
    @classmethod
    def _phones(cls, values: list[str]) -> list[str]:
        return _unique([phone_number(v) for v in values])

    @field_validator("age_recipient")
    @classmethod
    def _recipient(cls, value: str | None) -> str | None:
        return None if value is None else check_recipient(value)


class ContactsIn(BaseModel):
    """New contact channels for an authority; a list given replaces the stored one, a list
    left out (``None``) keeps it."""

    model_config = ConfigDict(extra="forbid")

    official_domains: list[str] | None = None
    phone_numbers: list[str] | None = None

    @field_validator("official_domains")
    @classmethod
    def _domains(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _unique([official_domain(v) for v in values])

    @field_validator("phone_numbers")
    @classmethod
    def _phones(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _unique([phone_number(v) for v in values])


class AuthorityOut(BaseModel):
    """An authority as stored."""

    slug: str
    name: str
    jurisdiction: str
    kind: AuthorityKind
    status: AuthorityStatus
    official_domains: list[str]
    phone_numbers: list[str]
    age_recipient: str | None = None
    officers: int = 0
