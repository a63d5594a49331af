"""The microblog's own operations (what its product code would do), used by its seed and
its connector. Nothing in dueprocess outside ``connectors.demo`` imports this.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from dueprocess.clock import isoformat_z
from dueprocess.connectors.demo.models import (
    MicroblogAccount,
    MicroblogBase,
    MicroblogLogin,
    MicroblogMessage,
    MicroblogPost,
    MicroblogRestriction,
)
from dueprocess.connectors.spec import JSON, RestrictAction

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


def add_login(
    session: Session, account: MicroblogAccount, at: datetime, ip: str, device: str
) -> MicroblogLogin:
    """Record a sign-in."""
    login = MicroblogLogin(account_id=account.id, at=at, ip=ip, device=device)
    session.add(login)
    session.flush()
    return login


class NotApplicable(ValueError):
    """The microblog has no such action for that target (e.g. age-gating an account)."""


#: What the microblog can do to each kind of target.
POST_ACTIONS = frozenset({RestrictAction.REMOVE, RestrictAction.WITHHOLD, RestrictAction.AGE_GATE})
ACCOUNT_ACTIONS = frozenset({RestrictAction.WITHHOLD, RestrictAction.SUSPEND_ACCOUNT})


def restrict(
    session: Session,
    target: MicroblogPost | MicroblogAccount,
    action: RestrictAction,
    jurisdictions: Sequence[str],
    at: datetime,
) -> MicroblogRestriction:
    """Restrict a post or an account from ``at``; :class:`NotApplicable` for an action the
    microblog does not have for that kind of target."""
    is_post = isinstance(target, MicroblogPost)
    if action not in (POST_ACTIONS if is_post else ACCOUNT_ACTIONS):
        kind, other = ("post", "an account") if is_post else ("account", "a post")
        raise NotApplicable(f"the microblog cannot {action.value} a {kind} (only {other})")
    row = MicroblogRestriction(
        post_id=target.id if is_post else None,
        account_id=None if is_post else target.id,
        action=action.value,
        jurisdictions=" ".join(sorted(jurisdictions)),
        applied_at=at,
    )
    session.add(row)
    session.flush()
    return row


def lift(session: Session, restriction: MicroblogRestriction, at: datetime) -> datetime:
    """End a restriction at ``at`` (an ended one keeps its end); when it ended."""
    if restriction.lifted_at is None:
        restriction.lifted_at = at
        session.flush()
    return restriction.lifted_at


def send_message(
    session: Session, account: MicroblogAccount, subject: str, body: str, language: str,
    at: datetime,
) -> MicroblogMessage:  # fmt: skip
    """Put a message in the account's inbox."""
    message = MicroblogMessage(
        account_id=account.id, subject=subject, body=body, language=language, sent_at=at
    )
    session.add(message)
    session.flush()
    return message


def messages_for(session: Session, handle: str) -> list[MicroblogMessage]:
    """The messages sent to an account, oldest first ([] for an unknown handle)."""
    account = find_account(session, handle)
    if account is None:
        return []
    return list(
        session.scalars(
            select(MicroblogMessage)
            .where(MicroblogMessage.account_id == account.id)
            .order_by(MicroblogMessage.id)
        )
    )


@dataclass(frozen=True)
class PostView:
    """A post as one viewer sees it: ``shown``, or hidden with ``notice`` saying why."""

    post: MicroblogPost
    author: MicroblogAccount
    shown: bool
    notice: str | None


def view(session: Session, post: MicroblogPost, viewer_country: str | None) -> PostView:
    """How ``post`` looks to a viewer in ``viewer_country`` (``None``: unknown, so no
    country's withholding applies), under the restrictions live now."""
    author = session.get(MicroblogAccount, post.account_id)
    assert author is not None
    live = session.scalars(
        select(MicroblogRestriction).where(
            MicroblogRestriction.lifted_at.is_(None),
            or_(
                MicroblogRestriction.post_id == post.id,
                MicroblogRestriction.account_id == author.id,
            ),
        )
    ).all()
    country = viewer_country.upper() if viewer_country else None
    notices = {
        RestrictAction.SUSPEND_ACCOUNT: "This account has been suspended.",
        RestrictAction.REMOVE: "This post has been removed.",
        RestrictAction.WITHHOLD: (
            f"This {{what}} is withheld in your country ({country}) in response to a legal demand."
        ),
        RestrictAction.AGE_GATE: "This post is age-restricted: confirm your age to see it.",
    }
    for action in notices:  # the gravest restriction speaks
        for row in live:
            if row.action != action.value:
                continue
            if action is RestrictAction.WITHHOLD and country not in row.jurisdictions.split():
                continue
            what = "post" if row.post_id is not None else "account"
            return PostView(post, author, False, notices[action].format(what=what))
    return PostView(post, author, True, None)


def visible(session: Session, ref: str, viewer_country: str | None) -> bool:
    """Whether the post ``ref`` (URL or ``post:ID``) is shown to a viewer in
    ``viewer_country``; :class:`LookupError` for no such post."""
    post = find_post(session, ref)
    if post is None:
        raise LookupError(f"no post {ref!r}")
    return view(session, post, viewer_country).shown


def export(
    session: Session,
    account: MicroblogAccount,
    categories: Collection[str],
    fields: Collection[str],
    start: datetime | None,
    end: datetime | None,
) -> dict[str, list[tuple[datetime | None, dict[str, JSON]]]]:
    """The account's data, category by category, as ``(at, {field: value})`` records with
    only the ``fields`` asked, dated ones only from ``start`` to ``end`` (inclusive; ``None``
    is open). The microblog keeps no e-mail, phone, sign-up address, private messages,
    media or contacts: those fields are never in a record."""
    out: dict[str, list[tuple[datetime | None, dict[str, JSON]]]] = {}

    def within(column: InstrumentedAttribute[datetime]) -> list[ColumnElement[bool]]:
        return [
            *([column >= start] if start is not None else []),
            *([column <= end] if end is not None else []),
        ]

    if "subscriber" in categories:
        data: dict[str, JSON] = {}
        if "name" in fields:
            data["name"] = account.display_name
        if "created-at" in fields:
            data["created-at"] = isoformat_z(account.created_at)
        out["subscriber"] = [(None, data)] if data else []
    if "traffic" in categories:
        out["traffic"] = []
        logins = session.scalars(
            select(MicroblogLogin)
            .where(MicroblogLogin.account_id == account.id, *within(MicroblogLogin.at))
            .order_by(MicroblogLogin.at, MicroblogLogin.id)
        )
        for login in logins:
            record: dict[str, JSON] = {}
            if "login-times" in fields:
                record["login-times"] = isoformat_z(login.at)
            if "login-ips" in fields:
                record["login-ips"] = login.ip
            if "devices" in fields:
                record["devices"] = login.device
            if record:
                out["traffic"].append((login.at, record))
    if "content" in categories:
        out["content"] = []
        if "posts" in fields:
            posts = session.scalars(
                select(MicroblogPost)
                .where(MicroblogPost.account_id == account.id, *within(MicroblogPost.posted_at))
                .order_by(MicroblogPost.posted_at, MicroblogPost.id)
            )
            for post in posts:
                out["content"].append(
                    (
                        post.posted_at,
                        {
                            "posts": {
                                "url": post_url(account.handle, post.id),
                                "text": post.text,
                                "language": post.language,
                                "posted_at": isoformat_z(post.posted_at),
                            }
                        },
                    )
                )
    return out
