"""Statements of reasons (DSA Article 17) for the restrictions dueprocess applies on a
government demand, in the fields and values of the DSA Transparency Database API.

Pure functions: :func:`statement` turns what dueprocess knows of one restriction
(:class:`RestrictionFacts`) into the API's JSON object; :func:`validate` (from
:mod:`dueprocess.restrictions.dsa_api`, which cites the upstream rules it implements) says
whether the database would accept it.

Decisions taken where the rules or the law leave room (docs/dsa.md says the same):

- **source_type** is ``SOURCE_TYPE_OTHER_NOTIFICATION``. The database's own guidance
  (``resources/markdown/additional-explanation-for-statement-attributes.md``, section 7.1)
  says: "While Article 17 of the DSA does not cover orders under Article 9, orders from
  authorities that do not fall under Article 9 can be indicated as a reason for investigation
  under the 'other notifications' option". ``SOURCE_ARTICLE_16`` and
  ``SOURCE_TRUSTED_FLAGGER`` are notices from the public and flaggers; ``SOURCE_VOLUNTARY``
  would misstate a decision taken because a government asked.
- **Article 9 orders**: Article 17(5) DSA says Article 17 does not apply to orders under
  Article 9, and the guidance above repeats it. Whether a demand is an Article 9 order (an
  order of a Member State's judicial or administrative authority to act against specific
  illegal content, with the elements of Article 9(2)) is a legal assessment a reviewer makes;
  :class:`RestrictionFacts` therefore has no default for it, and for an Article 9 order no
  statement is due (:class:`StatementNotDue`).
- **Outside the EEA**: the database, and the DSA, cover the EU and EEA; ``territorial_scope``
  accepts only the 30 EEA codes. A withholding only in countries outside the EEA (e.g. only in
  HK) restricts nothing for a recipient in the Union, so no statement is due
  (:class:`StatementNotDue`, naming the countries). A withholding in DE and HK gets a
  statement whose scope is DE: the part the DSA covers. A global removal is due whatever the
  authority's country, with all 30 EEA codes: an order from Hong Kong applied worldwide does
  remove the content for users in the Union.
- **Visibility**: a global removal is ``DECISION_VISIBILITY_CONTENT_REMOVED``; a withholding in
  listed countries is ``DECISION_VISIBILITY_CONTENT_DISABLED`` (disabling access, where it is
  withheld); an age gate is ``DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED``; a suspended account
  is ``decision_account: DECISION_ACCOUNT_SUSPENDED`` with no visibility decision.
- **Category**: the service's own assessment when it has one; otherwise
  ``STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE`` ("Type of alleged illegal content not specified
  by the notifier"), the API's value for exactly that case.
- **Ground**: always ``DECISION_GROUND_ILLEGAL_CONTENT``: the service acted because an
  authority said the content is illegal under the law it names, and
  ``illegal_content_legal_ground`` names that law (the instrument and article) and its
  country. If the law is not an EEA state's, the statement says so in the legal ground; it does
  not pretend the content is illegal under Union law.
- **Automation**: demands are reviewed by people: ``automated_detection`` "No" and
  ``automated_decision`` ``AUTOMATED_DECISION_NOT_AUTOMATED`` unless the facts say otherwise.
- **No personal data** (Article 24(5) DSA): the statement names the authority, its
  reference, the law and the service's own text; never the requesting officer or the user. The
  free texts (``facts`` and ``grounds``) are the reviewer's and must not contain personal data:
  no code can check that.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from dueprocess.errors import FieldError
from dueprocess.jurisdictions import UnknownJurisdiction, name_of, normalise
from dueprocess.restrictions.dsa_api import allowed, eea_countries, validate

__all__ = [
    "Automation",
    "RestrictionFacts",
    "RestrictionKind",
    "StatementNotDue",
    "not_due_reason",
    "statement",
    "validate",
]

NOT_SPECIFIED = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE"


class RestrictionKind(StrEnum):
    """What the service did to the content or account."""

    REMOVE_GLOBALLY = "remove-globally"
    WITHHOLD_IN_COUNTRIES = "withhold-in-countries"
    AGE_GATE = "age-gate"
    SUSPEND_ACCOUNT = "suspend-account"


class Automation(StrEnum):
    """How far automated means took the decision (the API's ``automated_decision``)."""

    NONE = "AUTOMATED_DECISION_NOT_AUTOMATED"
    PARTIAL = "AUTOMATED_DECISION_PARTIALLY"
    FULL = "AUTOMATED_DECISION_FULLY"


class StatementNotDue(Exception):
    """No statement of reasons is due for this restriction; ``reason`` says why."""

    def __init__(self, restriction_id: str, reason: str) -> None:
        self.restriction_id = restriction_id
        self.reason = reason
        super().__init__(f"restriction {restriction_id}: no statement of reasons is due: {reason}")


@dataclass(frozen=True)
class RestrictionFacts:
    """What dueprocess knows of one restriction it applied on a government demand.

    Codes are the API's own values (``CONTENT_TYPE_TEXT``, ``STATEMENT_CATEGORY_...``,
    ``KEYWORD_...``) so that nothing is lost in a mapping; :func:`statement` does not check
    them, :func:`validate` does.
    """

    restriction_id: str
    """dueprocess's id of the restriction: named in every error about its statement."""
    demand_id: int
    demand_reference: str
    """The authority's own reference of the demand, e.g. ``"BKA-2024-0117"``."""
    authority_name: str
    authority_jurisdiction: str
    """ISO 3166-1 alpha-2 (or 3166-2) code of the authority, e.g. ``"DE"``."""
    legal_instrument: str
    """The law relied on, e.g. ``"Strafgesetzbuch (StGB)"``."""
    legal_article: str
    """The provision within it, e.g. ``"§ 130 (Volksverhetzung)"``."""
    kind: RestrictionKind
    puid: str
    """The affected item's unique id in the service (API ``puid``: letters, digits, - and _)."""
    content_types: tuple[str, ...]
    """The API's ``CONTENT_TYPE_*`` values of the item (a post of text and image: both)."""
    content_date: date
    """When the service started hosting the item (posted, or the account registered)."""
    application_date: date
    """When the restriction took effect."""
    received_date: date
    """When the demand was received."""
    facts: str
    """Facts and circumstances relied on, in the reviewer's words, without personal data."""
    grounds: str
    """Why the content is illegal on that ground, in the reviewer's words."""
    article_9_order: bool
    """Whether the demand is an order under Article 9 DSA (then Article 17 does not apply)."""
    countries: tuple[str, ...] = ()
    """Where the item is withheld or age-gated (ISO 3166-1 alpha-2); empty for everywhere."""
    end_date: date | None = None
    """When the restriction ends, if it is not indefinite."""
    category: str | None = None
    """The service's own ``STATEMENT_CATEGORY_*`` assessment, if it made one."""
    keywords: tuple[str, ...] = ()
    """``KEYWORD_*`` values specifying the category, if any."""
    content_type_other: str | None = None
    """What the content is, when ``content_types`` holds ``CONTENT_TYPE_OTHER``."""
    content_language: str | None = None
    """ISO 639-1 code of the item's language, upper case as the API lists it (``"DE"``)."""
    legal_reference_url: str | None = None
    """A public URL of the law relied on (API ``decision_ground_reference_url``)."""
    automated_detection: bool = False
    automated_decision: Automation = Automation.NONE
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Further API fields to set as they are (e.g. ``account_type``); they win over ours."""


def _eea_scope(facts: RestrictionFacts) -> list[str]:
    """The EEA countries the restriction covers, in the API's sorted order."""
    if facts.kind in (RestrictionKind.REMOVE_GLOBALLY, RestrictionKind.SUSPEND_ACCOUNT) or (
        facts.kind is RestrictionKind.AGE_GATE and not facts.countries
    ):
        return sorted(eea_countries())
    return sorted({c.strip().upper() for c in facts.countries} & eea_countries())


def not_due_reason(facts: RestrictionFacts) -> str | None:
    """Why no statement of reasons is due for this restriction, or ``None`` if one is."""
    if facts.article_9_order:
        return (
            "the demand is an order under Article 9 DSA, and Article 17(5) DSA says Article 17 "
            "does not apply to such orders"
        )
    if facts.kind is RestrictionKind.WITHHOLD_IN_COUNTRIES and not facts.countries:
        return None  # refused by statement(): a withholding must name where
    if not _eea_scope(facts):
        where = ", ".join(sorted({c.strip().upper() for c in facts.countries}))
        return (
            f"it applies only outside the EU/EEA ({where}); the DSA and its Transparency "
            "Database cover restrictions in the EU/EEA only"
        )
    return None


def _country_name(code: str) -> str:
    try:
        return f"{name_of(code)} ({normalise(code)})"
    except UnknownJurisdiction:
        return code


def _decision(facts: RestrictionFacts) -> dict[str, Any]:
    if facts.kind is RestrictionKind.SUSPEND_ACCOUNT:
        out: dict[str, Any] = {"decision_account": "DECISION_ACCOUNT_SUSPENDED"}
        if facts.end_date is not None:
            out["end_date_account_restriction"] = facts.end_date.isoformat()
        return out
    visibility = {
        RestrictionKind.REMOVE_GLOBALLY: "DECISION_VISIBILITY_CONTENT_REMOVED",
        RestrictionKind.WITHHOLD_IN_COUNTRIES: "DECISION_VISIBILITY_CONTENT_DISABLED",
        RestrictionKind.AGE_GATE: "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    }[facts.kind]
    out = {"decision_visibility": [visibility]}
    if facts.end_date is not None:
        out["end_date_visibility_restriction"] = facts.end_date.isoformat()
    return out


def _what_was_done(facts: RestrictionFacts, scope: list[str]) -> str:
    if facts.kind is RestrictionKind.REMOVE_GLOBALLY:
        return "The content was removed for every user."
    if facts.kind is RestrictionKind.SUSPEND_ACCOUNT:
        return "The account was suspended."
    if facts.kind is RestrictionKind.AGE_GATE and not facts.countries:
        return "The content was age-restricted for every user."
    done = "withheld" if facts.kind is RestrictionKind.WITHHOLD_IN_COUNTRIES else "age-restricted"
    outside = {c.strip().upper() for c in facts.countries} - eea_countries()
    also = " It was also restricted in countries outside the EU/EEA." if outside else ""
    return f"The content was {done} in {', '.join(scope)}.{also}"


def _legal_ground(facts: RestrictionFacts) -> str:
    country = _country_name(facts.authority_jurisdiction)
    ground = f"{facts.legal_instrument}, {facts.legal_article}; law of {country}"
    try:
        outside = normalise(facts.authority_jurisdiction).split("-")[0] not in eea_countries()
    except UnknownJurisdiction:
        outside = True
    if outside:
        ground += "; not the law of an EU/EEA member state"
    return ground


def statement(facts: RestrictionFacts) -> dict[str, Any]:
    """The API's statement of reasons for one restriction, in its field names and values.

    Raises :class:`StatementNotDue` when none is due (:func:`not_due_reason`), and
    :class:`ValueError` for a withholding that names no country. The result is not checked
    here: pass it to :func:`validate` (export does), which names every field the database
    would refuse, e.g. ``decision_facts`` past 5,000 characters.
    """
    reason = not_due_reason(facts)
    if reason is not None:
        raise StatementNotDue(facts.restriction_id, reason)
    if facts.kind is RestrictionKind.WITHHOLD_IN_COUNTRIES and not facts.countries:
        raise ValueError(
            f"restriction {facts.restriction_id}: a withholding must name the countries it covers"
        )
    scope = _eea_scope(facts)
    reviewed = (
        "Reviewed by the service's staff before it acted. "
        if facts.automated_decision is Automation.NONE
        else ""
    )
    authority = f"{facts.authority_name}, {_country_name(facts.authority_jurisdiction)}"
    decision_facts = (
        f"Demand of a government authority ({authority}), its reference "
        f"{facts.demand_reference}, received {facts.received_date.isoformat()}, citing "
        f"{facts.legal_instrument}, {facts.legal_article}. {reviewed}"
        f"{_what_was_done(facts, scope)} {facts.facts.strip()}"
    ).strip()
    out: dict[str, Any] = {
        **_decision(facts),
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": _legal_ground(facts),
        "illegal_content_explanation": facts.grounds.strip(),
        "content_type": list(facts.content_types),
        "category": facts.category or NOT_SPECIFIED,
        "territorial_scope": scope,
        "content_date": facts.content_date.isoformat(),
        "application_date": facts.application_date.isoformat(),
        "decision_facts": decision_facts,
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "automated_detection": "Yes" if facts.automated_detection else "No",
        "automated_decision": facts.automated_decision.value,
        "puid": facts.puid,
    }
    if "CONTENT_TYPE_OTHER" in facts.content_types:
        out["content_type_other"] = facts.content_type_other
    if facts.keywords:
        out["category_specification"] = list(facts.keywords)
    if facts.content_language:
        out["content_language"] = facts.content_language.upper()
    if facts.legal_reference_url:
        out["decision_ground_reference_url"] = facts.legal_reference_url
    out.update(facts.extra)
    return out


def errors_of(facts: RestrictionFacts) -> list[FieldError]:
    """The statement's problems, each located at ``(restriction id, field)``: :func:`validate`
    of :func:`statement`, for a caller that starts from the facts."""
    return [
        FieldError((f"restriction {facts.restriction_id}", *e.loc), e.msg, e.type)
        for e in validate(statement(facts))
    ]


def content_types() -> tuple[str, ...]:
    """The API's ``CONTENT_TYPE_*`` values, for a caller building :class:`RestrictionFacts`."""
    return allowed("CONTENT_TYPES")
