"""The reference connector: answers the hooks of :mod:`dueprocess.connectors.spec` from the
demo microblog's database.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.models import MicroblogAccount
from dueprocess.connectors.spec import AccountInfo, ContentInfo, hookimpl
from dueprocess.db import make_engine


class DemoConnector:
    """Connector to the demo microblog."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine)

    @classmethod
    def from_url(cls, url: str) -> DemoConnector:
        """A connector on the microblog database at ``url`` (created empty if missing)."""
        engine = make_engine(url)
        microblog.create_schema(engine)
        return cls(engine)

    @hookimpl
    def dueprocess_lookup_account(self, handle: str) -> AccountInfo | None:
        with self._sessions() as session:
            account = microblog.find_account(session, handle)
            if account is None:
                return None
            return AccountInfo(
                handle=account.handle,
                display_name=account.display_name,
                created_at=account.created_at,
                country=account.country,
                posts=microblog.post_count(session, account.id),
            )

    @hookimpl
    def dueprocess_lookup_content(self, ref: str) -> ContentInfo | None:
        with self._sessions() as session:
            post = microblog.find_post(session, ref)
            if post is None:
                return None
            author = session.get(MicroblogAccount, post.account_id)
            assert author is not None
            return ContentInfo(
                ref=microblog.post_url(author.handle, post.id),
                author=author.handle,
                text=post.text,
                posted_at=post.posted_at,
                language=post.language,
            )


def open_session(url: str) -> Session:
    """A session on the microblog database (the demo's seed uses this)."""
    engine = make_engine(url)
    microblog.create_schema(engine)
    return sessionmaker(engine)()
