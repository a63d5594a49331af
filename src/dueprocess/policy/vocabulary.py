"""The words a policy uses (stances, kinds of demand, legal processes) and the checks of a
single value against them. A leaf module: the rules, the file format and the service all
build on it.
"""

from __future__ import annotations

import re
from enum import StrEnum

from dueprocess.jurisdictions import UnknownJurisdiction, normalise

KINDS: tuple[str, ...] = (
    "user-data",
    "preservation",
    "emergency-disclosure",
    "removal",
    "geo-restriction",
    "account-restriction",
    "decryption",
    "interception",
)
LEGAL_PROCESSES: tuple[str, ...] = (
    "subpoena",
    "court-order",
    "warrant",
    "emergency",
    "mlat",
    "administrative-order",
)
_KIND_SET = frozenset(KINDS)
_PROCESS_SET = frozenset(LEGAL_PROCESSES)

_AUTHORITY_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")


class Stance(StrEnum):
    """A policy's answer to a demand, before any person reviews it."""

    PROCESS = "process"
    PAUSE = "pause"
    REFUSE = "refuse"
    REDIRECT = "redirect"
    ESCALATE = "escalate"
    NO_SERVICE = "no-service"


STANCES = frozenset(Stance)

# What ``condition`` holds for each stance that must state one.
CONDITION_MEANING: dict[Stance, str] = {
    Stance.PAUSE: "the condition for lifting it",
    Stance.REFUSE: "the reason given to the requester",
    Stance.REDIRECT: "the route the requester must use instead",
    Stance.ESCALATE: "what the human-rights reviewer must assess",
}


def text_problem(value: str | None) -> str | None:
    """Why a given text field is unusable, or None. Absent (None) is not a problem here."""
    if value is not None and not value.strip():
        return "has no text"
    return None


def jurisdiction_problem(code: str) -> str | None:
    """Why ``code`` is not a canonical ISO 3166 code, or None."""
    try:
        canonical = normalise(code)
    except UnknownJurisdiction as exc:
        return str(exc)
    return None if canonical == code else f"write {code!r} as {canonical!r}"


def authority_problem(slug: str) -> str | None:
    """Why ``slug`` cannot be an authority slug (as the authority registry spells them)."""
    if _AUTHORITY_SLUG.match(slug):
        return None
    return f"authority {slug!r} is not a slug: lower-case letters, digits and '-', e.g. hkpf-nsd"


def kind_problem(kind: str) -> str | None:
    """Why ``kind`` is not a kind of demand, or None."""
    return None if kind in _KIND_SET else f"unknown kind {kind!r}: use one of {', '.join(KINDS)}"


def process_problem(process: str) -> str | None:
    """Why ``process`` is not a legal process, or None."""
    if process in _PROCESS_SET:
        return None
    return f"unknown legal process {process!r}: use one of {', '.join(LEGAL_PROCESSES)}"


def condition_problem(stance: Stance, condition: str | None) -> str | None:
    """Why a rule (or default) with ``stance`` lacks the condition it must state, or None."""
    meaning = CONDITION_MEANING.get(stance)
    if meaning is not None and (condition is None or not condition.strip()):
        return f"a {stance} needs a condition with text: {meaning}"
    return text_problem(condition)
