"""Validated input and output for accounts."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from dueprocess.accounts.models import AccountKind, Role

Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


class AccountIn(BaseModel):
    """A new account. Officers name their authority and hold only the ``officer`` role."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    roles: list[Role] = Field(min_length=1)
    authority: str | None = None
    phone: str | None = None
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)] | None = None

    @model_validator(mode="after")
    def _officer_or_staff(self) -> Self:
        if Role.OFFICER in self.roles:
            if len(self.roles) != 1:
                raise ValueError("roles: an officer never holds a staff role")
            if not self.authority:
                raise ValueError("authority: an officer must belong to an authority")
        elif self.authority:
            raise ValueError("authority: only officers belong to an authority")
        return self

    @property
    def kind(self) -> AccountKind:
        """Officer or staff, from the roles."""
        return AccountKind.OFFICER if Role.OFFICER in self.roles else AccountKind.STAFF


class AccountOut(BaseModel):
    """An account as listed (never its secrets)."""

    id: int
    email: str
    display_name: str
    kind: AccountKind
    roles: list[Role]
    authority: str | None
    disabled: bool
    totp_enrolled: bool


class ContactChange(BaseModel):
    """New sign-in e-mail, phone and/or password for an account (``None``: unchanged)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: Email | None = None
    phone: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    password: Annotated[str, StringConstraints(min_length=12, max_length=200)] | None = None
