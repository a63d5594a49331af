"""Validated input and output of demands.

:class:`DemandIn` is what every channel submits (API, portal, staff entry, import, demo);
:class:`DemandOut` is what ``GET /api/v1/demands/{id}`` and ``demand show --json`` print.
``DemandOut`` is accepted back as ``DemandIn``: its server-assigned fields are dropped on
input (listed in :data:`READ_ONLY_FIELDS`), while any other unknown field is refused, so a
misspelt ``deadlne`` is an error rather than a silently missing deadline.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from dueprocess import jurisdictions
from dueprocess.clock import Instant, as_utc
from dueprocess.demands.models import (
    Channel,
    DataCategory,
    DemandKind,
    DemandStatus,
    LegalProcess,
    TargetType,
)
from dueprocess.errors import FieldError

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=20_000)]

#: Fields that ``DemandOut`` has and ``DemandIn`` ignores (assigned by the server).
READ_ONLY_FIELDS = frozenset({"id", "status", "created_at", "authority_name", "officer_id"})

_Ignored = Annotated[SkipJsonSchema[Any], Field(exclude=True, repr=False)]

# An account handle on the service (``@name`` or ``name``) or a numeric account id.
_ACCOUNT_RE = re.compile(r"^@?[A-Za-z0-9_.\-]{1,64}$")
# A content item: a URL on the service, or ``post:<id>``.
_CONTENT_RE = re.compile(r"^(https?://[^\s/$.?#][^\s]{2,2000}|post:[A-Za-z0-9_\-]{1,64})$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


class Strict(BaseModel):
    """Unknown fields are errors; strings are stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LegalBasis(Strict):
    """The instrument and the article of it the demand relies on."""

    instrument: Text = Field(
        description="The law or rules, e.g. 'Implementation Rules for Article 43'",
        examples=["Implementation Rules for Article 43 of the National Security Law"],
    )
    article: Text = Field(description="The article or schedule relied on", examples=["Schedule 4"])


class TargetIn(Strict):
    """One account (``@handle``) or content item (URL or ``post:ID``) the demand names."""

    type: TargetType
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    note: LongText | None = None

    @model_validator(mode="after")
    def _check_form(self) -> Self:
        pattern = _ACCOUNT_RE if self.type is TargetType.ACCOUNT else _CONTENT_RE
        if not pattern.match(self.id):
            form = (
                "an account handle such as @name (letters, digits, _ . -)"
                if self.type is TargetType.ACCOUNT
                else "a content URL (https://...) or post:ID"
            )
            raise ValueError(f"{self.type.value} target {self.id!r} is not {form}")
        return self


class GagOrder(Strict):
    """A lawful order forbidding notice to the user, until ``until`` (None: no end date)."""

    basis: Text = Field(description="The order or law that forbids notifying the user")
    until: Instant | None = None


class DocumentIn(Strict):
    """A document sent inline (base64), or a reference by SHA-256 to one already stored."""

    filename: Annotated[str, StringConstraints(strip_whitespace=True, max_length=255)] = "document"
    media_type: str | None = None
    content_base64: str | None = None
    sha256: str | None = None
    size: int | None = Field(default=None, description="ignored on input")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.content_base64 is None) == (self.sha256 is None):
            raise ValueError("give exactly one of content_base64 or sha256")
        if self.sha256 is not None and not _SHA256_RE.match(self.sha256):
            raise ValueError("sha256 must be 64 lower-case hexadecimal characters")
        return self


