"""The microblog's own operations (what its product code would do), used by its seed and
its connector. Nothing in dueprocess outside ``connectors.demo`` imports this.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dueprocess.connectors.demo.models import MicroblogAccount, MicroblogBase, MicroblogPost

#: The demo service's public base URL; post URLs are ``{BASE_URL}/@handle/{id}``.
BASE_URL = "https://microblog.demo"
_POST_URL_RE = re.compile(r"^https://microblog\.demo/@[A-Za-z0-9_.\-]{1,64}/(\d+)$")


def create_schema(engine: Engine) -> None:
    """Create the microblog's tables if missing."""
    MicroblogBase.metadata.create_all(engine)


def add_account(
    session: Session, handle: str, display_name: str, country: str | None, created_at: datetime
) -> MicroblogAccount:
    """Register an account."""
    account = MicroblogAccount(
        handle=handle, display_name=display_name, country=country, created_at=created_at
    )
    session.add(account)
    session.flush()
    return account


def add_post(
    session: Session, account: MicroblogAccount, text: str, language: str, posted_at: datetime
) -> MicroblogPost:
    """Publish a post."""
    post = MicroblogPost(account_id=account.id, text=text, language=language, posted_at=posted_at)
    session.add(post)
    session.flush()
    return post


def post_url(handle: str, post_id: int) -> str:
    """The public URL of a post."""
    return f"{BASE_URL}/@{handle}/{post_id}"


def find_account(session: Session, handle: str) -> MicroblogAccount | None:
    """An account by handle, ignoring a leading ``@`` and case."""
    wanted = handle.removeprefix("@").lower()
    return session.scalar(
        select(MicroblogAccount).where(func.lower(MicroblogAccount.handle) == wanted)
    )


def find_post(session: Session, ref: str) -> MicroblogPost | None:
    """A post by URL or ``post:ID``."""
    if ref.startswith("post:") and ref[5:].isdigit():
        return session.get(MicroblogPost, int(ref[5:]))
    match = _POST_URL_RE.match(ref)
    return session.get(MicroblogPost, int(match[1])) if match else None


def post_count(session: Session, account_id: int) -> int:
    """How many posts an account has."""
    return int(
        session.scalar(
            select(func.count(MicroblogPost.id)).where(MicroblogPost.account_id == account_id)
        )
        or 0
    )
