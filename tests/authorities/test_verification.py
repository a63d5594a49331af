"""Requester verification scoring: each signal moves the result as the module documents."""

from __future__ import annotations

import dataclasses
import json

import pytest

from dueprocess.authorities.models import AuthorityStatus
from dueprocess.authorities.verification import (
    BASE,
    ENTRY_CEILING,
    TOKEN_CEILING,
    RequesterSignals,
    Verification,
    assess,
)

OFFICIAL = ("police.gov.hk",)

#: A verified officer of a verified authority, in a TOTP session, nothing odd.
GOOD = RequesterSignals(
    authority_status=AuthorityStatus.VERIFIED,
    officer_present=True,
    officer_verified=True,
    second_factor=True,
    official_domains=OFFICIAL,
    received_last_24h=1,
    received_baseline=90,
)

#: Staff entry of an e-mail from the official domain with a signed PDF.
EMAILED = RequesterSignals(
    authority_status=AuthorityStatus.VERIFIED,
    sender="Insp. Wong <wong@police.gov.hk>",
    official_domains=OFFICIAL,
    documents_signed=True,
    received_last_24h=1,
    received_baseline=90,
)


def _with(base: RequesterSignals, **changes: object) -> Verification:
    return assess(dataclasses.replace(base, **changes))  # type: ignore[arg-type]


def _signals(result: Verification) -> dict[str, str]:
    return {r["signal"]: r["effect"] for r in result.reasons}


def _adds_up(result: Verification) -> bool:
    return BASE + sum(int(r["effect"]) for r in result.reasons) == result.confidence


def test_verified_officer_with_totp_from_verified_authority_is_verified() -> None:
    result = assess(GOOD)
    assert result.state == "verified"
    assert result.confidence == 95
    assert _signals(result) == {"authority": "+10", "officer": "+20", "second-factor": "+15"}
    assert _adds_up(result)


def test_reasons_are_plain_json_without_floats() -> None:
    for signals in (GOOD, EMAILED, dataclasses.replace(EMAILED, sender="x@pol1ce.gov.hk")):
        result = assess(signals)
        text = json.dumps(result.reasons)
        assert json.loads(text) == result.reasons
        assert isinstance(result.confidence, int)
        for reason in result.reasons:
            assert set(reason) == {"signal", "effect", "detail"}
            assert reason["effect"][0] in "+-"
            assert int(reason["effect"]) == int(reason["effect"].lstrip("+"))


@pytest.mark.parametrize(
    "sender",
    [
        "duty@police.gov.hk.evil.example",  # the official name as extra labels
        "duty@pοlice.gov.hk",  # Greek omicron
        "duty@pоlice.gov.hk",  # Cyrillic о
        "duty@xn--plice-jye.gov.hk",  # punycode of the Cyrillic о spelling
        "duty@po1ice.gov.hk",
        "duty@police-gov-hk.com",
        "duty@police.gov.com",
    ],
)
def test_lookalike_sender_is_suspicious_even_with_everything_else_good(sender: str) -> None:
    result = _with(GOOD, sender=sender, documents_signed=True)
    assert result.state == "suspicious", result.reasons
    assert _signals(result)["sender-domain"] == "-50"
    assert "look-alike" in next(
        r["detail"] for r in result.reasons if r["signal"] == "sender-domain"
    )
    assert _adds_up(result)


def test_matching_sender_domain_adds_and_subdomain_counts() -> None:
    for sender in ("duty@police.gov.hk", "duty@mail.police.gov.hk"):
        result = _with(GOOD, sender=sender)
        assert _signals(result)["sender-domain"] == "+10"
        assert result.state == "verified"
        assert result.confidence == 100
        assert _signals(result)["bounds"] == "-5"
        assert _adds_up(result)


def test_suspended_authority_is_suspicious() -> None:
    result = _with(GOOD, authority_status=AuthorityStatus.SUSPENDED)
    assert result.state == "suspicious"
    assert _signals(result)["authority"] == "-40"


def test_unverified_authority_limits_the_state() -> None:
    result = _with(GOOD, authority_status=AuthorityStatus.UNVERIFIED)
    assert result.state == "unverified"
    assert result.confidence == 75
    assert _signals(result)["authority"] == "-10"


def test_unverified_officer_is_not_verified() -> None:
    result = _with(GOOD, officer_verified=False)
    assert result.state == "unverified"
    assert _signals(result)["officer"] == "-10"
    assert result.confidence == ENTRY_CEILING
    assert _adds_up(result)


def test_officer_of_another_authority_is_suspicious() -> None:
    result = _with(GOOD, officer_of_authority=False)
    assert result.state == "suspicious"
    assert _signals(result)["officer"] == "-40"


