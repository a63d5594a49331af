"""The rules of a decision: a narrowing only ever shrinks what was asked, refusals carry a
known reason, the stance can forbid compliance, the demand's outcome follows its targets',
and an approval's digest changes with any decision."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dueprocess.demands.models import DataCategory, DemandKind
from dueprocess.review.decisions import (
    Asked,
    Proposed,
    check_decision,
    check_narrowing,
    demand_outcome,
    digest,
    needs_approval,
)
from dueprocess.review.models import Outcome

JULY = datetime(2020, 7, 1, tzinfo=UTC)
AUGUST = datetime(2020, 8, 1, tzinfo=UTC)
ASKED = Asked(
    kind=DemandKind.USER_DATA,
    data_categories=frozenset({DataCategory.SUBSCRIBER, DataCategory.CONTENT}),
    period_start=JULY,
    period_end=AUGUST,
)


def _problems(narrowing: dict[str, object], asked: Asked = ASKED) -> list[str]:
    _, errors = check_narrowing(asked, narrowing)
    return [f"{e.where()}: {e.msg}" for e in errors]


def test_a_narrowing_that_keeps_less_is_accepted_in_normal_form() -> None:
    normal, errors = check_narrowing(
        ASKED,
        {
            "data_categories": ["subscriber"],
            "fields": ["email", "name"],
            "period_start": "2020-07-06T00:00:00+08:00",
        },
    )
    assert errors == []
    assert normal == {
        "data_categories": ["subscriber"],
        "fields": ["email", "name"],
        "period_start": "2020-07-05T16:00:00Z",
    }


@pytest.mark.parametrize(
    ("narrowing", "problem"),
    [
        ({"data_categories": ["traffic"]}, "traffic was not asked for"),
        ({"data_categories": ["subscriber", "content"]}, "cuts nothing"),
        ({"data_categories": []}, "must keep at least one"),
        ({"data_categories": ["everything"]}, "unknown category 'everything'"),
        ({"period_start": "2020-06-01T00:00:00Z"}, "starts before the period asked"),
        ({"period_end": "2020-09-01T00:00:00Z"}, "ends after the period asked"),
        ({"period_start": "2020-07-06"}, "has no timezone"),
        ({"period_start": "yesterday"}, "is not a date and time"),
        (
            {"period_start": "2020-07-20T00:00:00Z", "period_end": "2020-07-10T00:00:00Z"},
            "must be after period_start",
        ),
        ({"fields": ["login-ips"]}, "'login-ips' is not a field of the categories kept"),
        ({"scope": "less"}, "narrowing.scope: unknown"),
        ({}, "cuts nothing"),
    ],
)
def test_a_narrowing_that_widens_or_cuts_nothing_is_refused(
    narrowing: dict[str, object], problem: str
) -> None:
    assert any(problem in p for p in _problems(narrowing)), _problems(narrowing)


def test_any_bounded_period_narrows_a_demand_that_stated_none() -> None:
    unbounded = Asked(DemandKind.USER_DATA, frozenset({DataCategory.CONTENT}), None, None)
    assert _problems({"period_end": "2020-07-03T00:00:00Z"}, unbounded) == []


def test_items_narrow_to_named_content() -> None:
    normal, errors = check_narrowing(ASKED, {"items": ["post:2", "post:1", "post:2"]})
    assert errors == []
    assert normal == {"items": ["post:1", "post:2"]}


def test_a_refusal_needs_a_known_reason_and_other_needs_a_note() -> None:
    _, errors = check_decision(ASKED, Proposed(1, Outcome.REFUSE), "process")
    assert [e.loc for e in errors] == [("refusal_reason",)]
    _, errors = check_decision(ASKED, Proposed(1, Outcome.REFUSE, refusal_reason="other"), None)
    assert [e.loc for e in errors] == [("note",)]
    _, errors = check_decision(
        ASKED, Proposed(1, Outcome.REFUSE, refusal_reason="human-rights"), "pause"
    )
    assert errors == []


def test_only_comply_narrowed_narrows_and_only_a_refusal_has_a_reason() -> None:
    _, errors = check_decision(
        ASKED, Proposed(1, Outcome.COMPLY, narrowing={"fields": ["email"]}), None
    )
    assert [e.loc for e in errors] == [("narrowing",)]
    _, errors = check_decision(ASKED, Proposed(1, Outcome.NO_DATA, refusal_reason="other"), None)
    assert [e.loc for e in errors] == [("refusal_reason",)]
    _, errors = check_decision(ASKED, Proposed(1, Outcome.COMPLY_NARROWED), None)
    assert [e.loc for e in errors] == [("narrowing",)]


@pytest.mark.parametrize("stance", ["pause", "refuse", "redirect", "no-service"])
def test_compliance_that_contradicts_a_holding_stance_is_refused(stance: str) -> None:
    for outcome, narrowing in (
        (Outcome.COMPLY, None),
        (Outcome.COMPLY_NARROWED, {"data_categories": ["subscriber"]}),
    ):
        _, errors = check_decision(ASKED, Proposed(1, outcome, narrowing=narrowing), stance)
        assert [e.loc for e in errors] == [("outcome",)]
        assert stance in errors[0].msg


def test_compliance_under_process_or_escalate_is_a_decision_to_make() -> None:
    for stance in ("process", "escalate", None):
        _, errors = check_decision(ASKED, Proposed(1, Outcome.COMPLY), stance)
        assert errors == []


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        ([Outcome.COMPLY, Outcome.COMPLY], "complied"),
        ([Outcome.COMPLY, Outcome.COMPLY_NARROWED], "partly-complied"),
        ([Outcome.COMPLY, Outcome.REFUSE], "partly-complied"),
        ([Outcome.COMPLY, Outcome.NO_DATA], "partly-complied"),
        ([Outcome.NO_DATA, Outcome.NO_DATA], "no-data"),
        ([Outcome.REFUSE, Outcome.NO_DATA], "refused"),
        ([Outcome.REFUSE], "refused"),
    ],
)
def test_the_demand_outcome_follows_its_targets(outcomes: list[Outcome], expected: str) -> None:
    assert demand_outcome(outcomes) == expected


def test_an_outcome_needs_a_decision() -> None:
    with pytest.raises(ValueError, match="at least one"):
        demand_outcome([])


def test_disclosing_or_restricting_needs_approval_refusing_does_not() -> None:
    assert needs_approval(DemandKind.USER_DATA, [Outcome.REFUSE, Outcome.COMPLY_NARROWED])
    assert needs_approval(DemandKind.GEO_RESTRICTION, [Outcome.COMPLY])
    assert not needs_approval(DemandKind.USER_DATA, [Outcome.REFUSE, Outcome.NO_DATA])
    assert not needs_approval(DemandKind.PRESERVATION, [Outcome.COMPLY])


def test_the_digest_is_order_free_and_changes_with_any_decision() -> None:
    a = {"target_id": 1, "outcome": "comply", "narrowing": None, "refusal_reason": None}
    b = {"target_id": 2, "outcome": "refuse", "refusal_reason": "overbroad", "note": "too wide"}
    assert digest([a, b]) == digest([b, a])
    assert digest([a, b]) != digest([a, {**b, "note": "too wide."}])
    assert digest([a, b]) != digest([{**a, "outcome": "comply-narrowed"}, b])
