"""The protected-accounts list: journalists, activists, lawyers and politicians whose
accounts staff keep on record, so a demand naming one is flagged ``protected-account``.

The list is sensitive (it says who the service thinks is at risk): only holders of
``protected:manage`` (human-rights reviewers) may read or change it, and every read and
change is audited (``review.protected_listed``, ``review.protected_added``,
``review.protected_removed``, naming the handle and the category, never the note). A flag
raised by an entry shows its category, not its note, to whoever reviews the demand.

Handles are kept normalised (:func:`normalise_handle`: lower case, no leading ``@``, the
handle taken out of a profile or post URL), so ``@StandNews_Reporter``,
``https://microblog.demo/@standnews_reporter`` and a post URL of that account all match
one entry. Removing an entry sets ``removed_at``; rows are never deleted, and adding a
handle again makes a new row, so the list's history stays readable.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.accounts.models import Account, AccountKind
from dueprocess.accounts.permissions import Permission, permissions_of
from dueprocess.audit import service as audit
from dueprocess.clock import utcnow
from dueprocess.errors import Conflict, NotFound, NotPermitted
from dueprocess.review.models import ProtectedAccount, ProtectedCategory

#: A handle as services write them: letters, digits, ``_``, ``.``, ``-`` (the demo
#: microblog's rule), at most 64.
_HANDLE = re.compile(r"^[a-z0-9_.\-]{1,64}$")
#: A profile or post URL whose path starts with ``/@handle`` (the demo microblog's form,
#: and that of many services): ``https://microblog.demo/@name`` or ``.../@name/123``.
_URL = re.compile(
    r"^(?:https?://)?(?:www\.)?[a-z0-9\-]+(?:\.[a-z0-9\-]+)+/@(?P<handle>[^/?#\s]+)/?"
    r"(?:[/?#]\S*)?$"
)
_PROBLEM = "not a handle: write it as @name, or the profile's URL (https://microblog.demo/@name)"
# Any 64-bit constant: adds to the list are serialised on PostgreSQL, so two people adding
# the same handle at once cannot both succeed (SQLite serialises every writer anyway).
_LIST_LOCK = 0x7072_6F74_6563_74  # "protect"


def normalise_handle(raw: str) -> str:
    """``raw`` (``@Name``, ``name``, a profile or post URL of the form ``host/@name[/...]``)
    as the list keeps it: lower case, without the ``@``; :class:`ValueError` otherwise."""
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    url = _URL.match(value)
    if url:
        value = url["handle"]
    value = value.removeprefix("@")
    if not _HANDLE.match(value):
        raise ValueError(f"{raw.strip()!r} is {_PROBLEM}")
    return value


def handle_of(raw: str) -> str | None:
    """:func:`normalise_handle`, or None when ``raw`` names no handle (a ``post:ID``
    reference, a URL of another form)."""
    try:
        return normalise_handle(raw)
    except ValueError:
        return None


Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ProtectedIn(BaseModel):
    """An account to put on the list. ``note`` is for the keepers only: why the account is
    on it (never audited, never shown with a flag)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    handle: str
    category: ProtectedCategory
    note: Note = ""

    @field_validator("handle")
    @classmethod
    def _handle(cls, value: str) -> str:
        return normalise_handle(value)


class ProtectedOut(BaseModel):
    """An entry of the list, as its keepers see it."""

    id: int
    handle: str
    category: ProtectedCategory
    note: str
    added_by: str
    added_at: datetime
    removed_by: str | None
    removed_at: datetime | None
    active: bool


def _keeper(session: Session, actor: str, doing: str) -> Account:
    """The staff account ``actor`` names if it holds ``protected:manage``; else
    :class:`NotPermitted` (the list is kept by people, accountable by name)."""
    account = accounts.account_of_actor(session, actor)
    if account is None:
        raise NotPermitted(f"{doing} the protected-accounts list is for a person's account")
    if (
        account.disabled
        or account.kind is not AccountKind.STAFF
        or Permission.PROTECTED_MANAGE not in permissions_of(accounts.roles_of(account))
    ):
        raise NotPermitted(
            f"{doing} the protected-accounts list needs the {Permission.PROTECTED_MANAGE.value} "
            f"permission (human-rights reviewers), which {account.email} does not hold"
        )
    return account


