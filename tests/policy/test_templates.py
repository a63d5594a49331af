"""The July 2020 templates load, cite their source, and give the stances the companies took."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from dueprocess.errors import NotFound
from dueprocess.policy.fileformat import dump_policy, load_policy
from dueprocess.policy.rules import DemandFacts, Stance, evaluate
from dueprocess.policy.templates import list_templates, load_template, template_text

EXPECTED = {
    "apple-2020": (Stance.ESCALATE, "awaiting guidance from the US government"),
    "facebook-whatsapp-2020": (Stance.PAUSE, "pending human-rights due diligence"),
    "telegram-2020": (Stance.REFUSE, "until an international consensus is reached"),
    "tiktok-2020": (Stance.NO_SERVICE, "stopped operating the app in Hong Kong"),
    "zoom-2020": (Stance.PAUSE, "pending guidance from the US government"),
}


def hk_user_data(received: datetime) -> DemandFacts:
    return DemandFacts("HK", "hkpf-nsd", "user-data", "administrative-order", received)


def test_the_five_templates_are_listed() -> None:
    assert list_templates() == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_gives_its_stance_for_a_hong_kong_data_demand_on_10_july(name: str) -> None:
    stance, condition = EXPECTED[name]
    result = evaluate(load_template(name), hk_user_data(datetime(2020, 7, 10, tzinfo=UTC)))
    assert result.stance == stance
    assert result.rule_id is not None
    assert condition in (result.condition or "")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_is_a_commented_file_that_round_trips(name: str) -> None:
    text = template_text(name)
    assert text.startswith("# ")
    assert text.splitlines()[0].endswith(", July 2020.")
    doc = load_template(name)
    assert load_policy(dump_policy(doc)) == doc


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_leaves_other_countries_to_the_default(name: str) -> None:
    german = DemandFacts("DE", "bka", "user-data", "court-order", datetime(2020, 7, 10, tzinfo=UTC))
    assert evaluate(load_template(name), german).stance == Stance.PROCESS


def test_facebook_processed_before_6_july_and_paused_open_demands_from_then() -> None:
    doc = load_template("facebook-whatsapp-2020")
    first_of_july = hk_user_data(datetime(2020, 7, 1, tzinfo=UTC))
    at_intake = evaluate(doc, first_of_july)
    assert (at_intake.stance, at_intake.rule_id) == (Stance.PROCESS, None)
    still_open = evaluate(doc, first_of_july, datetime(2020, 7, 6, 12, tzinfo=UTC))
    assert (still_open.stance, still_open.rule_id) == (Stance.PAUSE, "hk-pause-hrdd")
    assert "paused" in (still_open.reply or "")


def test_telegram_refuses_data_but_not_removal() -> None:
    doc = load_template("telegram-2020")
    removal = DemandFacts(
        "HK", "hkpf-nsd", "removal", "administrative-order", datetime(2020, 7, 10, tzinfo=UTC)
    )
    assert evaluate(doc, removal).stance == Stance.PROCESS
    before_the_law = hk_user_data(datetime(2019, 1, 1, tzinfo=UTC))
    assert evaluate(doc, before_the_law).stance == Stance.REFUSE


def test_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound, match="facebook-whatsapp-2020"):
        load_template("myspace-2005")


#: How the project's own copies of the July 2020 reports are named (``context/000_....txt``,
#: "shared context report 003"): files a user of the templates does not have.
_LOCAL_NAME = re.compile(
    r"shared[ _/-]?context|context/|\breports? \d{3}\b|\b00[0-9]\b|\b[0-9a-f]{16}\b|\.txt\b",
    re.IGNORECASE,
)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_cites_public_sources_not_local_files(name: str) -> None:
    text = template_text(name)
    assert _LOCAL_NAME.search(text) is None, _LOCAL_NAME.search(text)
    sources = text.split("# Sources:\n", 1)
    assert len(sources) == 2, "a Sources list in the header"
    cited = {int(n) for n in re.findall(r"\[(\d)\]", sources[0])}
    listed = {int(n) for n in re.findall(r"^# \[(\d)\] ", sources[1], re.MULTILINE)}
    assert cited, "the header cites its sources"
    assert cited == listed, "every source cited is listed, and only those"
    assert "https://" in sources[1], "at least one source with its address"


def test_the_local_name_pattern_catches_what_the_templates_used_to_say() -> None:
    for old in (
        "as quoted in the July 2020 press report kept as shared context 000",
        "(shared context report 002, Recode, 7 July 2020; report 001 notes",
        "see context/004_9add1140aeabf6ab.txt",
    ):
        assert _LOCAL_NAME.search(old) is not None, old
