"""Risk flags: pure functions from a demand's facts to the hints its reviewer is shown.

:func:`assess` is given everything it looks at: the demand's facts, what the connector said
about each target (or why it said nothing), and the protected-list entries that match a
target. It reads no database, no clock and no connector, so the same facts always give the
same flags. :mod:`dueprocess.review.flags` gathers the facts, stores the flags and makes
human-rights review required when :func:`human_rights_reasons` finds a reason.

Each flag carries its evidence, a list of ``{"what", "matched", "source"}`` (plus
``"snippet"`` for words found in a text): what was found, the words or facts matched, and
where (a target's identifier, the demand's summary, its period). Flags are hints, never
decisions. The flags, their levels and thresholds (docs/review.md, "Risk flags"):

==================== ====== ===========================================================
code                 level  raised when
==================== ====== ===========================================================
political            high   the lexicon finds political expression in a target's content,
                            an account's display name, or the demand's summary
journalism           high   ... journalism
religion             high   ... religious expression
protected-account    high   a target's account is on the staff-kept protected list
over-broad           medium content asked on a subscriber-level process; a period longer
                            than the service accepts, or much wider than the targeted
                            content's dates; traffic or content with no date range; many
                            targets (:class:`Thresholds`)
lookup-failed        medium the connector failed for a target: nothing in it was checked
target-not-found     low    no connector knows the target (deleted, mistyped, elsewhere)
==================== ====== ===========================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from dueprocess.connectors.spec import AccountInfo, ContentInfo
from dueprocess.review import lexicon as lexicons
from dueprocess.review.models import FlagLevel

POLITICAL = "political"
JOURNALISM = "journalism"
RELIGION = "religion"
PROTECTED = "protected-account"
OVER_BROAD = "over-broad"
LOOKUP_FAILED = "lookup-failed"
NOT_FOUND = "target-not-found"

#: Every flag code, in the order flags of one level are shown, with its level.
LEVELS: dict[str, FlagLevel] = {
    POLITICAL: FlagLevel.HIGH,
    JOURNALISM: FlagLevel.HIGH,
    RELIGION: FlagLevel.HIGH,
    PROTECTED: FlagLevel.HIGH,
    OVER_BROAD: FlagLevel.MEDIUM,
    LOOKUP_FAILED: FlagLevel.MEDIUM,
    NOT_FOUND: FlagLevel.LOW,
}
_LEVEL_ORDER = {FlagLevel.HIGH: 0, FlagLevel.MEDIUM: 1, FlagLevel.LOW: 2}
_CODE_ORDER = {code: i for i, code in enumerate(LEVELS)}
_EXPRESSION = {
    POLITICAL: "Political expression",
    JOURNALISM: "Journalism",
    RELIGION: "Religious expression",
}

#: Legal processes that reach subscriber records only: asking content on one is over-broad.
SUBSCRIBER_LEVEL = frozenset({"subpoena", "administrative-order"})
#: Data categories that have a time dimension (subscriber records do not).
DATED_CATEGORIES = frozenset({"traffic", "content"})


@dataclass(frozen=True)
class Thresholds:
    """Where ``over-broad`` starts (docs/review.md says why each is where it is).

    - ``many_targets``: a demand naming this many targets or more reads as a sweep (everyone
      at a protest, every member of a group), not an investigation of particular people.
    - ``period_margin_days``: a period may reach this far before the earliest and after the
      latest targeted content item; beyond it, it asks for more than the stated facts need.
    - ``max_period_days``: a period longer than this is flagged whatever the targets.
    - ``subscriber_level``: processes that reach only subscriber records.
    """

    many_targets: int = 10
    period_margin_days: int = 30
    max_period_days: int = 365
    subscriber_level: frozenset[str] = SUBSCRIBER_LEVEL


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class TargetFacts:
    """One target and what the connector said about it: ``account`` for an account,
    ``content`` for a content item, neither when no connector knows it, and ``problem``
    (the connector's error) when the look-up failed."""

    type: str
    identifier: str
    account: AccountInfo | None = None
    content: ContentInfo | None = None
    problem: str | None = None


@dataclass(frozen=True)
class DemandFacts:
    """The demand as flags see it. ``received_at`` ends a period stated without an end."""

    kind: str
    legal_process: str
    data_categories: tuple[str, ...]
    period_start: datetime | None
    period_end: datetime | None
    received_at: datetime
    summary: str
    stance: str | None
    targets: tuple[TargetFacts, ...]


@dataclass(frozen=True)
class ProtectedMatch:
    """A protected-list entry matching the target at ``target`` (its position)."""

    target: int
    handle: str
    category: str


@dataclass(frozen=True)
class Evidence:
    """What was found, the words or facts matched, where; for text, the words around."""

    what: str
    matched: str
    source: str
    snippet: str | None = None

    def as_dict(self) -> dict[str, str]:
        """The stored form (``RiskFlag.evidence`` items)."""
        out = {"what": self.what, "matched": self.matched, "source": self.source}
        if self.snippet is not None:
            out["snippet"] = self.snippet
        return out


@dataclass(frozen=True)
class Flag:
    """A hint for the reviewer; ``target`` is the position of the target it is about, or
    None for the demand as a whole."""

    code: str
    level: FlagLevel
    summary: str
    evidence: tuple[Evidence, ...]
    target: int | None = None


def assess(
    facts: DemandFacts,
    protected: Iterable[ProtectedMatch] = (),
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    lexicon: lexicons.Lexicon | None = None,
) -> list[Flag]:
    """Every flag the facts raise, high before medium before low; within a level by code
    (:data:`LEVELS`' order), then the demand's own before its targets' in their order."""
    words = lexicon or lexicons.shipped()
    flags: list[Flag] = []
    flags += expression_flags(words, facts.summary, "the demand's summary", None)
    for position, target in enumerate(facts.targets):
        flags += _target_flags(words, position, target)
    flags += _protected_flags(facts, protected)
    over_broad = over_broad_flag(facts, thresholds)
    if over_broad is not None:
        flags.append(over_broad)
    flags.sort(
        key=lambda f: (
            _LEVEL_ORDER[f.level],
            _CODE_ORDER[f.code],
            -1 if f.target is None else f.target,
        )
    )
    return flags


def human_rights_reasons(flags: Iterable[Flag], stance: str | None) -> list[str]:
    """Why the demand must go through human-rights review: each high flag's code, once,
    and an ``escalate`` stance. Empty when it need not."""
    reasons: list[str] = []
    for flag in flags:
        reason = f"{flag.code} flag (high)"
        if flag.level is FlagLevel.HIGH and reason not in reasons:
            reasons.append(reason)
    if stance == "escalate":
        reasons.append("the jurisdiction policy's stance is escalate")
    return reasons


def expression_flags(
    lexicon: lexicons.Lexicon, text: str, source: str, target: int | None
) -> list[Flag]:
    """One flag per lexicon code found in ``text``, with every hit as evidence."""
    hits = lexicon.find(text) if text else []
    flags = []
    for code in lexicons.CODES:
        found = [h for h in hits if h.entry.code == code]
        if not found:
            continue
        shown: list[str] = []
        for hit in found:
            if hit.matched not in shown:
                shown.append(hit.matched)
        more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
        flags.append(
            Flag(
                code,
                LEVELS[code],
                f"{_EXPRESSION[code]} in {source}: {', '.join(shown[:3])}{more}",
                tuple(Evidence(h.entry.what, h.matched, source, h.snippet) for h in found),
                target,
            )
        )
    return flags


def _target_flags(lexicon: lexicons.Lexicon, position: int, target: TargetFacts) -> list[Flag]:
    where = target.identifier
    if target.problem is not None:
        return [
            Flag(
                LOOKUP_FAILED,
                LEVELS[LOOKUP_FAILED],
                f"Could not look up {where}: the connector failed",
                (
                    Evidence(
                        "the connector failed, so nothing in this target was checked for "
                        "political, journalistic or religious expression: read it yourself",
                        target.problem,
                        where,
                    ),
                ),
                position,
            )
        ]
    flags: list[Flag] = []
    if target.content is not None:
        flags += expression_flags(lexicon, target.content.text, where, position)
    if target.account is not None:
        name = target.account.display_name
        flags += expression_flags(
            lexicon, name, f"the display name of @{target.account.handle}", position
        )
    if target.content is None and target.account is None:
        flags.append(
            Flag(
                NOT_FOUND,
                LEVELS[NOT_FOUND],
                f"No connector knows {where}",
                (
                    Evidence(
                        f"no connector found this {target.type} on the service (deleted, "
                        "mistyped, or on another service): nothing in it could be checked",
                        "not found",
                        where,
                    ),
                ),
                position,
            )
        )
    return flags


def _protected_flags(facts: DemandFacts, matches: Iterable[ProtectedMatch]) -> list[Flag]:
    flags = []
    seen: set[tuple[int, str]] = set()
    for match in sorted(matches, key=lambda m: (m.target, m.handle)):
        if (match.target, match.handle) in seen:
            continue
        seen.add((match.target, match.handle))
        target = facts.targets[match.target]
        flags.append(
            Flag(
                PROTECTED,
                LEVELS[PROTECTED],
                f"@{match.handle} is on the protected-accounts list ({match.category})",
                (
                    Evidence(
                        f"@{match.handle} is on the list of journalists, activists, lawyers "
                        f"and politicians staff keep, as {_article(match.category)} "
                        f"{match.category}",
                        f"@{match.handle}",
                        target.identifier,
                    ),
                ),
                match.target,
            )
        )
    return flags


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _day(value: datetime) -> str:
    return f"{value:%Y-%m-%d}"


def over_broad_flag(facts: DemandFacts, thresholds: Thresholds) -> Flag | None:
    """The one ``over-broad`` flag, with a piece of evidence per check that failed, or None."""
    found: list[tuple[str, Evidence]] = []
    categories = set(facts.data_categories)
    if "content" in categories and facts.legal_process in thresholds.subscriber_level:
        process = facts.legal_process.replace("-", " ")
        found.append(
            (
                f"content on {_article(process)} {process}",
                Evidence(
                    f"content is asked on {_article(process)} {process}, a process that reaches "
                    "subscriber records: content needs a warrant or a court order where the "
                    "law requires one",
                    f"content; {facts.legal_process}",
                    "data categories and legal process",
                ),
            )
        )
    found += _period_evidence(facts, thresholds, categories)
    count = len(facts.targets)
    if count >= thresholds.many_targets:
        found.append(
            (
                f"{count} targets",
                Evidence(
                    f"{count} targets in one demand ({thresholds.many_targets} or more are "
                    "flagged): a sweep rather than particular people",
                    f"{count} targets",
                    "targets",
                ),
            )
        )
    if not found:
        return None
    return Flag(
        OVER_BROAD,
        LEVELS[OVER_BROAD],
        "Asks more than its purpose needs: " + "; ".join(short for short, _ in found),
        tuple(evidence for _, evidence in found),
    )


def _period_evidence(
    facts: DemandFacts, thresholds: Thresholds, categories: set[str]
) -> list[tuple[str, Evidence]]:
    start = facts.period_start
    if start is None:
        dated = sorted(categories & DATED_CATEGORIES)
        if not dated:
            return []
        asked = " and ".join(dated)
        return [
            (
                f"{asked} with no date range",
                Evidence(
                    f"{asked} data is asked with no start date: everything the account "
                    "ever did, not the time the facts concern",
                    "no start date",
                    "period",
                ),
            )
        ]
    end = facts.period_end or facts.received_at
    period = f"{_day(start)}..{_day(end)}"
    days = (end - start).days
    out = []
    if days > thresholds.max_period_days:
        out.append(
            (
                f"a {days}-day period",
                Evidence(
                    f"period {period} is {days} days, longer than the "
                    f"{thresholds.max_period_days} days flagged for any demand",
                    period,
                    "period",
                ),
            )
        )
    dates = [t.content.posted_at for t in facts.targets if t.content is not None]
    if dates:
        earliest, latest = min(dates), max(dates)
        margin = timedelta(days=thresholds.period_margin_days)
        if start < earliest - margin or end > latest + margin:
            before = max((earliest - start).days, 0)
            after = max((end - latest).days, 0)
            out.append(
                (
                    "a period far wider than the targeted content's dates",
                    Evidence(
                        f"period {period} is {days} days; the content targeted was posted "
                        f"{_day(earliest)}..{_day(latest)}: the period reaches {before} "
                        f"days before it and {after} days after "
                        f"({thresholds.period_margin_days} days either side are not flagged)",
                        period,
                        "period and the targeted content's dates",
                    ),
                )
            )
    return out
