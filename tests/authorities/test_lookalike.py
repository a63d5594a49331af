"""Look-alike sender domains, from the forged-emergency-request playbook, against the Hong Kong
Police Force's real domain (``police.gov.hk``) and a short one (``fbi.gov``)."""

from __future__ import annotations

import pytest

from dueprocess.authorities.lookalike import DomainAssessment, assess_sender_domain, skeleton

HK = ["police.gov.hk"]


def assess(sender: str, official: list[str] = HK) -> DomainAssessment:
    return assess_sender_domain(sender, official)


# --- genuine --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [
        "police.gov.hk",
        "chan.tai-man@police.gov.hk",
        "Inspector Chan <chan@police.gov.hk>",
        "POLICE.GOV.HK",
        "police.gov.hk.",
        "ｐｏｌｉｃｅ.gov.hk",  # full-width letters: IDNA maps them to the same name
        "police。gov。hk",  # ideographic full stops separate labels in IDNA
    ],
)
def test_the_official_domain_matches(sender: str) -> None:
    result = assess(sender)
    assert (result.verdict, result.matched_official) == ("match", "police.gov.hk")
    assert result.domain == "police.gov.hk"
    assert result.reasons[0] == "is the official domain police.gov.hk"


def test_a_normalised_spelling_is_noted_for_the_reviewer() -> None:
    result = assess("chan@ｐｏｌｉｃｅ.gov.hk")
    assert result.verdict == "match"
    assert any("written as" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    "sender", ["duty@mail.police.gov.hk", "a.b.police.gov.hk.", "NSD.Police.Gov.HK"]
)
def test_a_genuine_subdomain_is_a_subdomain_match(sender: str) -> None:
    result = assess(sender)
    assert (result.verdict, result.matched_official) == ("subdomain-match", "police.gov.hk")


def test_the_longest_official_domain_is_the_one_matched() -> None:
    result = assess("x@mail.nsd.police.gov.hk", ["police.gov.hk", "nsd.police.gov.hk"])
    assert result.matched_official == "nsd.police.gov.hk"


def test_matching_is_by_labels_not_by_text() -> None:
    assert assess("evilpolice.gov.hk").verdict != "subdomain-match"
    assert assess("xpolice.gov.hk").verdict != "match"


# --- homoglyphs and punycode ----------------------------------------------------------------


def test_cyrillic_o_is_a_lookalike_and_named() -> None:
    result = assess("chan@p\u043elice.gov.hk")  # CYRILLIC SMALL LETTER O
    assert (result.verdict, result.matched_official) == ("lookalike", "police.gov.hk")
    assert result.domain == "xn--plice-jye.gov.hk"
    assert "cyrillic small letter o U+043E" in result.reasons[0]
    assert "the label 'p\u043elice' mixes Latin and Cyrillic letters" in result.reasons


def test_punycode_that_displays_as_the_official_domain_is_a_lookalike() -> None:
    result = assess("duty@xn--plice-jye.gov.hk")
    assert result.verdict == "lookalike"
    assert result.display == "p\u043elice.gov.hk"
    assert any("punycode" in reason for reason in result.reasons)


def test_punycode_of_an_unrelated_name_is_only_noted() -> None:
    result = assess("info@xn--fiqs8s.com")  # 中国.com
    assert result.verdict == "unrelated"
    assert result.display == "中国.com"
    assert any("xn--" in reason for reason in result.reasons)


@pytest.mark.parametrize(
    ("sender", "swap"),
    [
        ("p0lice.gov.hk", "'0' in place of 'o'"),
        ("po1ice.gov.hk", "'1' in place of 'l'"),
        ("poIice.gov.hk", "'i' in place of 'l'"),
        ("p\u03bflice.gov.hk", "greek small letter omicron"),
        ("pol\u0456ce.gov.hk", "cyrillic small letter byelorussian-ukrainian i"),
        ("pol\u00edce.gov.hk", "latin small letter i with acute"),
        ("police.gov.h\u043a", "cyrillic small letter ka"),
        ("mail.p0lice.gov.hk", "'0' in place of 'o'"),
    ],
)
def test_homoglyphs_are_lookalikes(sender: str, swap: str) -> None:
    result = assess(sender)
    assert (result.verdict, result.matched_official) == ("lookalike", "police.gov.hk")
    assert "looks like police.gov.hk" in result.reasons[0]
    assert swap in result.reasons[0]


def test_rn_for_m() -> None:
    result = assess("alerts@rnet.police.uk", ["met.police.uk"])
    assert result.verdict == "lookalike"
    assert "'rn' in place of 'm'" in result.reasons[0]


