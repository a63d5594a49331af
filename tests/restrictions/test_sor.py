"""Statements of reasons built from the facts of realistic restrictions (the demo's German
removal under NetzDG, a StGB § 130 withholding in Germany only, a French removal), and the
cases where none is due."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from dueprocess.restrictions.dsa_api import eea_countries
from dueprocess.restrictions.sor import (
    Automation,
    RestrictionFacts,
    RestrictionKind,
    StatementNotDue,
    errors_of,
    not_due_reason,
    statement,
    validate,
)

GERMAN_REMOVAL = RestrictionFacts(
    restriction_id="17",
    demand_id=4,
    demand_reference="BKA-ZIR-2020-0117",
    authority_name="Bundeskriminalamt",
    authority_jurisdiction="DE",
    legal_instrument="Netzwerkdurchsetzungsgesetz (NetzDG)",
    legal_article="§ 3",
    kind=RestrictionKind.REMOVE_GLOBALLY,
    puid="post-88231",
    content_types=("CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE"),
    content_date=date(2020, 12, 20),
    application_date=date(2020, 12, 30),
    received_date=date(2020, 12, 28),
    facts="A post calling for violence against a named religious group.",
    grounds="Public incitement to hatred and violence against a religious group, "
    "punishable under StGB § 130(1), which NetzDG § 1(3) lists as unlawful content.",
    article_9_order=False,
    category="STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    keywords=("KEYWORD_HATE_SPEECH",),
    content_language="de",
    legal_reference_url="https://www.gesetze-im-internet.de/netzdg/__3.html",
)

GERMAN_WITHHOLDING = replace(
    GERMAN_REMOVAL,
    restriction_id="18",
    legal_instrument="Strafgesetzbuch (StGB)",
    legal_article="§ 130 (Volksverhetzung)",
    kind=RestrictionKind.WITHHOLD_IN_COUNTRIES,
    countries=("DE",),
    puid="post-88232",
    legal_reference_url="https://www.gesetze-im-internet.de/stgb/__130.html",
)

FRENCH_REMOVAL = RestrictionFacts(
    restriction_id="19",
    demand_id=5,
    demand_reference="PHAROS-2021-00412",
    authority_name="Office central de lutte contre la criminalité liée aux technologies de "
    "l'information et de la communication (OCLCTIC)",
    authority_jurisdiction="FR",
    legal_instrument="Loi n° 2004-575 pour la confiance dans l'économie numérique (LCEN)",
    legal_article="article 6-1",
    kind=RestrictionKind.REMOVE_GLOBALLY,
    puid="video_5521",
    content_types=("CONTENT_TYPE_VIDEO",),
    content_date=date(2021, 3, 2),
    application_date=date(2021, 3, 3),
    received_date=date(2021, 3, 3),
    facts="A video glorifying a terrorist attack.",
    grounds="Apologie du terrorisme, Code pénal article 421-2-5; LCEN article 6-1 allows the "
    "administrative authority to request its removal.",
    article_9_order=False,
)


@pytest.mark.parametrize("facts", [GERMAN_REMOVAL, GERMAN_WITHHOLDING, FRENCH_REMOVAL])
def test_realistic_restrictions_give_statements_the_database_accepts(
    facts: RestrictionFacts,
) -> None:
    built = statement(facts)
    assert validate(built) == []
    assert errors_of(facts) == []
    assert built["decision_ground"] == "DECISION_GROUND_ILLEGAL_CONTENT"
    assert built["source_type"] == "SOURCE_TYPE_OTHER_NOTIFICATION"
    assert built["automated_detection"] == "No"
    assert built["automated_decision"] == "AUTOMATED_DECISION_NOT_AUTOMATED"
    assert built["puid"] == facts.puid
    assert built["application_date"] == facts.application_date.isoformat()
    assert facts.authority_name in built["decision_facts"]
    assert facts.demand_reference in built["decision_facts"]
    assert facts.legal_article in built["illegal_content_legal_ground"]
    assert built["illegal_content_explanation"] == facts.grounds


def test_a_global_removal_is_removed_content_across_the_whole_eea() -> None:
    built = statement(GERMAN_REMOVAL)
    assert built["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_REMOVED"]
    assert built["territorial_scope"] == sorted(eea_countries())
    assert len(built["territorial_scope"]) == 30
    assert built["category_specification"] == ["KEYWORD_HATE_SPEECH"]
    assert built["content_language"] == "DE"
    assert built["decision_ground_reference_url"].startswith("https://")
    assert "law of Germany (DE)" in built["illegal_content_legal_ground"]
    assert "Reviewed by the service's staff" in built["decision_facts"]


def test_a_withholding_in_germany_is_disabled_access_in_germany() -> None:
    built = statement(GERMAN_WITHHOLDING)
    assert built["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_DISABLED"]
    assert built["territorial_scope"] == ["DE"]
    assert "withheld in DE." in built["decision_facts"]


def test_a_withholding_in_and_outside_the_eea_covers_the_eea_part() -> None:
    built = statement(replace(GERMAN_WITHHOLDING, countries=("HK", "de", "FR")))
    assert built["territorial_scope"] == ["DE", "FR"]
    assert "also restricted in countries outside the EU/EEA" in built["decision_facts"]
    assert validate(built) == []


def test_a_withholding_only_outside_the_eea_is_not_due() -> None:
    hk = replace(
        GERMAN_WITHHOLDING,
        authority_name="Hong Kong Police Force, National Security Department",
        authority_jurisdiction="HK",
        countries=("HK",),
    )
    reason = not_due_reason(hk)
    assert reason is not None
    assert "outside the EU/EEA (HK)" in reason
    with pytest.raises(StatementNotDue) as caught:
        statement(hk)
    assert caught.value.restriction_id == "18"
    assert "HK" in str(caught.value)


def test_a_global_removal_on_a_non_eea_order_is_due_and_says_whose_law() -> None:
    hk = replace(
        GERMAN_REMOVAL,
        authority_name="Hong Kong Police Force, National Security Department",
        authority_jurisdiction="HK",
        legal_instrument="Implementation Rules for Article 43 of the National Security Law",
        legal_article="Schedule 4",
    )
    built = statement(hk)
    assert validate(built) == []
    assert built["territorial_scope"] == sorted(eea_countries())
    assert built["illegal_content_legal_ground"].endswith(
        "law of Hong Kong (HK); not the law of an EU/EEA member state"
    )


def test_an_article_9_order_is_not_due() -> None:
    order = replace(GERMAN_REMOVAL, article_9_order=True)
    assert "Article 17(5)" in (not_due_reason(order) or "")
    with pytest.raises(StatementNotDue):
        statement(order)


def test_an_age_gate_and_an_account_suspension() -> None:
    gate = statement(replace(GERMAN_REMOVAL, kind=RestrictionKind.AGE_GATE))
    assert gate["decision_visibility"] == ["DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED"]
    assert len(gate["territorial_scope"]) == 30
    gate_at = statement(replace(GERMAN_REMOVAL, kind=RestrictionKind.AGE_GATE, countries=("AT",)))
    assert gate_at["territorial_scope"] == ["AT"]
    suspended = statement(
        replace(GERMAN_REMOVAL, kind=RestrictionKind.SUSPEND_ACCOUNT, end_date=date(2021, 3, 30))
    )
    assert "decision_visibility" not in suspended
    assert suspended["decision_account"] == "DECISION_ACCOUNT_SUSPENDED"
    assert suspended["end_date_account_restriction"] == "2021-03-30"
    for built in (gate, gate_at, suspended):
        assert validate(built) == []


def test_no_category_assessment_is_the_apis_not_specified_value() -> None:
    built = statement(replace(FRENCH_REMOVAL, category=None))
    assert built["category"] == "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"
    assert validate(built) == []


def test_other_content_type_carries_its_description() -> None:
    facts = replace(FRENCH_REMOVAL, content_types=("CONTENT_TYPE_OTHER",))
    assert [e.loc for e in errors_of(facts)] == [("restriction 19", "content_type_other")]
    built = statement(replace(facts, content_type_other="A livestream recording"))
    assert built["content_type_other"] == "A livestream recording"
    assert validate(built) == []


def test_automation_is_reported_as_it_was() -> None:
    built = statement(
        replace(FRENCH_REMOVAL, automated_detection=True, automated_decision=Automation.PARTIAL)
    )
    assert built["automated_detection"] == "Yes"
    assert built["automated_decision"] == "AUTOMATED_DECISION_PARTIALLY"
    assert "Reviewed by the service's staff" not in built["decision_facts"]


def test_what_the_database_would_refuse_is_named_with_the_restriction() -> None:
    facts = replace(GERMAN_REMOVAL, puid="@hassprediger_x", facts="x" * 5000, grounds="")
    assert [e.loc for e in errors_of(facts)] == [
        ("restriction 17", "illegal_content_explanation"),
        ("restriction 17", "decision_facts"),
        ("restriction 17", "puid"),
    ]


def test_a_withholding_must_name_where() -> None:
    with pytest.raises(ValueError, match="must name the countries"):
        statement(replace(GERMAN_WITHHOLDING, countries=()))
