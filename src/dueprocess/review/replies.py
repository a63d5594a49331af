"""The reply to the requester, written from the decisions: what was decided for each
target, what a narrowing cut and why, and why a refusal. Pure: the reviewer reads it, may
edit it, and submits it with the decisions; the approver approves both together.

Notes on decisions are the reviewers' own and never go into a reply: a refusal is explained
by its reason's public wording (:data:`dueprocess.review.decisions.REFUSAL_REASONS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dueprocess.demands.models import DemandKind
from dueprocess.review.decisions import DISCLOSING, REFUSAL_REASONS, RESTRICTING
from dueprocess.review.models import Outcome

_FULL = {
    "disclose": "we will provide the data asked for",
    "restrict": "we will act on it as asked",
    "preserve": "we will preserve the data asked for",
}


@dataclass(frozen=True)
class TargetLine:
    """One target and the decision on it, as the reply describes them."""

    label: str  # "@handle" or the content's URL
    outcome: Outcome
    narrowing: Mapping[str, Any] | None
    refusal_reason: str | None


def _verb(kind: DemandKind) -> str:
    if kind in DISCLOSING:
        return "disclose"
    if kind in RESTRICTING:
        return "restrict"
    return "preserve"


def _kept(narrowing: Mapping[str, Any]) -> str:
    parts = []
    if "data_categories" in narrowing:
        parts.append(f"{' and '.join(narrowing['data_categories'])} data only")
    if "fields" in narrowing:
        parts.append(f"these fields only: {', '.join(narrowing['fields'])}")
    start, end = narrowing.get("period_start"), narrowing.get("period_end")
    if start and end:
        parts.append(f"from {start[:10]} to {end[:10]}")
    elif start:
        parts.append(f"from {start[:10]} on")
    elif end:
        parts.append(f"up to {end[:10]}")
    if "items" in narrowing:
        parts.append(f"these items only: {', '.join(narrowing['items'])}")
    return "; ".join(parts)


def _line(kind: DemandKind, target: TargetLine) -> str:
    verb = _verb(kind)
    if target.outcome is Outcome.COMPLY:
        return f"- {target.label}: {_FULL[verb]}."
    if target.outcome is Outcome.COMPLY_NARROWED:
        kept = _kept(target.narrowing or {})
        return (
            f"- {target.label}: {_FULL[verb]} in part ({kept}). The rest is more than the "
            "request's stated purpose needs, and we will not provide it."
        )
    if target.outcome is Outcome.NO_DATA:
        return f"- {target.label}: we found no data for it."
    reason = REFUSAL_REASONS.get(target.refusal_reason or "", "")
    return f"- {target.label}: we will not act on it: {reason}."


def decision_reply(
    *,
    kind: DemandKind,
    reference: str | None,
    received_at: datetime,
    targets: Sequence[TargetLine],
) -> str:
    """The reply's text: one line per target, in the demand's order."""
    which = f"your request {reference}" if reference else "your request"
    head = f"We have reviewed {which} received on {received_at:%Y-%m-%d}. For each item named:"
    lines = [_line(kind, t) for t in targets]
    tail = (
        "If you believe a refusal is mistaken, reply with the legal basis that covers what "
        "was refused; a new request is reviewed afresh."
    )
    if any(t.outcome is Outcome.REFUSE for t in targets):
        return "\n".join([head, *lines, "", tail])
    return "\n".join([head, *lines])
