"""Risk flags as pure functions, on the demo microblog's real posts in both scripts and in
English: each flag with its evidence, the ordinary posts that must raise nothing, the
over-breadth thresholds, and when human-rights review is required."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from dueprocess.connectors.spec import AccountInfo, ContentInfo
from dueprocess.demo import risk_examples, scenario
from dueprocess.review import risk
from dueprocess.review.models import FlagLevel
from dueprocess.review.risk import DemandFacts, Evidence, ProtectedMatch, TargetFacts

JULY = datetime(2020, 7, 1, 9, tzinfo=UTC)


def post(
    text: str, n: int = 1, when: datetime = JULY, author: str = "hk_student_union"
) -> TargetFacts:
    url = f"https://microblog.demo/@{author}/{n}"
    return TargetFacts("content", url, content=ContentInfo(url, author, text, when, None))


def account(handle: str, name: str = "Someone") -> TargetFacts:
    info = AccountInfo(handle, name, datetime(2019, 1, 1, tzinfo=UTC), "HK", 3)
    return TargetFacts("account", f"@{handle}", account=info)


def facts(*targets: TargetFacts, **changes: object) -> DemandFacts:
    base = DemandFacts(
        kind="removal",
        legal_process="administrative-order",
        data_categories=(),
        period_start=None,
        period_end=None,
        received_at=datetime(2020, 7, 7, 1, 30, tzinfo=UTC),
        summary="Remove a post",
        stance="pause",
        targets=targets,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def codes(flags: list[risk.Flag]) -> list[str]:
    return [f.code for f in flags]


PROTEST_ZH = [(t, "zh-Hant") for t in scenario.PROTEST_POSTS_ZH]
PROTEST_HANS = [(t, "zh-Hans") for t in risk_examples.PROTEST_POSTS_HANS]
PROTEST_EN = [(t, "en") for t in scenario.PROTEST_POSTS_EN[:3] + risk_examples.CRITICISM_POSTS_EN]


@pytest.mark.parametrize(("text", "script"), PROTEST_ZH + PROTEST_HANS + PROTEST_EN)
def test_each_demo_protest_post_raises_a_political_flag(text: str, script: str) -> None:
    target = post(text, 7)
    (flag,) = risk.assess(facts(target))
    assert (flag.code, flag.level, flag.target) == ("political", FlagLevel.HIGH, 0)
    assert flag.summary.startswith(f"Political expression in {target.identifier}: ")
    for item in flag.evidence:
        assert item.matched in text  # the words as the post wrote them
        assert item.source == target.identifier
        assert item.snippet is not None
        assert item.matched in item.snippet


def test_the_slogan_evidence_names_it_in_both_scripts() -> None:
    for text in ("光復香港，時代革命", "光复香港，时代革命"):
        (flag,) = risk.assess(facts(post(text)))
        assert [e.as_dict() for e in flag.evidence] == [
            {
                "what": "Protest slogan “Liberate Hong Kong, revolution of our times” "
                "(光復香港，時代革命)",
                "matched": text,
                "source": "https://microblog.demo/@hk_student_union/1",
                "snippet": text,
            }
        ]


def test_a_post_with_several_findings_lists_each() -> None:
    (flag,) = risk.assess(facts(post("香港人，加油！反對國安法")))
    assert [e.matched for e in flag.evidence] == ["香港人，加油", "反對國安法"]
    assert flag.summary.endswith(": 香港人，加油, 反對國安法")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        *[(t, "journalism") for t, _ in risk_examples.JOURNALISM_POSTS],
        (scenario.PROTEST_POSTS_EN[3], "journalism"),
        *[(t, "religion") for t, _ in risk_examples.RELIGIOUS_POSTS],
    ],
)
def test_demo_reporting_and_prayers_raise_journalism_and_religion(text: str, code: str) -> None:
    flags = risk.assess(facts(post(text)))
    assert code in codes(flags)
    (flag,) = [f for f in flags if f.code == code]
    assert flag.level is FlagLevel.HIGH
    assert all(e.matched in text for e in flag.evidence)


ORDINARY = [
    *scenario.ORDINARY_POSTS,
    *(t for t, _ in risk_examples.ORDINARY_POSTS_ZH),
    "Great match last night, the keeper saved a penalty.",
    "今晚去廟街夜市食煲仔飯。",
    "周末和家人去饮早茶，虾饺很好吃。",
    "明天有雨，记得带伞。",
    "Spray paint and party supplies half price.",
    "The monkey at the zoo stole a banana.",
    "Churchill Road is closed for works.",
    "Press the button twice to start.",
    "Stocks rally after the March results.",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_posts_raise_no_flag(text: str) -> None:
    assert risk.assess(facts(post(text))) == []


def test_the_display_name_of_an_account_is_read_too() -> None:
    (flag,) = risk.assess(facts(account("standnews_reporter", "Reporter, independent outlet")))
    assert flag.code == "journalism"
    assert flag.evidence[0].source == "the display name of @standnews_reporter"
    assert risk.assess(facts(account("kowloon_cyclist", "Kowloon Cyclist"))) == []


def test_the_demands_summary_is_read_as_the_demands_aim() -> None:
    (flag,) = risk.assess(
        facts(post("Dim sum."), summary="Identify the organisers of the 七一遊行")
    )
    assert (flag.code, flag.target) == ("political", None)
    assert flag.evidence[0] == Evidence(
        "Assembly, march, demonstration or protest (集會, 遊行, 示威, 抗議)",
        "遊行",
        "the demand's summary",
        "…the organisers of the 七一遊行",
    )


def test_a_protected_account_is_flagged_with_its_category_not_its_note() -> None:
    target = account("standnews_reporter")
    (flag,) = risk.assess(facts(target), [ProtectedMatch(0, "standnews_reporter", "journalist")])
    assert (flag.code, flag.level, flag.target) == ("protected-account", FlagLevel.HIGH, 0)
    assert flag.summary == "@standnews_reporter is on the protected-accounts list (journalist)"
    assert flag.evidence == (
        Evidence(
            "@standnews_reporter is on the list of journalists, activists, lawyers and "
            "politicians staff keep, as a journalist",
            "@standnews_reporter",
            "@standnews_reporter",
        ),
    )


def test_a_target_matched_twice_is_flagged_once() -> None:
    match = ProtectedMatch(0, "x", "activist")
    assert len(risk.assess(facts(account("x")), [match, match])) == 1


# --- over-broad ---------------------------------------------------------------------------


def test_content_on_a_subscriber_level_process_is_over_broad() -> None:
    base = facts(account("a"), kind="user-data", data_categories=("subscriber", "content"))
    for process, named in (
        ("subpoena", "a subpoena"),
        ("administrative-order", "an administrative order"),
    ):
        (flag,) = risk.assess(
            replace(base, legal_process=process, period_start=JULY, period_end=JULY)
        )
        assert (flag.code, flag.level, flag.target) == ("over-broad", FlagLevel.MEDIUM, None)
        assert flag.summary == f"Asks more than its purpose needs: content on {named}"
        assert flag.evidence[0].matched == f"content; {process}"
    for process in ("warrant", "court-order", "emergency", "mlat"):
        assert risk.assess(replace(base, legal_process=process, period_start=JULY)) == []


def test_a_period_far_wider_than_the_targeted_content_is_over_broad() -> None:
    targets = [
        post("Dim sum.", n, datetime(2020, 7, day, tzinfo=UTC)) for n, day in ((1, 1), (2, 3))
    ]
    demand = facts(
        *targets,
        kind="user-data",
        legal_process="warrant",
        data_categories=("content",),
        period_start=datetime(2019, 1, 1, tzinfo=UTC),
        period_end=datetime(2020, 12, 31, tzinfo=UTC),
    )
    (flag,) = risk.assess(demand)
    assert flag.code == "over-broad"
    assert [e.as_dict() for e in flag.evidence] == [
        {
            "what": "period 2019-01-01..2020-12-31 is 730 days, longer than the 365 days "
            "flagged for any demand",
            "matched": "2019-01-01..2020-12-31",
            "source": "period",
        },
        {
            "what": "period 2019-01-01..2020-12-31 is 730 days; the content targeted was "
            "posted 2020-07-01..2020-07-03: the period reaches 547 days before it and 181 "
            "days after (30 days either side are not flagged)",
            "matched": "2019-01-01..2020-12-31",
            "source": "period and the targeted content's dates",
        },
    ]


def test_a_period_within_the_margin_is_not_over_broad() -> None:
    demand = facts(
        post("Dim sum.", when=datetime(2020, 7, 1, tzinfo=UTC)),
        kind="user-data",
        legal_process="warrant",
        data_categories=("content",),
        period_start=datetime(2020, 6, 1, tzinfo=UTC),
        period_end=datetime(2020, 7, 31, tzinfo=UTC),
    )
    assert risk.assess(demand) == []
    wider = replace(demand, period_start=datetime(2020, 5, 31, tzinfo=UTC))
    (flag,) = risk.assess(wider)
    assert "reaches 31 days before it and 30 days after" in flag.evidence[0].what


def test_a_period_without_an_end_runs_to_the_demands_receipt() -> None:
    demand = facts(
        account("a"),
        kind="user-data",
        legal_process="warrant",
        data_categories=("traffic",),
        period_start=datetime(2019, 7, 1, tzinfo=UTC),
    )
    (flag,) = risk.assess(demand)
    assert flag.evidence[0].matched == "2019-07-01..2020-07-07"
    assert "372 days" in flag.evidence[0].what


def test_traffic_or_content_with_no_date_range_is_over_broad() -> None:
    demand = facts(account("a"), kind="user-data", legal_process="court-order")
    assert risk.assess(replace(demand, data_categories=("subscriber",))) == []
    (flag,) = risk.assess(replace(demand, data_categories=("subscriber", "traffic")))
    assert flag.summary == "Asks more than its purpose needs: traffic with no date range"
    assert flag.evidence[0].matched == "no start date"


def test_many_targets_are_over_broad_from_the_threshold_on() -> None:
    nine = facts(*(account(f"a{i}") for i in range(9)))
    assert risk.assess(nine) == []
    ten = facts(*(account(f"a{i}") for i in range(10)))
    (flag,) = risk.assess(ten)
    assert flag.summary == "Asks more than its purpose needs: 10 targets"
    assert flag.evidence[0].what.startswith("10 targets in one demand (10 or more are flagged)")
    assert risk.assess(ten, thresholds=risk.Thresholds(many_targets=11)) == []


def test_every_over_breadth_found_is_one_flag_with_all_its_evidence() -> None:
    demand = facts(
        *(post("Dim sum.", n) for n in range(12)),
        kind="user-data",
        legal_process="subpoena",
        data_categories=("content",),
    )
    (flag,) = risk.assess(demand)
    assert flag.summary == (
        "Asks more than its purpose needs: content on a subpoena; content with no date range; "
        "12 targets"
    )
    assert len(flag.evidence) == 3


# --- what the connector could not say ------------------------------------------------------


def test_a_failed_look_up_is_a_fact_the_reviewer_sees() -> None:
    target = TargetFacts("content", "post:9", problem="TimeoutError: the service did not answer")
    (flag,) = risk.assess(facts(target))
    assert (flag.code, flag.level, flag.target) == ("lookup-failed", FlagLevel.MEDIUM, 0)
    assert flag.evidence[0].matched == "TimeoutError: the service did not answer"
    assert "nothing in this target was checked" in flag.evidence[0].what


def test_a_target_no_connector_knows_is_a_low_flag() -> None:
    (flag,) = risk.assess(facts(TargetFacts("account", "@nobody_here")))
    assert (flag.code, flag.level) == ("target-not-found", FlagLevel.LOW)
    assert flag.summary == "No connector knows @nobody_here"


def test_flags_come_high_first_then_by_code_then_by_target() -> None:
    demand = facts(
        TargetFacts("account", "@gone"),
        post("Sunday service: we pray for Hong Kong.", 2),
        post("光復香港，時代革命", 3),
        *(account(f"a{i}") for i in range(8)),
        summary="Remove the 遊行 posts",
    )
    found = risk.assess(demand, [ProtectedMatch(1, "hk_student_union", "activist")])
    assert [(f.code, f.target) for f in found] == [
        ("political", None),
        ("political", 2),
        ("religion", 1),
        ("protected-account", 1),
        ("over-broad", None),
        ("target-not-found", 0),
    ]


def test_the_same_facts_give_the_same_flags() -> None:
    demand = facts(post("五大訴求，缺一不可"), post("記者在現場報道", 2))
    assert risk.assess(demand) == risk.assess(demand)


# --- human-rights review -------------------------------------------------------------------


def test_a_high_flag_or_an_escalate_stance_requires_human_rights_review() -> None:
    high = risk.assess(facts(post("光復香港")))
    medium = risk.assess(facts(*(account(f"a{i}") for i in range(10))))
    assert risk.human_rights_reasons(high, "pause") == ["political flag (high)"]
    assert risk.human_rights_reasons(medium, "process") == []
    assert risk.human_rights_reasons([], "escalate") == [
        "the jurisdiction policy's stance is escalate"
    ]
    both = risk.human_rights_reasons(high + high, "escalate")
    assert both == ["political flag (high)", "the jurisdiction policy's stance is escalate"]
