"""Review's tables: checklists and their answers, risk flags, the protected-accounts list,
per-target decisions, human-rights sign-offs, submissions and approvals.

What a queue filters and sorts on lives on the demand row itself (``assignee_id``,
``due_at``, ``human_rights_required``, ``revision``; :mod:`dueprocess.demands.models`), so
one index serves a queue page; everything else is here, one row per fact, never edited in
place where history matters (a changed decision is a new row; an approval is invalidated,
not deleted).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from dueprocess.clock import utcnow
from dueprocess.db import Base, UTCDateTime, enum_column


class ChecklistKind(enum.StrEnum):
    """Which review a checklist belongs to."""

    LEGAL = "legal"
    HUMAN_RIGHTS = "human-rights"


class ChecklistStatus(enum.StrEnum):
    """Like a policy version: proposed, then activated by a second person, or rejected.
    At most one version of each kind is active; activating one retires the previous."""

    PROPOSED = "proposed"
    ACTIVE = "active"
    RETIRED = "retired"
    REJECTED = "rejected"


class Answer(enum.StrEnum):
    """An answer to a checklist question."""

    YES = "yes"
    NO = "no"
    NOT_APPLICABLE = "not-applicable"


class ChecklistVersion(Base):
    """One version of one checklist. ``questions`` is a list of ``{"id", "text", "help",
    "required"}``; ids are stable across versions for a question that keeps its meaning."""

    __tablename__ = "checklist_version"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_checklist_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ChecklistKind] = mapped_column(enum_column(ChecklistKind))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[ChecklistStatus] = mapped_column(enum_column(ChecklistStatus))
    proposed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChecklistAnswer(Base):
    """The current answer to one question of one checklist version for one demand. A new
    answer to the same question replaces the row; the audit log keeps every answer."""

    __tablename__ = "checklist_answer"
    __table_args__ = (
        UniqueConstraint(
            "demand_id", "checklist_version_id", "question_id", name="uq_checklist_answer"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"))
    checklist_version_id: Mapped[int] = mapped_column(ForeignKey("checklist_version.id"))
    question_id: Mapped[str] = mapped_column(String(100))
    answer: Mapped[Answer] = mapped_column(enum_column(Answer))
    note: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FlagLevel(enum.StrEnum):
    """How much a flag should weigh with the reviewer. ``high`` makes human-rights review
    required."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class RiskFlag(Base):
    """A hint raised for a demand (or one of its targets), with the evidence that raised it:
    ``evidence`` is a list of ``{"what", "matched", "source"}`` (the words matched and where,
    or the facts compared). Recomputed flags replace the demand's earlier ones."""

    __tablename__ = "risk_flag"
    __table_args__ = (Index("ix_risk_flag_code_demand", "code", "demand_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    target_id: Mapped[int | None] = mapped_column(ForeignKey("target.id"))
    code: Mapped[str] = mapped_column(String(50))
    level: Mapped[FlagLevel] = mapped_column(enum_column(FlagLevel))
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProtectedCategory(enum.StrEnum):
    """Why an account is on the protected list."""

    JOURNALIST = "journalist"
    ACTIVIST = "activist"
    LAWYER = "lawyer"
    POLITICIAN = "politician"


class ProtectedAccount(Base):
    """An account staff keep on the list of journalists, activists, lawyers and politicians.
    Removing one sets ``removed_at``; rows are never deleted. Every change is audited."""

    __tablename__ = "protected_account"
    __table_args__ = (Index("ix_protected_account_handle", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handle: Mapped[str] = mapped_column(String(320))
    category: Mapped[ProtectedCategory] = mapped_column(enum_column(ProtectedCategory))
    note: Mapped[str] = mapped_column(Text, default="")
    added_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_by: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Outcome(enum.StrEnum):
    """A decision on one target."""

    COMPLY = "comply"
    COMPLY_NARROWED = "comply-narrowed"
    REFUSE = "refuse"
    NO_DATA = "no-data"


class TargetDecision(Base):
    """The decision on one target. A changed decision supersedes the row (``superseded_at``)
    rather than editing it, so what an approval approved can always be shown.

    ``narrowing``: for ``comply-narrowed``, what was cut, as ``{"data_categories": [...],
    "fields": [...], "period_start", "period_end", "items": [...]}`` (each optional; what
    remains must lie within what was asked). ``refusal_reason``: for ``refuse``, a code from
    :data:`dueprocess.review.decisions.REFUSAL_REASONS`."""

    __tablename__ = "target_decision"
    __table_args__ = (Index("ix_target_decision_demand", "demand_id", "superseded_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"))
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome))
    narrowing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    refusal_reason: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignOffVerdict(enum.StrEnum):
    """A human-rights reviewer's verdict."""

    NO_OBJECTION = "no-objection"
    BLOCK = "block"


class HumanRightsSignOff(Base):
    """A human-rights reviewer's verdict on a demand, with their reasons. The newest one
    counts; a block keeps the demand from approval."""

    __tablename__ = "human_rights_signoff"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    verdict: Mapped[SignOffVerdict] = mapped_column(enum_column(SignOffVerdict))
    note: Mapped[str] = mapped_column(Text)
    signed_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Submission(Base):
    """A reviewer's decisions on every target and the reply to the requester, put forward
    together: for approval, or as final when nothing is disclosed or restricted. ``digest``
    is the SHA-256 of ``decisions`` and ``reply`` in canonical form
    (:func:`dueprocess.review.decisions.digest`); an approval names the submission and
    digest it approved. A submission returned for changes is closed (``closed_at``) and a
    new one is made when the reviewer submits again."""

    __tablename__ = "review_submission"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decisions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    reply: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Approval(Base):
    """A second person's approval (or return for changes) of exactly one submission: the
    ``digest`` they saw, which must be the submission's. The approver made none of its
    decisions and confirmed with a TOTP code."""

    __tablename__ = "approval"

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), index=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("review_submission.id"))
    approved: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[int] = mapped_column(ForeignKey("account.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    digest: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")


#: ``tsvector`` on PostgreSQL (under a GIN index), its text form on SQLite.
SEARCH_TERMS = Text().with_variant(TSVECTOR(), "postgresql")


class DemandSearch(Base):
    """What the queues' search looks through for one demand (:mod:`dueprocess.review.search`):
    its reference, summary and targets folded (``text``), and their words (``terms``; NULL
    when there are too many, and the text alone decides). Written with the demand at intake,
    and never changed: those fields are fixed once received. A table of its own so that the
    demand's row, which every move and assignment rewrites, does not carry the index."""

    __tablename__ = "demand_search"
    __table_args__ = (
        Index("ix_demand_search_terms", "terms", postgresql_using="gin").ddl_if(
            dialect="postgresql"
        ),
        Index(
            "ix_demand_search_untermed", "demand_id", postgresql_where=text("terms IS NULL")
        ).ddl_if(dialect="postgresql"),
    )

    demand_id: Mapped[int] = mapped_column(ForeignKey("demand.id"), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    terms: Mapped[str | None] = mapped_column(SEARCH_TERMS)
