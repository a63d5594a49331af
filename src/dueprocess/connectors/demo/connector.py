"""The reference connector: answers the hooks of :mod:`dueprocess.connectors.spec` from the
demo microblog's database.

It is installed like any third-party connector, through the ``dueprocess.connectors``
entry point ``demo = dueprocess.connectors.demo.connector:from_settings`` (pyproject.toml).

Idempotency: each action runs in one transaction of the microblog's database that also
inserts its key into ``mb_applied`` (unique). A second call with the key finds the row and
answers what the first answered; a concurrent second call fails on the unique key, rolls
back what it did and answers the first's row. The same key for a different action (another
hook or other arguments) is refused (:class:`~dueprocess.connectors.spec.ActionRefused`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache

import orjson
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dueprocess.clock import as_utc, isoformat_z, utcnow
from dueprocess.config import Settings
from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.models import (
    MicroblogAccount,
    MicroblogApplied,
    MicroblogRestriction,
)
from dueprocess.connectors.spec import (
    AccountInfo,
    ActionRefused,
    Applied,
    ContentInfo,
    Export,
    Record,
    RestrictAction,
    hookimpl,
)
from dueprocess.db import make_engine

_RESTRICTION = "restriction:"


def _fingerprint(hook: str, **arguments: object) -> str:
    text = orjson.dumps({"hook": hook, **arguments}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()


def _answer(row: MicroblogApplied) -> Applied:
    return Applied(reference=row.reference, applied_at=row.applied_at)


class DemoConnector:
    """Connector to the demo microblog."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> DemoConnector:
        """A connector on the microblog database at ``url`` (created empty if missing)."""
        return cls(engine_for(url))

    # -- look-ups -------------------------------------------------------------------------

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

    # -- actions --------------------------------------------------------------------------

    def _once(
        self,
        key: str,
        fingerprint: str,
        apply: Callable[[Session, datetime], tuple[str, str | None] | None],
    ) -> MicroblogApplied | None:
        """Apply once by ``key``: the row of the first application (this one's or an
        earlier one's), or ``None`` when ``apply`` finds the target is not the microblog's.
        ``apply`` returns the reference and, for an export, its payload."""
        for _attempt in range(2):
            with self._sessions() as session:
                found = session.scalar(select(MicroblogApplied).where(MicroblogApplied.key == key))
                if found is not None:
                    if found.fingerprint != fingerprint:
                        raise ActionRefused(
                            f"idempotency key {key!r} was used for a different action"
                        )
                    return found
                now = utcnow()
                try:
                    applied = apply(session, now)
                    if applied is None:
                        return None  # closing the session rolls back
                    reference, payload = applied
                    row = MicroblogApplied(
                        key=key, fingerprint=fingerprint, reference=reference,
                        applied_at=now, payload=payload,
                    )  # fmt: skip
                    session.add(row)
                    session.commit()
                except IntegrityError:
                    session.rollback()
                    continue  # a concurrent call with the key won: answer its row
                except microblog.NotApplicable as exc:
                    session.rollback()
                    raise ActionRefused(str(exc)) from exc
                return row
        raise RuntimeError(f"idempotency key {key!r}: neither applied nor found")

    @hookimpl
    def dueprocess_export_account(
        self,
        handle: str,
        categories: Sequence[str],
        fields: Sequence[str],
        period_start: datetime | None,
        period_end: datetime | None,
        idempotency_key: str,
    ) -> Export | None:
        fingerprint = _fingerprint(
            "export_account", handle=handle.removeprefix("@").lower(),
            categories=sorted(categories), fields=sorted(fields),
            period_start=isoformat_z(period_start) if period_start else None,
            period_end=isoformat_z(period_end) if period_end else None,
        )  # fmt: skip

        def apply(session: Session, _now: datetime) -> tuple[str, str | None] | None:
            account = microblog.find_account(session, handle)
            if account is None:
                return None
            records = microblog.export(
                session, account, categories, fields, period_start, period_end
            )
            payload = {
                "handle": account.handle,
                "records": {
                    category: [
                        {"at": isoformat_z(at) if at else None, "data": data} for at, data in rows
                    ]
                    for category, rows in records.items()
                },
            }
            return f"export:{account.handle}:{idempotency_key}", orjson.dumps(payload).decode()

        row = self._once(idempotency_key, fingerprint, apply)
        if row is None or row.payload is None:
            return None
        stored = orjson.loads(row.payload)
        return Export(
            handle=stored["handle"],
            records={
                category: [
                    Record(
                        data=r["data"],
                        at=as_utc(datetime.fromisoformat(r["at"])) if r["at"] else None,
                    )
                    for r in rows
                ]
                for category, rows in stored["records"].items()
            },
        )

    @hookimpl
    def dueprocess_restrict_content(
        self,
        ref: str,
        action: RestrictAction,
        jurisdictions: Sequence[str],
        idempotency_key: str,
    ) -> Applied | None:
        fingerprint = _fingerprint(
            "restrict_content", ref=ref, action=str(action), jurisdictions=sorted(jurisdictions)
        )

        def apply(session: Session, now: datetime) -> tuple[str, str | None] | None:
            target = microblog.find_post(session, ref) or microblog.find_account(session, ref)
            if target is None:
                return None
            row = microblog.restrict(session, target, RestrictAction(action), jurisdictions, now)
            return f"{_RESTRICTION}{row.id}", None

        row = self._once(idempotency_key, fingerprint, apply)
        return None if row is None else _answer(row)

    @hookimpl
    def dueprocess_lift_restriction(self, reference: str, idempotency_key: str) -> Applied | None:
        number = reference.removeprefix(_RESTRICTION)
        if not reference.startswith(_RESTRICTION) or not number.isdigit():
            return None
        fingerprint = _fingerprint("lift_restriction", reference=reference)

        def apply(session: Session, now: datetime) -> tuple[str, str | None] | None:
            restriction = session.get(MicroblogRestriction, int(number))
            if restriction is None:
                return None
            microblog.lift(session, restriction, now)
            return reference, None

        row = self._once(idempotency_key, fingerprint, apply)
        return None if row is None else _answer(row)

    @hookimpl
    def dueprocess_send_message(
        self, handle: str, subject: str, body: str, language: str, idempotency_key: str
    ) -> Applied | None:
        fingerprint = _fingerprint(
            "send_message", handle=handle.removeprefix("@").lower(), subject=subject,
            body=body, language=language,
        )  # fmt: skip

        def apply(session: Session, now: datetime) -> tuple[str, str | None] | None:
            account = microblog.find_account(session, handle)
            if account is None:
                return None
            message = microblog.send_message(session, account, subject, body, language, now)
            return f"message:{message.id}", None

        row = self._once(idempotency_key, fingerprint, apply)
        return None if row is None else _answer(row)

    @hookimpl
    def dueprocess_was_applied(self, idempotency_key: str) -> Applied | None:
        with self._sessions() as session:
            row = session.scalar(
                select(MicroblogApplied).where(MicroblogApplied.key == idempotency_key)
            )
            return None if row is None else _answer(row)


@lru_cache(maxsize=32)
def engine_for(url: str) -> Engine:
    """The engine on the microblog database at ``url``, its tables created if missing (one
    engine per database for the process: the connector, its pages and the demo's seed)."""
    engine = make_engine(url)
    microblog.create_schema(engine)
    return engine


def from_settings(settings: Settings) -> DemoConnector | None:
    """The entry point: a connector on ``settings.demo_database_url``, or ``None`` (not
    registered) when no demo database is configured."""
    if not settings.demo_database_url:
        return None
    return DemoConnector.from_url(settings.demo_database_url)


def open_session(url: str) -> Session:
    """A session on the microblog database (the demo's seed uses this)."""
    return sessionmaker(engine_for(url))()
