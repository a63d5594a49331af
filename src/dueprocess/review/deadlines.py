"""Deadlines as pure functions: when a demand is due, how urgent it is now, the penalty the
law threatens for missing it, and which reminders are due.

A demand has up to two clocks: the **legal deadline** the authority set (``deadline``), and
the service's own **target** for its kind (:data:`SERVICE_TARGETS`: how fast the service
means to answer, deadline or not). It is **due** at the earlier of the two, and queues sort
by that (emergencies first). Nothing here reads a clock: ``now`` is always given.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from dueprocess.demands.models import DemandKind, LegalProcess

#: The service's own target per kind: answered within this of receipt. Emergencies in
#: hours, because a life may depend on them; restrictions in days, as the EU's DSA expects
#: orders to be acted on "without undue delay"; disclosures in two weeks.
SERVICE_TARGETS: dict[DemandKind, timedelta] = {
    DemandKind.EMERGENCY_DISCLOSURE: timedelta(hours=4),
    DemandKind.PRESERVATION: timedelta(days=2),
    DemandKind.REMOVAL: timedelta(days=3),
    DemandKind.GEO_RESTRICTION: timedelta(days=3),
    DemandKind.ACCOUNT_RESTRICTION: timedelta(days=3),
    DemandKind.USER_DATA: timedelta(days=14),
    DemandKind.DECRYPTION: timedelta(days=14),
    DemandKind.INTERCEPTION: timedelta(days=14),
}

#: Before the due time, reminders go out this long ahead (and once when it has passed).
REMINDER_LEADS: tuple[timedelta, ...] = (timedelta(days=3), timedelta(days=1), timedelta(hours=4))

#: "Due soon" in the queues: within this of the due time, or within the last quarter of the
#: time from receipt to it, whichever is shorter (so a 4-hour emergency is due soon after 3).
DUE_SOON = timedelta(days=2)

#: Penalties a jurisdiction's law threatens for not complying, used when a demand states
#: none: (jurisdiction, words its legal basis contains) -> the penalty.
KNOWN_PENALTIES: tuple[tuple[str, str, str], ...] = (
    (
        "HK",
        "article 43",
        "a fine of HK$100,000 and imprisonment for six months (Implementation Rules for "
        "Article 43 of the National Security Law, Schedules 4 and 5)",
    ),
)


def service_target(kind: DemandKind) -> timedelta:
    """The service's own target for answering a demand of ``kind``."""
    return SERVICE_TARGETS[kind]


def is_emergency(kind: DemandKind, legal_process: LegalProcess) -> bool:
    """Whether a demand goes to the head of every queue."""
    return kind is DemandKind.EMERGENCY_DISCLOSURE or legal_process is LegalProcess.EMERGENCY


def due_at(received_at: datetime, deadline: datetime | None, kind: DemandKind) -> datetime:
    """When the demand is due: the earlier of its legal deadline and the service's target."""
    target = received_at + service_target(kind)
    return target if deadline is None else min(deadline, target)


class Urgency(enum.StrEnum):
    """Where a demand stands against its due time."""

    OVERDUE = "overdue"
    DUE_SOON = "due-soon"
    ON_TIME = "on-time"


def urgency(received_at: datetime, due: datetime, now: datetime) -> Urgency:
    """``overdue`` once ``due`` has passed; ``due-soon`` within :data:`DUE_SOON` of it or in
    the last quarter of its window, whichever comes later; else ``on-time``."""
    if now >= due:
        return Urgency.OVERDUE
    window = max(due - received_at, timedelta(0))
    soon = min(DUE_SOON, window / 4)
    return Urgency.DUE_SOON if due - now <= soon else Urgency.ON_TIME


def time_left(due: datetime, now: datetime) -> str:
    """``3 d 4 h left``, ``2 h 5 min left``, or ``overdue by 1 d 2 h``: for queue rows."""
    delta = due - now
    late = delta < timedelta(0)
    seconds = int(abs(delta).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes} min"
    else:
        text = f"{minutes} min"
    return f"overdue by {text}" if late else f"{text} left"


def penalty(stated: str | None, jurisdiction: str, legal_basis: str) -> str | None:
    """The penalty to show: the one the demand states, else one the jurisdiction's law is
    known to threaten for the legal basis it cites (:data:`KNOWN_PENALTIES`), else None."""
    if stated:
        return stated
    basis = legal_basis.casefold()
    for where, words, known in KNOWN_PENALTIES:
        if jurisdiction.split("-")[0] == where and words in basis:
            return known
    return None


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder that is due: ``key`` identifies it (one per lead time, and ``overdue``) so
    a sender can tell which it already sent."""

    key: str
    at: datetime
    message: str


def reminders_due(
    due: datetime, now: datetime, sent: frozenset[str] = frozenset()
) -> list[Reminder]:
    """The reminder due by ``now`` that is not in ``sent``, if any: before ``due``, the one
    for the shortest of :data:`REMINDER_LEADS` whose time has come (a demand that arrives 2
    hours before its deadline gets the 4-hour reminder once, not three at once); after it,
    one ``overdue`` reminder."""
    if now >= due:
        return [] if "overdue" in sent else [Reminder("overdue", due, "the deadline has passed")]
    passed = [lead for lead in REMINDER_LEADS if due - lead <= now]
    if not passed:
        return []
    lead = min(passed)
    key = f"lead-{int(lead.total_seconds())}"
    if key in sent:
        return []
    at = due - lead
    return [Reminder(key, at, f"due in {time_left(due, at).removesuffix(' left')}")]
