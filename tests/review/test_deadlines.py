"""Deadlines: due at the earlier of the legal deadline and the service's target; urgency,
time left, the penalty shown, and reminders, all from a given ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dueprocess.demands.models import DemandKind, LegalProcess
from dueprocess.review import deadlines
from dueprocess.review.deadlines import Urgency

RECEIVED = datetime(2020, 7, 7, 1, 30, tzinfo=UTC)


def test_every_kind_has_a_service_target() -> None:
    assert set(deadlines.SERVICE_TARGETS) == set(DemandKind)


def test_due_at_is_the_earlier_of_deadline_and_target() -> None:
    tomorrow = RECEIVED + timedelta(days=1)
    assert deadlines.due_at(RECEIVED, tomorrow, DemandKind.USER_DATA) == tomorrow
    assert deadlines.due_at(RECEIVED, None, DemandKind.USER_DATA) == RECEIVED + timedelta(days=14)
    assert deadlines.due_at(
        RECEIVED, tomorrow, DemandKind.EMERGENCY_DISCLOSURE
    ) == RECEIVED + timedelta(hours=4)


def test_emergencies_are_by_kind_or_by_process() -> None:
    assert deadlines.is_emergency(DemandKind.EMERGENCY_DISCLOSURE, LegalProcess.SUBPOENA)
    assert deadlines.is_emergency(DemandKind.USER_DATA, LegalProcess.EMERGENCY)
    assert not deadlines.is_emergency(DemandKind.REMOVAL, LegalProcess.ADMINISTRATIVE_ORDER)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (RECEIVED, Urgency.ON_TIME),
        (RECEIVED + timedelta(days=1), Urgency.ON_TIME),
        (RECEIVED + timedelta(days=12, hours=1), Urgency.DUE_SOON),
        (RECEIVED + timedelta(days=14), Urgency.OVERDUE),
        (RECEIVED + timedelta(days=30), Urgency.OVERDUE),
    ],
)
def test_urgency_of_a_two_week_demand(now: datetime, expected: Urgency) -> None:
    due = RECEIVED + timedelta(days=14)
    assert deadlines.urgency(RECEIVED, due, now) is expected


def test_a_four_hour_emergency_is_due_soon_in_its_last_hour_not_two_days_ahead() -> None:
    due = RECEIVED + timedelta(hours=4)
    assert deadlines.urgency(RECEIVED, due, RECEIVED + timedelta(hours=2)) is Urgency.ON_TIME
    assert deadlines.urgency(RECEIVED, due, RECEIVED + timedelta(hours=3, minutes=1)) is (
        Urgency.DUE_SOON
    )


def test_time_left_reads_as_a_person_would_say_it() -> None:
    due = RECEIVED + timedelta(days=3, hours=4, minutes=5)
    assert deadlines.time_left(due, RECEIVED) == "3 d 4 h left"
    assert deadlines.time_left(RECEIVED + timedelta(hours=2, minutes=5), RECEIVED) == (
        "2 h 5 min left"
    )
    assert deadlines.time_left(RECEIVED, RECEIVED + timedelta(days=1, hours=2)) == (
        "overdue by 1 d 2 h"
    )


def test_the_penalty_is_the_stated_one_or_the_known_one_for_article_43() -> None:
    basis = "Implementation Rules for Article 43 of the National Security Law, Schedule 4"
    assert deadlines.penalty("HK$1", "HK", basis) == "HK$1"
    known = deadlines.penalty(None, "HK", basis)
    assert known is not None
    assert "HK$100,000" in known
    assert "six months" in known
    assert deadlines.penalty(None, "DE", basis) is None
    assert deadlines.penalty(None, "HK", "Police Force Ordinance, section 50") is None


def test_a_demand_arriving_close_to_its_deadline_gets_one_reminder_not_three() -> None:
    due = RECEIVED + timedelta(hours=2)
    assert [r.key for r in deadlines.reminders_due(due, RECEIVED)] == ["lead-14400"]
    assert deadlines.reminders_due(due, RECEIVED, frozenset({"lead-14400"})) == []


def test_reminders_come_once_each_at_their_lead_and_when_overdue() -> None:
    due = RECEIVED + timedelta(days=14)
    assert deadlines.reminders_due(due, RECEIVED) == []
    three_days = deadlines.reminders_due(due, due - timedelta(days=2, hours=23))
    assert [r.key for r in three_days] == ["lead-259200"]
    assert three_days[0].message == "due in 3 d 0 h"
    assert deadlines.reminders_due(
        due, due - timedelta(days=2, hours=23), frozenset({"lead-259200"})
    ) == []
    day = deadlines.reminders_due(due, due - timedelta(hours=5), frozenset({"lead-259200"}))
    assert [r.key for r in day] == ["lead-86400"]
    last = deadlines.reminders_due(due, due - timedelta(hours=1), frozenset({"lead-86400"}))
    assert [r.key for r in last] == ["lead-14400"]
    assert [r.key for r in deadlines.reminders_due(due, due)] == ["overdue"]
    assert deadlines.reminders_due(due, due, frozenset({"overdue"})) == []
