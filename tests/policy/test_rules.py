"""The stance engine: precedence, time windows, defaults, explanations, refusal of bad rules."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dueprocess.jurisdictions import UnknownJurisdiction
from dueprocess.policy.rules import (
    KINDS,
    LEGAL_PROCESSES,
    DemandFacts,
    InvalidPolicy,
    PolicyDocument,
    Rule,
    Stance,
    evaluate,
    find_conflicts,
)

JULY_6 = datetime(2020, 7, 6, tzinfo=UTC)


def day(d: int, month: int = 7) -> datetime:
    return datetime(2020, month, d, tzinfo=UTC)


def facts(
    jurisdiction: str = "HK",
    authority: str | None = "hkpf-nsd",
    kind: str = "user-data",
    process: str = "court-order",
    received: datetime = JULY_6,
) -> DemandFacts:
    return DemandFacts(jurisdiction, authority, kind, process, received)


def policy(*rules: Rule, default: Stance = Stance.PROCESS) -> PolicyDocument:
    return PolicyDocument(name="test", default=default, rules=rules)


def pause(rule_id: str, jurisdiction: str = "HK", **kw: object) -> Rule:
    return Rule(rule_id, jurisdiction, Stance.PAUSE, condition="pending review", **kw)  # type: ignore[arg-type]


def refuse(rule_id: str, jurisdiction: str = "HK", **kw: object) -> Rule:
    return Rule(rule_id, jurisdiction, Stance.REFUSE, condition="not lawful here", **kw)  # type: ignore[arg-type]


# --- precedence -----------------------------------------------------------------------------


def test_authority_rule_beats_country_rule() -> None:
    doc = policy(pause("hk-all"), refuse("nsd", authority="hkpf-nsd"))
    assert evaluate(doc, facts(authority="hkpf-nsd")).rule_id == "nsd"
    assert evaluate(doc, facts(authority="hkpf-cyber")).rule_id == "hk-all"


def test_authority_beats_a_country_rule_that_names_everything_else() -> None:
    narrow = pause(
        "hk-narrow",
        kinds=frozenset({"user-data"}),
        legal_processes=frozenset({"court-order"}),
        starts=day(1),
    )
    doc = policy(narrow, refuse("nsd", authority="hkpf-nsd"))
    result = evaluate(doc, facts())
    assert (result.rule_id, result.stance) == ("nsd", Stance.REFUSE)


def test_subdivision_rule_beats_country_rule_and_country_rule_covers_subdivisions() -> None:
    doc = policy(pause("us", "US"), refuse("california", "US-CA"))
    assert evaluate(doc, facts("US-CA", "lapd")).rule_id == "california"
    assert evaluate(doc, facts("US-NY", "nypd")).rule_id == "us"
    assert evaluate(doc, facts("US", "fbi")).rule_id == "us"


def test_subdivision_rule_does_not_match_its_country_or_siblings() -> None:
    doc = policy(refuse("california", "US-CA"))
    assert evaluate(doc, facts("US", "fbi")).rule_id is None
    assert evaluate(doc, facts("US-NY", "nypd")).rule_id is None


def test_kind_specific_rule_beats_general_rule() -> None:
    doc = policy(
        pause("hk-all"),
        Rule("hk-emergency", "HK", Stance.PROCESS, kinds=frozenset({"emergency-disclosure"})),
    )
    assert evaluate(doc, facts(kind="emergency-disclosure")).rule_id == "hk-emergency"
    assert evaluate(doc, facts(kind="removal")).rule_id == "hk-all"


def test_kind_specific_rule_beats_a_dated_general_rule() -> None:
    doc = policy(
        pause("hk-from-july", starts=JULY_6),
        Rule("hk-emergency", "HK", Stance.PROCESS, kinds=frozenset({"emergency-disclosure"})),
    )
    assert evaluate(doc, facts(kind="emergency-disclosure", received=day(10))).stance == "process"
    assert evaluate(doc, facts(kind="user-data", received=day(10))).stance == "pause"


def test_legal_process_specific_rule_beats_general_rule() -> None:
    doc = policy(
        pause("hk-all"), refuse("hk-admin", legal_processes=frozenset({"administrative-order"}))
    )
    assert evaluate(doc, facts(process="administrative-order")).rule_id == "hk-admin"
    assert evaluate(doc, facts(process="warrant")).rule_id == "hk-all"


def test_dated_rule_overrides_standing_rule_while_it_lasts() -> None:
    standing = Rule("hk-escalate", "HK", Stance.ESCALATE, condition="human-rights review")
    doc = policy(standing, pause("hk-pause", starts=JULY_6, ends=day(1, 9)))
    assert evaluate(doc, facts(received=day(1))).rule_id == "hk-escalate"
    assert evaluate(doc, facts(received=day(10))).rule_id == "hk-pause"
    assert evaluate(doc, facts(received=day(2, 9))).rule_id == "hk-escalate"


def test_specificity_points_are_as_documented() -> None:
    assert Rule("a", "HK", Stance.PROCESS).specificity == 0
    assert Rule("a", "US-CA", Stance.PROCESS).specificity == 10
    assert Rule("a", "HK", Stance.PROCESS, authority="hkpf-nsd").specificity == 20
    assert Rule("a", "US-CA", Stance.PROCESS, authority="lapd").specificity == 20
    full = Rule(
        "a",
        "HK",
        Stance.PROCESS,
        kinds=frozenset({"removal"}),
        legal_processes=frozenset({"warrant"}),
        ends=JULY_6,
    )
    assert full.specificity == 5


def test_equally_specific_rules_with_same_answer_report_the_first() -> None:
    doc = policy(pause("first"), pause("second"))
    assert evaluate(doc, facts()).rule_id == "first"


# --- time -----------------------------------------------------------------------------------


def test_window_start_is_inclusive_and_end_exclusive() -> None:
    end = day(1, 8)
    doc = policy(pause("hk", starts=JULY_6, ends=end))
    tick = timedelta(microseconds=1)
    assert evaluate(doc, facts(received=JULY_6 - tick)).stance == Stance.PROCESS
    assert evaluate(doc, facts(received=JULY_6)).stance == Stance.PAUSE
    assert evaluate(doc, facts(received=end - tick)).stance == Stance.PAUSE
    assert evaluate(doc, facts(received=end)).stance == Stance.PROCESS


def test_window_compares_instants_not_wall_clock() -> None:
    doc = policy(pause("hk", starts=JULY_6))
    hong_kong = timezone(timedelta(hours=8))
    # 07:59 on 6 July in Hong Kong is still 5 July in UTC.
    early = datetime(2020, 7, 6, 7, 59, tzinfo=hong_kong)
    assert evaluate(doc, facts(received=early)).stance == Stance.PROCESS
    assert evaluate(doc, facts(received=early + timedelta(minutes=1))).stance == Stance.PAUSE


def test_time_of_evaluation_governs_so_open_demands_pause_on_activation() -> None:
    doc = policy(pause("hk", starts=JULY_6))
    before = facts(received=day(1))
    assert evaluate(doc, before).stance == Stance.PROCESS  # at intake
    assert evaluate(doc, before, day(7)).stance == Stance.PAUSE  # still open on activation


def test_naive_times_are_refused() -> None:
    doc = policy(pause("hk"))
    with pytest.raises(ValueError, match="timezone"):
        evaluate(doc, facts(), datetime(2020, 7, 6))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone"):
        facts(received=datetime(2020, 7, 6))  # noqa: DTZ001


# --- default ---------------------------------------------------------------------------------


def test_default_applies_where_no_rule_matches() -> None:
    doc = PolicyDocument(
        "test",
        Stance.REFUSE,
        (Rule("de", "DE", Stance.PROCESS),),
        default_condition="we operate only in Germany",
        default_reply="We do not operate in your country.",
    )
    german = evaluate(doc, facts("DE", "bka"))
    assert (german.stance, german.rule_id) == (Stance.PROCESS, "de")
    other = evaluate(doc, facts("FR", "dgsi"))
    assert (other.stance, other.rule_id, other.specificity) == (Stance.REFUSE, None, None)
    assert other.condition == "we operate only in Germany"
    assert other.reply == "We do not operate in your country."


# --- explanation -----------------------------------------------------------------------------


def test_explanation_says_why_each_rule_won_lost_or_did_not_match() -> None:
    doc = policy(
        pause("hk-all"),
        refuse("nsd", authority="hkpf-nsd"),
        refuse("cyber", authority="hkpf-cyber"),
        pause("hk-removal", kinds=frozenset({"removal"})),
        pause("hk-later", starts=day(1, 8)),
        Rule("de", "DE", Stance.PROCESS),
        Rule("fr", "FR", Stance.PROCESS),
    )
    result = evaluate(doc, facts(received=day(10)))
    assert result.rule_id == "nsd"
    text = "\n".join(result.explanation)
    assert 'rule "nsd" (specificity 20 = authority 20) matches and is the most specific' in text
    loser = 'rule "hk-all" (specificity 0 (country only)) matches but is less specific than rule'
    assert f'{loser} "nsd" (0 < 20)' in text
    miss = 'rule "cyber" (specificity 20 = authority 20) does not match: it is for authority'
    assert f'{miss} "hkpf-cyber", not "hkpf-nsd"' in text
    assert "kind user-data is not one of removal" in text
    assert "it starts 2020-08-01T00:00:00Z, after 2020-07-10T00:00:00Z" in text
    assert "2 rules for other countries cannot match a demand from HK" in text
    assert len(result.explanation) == 1 + 5 + 1


def test_explanation_names_the_default_when_nothing_matches() -> None:
    doc = policy(pause("hk", ends=JULY_6))
    result = evaluate(doc, facts(received=day(10)))
    assert result.rule_id is None
    assert "it ended 2020-07-06T00:00:00Z, not after 2020-07-10T00:00:00Z" in result.explanation[1]
    assert result.explanation[-1] == "no rule matches: the default stance applies: process"


def test_explanation_names_the_earlier_rule_on_an_equal_tie() -> None:
    result = evaluate(policy(pause("first"), pause("second")), facts())
    assert any('rule "second"' in line and "comes first" in line for line in result.explanation)


def test_fast_path_gives_the_same_answer_as_the_explained_path() -> None:
    """Random policies and demands: explain=False must pick exactly the rule explain=True does."""
    rng = random.Random(20200706)
    places = ["US", "US-CA", "US-NY", "HK"]
    authorities = ["lapd", "nypd", "fbi", "hkpf-nsd"]
    instants = [day(1), JULY_6, day(10), day(1, 8)]
    matched = 0
    for _round in range(40):
        rules: list[Rule] = []
        for n in range(12):
            starts, ends = sorted(rng.sample(instants, 2))
            rules.append(
                Rule(
                    f"r{n}",
                    rng.choice(places),
                    rng.choice(list(Stance)),
                    condition=f"c{n}",
                    authority=rng.choice([None, None, *authorities]),
                    kinds=rng.choice([None, frozenset(rng.sample(KINDS, 2))]),
                    legal_processes=rng.choice([None, frozenset(rng.sample(LEGAL_PROCESSES, 2))]),
                    starts=rng.choice([None, starts]),
                    ends=rng.choice([None, ends]),
                )
            )
        # Keep only rules that do not tie with an earlier one, so the policy compiles.
        kept: list[Rule] = []
        for rule in rules:
            if not find_conflicts([*kept, rule]):
                kept.append(rule)
        doc = policy(*kept)
        for place, authority, kind, process, when in itertools.product(
            places, authorities, KINDS[:3], LEGAL_PROCESSES[:3], instants
        ):
            demand = facts(place, authority, kind, process, when)
            fast = evaluate(doc, demand, explain=False)
            full = evaluate(doc, demand)
            assert fast.explanation == ()
            assert (fast.rule_id, fast.stance) == (full.rule_id, full.stance)
            matched += fast.rule_id is not None
    assert matched > 10_000  # the comparison exercised rules, not only the default


# --- facts ----------------------------------------------------------------------------------


def test_facts_are_normalised_and_checked() -> None:
    demand = DemandFacts("us-ca", "LAPD", "removal", "warrant", JULY_6)
    assert (demand.jurisdiction, demand.country, demand.authority) == ("US-CA", "US", "lapd")
    with pytest.raises(UnknownJurisdiction):
        facts("XX")
    with pytest.raises(ValueError, match="unknown kind 'telepathy'"):
        facts(kind="telepathy")
    with pytest.raises(ValueError, match="unknown legal process 'letter'"):
        facts(process="letter")


def test_vocabulary_matches_the_demand_model() -> None:
    from dueprocess.demands.models import DemandKind, LegalProcess

    assert set(KINDS) == {k.value for k in DemandKind}
    assert set(LEGAL_PROCESSES) == {p.value for p in LegalProcess}
    demand = DemandFacts("HK", None, DemandKind.USER_DATA, LegalProcess.WARRANT, JULY_6)
    assert evaluate(policy(pause("hk", kinds=frozenset({"user-data"}))), demand).rule_id == "hk"


# --- refusing bad policies -------------------------------------------------------------------


def problems_of(doc: PolicyDocument) -> dict[str, str]:
    with pytest.raises(InvalidPolicy) as caught:
        doc.compiled()
    return {error.where(): error.msg for error in caught.value.errors}


def test_bad_rules_are_refused_naming_rule_and_field() -> None:
    doc = policy(
        pause("fine"),
        pause("unknown-country", "XX"),
        pause("backwards", "DE", starts=day(10), ends=day(1)),
        Rule("silent-pause", "FR", Stance.PAUSE, condition="   "),
        Rule("no-reason", "IT", Stance.REFUSE),
        pause("odd-kind", "ES", kinds=frozenset({"telepathy"})),
        pause("naive", "PT", starts=datetime(2020, 7, 6)),  # noqa: DTZ001
        pause("fine", "GB"),
    )
    found = problems_of(doc)
    assert "unknown jurisdiction 'XX'" in found["rules[1].jurisdiction"]
    assert "ends (2020-07-01T00:00:00Z) on or before it starts" in found["rules[2].until"]
    assert found["rules[3].condition"].startswith("a pause needs a condition with text")
    assert found["rules[4].condition"].startswith("a refuse needs a condition with text")
    assert "unknown kind 'telepathy'" in found["rules[5].kinds"]
    assert "timezone" in found["rules[6].from"]
    assert 'rule id "fine" is already used by rules[0]' in found["rules[7].id"]
    assert "rules[0].jurisdiction" not in found


def test_ties_refuse_to_compile() -> None:
    found = problems_of(policy(pause("a"), refuse("b")))
    assert found == {
        "rules[1]": 'ties with rule "a" (both specificity 0): both match HK demands, but they '
        "answer pause vs refuse; make one more specific or separate their dates"
    }


def test_policy_that_compiles_is_cached() -> None:
    doc = policy(pause("hk"))
    assert doc.compiled() is doc.compiled()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (pause("a", ends=JULY_6), refuse("b", starts=JULY_6)),  # adjacent windows
        (pause("a", kinds=frozenset({"removal"})), refuse("b", kinds=frozenset({"user-data"}))),
        (pause("a", authority="hkpf-nsd"), refuse("b", authority="hkpf-cyber")),
        (pause("a", "US-CA"), refuse("b", "US-NY")),
        (pause("a"), pause("b")),  # same answer
        (pause("a"), refuse("b", kinds=frozenset({"removal"}))),  # not equally specific
    ],
)
def test_rules_that_cannot_disagree_on_one_demand_do_not_conflict(a: Rule, b: Rule) -> None:
    assert find_conflicts([a, b]) == []


@pytest.mark.parametrize(
    ("a", "b", "shared"),
    [
        (pause("a", ends=day(7)), refuse("b", starts=JULY_6), "from 2020-07-06T00:00:00Z until"),
        (
            pause("a", kinds=frozenset({"removal", "user-data"})),
            refuse("b", kinds=frozenset({"user-data"})),
            "of kind user-data",
        ),
        (
            pause("a", kinds=frozenset({"removal"})),
            refuse("b", legal_processes=frozenset({"warrant"})),
            "of kind removal by warrant",
        ),
        (pause("a", "US", authority="fbi"), refuse("b", "US-DC", authority="fbi"), "US-DC"),
        (pause("a"), Rule("b", "HK", Stance.PAUSE, condition="other"), "different condition"),
    ],
)
def test_equally_specific_overlapping_rules_conflict(a: Rule, b: Rule, shared: str) -> None:
    conflicts = find_conflicts([a, b])
    assert [(c.first, c.second) for c in conflicts] == [(0, 1)]
    assert shared in conflicts[0].message