class DemandIn(Strict):
    """A demand as submitted. Times must carry a timezone; they are stored in UTC."""

    authority: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    jurisdiction: str = Field(description="ISO 3166-1 alpha-2 (HK) or subdivision (US-CA)")
    reference: Text | None = Field(default=None, description="The authority's own reference")
    kind: DemandKind
    legal_process: LegalProcess
    legal_basis: LegalBasis
    summary: LongText = ""
    data_categories: list[DataCategory] = Field(default_factory=list)
    period_start: Instant | None = None
    period_end: Instant | None = None
    received_at: Instant | None = Field(
        default=None, description="When the service received it; defaults to now"
    )
    deadline: Instant | None = None
    penalty: LongText | None = Field(
        default=None, description="What the law threatens for missing the deadline"
    )
    gag_order: GagOrder | None = None
    emergency_justification: LongText | None = None
    targets: list[TargetIn] = Field(min_length=1, max_length=1000)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)
    channel: Channel | None = Field(
        default=None, description="Set by the server for portal and API; staff entry may name it"
    )
    sender: Annotated[str, StringConstraints(strip_whitespace=True, max_length=320)] | None = None
    idempotency_key: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    confirmed_new: StrictBool = Field(
        default=False,
        description="A demand that repeats an earlier one from the same authority (the same "
        "reference, or the same content within 30 days) is refused as a repeat unless this is "
        "true: the submitter confirms it is a new demand all the same",
    )

    # The fields of READ_ONLY_FIELDS: accepted, ignored, left out of dumps and of the schema.
    # Declared rather than dropped by a "before" validator, which made pydantic build every
    # item of a JSON batch as Python objects first (twice the cost of validating it).
    id: _Ignored = None
    status: _Ignored = None
    created_at: _Ignored = None
    authority_name: _Ignored = None
    officer_id: _Ignored = None

    @field_validator("jurisdiction")
    @classmethod
    def _known_jurisdiction(cls, value: str) -> str:
        return jurisdictions.normalise(value)

    @field_validator("authority")
    @classmethod
    def _slug(cls, value: str) -> str:
        return value.lower()

    def consistency_errors(self) -> list[FieldError]:
        """Problems that involve more than one field, each named by its own field.

        Kept out of pydantic's validators so that every problem gets its own location
        instead of one message for the whole body.
        """
        problems: list[FieldError] = []
        received = self.received_at
        if received is not None:
            if self.deadline is not None and as_utc(self.deadline) <= as_utc(received):
                problems.append(FieldError(("deadline",), "must be after received_at"))
            gag = self.gag_order
            if gag is not None and gag.until is not None and as_utc(gag.until) <= as_utc(received):
                problems.append(FieldError(("gag_order", "until"), "must be after received_at"))
        if (
            self.period_start is not None
            and self.period_end is not None
            and self.period_end < self.period_start
        ):
            problems.append(FieldError(("period_end",), "must not be before period_start"))
        if self.kind is DemandKind.USER_DATA and not self.data_categories:
            problems.append(
                FieldError(("data_categories",), "a user-data demand must name at least one")
            )
        if self.kind is DemandKind.EMERGENCY_DISCLOSURE and not self.emergency_justification:
            problems.append(
                FieldError(
                    ("emergency_justification",), "an emergency disclosure must state the emergency"
                )
            )
        seen: set[tuple[str, str]] = set()
        for i, target in enumerate(self.targets):
            key = (target.type.value, target.id)
            if key in seen:
                problems.append(
                    FieldError(("targets", i), f"{target.type.value} {target.id!r} is named twice")
                )
            seen.add(key)
        return problems


class DocumentOut(BaseModel):
    """A stored document: its hash identifies the bytes in the document store."""

    filename: str
    media_type: str
    sha256: str
    size: int


class TargetOut(BaseModel):
    """A target as stored."""

    type: TargetType
    id: str
    note: str | None = None


class DemandOut(BaseModel):
    """A demand as stored; accepted back by ``DemandIn`` (read-only fields are dropped)."""

    id: int
    status: DemandStatus
    authority: str
    authority_name: str
    jurisdiction: str
    reference: str | None
    kind: DemandKind
    legal_process: LegalProcess
    legal_basis: LegalBasis
    summary: str
    data_categories: list[DataCategory]
    period_start: datetime | None
    period_end: datetime | None
    received_at: datetime
    deadline: datetime | None
    penalty: str | None
    gag_order: GagOrder | None
    emergency_justification: str | None
    targets: list[TargetOut]
    documents: list[DocumentOut]
    channel: Channel
    sender: str | None
    idempotency_key: str | None
    created_at: datetime


class DemandSummary(BaseModel):
    """One line of a demand list."""

    id: int
    status: DemandStatus
    authority: str
    jurisdiction: str
    kind: DemandKind
    legal_process: LegalProcess
    received_at: datetime
    deadline: datetime | None
    targets: int


class SubmitResult(BaseModel):
    """What submission answers: the demand, and whether this call created it."""

    created: bool
    demand: DemandOut
