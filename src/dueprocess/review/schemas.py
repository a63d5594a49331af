"""Review's validated input and output: what the API takes and gives, and the pages read.

Every request that changes a demand carries the ``revision`` the caller last read
(``GET /api/v1/demands/{id}/review``): a demand that has moved since is refused (409) and
nothing changes, so two people acting on one demand never overwrite each other unseen.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dueprocess.review.models import Outcome, SignOffVerdict

Note = Annotated[str, StringConstraints(max_length=5000)]
Revision = Annotated[
    int,
    Field(
        ge=0,
        le=2**31 - 1,
        description="The demand's revision as last read; a stale one is refused with 409",
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RevisionIn(_In):
    """Claim or release: only the revision read."""

    revision: Revision


class AssignIn(_In):
    """Assign the demand to a colleague, by e-mail."""

    revision: Revision
    assignee: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]


class SendIn(_In):
    """Send the demand on to legal or human-rights review, saying why."""

    revision: Revision
    to: Literal["legal-review", "human-rights-review"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class DecisionIn(_In):
    """The decision on one target (see docs/review.md for ``narrowing``)."""

    target_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    outcome: Outcome
    narrowing: dict[str, Any] | None = Field(
        default=None,
        description="comply-narrowed only: what remains (data_categories, fields, "
        "period_start, period_end, items)",
        examples=[{"data_categories": ["subscriber"], "fields": ["email"]}],
    )
    refusal_reason: str | None = Field(default=None, description="refuse only: a reason code")
    note: Note = ""


class DecideIn(_In):
    """Decisions on some or all of the demand's targets."""

    revision: Revision
    decisions: Annotated[list[DecisionIn], Field(min_length=1, max_length=1000)]


class SubmitIn(_In):
    """Put the decisions forward with the reply to the requester (null: the generated one)."""

    revision: Revision
    reply: Annotated[str, StringConstraints(max_length=20000)] | None = None


class SignOffIn(_In):
    """The human-rights reviewer's verdict and reasons."""

    revision: Revision
    verdict: SignOffVerdict
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class ApprovalIn(_In):
    """Approve (or return) the submission whose ``digest`` was read, with a TOTP code."""

    revision: Revision
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=6, max_length=10)]
    approved: bool = True
    note: Note = ""


class TargetOut(BaseModel):
    """One target of the demand."""

    id: int
    type: str
    identifier: str


class DecisionOut(BaseModel):
    """A decision in force on one target."""

    target_id: int
    outcome: Outcome
    narrowing: dict[str, Any] | None
    refusal_reason: str | None
    note: str
    decided_by: str
    decided_at: datetime


class SubmissionOut(BaseModel):
    """The decisions and reply put forward, and the digest an approval must name."""

    id: int
    submitted_by: str
    submitted_at: datetime
    digest: str
    reply: str
    decisions: list[dict[str, Any]]


class SignOffOut(BaseModel):
    """A human-rights verdict."""

    verdict: SignOffVerdict
    note: str
    signed_by: str
    signed_at: datetime


class ReviewOut(BaseModel):
    """Where a demand stands in review, and what the next step needs."""

    demand_id: int
    status: str
    revision: int
    assignee: str | None
    stance: str | None
    human_rights_required: bool
    due_at: datetime | None
    urgency: str | None
    time_left: str | None
    penalty: str | None
    targets: list[TargetOut]
    decisions: list[DecisionOut]
    submission: SubmissionOut | None
    sign_offs: list[SignOffOut]
    reply_draft: str | None = Field(
        description="The reply the decisions in force would send, once every target is decided"
    )
    needs_approval: bool
