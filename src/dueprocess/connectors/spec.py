"""The connector hooks (pluggy). A connector is how dueprocess reaches the service's systems.

Each hook states its contract; a connector implements the hooks its service supports.
Connectors register through the ``dueprocess.connectors`` entry-point group; the demo
service's connector (:mod:`dueprocess.connectors.demo.connector`) is the reference.
Actions (exports, restrictions, messages) are added by the actions work; for now the
interface covers looking targets up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pluggy

PROJECT = "dueprocess"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


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
