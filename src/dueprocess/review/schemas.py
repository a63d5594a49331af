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

    target_id: Annotated[int, Field(ge=1, le=2**31 - 1)]  # ids are PostgreSQL integers
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


# --- queues ----------------------------------------------------------------------------------

TotalIs = Literal["exact", "estimate", "lower-bound"]


class FlagTagOut(BaseModel):
    """A risk flag raised for a demand (its evidence is on the demand's review page)."""

    code: str
    level: str


class QueueRowOut(BaseModel):
    """One demand in a queue: what it is, when it is due and what missing that risks."""

    id: int
    revision: int = Field(description="Send it back with a bulk step (stale forms are refused)")
    reference: str | None
    jurisdiction: str
    authority: str
    kind: str
    legal_process: str
    emergency: bool
    received_at: datetime
    deadline: datetime | None = Field(description="The legal deadline the authority set")
    target_at: datetime = Field(description="The service's own target for this kind")
    due_at: datetime = Field(description="The earlier of the two: what the queue sorts by")
    urgency: Literal["overdue", "due-soon", "on-time"]
    time_left: str
    penalty: str | None
    assignee: str | None
    stance: str | None
    verification: str | None
    human_rights_required: bool
    flags: list[FlagTagOut]


class QueuePageOut(BaseModel):
    """A page of a queue, most urgent first (emergencies, then the earliest due, then id).

    ``next`` and ``prev`` are cursors for the ``after`` and ``before`` parameters (null:
    no page there). ``total`` counts the demands matching the filters: exactly when
    ``total_is`` is ``exact`` (up to ``exact_up_to``), beyond that PostgreSQL's estimate
    (``estimate``) or, on SQLite, a lower bound (``lower-bound``: more than ``total - 1``)."""

    queue: str
    status: str
    filters: dict[str, str] = Field(description="The filters applied, as understood")
    total: int
    total_is: TotalIs
    exact_up_to: int
    rows: list[QueueRowOut]
    next: str | None
    prev: str | None


class CountOut(BaseModel):
    """A count, exact or not as ``count_is`` says (as a queue page's ``total``)."""

    count: int
    count_is: TotalIs


class QueueSummaryOut(BaseModel):
    """One queue in the index: its status, who works it, and its counts."""

    queue: str
    status: str
    role: str
    waiting: CountOut
    overdue: CountOut
    due_soon: CountOut
    mine: CountOut = Field(description="Assigned to the caller")


class QueuesOut(BaseModel):
    """Every queue with its counts."""

    queues: list[QueueSummaryOut]
    exact_up_to: int


class BulkItemIn(_In):
    """A demand chosen for a bulk step, with the revision it was shown at."""

    id: Annotated[int, Field(ge=1, le=2**31 - 1)]
    revision: Revision


BulkItems = Annotated[list[BulkItemIn], Field(min_length=1, max_length=1000)]


class BulkAssignIn(_In):
    """Assign the demands to one colleague by e-mail, or to nobody (null: release them)."""

    demands: BulkItems
    assignee: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=320)]
        | None
    )


class BulkSendIn(_In):
    """Send the demands on to legal or human-rights review, saying why."""

    demands: BulkItems
    to: Literal["legal-review", "human-rights-review"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class BulkChangedOut(BaseModel):
    """A demand a bulk step changed, and the status it is in now."""

    demand_id: int
    status: str


class BulkOut(BaseModel):
    """What a bulk step did; ``unchanged``: demands already as asked, left alone."""

    changed: list[BulkChangedOut]
    unchanged: list[int]


class BulkRefusalOut(BaseModel):
    """Why one demand cannot take the step."""

    demand_id: int
    reason: str


class BulkRefusedOut(BaseModel):
    """Some demands cannot take the step (each named); none was changed."""

    detail: str
    refused: list[BulkRefusalOut]


class ReminderOut(BaseModel):
    """A deadline reminder due now (:class:`dueprocess.review.reminders.DueReminder`)."""

    demand: int
    reference: str | None
    authority: str
    status: str
    due_at: datetime
    reminder: str = Field(description="lead-<seconds> before the due time, or overdue")
    message: str
    penalty: str | None = Field(description="What the law threatens for missing it")
    to: str | None = Field(description="The assignee's e-mail; null: the queue's role")


class RemindersOut(BaseModel):
    """The reminders due at ``at``, earliest due first. Computed, not sent: nothing marks
    them as sent yet (docs/review.md, "Deadlines")."""

    at: datetime
    reminders: list[ReminderOut]