def test_skeleton_folds_what_looks_alike_and_keeps_what_does_not() -> None:
    assert skeleton("p\u043el1ce") == skeleton("police") == skeleton("POLICE".lower())
    assert skeleton("rnet") == skeleton("met")
    assert skeleton("justice") != skeleton("police")


# --- embedding, other endings, typing mistakes -----------------------------------------------


@pytest.mark.parametrize(
    ("sender", "says"),
    [
        ("police.gov.hk.evil.com", "contains the official name police.gov.hk"),
        ("police.gov.hk.co", "contains the official name police.gov.hk"),
        ("login-police.gov.hk-secure.net", "contains the official name police.gov.hk"),
        ("police-gov-hk.com", "as 'police-gov-hk'"),
        ("policegovhk.org", "as 'policegovhk'"),
        ("hk-p0lice-gov-hk.com", "as 'police-gov-hk'"),
    ],
)
def test_the_official_name_embedded_elsewhere_is_a_lookalike(sender: str, says: str) -> None:
    result = assess(f"edr@{sender}")
    assert (result.verdict, result.matched_official) == ("lookalike", "police.gov.hk")
    assert says in result.reasons[0]


@pytest.mark.parametrize(
    ("sender", "ending"),
    [
        ("police.gov.com", "('com' instead of 'hk')"),
        ("police.gov.sg", "('sg' instead of 'hk')"),
        ("police.gov", "('nothing' instead of 'hk')"),
        ("mail.police.gov.co.uk", "('co.uk' instead of 'hk')"),
    ],
)
def test_the_same_name_under_another_ending_is_a_lookalike(sender: str, ending: str) -> None:
    result = assess(sender)
    assert result.verdict == "lookalike"
    assert "has the official name 'police.gov' under a different ending" in result.reasons[0]
    assert ending in result.reasons[0]


@pytest.mark.parametrize(
    ("sender", "edits"),
    [
        ("polise.gov.hk", "one edit"),
        ("plice.gov.hk", "one edit"),
        ("policee.gov.hk", "one edit"),
        ("poliec.gov.hk", "one edit"),
        ("police.go.hk", "one edit"),
        ("plocie.gov.hk", "2 edits"),
        ("urgent.polise.gov.hk", "one edit"),
    ],
)
def test_typing_mistake_domains_are_lookalikes(sender: str, edits: str) -> None:
    result = assess(sender)
    assert (result.verdict, result.matched_official) == ("lookalike", "police.gov.hk")
    assert f"is {edits} away from police.gov.hk" in result.reasons[0]


def test_swapped_letters_are_described_as_a_swap() -> None:
    assert "'ec' in place of 'ce'" in assess("poliec.gov.hk").reasons[0]


def test_short_names_allow_only_one_edit() -> None:
    assert assess("fib.gov", ["fbi.gov"]).verdict == "lookalike"
    assert assess("fbi.gob", ["fbi.gov"]).verdict == "lookalike"
    assert assess("abc.gov", ["fbi.gov"]).verdict == "unrelated"


# --- unrelated and invalid ------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender",
    [
        "someone@gmail.com",
        "gov.hk",
        "justice.gov.hk",
        "hkpolice.com",
        "example.org",
        "info@中国.com",
    ],
)
def test_unrelated_domains(sender: str) -> None:
    result = assess(sender)
    assert (result.verdict, result.matched_official) == ("unrelated", None)
    assert result.reasons[0] == "is not an official domain or a subdomain of one (police.gov.hk)"


@pytest.mark.parametrize(
    ("sender", "why"),
    [
        ("", "no domain given"),
        ("chan@", "no domain given"),
        ("localhost", "at least two labels"),
        ("police..gov.hk", "empty label"),
        ("police.gov.hk..", "empty label"),
        ("1.2.3.4", "IP address"),
        ("chan@[10.0.0.1]", "address literal"),
        ("police_gov.hk", "not a valid label"),
        ("-police.gov.hk", "not a valid label"),
        ("evil.com/police.gov.hk", "not a valid label"),
        ("xn--zz.gov.hk", "not valid punycode"),
        ("a" * 64 + ".hk", "not a valid label"),
        (("a" * 60 + ".") * 5 + "hk", "longer than the 253 characters"),
    ],
)
def test_invalid_senders(sender: str, why: str) -> None:
    result = assess(sender)
    assert (result.verdict, result.matched_official) == ("invalid", None)
    assert why in result.reasons[0]


def test_an_invalid_official_domain_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="official domain"):
        assess_sender_domain("chan@police.gov.hk", ["police gov hk"])


def test_official_domains_are_normalised_too() -> None:
    assert assess("chan@police.gov.hk", ["Police.Gov.HK."]).verdict == "match"
