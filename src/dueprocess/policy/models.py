"""Stored policy versions and the evaluations that used them.

A version's text is kept verbatim (with its SHA-256), so the exact rules that decided a
demand can be shown years later. Versions are never edited: a change is a new version.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime, enum_column
from dueprocess.demands.models import Demand


class VersionStatus(enum.StrEnum):
    """A version is proposed, then approved by a second person and active, or rejected.

    At most one version is active; activating one supersedes the previous.
    """

    PROPOSED = "proposed"
    ACTIVE = "active"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


class PolicyVersion(Base):
    """One version of the policy, with who wrote it, why, and who approved it."""

    __tablename__ = "policy_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    source_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[VersionStatus] = mapped_column(enum_column(VersionStatus))
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    approver: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PolicyEvaluation(Base):
    """The stance a policy version gave one demand, at one time, with its explanation."""

    __tablename__ = "policy_evaluation"
    __table_args__ = (Index("ix_policy_evaluation_demand_at", "demand_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("policy_version.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    stance: Mapped[str] = mapped_column(String(20))
    rule_id: Mapped[str | None] = mapped_column(String(100))
    condition: Mapped[str | None] = mapped_column(Text)
    explanation: Mapped[list[Any]] = mapped_column(JSON)

    demand: Mapped[Demand] = relationship()
