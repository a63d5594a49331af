"""Validated input and output for the authority registry."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from dueprocess import jurisdictions
from dueprocess.authorities.models import AuthorityKind, AuthorityStatus

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

    @field_validator("jurisdiction")
    @classmethod
    def _known(cls, value: str) -> str:
        return jurisdictions.normalise(value)


class AuthorityOut(BaseModel):
    """An authority as stored."""

    slug: str
    name: str
    jurisdiction: str
    kind: AuthorityKind
    status: AuthorityStatus
    official_domains: list[str]
    phone_numbers: list[str]
