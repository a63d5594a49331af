"""Actions: the durable jobs through which anything leaves dueprocess (a production to a
requester, a restriction on content, a message to a user, a reminder to staff).

One row per action, written in the same transaction as the decision that causes it, so
there is no action without its decision and no decision without its actions. A worker
claims a row (``status`` ``running`` with a lease), calls the service's connector with the
row's ``key`` (the idempotency key every connector call carries), and records the outcome.
See :mod:`dueprocess.actions.service` for the exact protocol and what "exactly once"
means here.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime, enum_column


class ActionKind(enum.StrEnum):
    """What an action does. Each kind has one handler (:mod:`dueprocess.actions.worker`)."""

    PRODUCE = "produce"  # export a target's data and deliver the package
    RESTRICT = "restrict"  # remove, withhold in jurisdictions, age-gate, suspend
    LIFT = "lift"  # lift an earlier restriction
    NOTIFY = "notify"  # a notice to an affected user
    REMIND = "remind"  # a deadline reminder to staff


class ActionStatus(enum.StrEnum):
    """Where an action is. ``pending`` waits for ``not_before``; ``running`` is held by one
    worker until ``lease_until`` (then any worker may take it again); ``done`` and
    ``revoked`` are final; ``failed`` waits for staff to retry or revoke it."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    REVOKED = "revoked"


class Action(Base):
    """One durable job."""

    __tablename__ = "action"
    __table_args__ = (
        # What a worker claims from: pending actions whose time has come, in order, and
        # running ones whose lease has lapsed (a worker that died).
        Index("ix_action_ready", "status", "not_before", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("target.id"))
    kind: Mapped[ActionKind] = mapped_column(enum_column(ActionKind))
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus))
    #: The idempotency key: unique, carried by every connector call for this action, so a
    #: repeated call (after a crash) is applied once by the service.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    #: What to do, in the handler's terms (scope, jurisdictions, message...).
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=8)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