def test_api_token_is_not_a_second_factor() -> None:
    result = _with(GOOD, second_factor=False)
    assert result.state == "unverified"
    assert result.confidence == TOKEN_CEILING
    assert _signals(result)["second-factor"] == "+0"
    assert _signals(result)["ceiling"] == "-5"
    assert _adds_up(result)


def test_staff_email_entry_with_matching_domain_and_signature_is_at_best_unverified() -> None:
    result = assess(EMAILED)
    assert result.state == "unverified"
    assert result.confidence == ENTRY_CEILING
    signals = _signals(result)
    assert signals["sender-domain"] == "+10"
    assert signals["document-signature"] == "+5"
    assert signals["officer"] == "+0"
    assert signals["ceiling"] == "-15"
    signature = next(r for r in result.reasons if r["signal"] == "document-signature")
    assert "signature present, not validated" in signature["detail"]
    assert _adds_up(result)


def test_unrelated_sender_lowers_and_limits() -> None:
    result = _with(EMAILED, sender="hk.police.duty@gmail.com", documents_signed=None)
    assert _signals(result)["sender-domain"] == "-20"
    assert result.state == "unverified"
    assert result.confidence == 40


def test_unsigned_pdf_is_noted_but_does_not_move_the_score() -> None:
    signed, unsigned, none = (
        _with(EMAILED, documents_signed=value, sender="x@gmail.com")
        for value in (True, False, None)
    )
    assert _signals(unsigned)["document-signature"] == "+0"
    assert "document-signature" not in _signals(none)
    assert signed.confidence == unsigned.confidence + 5
    assert unsigned.confidence == none.confidence


def test_no_sender_and_no_officer_is_a_doubt() -> None:
    result = _with(EMAILED, sender=None, documents_signed=None)
    assert _signals(result)["sender-domain"] == "-10"


def test_registry_without_domains_cannot_judge_the_sender() -> None:
    result = _with(EMAILED, official_domains=())
    assert _signals(result)["sender-domain"] == "+0"


def test_recent_credentials_change_limits_and_with_emergency_is_suspicious() -> None:
    changed = _with(GOOD, credentials_changed_days_ago=3)
    assert changed.state == "unverified"
    assert _signals(changed)["credentials-changed"] == "-25"
    assert changed.confidence == 70
    old = _with(GOOD, credentials_changed_days_ago=30)
    assert old.state == "verified"
    assert "credentials-changed" not in _signals(old)
    emergency = _with(GOOD, credentials_changed_days_ago=0, emergency=True)
    assert emergency.state == "suspicious"
    assert "today" in next(
        r["detail"] for r in emergency.reasons if r["signal"] == "credentials-changed"
    )


def test_emergency_lowers_confidence_and_says_a_call_back_is_needed() -> None:
    result = _with(GOOD, emergency=True)
    assert result.state == "verified"
    assert result.confidence == 85
    detail = next(r["detail"] for r in result.reasons if r["signal"] == "emergency")
    assert "call-back" in detail


def test_volume_spike_is_flagged() -> None:
    spike = _with(GOOD, received_last_24h=12, received_baseline=90)  # 12 against 1 a day
    assert _signals(spike)["volume"] == "-15"
    assert spike.state == "unverified"
    detail = next(r["detail"] for r in spike.reasons if r["signal"] == "volume")
    assert "12 demands" in detail
    assert "90 in the 90 days" in detail
    usual = _with(GOOD, received_last_24h=4, received_baseline=90)
    assert "volume" not in _signals(usual)
    busy = _with(GOOD, received_last_24h=350, received_baseline=9000)  # 100 a day, 3.5x
    assert "volume" not in _signals(busy)
    new_authority = _with(GOOD, received_last_24h=5, received_baseline=0)
    assert "volume" in _signals(new_authority)


def test_many_weak_doubts_add_up_to_suspicious() -> None:
    result = _with(
        EMAILED,
        authority_status=AuthorityStatus.UNVERIFIED,
        sender="duty@protonmail.com",
        documents_signed=None,
        emergency=True,
    )
    assert result.confidence == 10
    assert result.state == "suspicious"
    assert _adds_up(result)


def test_confidence_never_goes_below_zero() -> None:
    result = _with(
        GOOD,
        authority_status=AuthorityStatus.SUSPENDED,
        officer_of_authority=False,
        sender="x@police.gov.hk.evil.example",
        emergency=True,
        credentials_changed_days_ago=1,
        received_last_24h=50,
    )
    assert result.confidence == 0
    assert result.state == "suspicious"
    assert "bounds" in _signals(result)
    assert _adds_up(result)
