"""The policy file: what it accepts, how it names each mistake, and that it round-trips."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

import pytest

from dueprocess.errors import InvalidInput
from dueprocess.policy.fileformat import PolicyFileError, dump_policy, load_policy
from dueprocess.policy.rules import PolicyDocument, Rule, Stance


def load(text: str) -> PolicyDocument:
    return load_policy(textwrap.dedent(text), source="hk.yaml")


def errors(text: str) -> list[str]:
    """The error lines ``load_policy`` reports for ``text``; fails if it loads."""
    with pytest.raises(PolicyFileError) as caught:
        load(text)
    return str(caught.value).splitlines()


GOOD = """\
    policy: July 2020 — Facebook/WhatsApp
    description: Pause Hong Kong.
    default: process
    rules:
      - id: hk-pause-hrdd
        jurisdiction: hk
        from: 2020-07-06
        until: 2021-01-01T08:00:00+08:00
        stance: pause
        condition: pending human-rights due diligence
        lift_on: due diligence done
        reply: |
          We have paused this request.
      - id: nsd
        jurisdiction: HK
        authority: HKPF-NSD
        kinds: [user-data, removal]
        legal_processes:
          - administrative-order
        stance: refuse
        condition: "Article 43: no independent review"
      - id: norway
        jurisdiction: NO
        stance: redirect
        condition: use an MLAT request through the Ministry of Justice
