"""Is the requester who they claim to be? A score, a state and the reasons, from plain facts.

In 2021-2022 forged "emergency data requests" sent from hijacked police mailboxes obtained
users' data from large services. Intake is where that is stopped, so every demand is judged
on the signals below as it arrives. :func:`assess` is pure: it reads a
:class:`RequesterSignals` (gathered from the database by
:func:`dueprocess.authorities.service.verify_requester`) and returns a :class:`Verification`.

What counts as "a verified officer with a second factor"
    An officer account that staff verified with evidence
    (:func:`dueprocess.accounts.service.verify_officer`), of the demand's authority, that
    submitted through a **portal session**: signing in to one needs the password *and* a
    TOTP code, and officers must enrol TOTP. An **API token does not count** as a second
    factor: it is one long-lived bearer secret, often kept in a configuration file, and
    whoever copies it can use it alone. A token of a verified officer is therefore good
    evidence but never enough for ``verified`` on its own.

Scoring
    Confidence starts at :data:`BASE` (50) and each signal adds or takes away points; every
    signal that applied is one reason, ``{"signal", "effect", "detail"}``, and the effects
    always add up: ``BASE + sum(effects) == confidence`` (a ``ceiling`` or ``bounds``
    reason records any capping). Effects are whole numbers written ``"+N"`` / ``"-N"``.

    ====================  =================================================  ======  ===========
    signal                condition                                          effect  state
    ====================  =================================================  ======  ===========
    authority             registry status ``verified``                        +10
    authority             registry status ``unverified``                      -10    ≤ unverified
    authority             registry status ``suspended``                       -40    suspicious
    officer               verified officer of this authority                  +20
    officer               officer account not (yet) verified by staff         -10    ≤ unverified
    officer               officer of another authority                        -40    suspicious
    officer               none: staff entered it (e-mail, post, fax, import)   +0    ≤ unverified
    second-factor         officer submitted in a session opened with TOTP    +15
    second-factor         officer submitted with an API token (no TOTP)        +0    ≤ unverified
    credentials-changed   e-mail, phone or password changed within            -25    ≤ unverified
                          :data:`RECENT_CREDENTIALS_DAYS` days and not                (suspicious
                          re-verified since                                           if emergency)
    sender-domain         sender is an official domain or a subdomain of one  +10
    sender-domain         look-alike of an official domain (homoglyphs,       -50    suspicious
                          extra labels, other ending, typo)
    sender-domain         unrelated domain, or not a usable address           -20    ≤ unverified
    sender-domain         the registry lists no official domain                +0
    sender-domain         no sender address and no officer account            -10
    document-signature    a PDF carries a signature (present, not validated)   +5
    document-signature    PDFs without a signature                             +0
    emergency             emergency disclosure claimed                        -10
    volume                last 24 h ≥ :data:`SPIKE_MINIMUM` demands and over  -15    ≤ unverified
                          :data:`SPIKE_FACTOR` × the authority's daily
                          average of the 90 days before
    ====================  =================================================  ======  ===========

Ceilings
    Without a verified officer who used a second factor, confidence is capped: at
    :data:`TOKEN_CEILING` (75) for a verified officer's API token, at :data:`ENTRY_CEILING`
    (60) for everything else (staff entry, unverified officers). The reason: what remains
    (a From address, a signature's presence) can be forged or borrowed. A From header is
    not authenticated here (no DKIM/DMARC result reaches intake), a hijacked genuine
    mailbox still has the genuine domain, and a signature is only detected, never
    validated. So staff entry by e-mail from a matching official domain with a signed PDF,
    from a verified authority, is at best ``unverified`` with confidence 60: worth
    processing, but only after a person has checked it through a channel on file.

States
    ``suspicious``: any signal marked *suspicious* above (a suspended authority, a
    look-alike sender, an officer of another authority, an emergency from an account whose
    credentials just changed, the 2021-2022 pattern), or confidence below
    :data:`SUSPICIOUS_BELOW` (20), when many weak doubts add up.
    ``verified``: no signal that limits the state (≤ unverified) and confidence at least
    :data:`VERIFIED_MINIMUM` (80); in practice a verified officer with a second factor from
    a verified authority, with nothing odd about the request.
    ``unverified``: everything else; a person must check before relying on it.

An emergency disclosure is never acted on until staff record a confirmed call-back to a
number from the registry (:mod:`dueprocess.demands.callbacks`), whatever the state here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, TypedDict

from dueprocess.authorities.lookalike import assess_sender_domain
from dueprocess.authorities.models import AuthorityStatus

State = Literal["verified", "unverified", "suspicious"]

BASE = 50
VERIFIED_MINIMUM = 80
SUSPICIOUS_BELOW = 20
ENTRY_CEILING = 60
TOKEN_CEILING = 75
RECENT_CREDENTIALS_DAYS = 14
SPIKE_MINIMUM = 5
SPIKE_FACTOR = 4
BASELINE_DAYS = 90


class Reason(TypedDict):
    """One signal that moved the score: ``effect`` is ``"+N"`` or ``"-N"`` (whole points)."""

    signal: str
    effect: str
    detail: str


@dataclass(frozen=True)
class OfficerStanding:
    """What verification needs to know of the officer account that submitted a demand,
    gathered by :func:`dueprocess.accounts.service.officer_standing` (accounts sit above the
    registry, so the registry is handed these facts rather than reading accounts).

    ``credentials_changed_at``: when the e-mail, phone or password last changed, only if that
    was after staff last verified the account (or, never verified, after it was created);
    ``None`` otherwise."""

    authority_id: int
    verified: bool
    totp_enrolled: bool
    credentials_changed_at: datetime | None


@dataclass(frozen=True)
class RequesterSignals:
    """Plain facts about who sent a demand; nothing here is a judgement.

    ``second_factor``: the officer submitted in a session opened with password and TOTP
    (an API token is not a second factor). ``credentials_changed_days_ago``: whole days
    since the officer's e-mail, phone or password last changed without staff verifying the
    account again afterwards (``None``: no such change). ``documents_signed``: whether any
    PDF of the demand carries a signature (``None``: no PDF to look at).
    ``received_last_24h`` counts the authority's demands received in the last 24 hours,
    this one included; ``received_baseline`` those of the :data:`BASELINE_DAYS` days before.
    """

    authority_status: AuthorityStatus
    officer_present: bool = False
    officer_verified: bool = False
    officer_of_authority: bool = True
    second_factor: bool = False
    credentials_changed_days_ago: int | None = None
    sender: str | None = None
    official_domains: tuple[str, ...] = ()
    documents_signed: bool | None = None
    emergency: bool = False
    received_last_24h: int = 0
    received_baseline: int = 0


@dataclass(frozen=True)
class Verification:
    """The verdict: ``state``, ``confidence`` (0-100) and the ``reasons`` behind both.

    ``reasons`` is JSON as it stands (strings only), ready for the demand row and the audit
    log.
    """

    state: State
    confidence: int
    reasons: list[Reason] = field(default_factory=list)


class _Tally:
    def __init__(self) -> None:
        self.reasons: list[Reason] = []
        self.score = BASE
        self.suspicious = False
        self.limited = False  # at most "unverified"

    def add(
        self,
        signal: str,
        points: int,
        detail: str,
        *,
        suspicious: bool = False,
        limit: bool = False,
    ) -> None:
        self.reasons.append({"signal": signal, "effect": f"{points:+d}", "detail": detail})
        self.score += points
        self.suspicious = self.suspicious or suspicious
        self.limited = self.limited or limit

    def cap(self, signal: str, ceiling: int, why: str) -> None:
        if self.score > ceiling:
            self.add(signal, ceiling - self.score, f"confidence capped at {ceiling}: {why}")


def assess(signals: RequesterSignals) -> Verification:
    """Score ``signals`` as the module docstring documents; pure and deterministic."""
    tally = _Tally()
    _authority(tally, signals)
    _officer(tally, signals)
    _credentials(tally, signals)
    _sender(tally, signals)
    _signature(tally, signals)
    if signals.emergency:
        tally.add(
            "emergency",
            -10,
            "emergency disclosure claimed: the route forged requests use most; nothing is "
            "disclosed until staff record a confirmed call-back to a number from the registry",
        )
    _volume(tally, signals)

    strong = signals.officer_present and signals.officer_verified and signals.second_factor
    if not strong and signals.officer_present and signals.officer_verified:
        tally.cap(
            "ceiling",
            TOKEN_CEILING,
            "an API token is a single bearer secret; no second factor was used",
        )
    elif not strong:
        tally.cap(
            "ceiling",
            ENTRY_CEILING,
            "no verified officer signed in with a second factor; a sender address can be "
            "forged or sent from a hijacked genuine mailbox, and a signature is not validated",
        )
    if tally.score < 0:
        tally.add("bounds", -tally.score, "confidence cannot go below 0")
    elif tally.score > 100:
        tally.add("bounds", 100 - tally.score, "confidence cannot go above 100")

    state: State
    if tally.suspicious or tally.score < SUSPICIOUS_BELOW:
        state = "suspicious"
    elif not tally.limited and tally.score >= VERIFIED_MINIMUM:
        state = "verified"
    else:
        state = "unverified"
    return Verification(state, tally.score, tally.reasons)


def _authority(tally: _Tally, s: RequesterSignals) -> None:
    if s.authority_status is AuthorityStatus.VERIFIED:
        tally.add("authority", 10, "the authority is verified in the registry")
    elif s.authority_status is AuthorityStatus.SUSPENDED:
        tally.add(
            "authority",
            -40,
            "the authority is suspended in the registry: its demands are not trusted",
            suspicious=True,
        )
    else:
        tally.add("authority", -10, "the authority is not yet verified in the registry", limit=True)


def _officer(tally: _Tally, s: RequesterSignals) -> None:
    if not s.officer_present:
        tally.add(
            "officer",
            0,
            "entered by staff from an e-mail, letter, fax or import: no officer account "
            "stands behind it",
            limit=True,
        )
        return
    if not s.officer_of_authority:
        tally.add(
            "officer",
            -40,
            "submitted by an officer account of a different authority",
            suspicious=True,
        )
    elif s.officer_verified:
        tally.add("officer", 20, "submitted by an officer account staff verified with evidence")
    else:
        tally.add(
            "officer", -10, "submitted by an officer account not yet verified by staff", limit=True
        )
    if s.second_factor:
        tally.add("second-factor", 15, "submitted in a portal session opened with a TOTP code")
    else:
        tally.add(
            "second-factor",
            0,
            "submitted without a second factor (an API token is a single bearer secret)",
            limit=True,
        )


def _credentials(tally: _Tally, s: RequesterSignals) -> None:
    days = s.credentials_changed_days_ago
    if not s.officer_present or days is None or days > RECENT_CREDENTIALS_DAYS:
        return
    when = "today" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"
    detail = (
        f"the officer account's e-mail, phone or password changed {when}, and staff have not "
        "verified the account since: hijacked accounts look like this"
    )
    if s.emergency:
        detail += "; with an emergency claimed, this is the pattern of forged emergency requests"
    tally.add("credentials-changed", -25, detail, suspicious=s.emergency, limit=True)


def _sender(tally: _Tally, s: RequesterSignals) -> None:
    if not s.sender:
        if not s.officer_present:
            tally.add(
                "sender-domain",
                -10,
                "no sender address and no officer account: nothing ties it to the authority",
            )
        return
    if not s.official_domains:
        tally.add(
            "sender-domain",
            0,
            f"{s.sender}: the registry lists no official domain for this authority to compare",
        )
        return
    try:
        verdict = assess_sender_domain(s.sender, s.official_domains)
    except ValueError as exc:  # a registry entry that is not a domain name
        tally.add("sender-domain", 0, f"cannot compare with the registry: {exc}")
        return
    because = "; ".join(verdict.reasons)
    if verdict.verdict in ("match", "subdomain-match"):
        tally.add(
            "sender-domain",
            10,
            f"{verdict.display} {because} (a hijacked genuine mailbox would match too)",
        )
    elif verdict.verdict == "lookalike":
        tally.add(
            "sender-domain",
            -50,
            f"look-alike domain: {because}",
            suspicious=True,
        )
    elif verdict.verdict == "invalid":
        tally.add(
            "sender-domain", -20, f"the sender is not a usable address: {because}", limit=True
        )
    else:
        tally.add("sender-domain", -20, f"{verdict.display} {because}", limit=True)


def _signature(tally: _Tally, s: RequesterSignals) -> None:
    if s.documents_signed is True:
        tally.add(
            "document-signature",
            5,
            "a PDF document carries a digital signature: signature present, not validated",
        )
    elif s.documents_signed is False:
        tally.add("document-signature", 0, "no PDF document carries a digital signature")


def _volume(tally: _Tally, s: RequesterSignals) -> None:
    recent, baseline = s.received_last_24h, s.received_baseline
    if recent >= SPIKE_MINIMUM and recent * BASELINE_DAYS > SPIKE_FACTOR * baseline:
        tally.add(
            "volume",
            -15,
            f"{recent} demands from this authority in the last 24 hours, more than "
            f"{SPIKE_FACTOR} times its daily average ({baseline} in the {BASELINE_DAYS} days "
            "before)",
            limit=True,
        )


def reasons_text(reasons: Sequence[Reason]) -> list[str]:
    """The reasons as one line each (``+10 authority: ...``), for the command line."""
    return [f"{r['effect']:>4} {r['signal']}: {r['detail']}" for r in reasons]
