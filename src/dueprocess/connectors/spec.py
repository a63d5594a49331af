"""The connector hooks (pluggy). A connector is how dueprocess reaches the service's systems.

Each hook states its contract; a connector implements the hooks its service supports.
Connectors register through the ``dueprocess.connectors`` entry-point group (see
docs/connectors.md); the demo service's connector
(:mod:`dueprocess.connectors.demo.connector`) is the reference.

Two kinds of hook:

- **look-ups** (``lookup_account``, ``lookup_content``) read, for review and risk flags;
- **actions** (``export_account``, ``restrict_content``, ``lift_restriction``,
  ``send_message``, ``was_applied``) are what leaves dueprocess. Each takes an
  ``idempotency_key`` and must be idempotent by it: called twice (or a hundred times, by a
  worker that crashed and retried) with the same key, the action happens once and every
  call returns the same answer. ``was_applied`` tells a worker that crashed after calling a
  hook but before recording its answer whether the action happened.

Every hook answers ``None`` for "not this connector's account / content / key"; pluggy asks
the connectors in turn and the first answer that is not ``None`` wins. A connector raises
:class:`ActionRefused` when it can never do what is asked (an action its service does not
have, a key reused for a different action); any other exception is a failure the caller
may retry. :mod:`dueprocess.connectors.service` checks every answer against these contracts.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Union

import pluggy

PROJECT = "dueprocess"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: A value that serialises to JSON as it is.
JSON = Union[str, int, float, bool, None, list["JSON"], dict[str, "JSON"]]  # noqa: UP007

#: The fields of each data category, as ``dueprocess.review.decisions.FIELDS`` names them
#: (a narrowing keeps a subset of these; tests/connectors check the two agree). The
#: categories are ``dueprocess.demands.models.DataCategory``'s values.
FIELDS: Mapping[str, tuple[str, ...]] = {
    "subscriber": ("name", "email", "phone", "signup-ip", "created-at"),
    "traffic": ("login-ips", "login-times", "devices"),
    "content": ("posts", "messages", "media", "contacts"),
}

#: Categories whose records are dated and must fall inside the period asked. Subscriber
#: records describe the account as it stands when exported, whatever the period.
DATED = frozenset({"traffic", "content"})


class RestrictAction(enum.StrEnum):
    """What ``restrict_content`` does.

    ``remove``: the content is gone for everyone. ``withhold``: hidden only to viewers in the
    listed jurisdictions (ISO 3166-1 alpha-2, any country), visible elsewhere. ``age-gate``:
    shown only to viewers who confirm their age. ``suspend-account``: the account (a handle)
    can no longer post or be seen.
    """

    REMOVE = "remove"
    WITHHOLD = "withhold"
    AGE_GATE = "age-gate"
    SUSPEND_ACCOUNT = "suspend-account"


class ActionRefused(Exception):
    """Raised by a connector when it will never do what is asked, however often retried: its
    service has no such action for that target, or the idempotency key was used before for a
    different action. The message says which, for a person to read."""


@dataclass(frozen=True)
class AccountInfo:
    """What the service knows about an account, enough to decide; never the content itself."""

    handle: str
    display_name: str
    created_at: datetime
    country: str | None
    posts: int


@dataclass(frozen=True)
class ContentInfo:
    """One content item: its author, text (for risk signals) and where it is visible."""

    ref: str
    author: str
    text: str
    posted_at: datetime
    language: str | None


@dataclass(frozen=True)
class Record:
    """One exported record of one category.

    ``data`` maps field names (only fields asked, of this record's category) to JSON
    values; a field the service does not hold is left out. ``at`` (timezone-aware) is when
    the recorded thing happened (a post's time, a login's): required for the dated
    categories (:data:`DATED`) and inside the period asked, ``None`` for subscriber records.
    ``at`` is for checking the period, not part of what is produced: a field such as
    ``login-times`` carries the time when it was asked.
    """

    data: dict[str, JSON]
    at: datetime | None = None


@dataclass(frozen=True)
class Export:
    """An account's data: for each category asked (every one of them, ``[]`` when the
    service holds nothing of it), its records."""

    handle: str
    records: dict[str, list[Record]]


@dataclass(frozen=True)
class Applied:
    """An action done: the service's ``reference`` for it (a restriction's id, which
    ``lift_restriction`` takes; a message's id) and when it was applied (timezone-aware)."""

    reference: str
    applied_at: datetime


class ConnectorSpec:
    """Hook specifications. Return ``None`` for "not mine / not found"; never raise for that."""

    @hookspec(firstresult=True)
    def dueprocess_lookup_account(self, handle: str) -> AccountInfo | None:
        """Find an account by handle (with or without the leading ``@``)."""
        raise NotImplementedError

    @hookspec(firstresult=True)
    def dueprocess_lookup_content(self, ref: str) -> ContentInfo | None:
        """Find a content item by its URL on the service or by ``post:ID``."""
        raise NotImplementedError

    @hookspec(firstresult=True)
    def dueprocess_export_account(
        self,
        handle: str,
        categories: Sequence[str],
        fields: Sequence[str],
        period_start: datetime | None,
        period_end: datetime | None,
        idempotency_key: str,
    ) -> Export | None:
        """Export the data of the account ``handle`` for a production, or ``None`` if it is
        not this connector's account.

        ``categories`` are keys of :data:`FIELDS`; ``fields`` the names asked, each of one of
        those categories. The answer holds every category asked and nothing else, records
        with only the fields asked, and (dated categories) only records with
        ``period_start <= at <= period_end`` (a bound that is ``None`` is open). Exporting
        writes nothing on the service but is keyed like any action: the same key returns the
        same records, so a retried production is the same production.
        """
        raise NotImplementedError

    @hookspec(firstresult=True)
    def dueprocess_restrict_content(
        self,
        ref: str,
        action: RestrictAction,
        jurisdictions: Sequence[str],
        idempotency_key: str,
    ) -> Applied | None:
        """Restrict the content item or account ``ref``, or ``None`` if it is not this
        connector's.

        ``jurisdictions`` (upper-case ISO 3166-1 alpha-2) are where a ``withhold`` applies; it
        is empty for every other action. Raise :class:`ActionRefused` for an action the
        service cannot apply to that target. Idempotent by key.
        """
        raise NotImplementedError

    @hookspec(firstresult=True)
    def dueprocess_lift_restriction(self, reference: str, idempotency_key: str) -> Applied | None:
        """Lift the restriction ``reference`` (an :attr:`Applied.reference` of
        ``restrict_content``), or ``None`` if it is not this connector's. Lifting a lifted
        restriction changes nothing and answers when it was lifted. Idempotent by key."""
        raise NotImplementedError

    @hookspec(firstresult=True)
    def dueprocess_send_message(
        self, handle: str, subject: str, body: str, language: str, idempotency_key: str
    ) -> Applied | None:
        """Send a message to the account ``handle`` through the service's own channel, or
        ``None`` if it is not this connector's account. ``language`` is a BCP 47 tag of the
        text. The answer's reference is the message's id. Idempotent by key."""
        raise NotImplementedError

    @hookspec(firstresult=True)
    def dueprocess_was_applied(self, idempotency_key: str) -> Applied | None:
        """The answer the action keyed ``idempotency_key`` gave when it was applied, or
        ``None`` if this connector applied no action with that key (so far)."""
        raise NotImplementedError
