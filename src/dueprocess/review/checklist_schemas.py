"""Validated input and output of checklists (API bodies, CLI ``--json``, page data).

Times are UTC. ``proposed_by`` and ``decided_by`` name people by e-mail (``None`` for the
defaults shipped with dueprocess, installed by the service itself).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dueprocess.review.checklist_file import MAX_CHARS, Question
from dueprocess.review.models import Answer, ChecklistKind, ChecklistStatus

MAX_NOTE = 5000
MAX_REASON = 2000


class QuestionOut(BaseModel):
    """One question of a checklist version."""

    id: str
    text: str
    help: str
    required: bool

    @classmethod
    def of(cls, question: Question) -> QuestionOut:
        """The output form of ``question``."""
        return cls(
            id=question.id, text=question.text, help=question.help, required=question.required
        )


class VersionOut(BaseModel):
    """One version of a checklist, with its questions."""

    id: int = Field(description="The version's id: what an answer names as `version_id`.")
    kind: ChecklistKind
    version: int = Field(description="1, 2, ... within its kind.")
    title: str
    status: ChecklistStatus
    reason: str
    questions: list[QuestionOut]
    sha256: str = Field(
        description="SHA-256 of the content's canonical JSON, as its audit events record it."
    )
    proposed_by: str | None = Field(description="E-mail; null for a default shipped with it.")
    proposed_at: datetime
    decided_by: str | None = Field(description="Who approved (activated) or rejected it.")
    decided_at: datetime | None


class ProposeIn(BaseModel):
    """A proposed version: the checklist file's text, and why it is proposed."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(max_length=MAX_CHARS, description="The checklist file (YAML).")
    reason: str = Field(max_length=MAX_REASON, description="Why this version is proposed.")
    source_name: str = Field(
        default="<checklist>", max_length=200, description="A file name for problems' lines."
    )


class RejectIn(BaseModel):
    """Why a proposed version is rejected."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(max_length=MAX_REASON)


class ActivationOut(BaseModel):
    """A version approved and active, and the one it retired (None if none was active)."""

    version: VersionOut
    retired: int | None = Field(description="The id of the version it replaced.")


class AnswerIn(BaseModel):
    """An answer to one question of the active version of a checklist."""

    model_config = ConfigDict(extra="forbid")

    version_id: int = Field(
        ge=1,
        le=2_147_483_647,
        description="The checklist version the question was read from: an answer to a retired "
        "version is refused (409), so nobody answers a question whose text has changed.",
    )
    question: str = Field(max_length=100, description="The question's id.")
    answer: Answer
    note: str = Field(
        max_length=MAX_NOTE, description="Required: what you checked, and why you answered so."
    )


class AnswerOut(BaseModel):
    """The answer that counts for one question, and where it came from."""

    answer: Answer
    note: str
    answered_by: str = Field(description="E-mail of the person who answered.")
    answered_at: datetime
    version_id: int = Field(description="The version it was given to.")
    version: int
    carried_over: bool = Field(
        description="Given to an earlier version whose question had the same id and text."
    )


class ItemOut(BaseModel):
    """A question and the answer that counts for it (None: not answered)."""

    question: QuestionOut
    answer: AnswerOut | None


class DemandChecklistOut(BaseModel):
    """One demand's checklist of one kind: the active version's questions, the answers that
    count, and what is still missing."""

    demand_id: int
    demand_status: str
    kind: ChecklistKind
    version_id: int
    version: int
    title: str
    items: list[ItemOut]
    missing_required: list[str] = Field(description="Ids of required questions not answered.")
    complete: bool = Field(description="Every required question is answered.")
    answerable: bool = Field(
        description="The demand is in the review this checklist belongs to, so it can be "
        "answered now (by a holder of `answer_permission`)."
    )
    why_not: str | None = Field(description="Why it cannot be answered now, when it cannot.")
    answer_permission: str