def _lock_list(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LIST_LOCK})


def add(session: Session, data: ProtectedIn, *, actor: str) -> ProtectedAccount:
    """Put ``data.handle`` on the list; audited ``review.protected_added``. Refused: an actor
    without ``protected:manage`` (:class:`NotPermitted`), a handle already on the list
    (:class:`Conflict`, naming its entry: remove it first to change its category)."""
    keeper = _keeper(session, actor, "adding to")
    _lock_list(session)
    current = session.scalar(
        select(ProtectedAccount).where(
            ProtectedAccount.handle == data.handle, ProtectedAccount.removed_at.is_(None)
        )
    )
    if current is not None:
        raise Conflict(
            f"@{data.handle} is already on the list as {current.category.value} "
            f"(entry {current.id}); remove that entry first to change it"
        )
    row = ProtectedAccount(
        handle=data.handle,
        category=data.category,
        note=data.note,
        added_by=keeper.id,
        added_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="review.protected_added",
        subject=f"protected_account:{row.id}",
        data={"handle": row.handle, "category": row.category.value},
        at=row.added_at,
    )
    return row


def remove(session: Session, entry_id: int, *, actor: str) -> ProtectedAccount:
    """Take an entry off the list (``removed_at``; the row stays); audited
    ``review.protected_removed``. Refused: :class:`NotPermitted` as for :func:`add`,
    :class:`NotFound`, and :class:`Conflict` for an entry already removed."""
    keeper = _keeper(session, actor, "removing from")
    row = session.scalar(
        select(ProtectedAccount)
        .where(ProtectedAccount.id == entry_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"protected-list entry {entry_id}")
    if row.removed_at is not None:
        raise Conflict(f"entry {entry_id} (@{row.handle}) was already removed")
    row.removed_at = utcnow()
    row.removed_by = keeper.id
    audit.record(
        session,
        actor=actor,
        action="review.protected_removed",
        subject=f"protected_account:{row.id}",
        data={"handle": row.handle, "category": row.category.value},
        at=row.removed_at,
    )
    return row


def list_entries(
    session: Session, *, actor: str, via: str, include_removed: bool = False
) -> list[ProtectedOut]:
    """The list, newest first (with removed entries when asked); the read is audited
    ``review.protected_listed``. :class:`NotPermitted` as for :func:`add`."""
    _keeper(session, actor, "reading")
    query = select(ProtectedAccount).order_by(ProtectedAccount.id.desc())
    if not include_removed:
        query = query.where(ProtectedAccount.removed_at.is_(None))
    rows = list(session.scalars(query))
    audit.record(
        session,
        actor=actor,
        action="review.protected_listed",
        data={"via": via, "include_removed": include_removed, "entries": len(rows)},
    )
    return [to_out(session, row) for row in rows]


def to_out(session: Session, row: ProtectedAccount) -> ProtectedOut:
    """The output form of an entry (who added and removed it, by e-mail)."""
    return ProtectedOut(
        id=row.id,
        handle=row.handle,
        category=row.category,
        note=row.note,
        added_by=accounts.describe_actor(session, f"account:{row.added_by}"),
        added_at=row.added_at,
        removed_by=accounts.describe_actor(session, f"account:{row.removed_by}")
        if row.removed_by is not None
        else None,
        removed_at=row.removed_at,
        active=row.removed_at is None,
    )


def match(session: Session, handles: Iterable[str]) -> dict[str, ProtectedCategory]:
    """handle -> category of each of ``handles`` (normalised) on the list now. For flags:
    not audited and not permission-checked, and it gives the category only, never the note."""
    wanted = sorted({h for h in handles if h})
    if not wanted:
        return {}
    query = select(ProtectedAccount.handle, ProtectedAccount.category).where(
        ProtectedAccount.handle.in_(wanted), ProtectedAccount.removed_at.is_(None)
    )
    return {handle: category for handle, category in session.execute(query)}
