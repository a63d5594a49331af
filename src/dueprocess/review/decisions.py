"""The rules of a decision, as pure functions: what a narrowing may cut, which refusal reasons
exist, what a set of target decisions means for the demand, whether it needs a second
person's approval, whether it contradicts the jurisdiction's stance, and the digest an
approval signs. No database, no clock: :mod:`dueprocess.review.service` applies them.

A narrowing is recorded as **what remains** to be produced, field by field, so that it can
be checked against what was asked: ``data_categories`` (a non-empty subset of the demand's),
``period_start``/``period_end`` (inside the demand's period, or any bounded period if the
demand stated none), ``fields`` (names from :data:`FIELDS` of the remaining categories) and
``items`` (specific content references; any list is narrower than "everything"). A key left
out keeps what was asked. A narrowing that keeps everything is refused: that is ``comply``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from dueprocess.clock import isoformat_z
from dueprocess.demands.models import DataCategory, DemandKind
from dueprocess.errors import FieldError
from dueprocess.review.models import Outcome

#: Why a target may be refused: code -> what the reviewer and the requester read.
REFUSAL_REASONS: dict[str, str] = {
    "not-in-writing": "the demand was not made in writing through a verifiable channel",
    "not-competent": "it was not issued or signed by an official competent to issue it",
    "no-legal-basis": "it cites no valid legal basis, or the basis does not cover what is asked",
    "no-jurisdiction": "the authority has no jurisdiction over the service or the user",
    "process-insufficient": "the legal process is not sufficient for the data asked "
    "(e.g. content without a warrant)",
    "overbroad": "it asks for more than its stated purpose needs",
    "human-rights": "complying would risk the user's rights to expression, privacy, liberty "
    "or safety out of proportion to the stated aim",
    "policy-stance": "the service's policy for this jurisdiction does not allow it",
    "mlat-required": "it must come through mutual legal assistance (MLAT) instead",
    "emergency-not-verified": "the emergency could not be verified with the authority",
    "not-our-user": "the target is not an account or content on this service",
    "other": "another reason, stated in the note",
}

#: Fields a narrowing may keep, per data category (what a production would contain).
FIELDS: dict[DataCategory, tuple[str, ...]] = {
    DataCategory.SUBSCRIBER: ("name", "email", "phone", "signup-ip", "created-at"),
    DataCategory.TRAFFIC: ("login-ips", "login-times", "devices"),
    DataCategory.CONTENT: ("posts", "messages", "media", "contacts"),
}

#: Kinds whose compliance discloses user data; :data:`RESTRICTING` restrict content or
#: accounts. Compliance with either needs a second person's approval.
DISCLOSING: frozenset[DemandKind] = frozenset(
    {
        DemandKind.USER_DATA,
        DemandKind.EMERGENCY_DISCLOSURE,
        DemandKind.DECRYPTION,
        DemandKind.INTERCEPTION,
    }
)
RESTRICTING: frozenset[DemandKind] = frozenset(
    {DemandKind.REMOVAL, DemandKind.GEO_RESTRICTION, DemandKind.ACCOUNT_RESTRICTION}
)

#: Stances under which nothing may be produced or restricted.
HOLDING_STANCES = frozenset({"pause", "refuse", "redirect", "no-service"})

COMPLYING = frozenset({Outcome.COMPLY, Outcome.COMPLY_NARROWED})


@dataclass(frozen=True)
class Asked:
    """What a demand asked for, as far as a narrowing is checked against it."""

    kind: DemandKind
    data_categories: frozenset[DataCategory]
    period_start: datetime | None
    period_end: datetime | None


def _time(value: object, loc: tuple[str | int, ...], errors: list[FieldError]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            errors.append(FieldError(loc, f"{value!r} is not a date and time (ISO 8601)"))
            return None
    else:
        errors.append(FieldError(loc, "must be a date and time (ISO 8601)"))
        return None
    if parsed.tzinfo is None:
        errors.append(FieldError(loc, f"{value!r} has no timezone: add one (e.g. Z or +08:00)"))
        return None
    return parsed


def _strings(value: object, loc: tuple[str | int, ...], errors: list[FieldError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        errors.append(FieldError(loc, "must be a list of non-empty strings"))
        return []
    if not value:
        errors.append(FieldError(loc, "must keep at least one (refuse the target instead)"))
    return [v.strip() for v in value]


def check_narrowing(
    asked: Asked, narrowing: Mapping[str, Any], loc: tuple[str | int, ...] = ("narrowing",)
) -> tuple[dict[str, Any], list[FieldError]]:
    """The narrowing in normal form (times in UTC ISO 8601, lists sorted) and every problem
    with it: an unknown key, a category, field or period outside what was asked, an empty
    list, a period that ends before it starts, or nothing cut at all."""
    errors: list[FieldError] = []
    unknown = sorted(
        set(narrowing) - {"data_categories", "fields", "period_start", "period_end", "items"}
    )
    for key in unknown:
        errors.append(
            FieldError(
                (*loc, key),
                "unknown: narrow by data_categories, fields, period_start, period_end or items",
            )
        )
    normal: dict[str, Any] = {}
    cut = False
    categories = asked.data_categories
    if "data_categories" in narrowing:
        kept = _strings(narrowing["data_categories"], (*loc, "data_categories"), errors)
        chosen: set[DataCategory] = set()
        for name in kept:
            try:
                category = DataCategory(name)
            except ValueError:
                errors.append(FieldError((*loc, "data_categories"), f"unknown category {name!r}"))
                continue
            if category not in asked.data_categories:
                errors.append(
                    FieldError(
                        (*loc, "data_categories"),
                        f"{name} was not asked for: a narrowing can only keep less than was asked",
                    )
                )
            chosen.add(category)
        categories = frozenset(chosen) & asked.data_categories
        cut = cut or categories < asked.data_categories
        normal["data_categories"] = sorted(c.value for c in categories)
    if "fields" in narrowing:
        fields = _strings(narrowing["fields"], (*loc, "fields"), errors)
        allowed = {f for c in categories for f in FIELDS[c]}
        for name in fields:
            if name not in allowed:
                errors.append(
                    FieldError(
                        (*loc, "fields"),
                        f"{name!r} is not a field of the categories kept "
                        f"({', '.join(sorted(allowed)) or 'none'})",
                    )
                )
        cut = cut or set(fields) < allowed
        normal["fields"] = sorted(set(fields))
    start = _time(narrowing.get("period_start"), (*loc, "period_start"), errors)
    end = _time(narrowing.get("period_end"), (*loc, "period_end"), errors)
    if start is not None:
        if asked.period_start is not None and start < asked.period_start:
            errors.append(
                FieldError(
                    (*loc, "period_start"),
                    f"starts before the period asked ({isoformat_z(asked.period_start)}): "
                    "a narrowing can only shorten it",
                )
            )
        cut = cut or asked.period_start is None or start > asked.period_start
        normal["period_start"] = isoformat_z(start)
    if end is not None:
        if asked.period_end is not None and end > asked.period_end:
            errors.append(
                FieldError(
                    (*loc, "period_end"),
                    f"ends after the period asked ({isoformat_z(asked.period_end)}): "
                    "a narrowing can only shorten it",
                )
            )
        cut = cut or asked.period_end is None or end < asked.period_end
        normal["period_end"] = isoformat_z(end)
    if start is not None and end is not None and end <= start:
        errors.append(FieldError((*loc, "period_end"), "must be after period_start"))
    if "items" in narrowing:
        normal["items"] = sorted(set(_strings(narrowing["items"], (*loc, "items"), errors)))
        cut = True
    if not errors and not cut:
        errors.append(FieldError(loc, "cuts nothing from what was asked: decide comply instead"))
    return normal, errors


@dataclass(frozen=True)
class Proposed:
    """A decision on one target as a reviewer gives it (checked by :func:`check_decision`)."""

    target_id: int
    outcome: Outcome
    narrowing: Mapping[str, Any] | None = None
    refusal_reason: str | None = None
    note: str = ""


def check_decision(
    asked: Asked, proposed: Proposed, stance: str | None, loc: tuple[str | int, ...] = ()
) -> tuple[dict[str, Any] | None, list[FieldError]]:
    """The normal form of ``proposed``'s narrowing (None unless ``comply-narrowed``) and every
    problem: a narrowing on another outcome or missing on ``comply-narrowed``, a refusal
    without a known reason (or ``other`` without a note), compliance the stance forbids."""
    errors: list[FieldError] = []
    narrowing: dict[str, Any] | None = None
    if proposed.outcome is Outcome.COMPLY_NARROWED:
        if not proposed.narrowing:
            errors.append(FieldError((*loc, "narrowing"), "say what remains after narrowing"))
        else:
            narrowing, problems = check_narrowing(asked, proposed.narrowing, (*loc, "narrowing"))
            errors.extend(problems)
    elif proposed.narrowing:
        errors.append(
            FieldError((*loc, "narrowing"), f"only comply-narrowed narrows, not {proposed.outcome}")
        )
    if proposed.outcome is Outcome.REFUSE:
        if proposed.refusal_reason not in REFUSAL_REASONS:
            errors.append(
                FieldError(
                    (*loc, "refusal_reason"),
                    f"give one of: {', '.join(REFUSAL_REASONS)}",
                )
            )
        elif proposed.refusal_reason == "other" and not proposed.note.strip():
            errors.append(FieldError((*loc, "note"), "say why in the note (reason: other)"))
    elif proposed.refusal_reason is not None:
        errors.append(FieldError((*loc, "refusal_reason"), "only a refusal has a reason"))
    if proposed.outcome in COMPLYING and stance in HOLDING_STANCES:
        errors.append(
            FieldError(
                (*loc, "outcome"),
                f"the active policy's stance on this demand is {stance}: nothing may be "
                "produced or restricted while it holds (refuse, or wait for the policy)",
            )
        )
    return narrowing, errors


def demand_outcome(outcomes: Iterable[Outcome]) -> str:
    """The demand's outcome from its targets': ``complied`` (every target in full),
    ``partly-complied`` (some produced or restricted, not all in full), ``no-data`` (nothing
    found for any), or ``refused`` (nothing produced, at least one refused)."""
    seen = list(outcomes)
    if not seen:
        raise ValueError("a demand's outcome needs at least one target decision")
    if any(o in COMPLYING for o in seen):
        return "complied" if all(o is Outcome.COMPLY for o in seen) else "partly-complied"
    if all(o is Outcome.NO_DATA for o in seen):
        return "no-data"
    return "refused"


def needs_approval(kind: DemandKind, outcomes: Iterable[Outcome]) -> bool:
    """Whether these decisions disclose user data or restrict content or accounts, and so
    need an approver who made none of them."""
    return (kind in DISCLOSING or kind in RESTRICTING) and any(o in COMPLYING for o in outcomes)


def digest(decisions: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the decisions in canonical form (sorted keys, by target): what an approval
    records it approved. Each decision: ``target_id``, ``outcome``, ``narrowing``,
    ``refusal_reason``, ``note``."""
    keys = ("target_id", "outcome", "narrowing", "refusal_reason", "note")
    rows: list[dict[str, Any]] = [{k: d.get(k) for k in keys} for d in decisions]
    rows.sort(key=lambda d: int(d["target_id"]))
    return hashlib.sha256(orjson.dumps(rows, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True, slots=True)
class Consequence:
    """An action a standing decision causes: ``kind`` is an
    :class:`~dueprocess.actions.models.ActionKind` value, ``payload`` what the handler does."""

    kind: str
    target_id: int
    payload: dict[str, Any]


def consequences(
    kind: DemandKind,
    jurisdiction: str,
    data_categories: Iterable[str],
    period: tuple[datetime | None, datetime | None],
    decisions: Sequence[Mapping[str, Any]],
    identifiers: Mapping[int, str],
) -> list[Consequence]:
    """What must happen for decisions that stand: a production of each complied target's
    data (disclosing kinds), in the scope left after narrowing; a restriction of each
    complied target (restricting kinds). Refusals and "no data" cause nothing here.

    A restriction withholds the item (a post, or an account) in the demand's country only
    (``HK`` for ``HK``, ``US`` for ``US-CA``), as services answer a country's order under
    its law; a global removal is a decision on the service's own terms, not this order's,
    and is not made here."""
    country = jurisdiction.split("-")[0]
    start, end = period
    out: list[Consequence] = []
    for d in decisions:
        if Outcome(d["outcome"]) not in COMPLYING:
            continue
        target = int(d["target_id"])
        narrowing: Mapping[str, Any] = d.get("narrowing") or {}
        if kind in DISCLOSING:
            out.append(
                Consequence(
                    "produce",
                    target,
                    {
                        "target": identifiers[target],
                        "data_categories": list(
                            narrowing.get("data_categories", sorted(data_categories))
                        ),
                        "fields": narrowing.get("fields"),
                        "period_start": narrowing.get(
                            "period_start", isoformat_z(start) if start else None
                        ),
                        "period_end": narrowing.get(
                            "period_end", isoformat_z(end) if end else None
                        ),
                        "items": narrowing.get("items"),
                    },
                )
            )
        elif kind in RESTRICTING:
            out.append(
                Consequence(
                    "restrict",
                    target,
                    {
                        "target": identifiers[target],
                        "restriction": "withhold",
                        "jurisdictions": [country],
                    },
                )
            )
    return out