"""


def test_a_good_file_loads_every_field() -> None:
    doc = load(GOOD)
    assert doc.name == "July 2020 — Facebook/WhatsApp"
    assert (doc.default, doc.description) == (Stance.PROCESS, "Pause Hong Kong.")
    pause, nsd, norway = doc.rules
    assert pause == Rule(
        id="hk-pause-hrdd",
        jurisdiction="HK",
        stance=Stance.PAUSE,
        condition="pending human-rights due diligence",
        starts=datetime(2020, 7, 6, tzinfo=UTC),
        ends=datetime(2021, 1, 1, tzinfo=UTC),
        lift_on="due diligence done",
        reply="We have paused this request.",
    )
    assert nsd.authority == "hkpf-nsd"
    assert nsd.kinds == frozenset({"user-data", "removal"})
    assert nsd.legal_processes == frozenset({"administrative-order"})
    assert nsd.condition == "Article 43: no independent review"
    assert norway.jurisdiction == "NO"  # not YAML's boolean false
    assert doc.compiled() is not None


def test_default_may_be_a_mapping_with_its_condition() -> None:
    doc = load("""\
        policy: only Germany
        default:
          stance: no-service
          reply: We do not operate in your country.
        rules:
          - {id: de, jurisdiction: DE, stance: process}
    """)
    assert (doc.default, doc.default_reply) == (
        Stance.NO_SERVICE,
        "We do not operate in your country.",
    )


# --- every mistake names its line, field and rule ------------------------------------------


@pytest.mark.parametrize(
    ("rule_lines", "expected"),
    [
        (
            "jurisdiction: XX\n stance: process",
            "hk.yaml:5: rules[0].jurisdiction (rule \"r1\"): unknown jurisdiction 'XX'",
        ),
        (
            "jurisdiction: UK\n stance: process",
            "did you mean 'GB'?",
        ),
        (
            "jurisdiction: US-ZZ\n stance: process",
            "hk.yaml:5: rules[0].jurisdiction (rule \"r1\"): unknown subdivision 'US-ZZ'",
        ),
        (
            "jurisdiction: HK\n from: 2020-07-06\n until: 2020-07-01\n stance: process",
            'hk.yaml:7: rules[0].until (rule "r1"): the window ends (2020-07-01T00:00:00Z) on or '
            "before it starts (2020-07-06T00:00:00Z)",
        ),
        (
            "jurisdiction: HK\n stance: pause",
            'hk.yaml:6: rules[0].condition (rule "r1"): a pause needs a condition with text: '
            "the condition for lifting it",
        ),
        (
            'jurisdiction: HK\n stance: pause\n condition: ""',
            'hk.yaml:7: rules[0].condition (rule "r1"): has no text',
        ),
        (
            "jurisdiction: HK\n stance: refuse\n condition:",
            'hk.yaml:7: rules[0].condition (rule "r1"): has no text',
        ),
        (
            "jurisdiction: HK\n stance: redirect",
            'rules[0].condition (rule "r1"): a redirect needs a condition with text: the route',
        ),
        (
            "jurisdiction: HK\n kinds: [user-data, telepathy]\n stance: process",
            "hk.yaml:6: rules[0].kinds[1] (rule \"r1\"): unknown kind 'telepathy'",
        ),
        (
            "jurisdiction: HK\n legal_processes: [letter]\n stance: process",
            "hk.yaml:6: rules[0].legal_processes[0] (rule \"r1\"): unknown legal process 'letter'",
        ),
        (
            "jurisdiction: HK\n kinds: []\n stance: process",
            'hk.yaml:6: rules[0].kinds (rule "r1"): an empty list matches nothing',
        ),
        (
            "jurisdiction: HK\n kinds: removal\n stance: process",
            'hk.yaml:6: rules[0].kinds (rule "r1"): must be a list',
        ),
        (
            "jurisdiction: HK\n stance: pauze",
            "hk.yaml:6: rules[0].stance (rule \"r1\"): unknown stance 'pauze'",
        ),
        (
            "jurisdiction: HK\n stance: process\n untill: 2020-08-01",
            "hk.yaml:7: rules[0].untill (rule \"r1\"): unknown key 'untill'; did you mean 'until'?",
        ),
        (
            "jurisdiction: HK\n stance: process\n stance: pause",
            "hk.yaml:7: rules[0].stance (rule \"r1\"): key 'stance' appears twice",
        ),
        (
            "jurisdiction: HK\n from: 2020-07-06 09:00\n stance: process",
            "hk.yaml:6: rules[0].from (rule \"r1\"): '2020-07-06 09:00' has no timezone",
        ),
        (
            "jurisdiction: HK\n from: next tuesday\n stance: process",
            "hk.yaml:6: rules[0].from (rule \"r1\"): 'next tuesday' is not a date",
        ),
        (
            "jurisdiction: HK\n authority: HK Police!\n stance: process",
            "hk.yaml:6: rules[0].authority (rule \"r1\"): authority 'hk police!' is not a slug",
        ),
        (
            "stance: process",
            "hk.yaml:4: rules[0].jurisdiction (rule \"r1\"): missing key 'jurisdiction'",
        ),
    ],
)
def test_each_bad_rule_is_named_with_its_line(rule_lines: str, expected: str) -> None:
    body = "".join(f"   {line.strip()}\n" for line in rule_lines.split("\n"))
    text = "policy: p\ndefault: process\nrules:\n - id: r1\n" + body
    reported = errors(text)
    assert any(expected in line for line in reported), reported


def test_every_problem_is_reported_at_once_in_line_order() -> None:
    reported = errors("""\
        policy: p
        default: pause
        colour: red
        rules:
          - id: a
            jurisdiction: XX
            stance: process
          - id: b
            jurisdiction: HK
            from: 2020-07-06
            until: 2020-07-06
            stance: refuse
          - id: a
            jurisdiction: DE
            stance: process
    """)
    assert reported == [
        "hk.yaml:2: default: a pause needs a condition with text: the condition for lifting it; "
        "write default: {stance: pause, condition: ...}",
        "hk.yaml:3: colour: unknown key 'colour'; use policy, description, default, rules",
        "hk.yaml:6: rules[0].jurisdiction (rule \"a\"): unknown jurisdiction 'XX': use an ISO "
        "3166-1 alpha-2 code such as HK",
        'hk.yaml:11: rules[1].until (rule "b"): the window ends (2020-07-06T00:00:00Z) on or '
        "before it starts (2020-07-06T00:00:00Z)",
        'hk.yaml:12: rules[1].condition (rule "b"): a refuse needs a condition with text: the '
        "reason given to the requester",
        'hk.yaml:13: rules[2].id (rule "a"): rule id "a" is already used by rules[0] (line 5)',
    ]


def test_equally_specific_conflicting_rules_refuse_to_validate_naming_both() -> None:
    reported = errors("""\
        policy: p
        default: process
        rules:
          - id: fb-pause
            jurisdiction: HK
            from: 2020-07-06
            stance: pause
            condition: pending human-rights due diligence
          - id: tg-refuse
            jurisdiction: HK
            kinds: [user-data]
            stance: refuse
            condition: until international consensus
          - id: late-refuse
            jurisdiction: HK
            from: 2020-07-10
            stance: refuse
            condition: no
    """)
    assert reported == [
        'hk.yaml:14: rules[2] (rule "late-refuse"): ties with rule "fb-pause" (both specificity '
        "1): both match HK demands from 2020-07-10T00:00:00Z, but they answer pause vs refuse; "
        'make one more specific or separate their dates (rule "fb-pause" is rules[0], line 4)'
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "hk.yaml:1: the file is empty"),
        ("- a\n- b\n", "hk.yaml:1: a policy file must be a mapping of keys"),
        ("policy: p\ndefault: [process\n", "hk.yaml:3: not valid YAML"),
        ("policy: p\nrules: []\n", "hk.yaml:1: default: missing key 'default'"),
        ("policy: p\ndefault: hold\nrules: []\n", "hk.yaml:2: default: unknown stance 'hold'"),
        ("policy: ''\ndefault: process\nrules: []\n", "hk.yaml:1: policy: has no text"),
        ("policy: p\ndefault: process\nrules: {}\n", "hk.yaml:3: rules: must be a list"),
        ("policy: p\ndefault: process\nrules:\n - just text\n", "hk.yaml:4: rules[0]: a rule"),
    ],
)
def test_file_level_mistakes(text: str, expected: str) -> None:
    reported = errors(text)
    assert any(line.startswith(expected) for line in reported), reported


def test_the_error_carries_structured_problems_for_the_api() -> None:
    with pytest.raises(PolicyFileError) as caught:
        load(
            "policy: p\ndefault: process\nrules:\n - id: x\n   jurisdiction: XX\n   stance: process"
        )
    error = caught.value
    assert isinstance(error, InvalidInput)
    (problem,) = error.problems
    assert (problem.line, problem.column, problem.field, problem.rule_id) == (
        5,
        18,
        "rules[0].jurisdiction",
        "x",
    )
    assert error.errors[0].as_dict()["loc"] == ["body", "rules", 0, "jurisdiction"]


# --- round trip ------------------------------------------------------------------------------


def test_dump_then_load_gives_the_same_policy() -> None:
    doc = PolicyDocument(
        name='Everything: "quoted", #hashed, — dashed',
        default=Stance.ESCALATE,
        default_condition="human-rights review first",
        default_reply="We are reviewing.\nSecond line.",
        description="yes",
        rules=(
            Rule(
                "hk-pause",
                "HK",
                Stance.PAUSE,
                condition="pending: due diligence",
                authority="hkpf-nsd",
                kinds=frozenset({"removal", "user-data"}),
                legal_processes=frozenset({"warrant"}),
                starts=datetime(2020, 7, 6, tzinfo=UTC),
                ends=datetime(2020, 8, 1, 9, 30, 15, tzinfo=UTC),
                lift_on="null",
                reply="no",
            ),
            Rule("norway", "NO", Stance.PROCESS),
            Rule("ca", "US-CA", Stance.NO_SERVICE),
        ),
    )
    text = dump_policy(doc)
    assert load_policy(text) == doc
    assert dump_policy(load_policy(text)) == text
    assert "from: 2020-07-06\n" in text  # a midnight is written as a plain date


def test_load_then_dump_then_load_keeps_a_hand_written_file() -> None:
    doc = load(GOOD)
    assert load_policy(dump_policy(doc)) == doc
