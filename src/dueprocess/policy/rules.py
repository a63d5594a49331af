"""Stance rules and their evaluation: a pure function of (policy, demand facts, time).

A policy gives, for a jurisdiction (narrowed, if it says so, to one authority, some kinds of
demand, some legal processes and a date window), the *stance* the service takes: process,
pause, refuse, redirect, escalate or no-service. Jurisdictions no rule covers get the
policy's default stance. Nothing here touches a database or a clock: the same policy, facts
and time always give the same answer, so a decision can record and later replay it.

Which time governs a rule's window
    A window is ``[starts, ends)``: ``starts`` is the first instant it applies, ``ends`` the
    first instant it no longer does, so ``until: X`` on one rule and ``from: X`` on the next
    leave neither a gap nor an overlap. The window is compared with ``at``, the instant of
    evaluation, which defaults to the demand's ``received_at``. Callers evaluate a demand at
    intake (``at`` = received_at) and, when a policy version is activated, re-evaluate only the
    demands still open, with ``at`` = the activation time. So a pause from 2020-07-06 pauses
    every demand received on or after that day *and* every demand still open when the pause
    is switched on (Facebook paused every Hong Kong request, open or new), while a demand
    processed and closed on 2020-07-01 keeps the stance it was decided under: it is not open,
    so nothing re-evaluates it. Evaluating it again is a what-if, not a change.

Precedence: the most specific matching rule wins
    A rule's specificity is the sum of what it pins down::

        place            20 for one authority, 10 for a subdivision (US-CA), 0 for a country
        kinds            +2 if the rule names kinds
        legal processes  +2 if it names legal processes
        window           +1 if it has a start or an end date

    Place dominates (the rest add up to at most 5), so a rule for one authority beats any
    rule for its whole country, and a rule for US-CA beats any rule for the US. Within one
    place, naming kinds or processes beats naming neither (and naming both beats naming one),
    and a dated rule beats an undated one, so a temporary pause overrides a standing stance
    while it lasts. A rule naming kinds and one naming legal processes weigh the same, as do
    two dated rules: where such rules overlap and disagree, the author must say which wins.
    A rule for a country also matches demands from its subdivisions. If two matching rules
    are equally specific and give the same answer, the first in the policy is reported. Two
    equally specific rules that could match one demand and answer differently are a
    *conflict*: the policy does not compile, nor its file validate (:func:`find_conflicts`).

Speed
    :class:`CompiledPolicy` is built once per policy (:meth:`PolicyDocument.compiled` caches
    it): rules are indexed by country, then kind, each list pre-sorted by precedence, and
    every possible answer is built in advance. With ``explain=False`` an evaluation is one
    dict lookup, a short scan and a shared, immutable :class:`Evaluation`; ``explain=True``
    (the default) also writes why each rule of the demand's country did or did not apply,
    and one line counting the rules for other countries (which fail on jurisdiction alone).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from dueprocess.clock import as_utc, isoformat_z
from dueprocess.errors import FieldError, InvalidInput
from dueprocess.jurisdictions import normalise
from dueprocess.policy.vocabulary import (
    CONDITION_MEANING as CONDITION_MEANING,
    KINDS as KINDS,
    LEGAL_PROCESSES as LEGAL_PROCESSES,
    STANCES,
    Stance as Stance,
    authority_problem as authority_problem,
    condition_problem as condition_problem,
    jurisdiction_problem as jurisdiction_problem,
    kind_problem as kind_problem,
    process_problem as process_problem,
    text_problem as text_problem,
)

AUTHORITY_POINTS = 20
SUBDIVISION_POINTS = 10
KINDS_POINTS = 2
PROCESSES_POINTS = 2
WINDOW_POINTS = 1

_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Rule:
    """One stance for the demands it matches; ``None`` in a narrowing field means "any".

    ``condition`` is the pause's lifting condition, the refusal's reason, the redirect's
    route or the escalation's note (see :data:`CONDITION_MEANING`); ``lift_on`` names the
    event people watch for to retire the rule (never evaluated); ``reply`` is the text the
    requester receives. Construction does not validate: :func:`policy_problems` does, all
    at once, so a file's every mistake can be reported together.
    """

    id: str
    jurisdiction: str
    stance: Stance
    condition: str | None = None
    authority: str | None = None
    kinds: frozenset[str] | None = None
    legal_processes: frozenset[str] | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    lift_on: str | None = None
    reply: str | None = None

    @property
    def specificity(self) -> int:
        """The precedence score of the module docstring: higher wins."""
        if self.authority is not None:
            score = AUTHORITY_POINTS
        elif "-" in self.jurisdiction:
            score = SUBDIVISION_POINTS
        else:
            score = 0
        if self.kinds is not None:
            score += KINDS_POINTS
        if self.legal_processes is not None:
            score += PROCESSES_POINTS
        if self.starts is not None or self.ends is not None:
            score += WINDOW_POINTS
        return score

    def answer(self) -> tuple[str, str | None, str | None, str | None]:
        """What a demand matched by this rule is told: equal answers never conflict."""
        return (str(self.stance), self.condition, self.lift_on, self.reply)


@dataclass(frozen=True, slots=True)
class PolicyDocument:
    """The content of one policy version. Hashable and comparable by content.

    ``default`` applies where no rule matches; a default that must state a condition
    (pause, refuse, redirect, escalate) takes it from ``default_condition``.
    """

    name: str
    default: Stance
    rules: tuple[Rule, ...] = ()
    default_condition: str | None = None
    default_reply: str | None = None
    description: str | None = None
    _compiled: CompiledPolicy | None = field(
        default=None, init=False, repr=False, compare=False, hash=False
    )

    def compiled(self) -> CompiledPolicy:
        """The evaluation form, built on first use and kept; raises :class:`InvalidPolicy`."""
        compiled = self._compiled
        if compiled is None:
            compiled = CompiledPolicy(self)
            object.__setattr__(self, "_compiled", compiled)
        return compiled


@dataclass(frozen=True, slots=True)
class DemandFacts:
    """What the policy looks at in a demand. Validated and normalised on construction.

    Raises :class:`~dueprocess.jurisdictions.UnknownJurisdiction` or :class:`ValueError`
    for an unknown jurisdiction, kind or legal process, or a naive ``received_at``.
    """

    jurisdiction: str
    authority: str | None
    kind: str
    legal_process: str
    received_at: datetime
    country: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        jurisdiction = normalise(self.jurisdiction)
        problem = kind_problem(self.kind) or process_problem(self.legal_process)
        if problem:
            raise ValueError(problem)
        set_ = object.__setattr__
        set_(self, "jurisdiction", jurisdiction)
        set_(self, "country", jurisdiction[:2])
        set_(self, "kind", str(self.kind))
        set_(self, "legal_process", str(self.legal_process))
        set_(self, "received_at", as_utc(self.received_at))
        if self.authority is not None:
            set_(self, "authority", str(self.authority).strip().lower() or None)

    def describe(self) -> str:
        """One phrase for explanations: ``HK user-data court-order demand from "hkpf-nsd"``."""
        who = f' from "{self.authority}"' if self.authority else ""
        return f"{self.jurisdiction} {self.kind} {self.legal_process} demand{who}"


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The stance for one demand and where it came from. ``rule_id`` is None for the default.

    ``explanation`` lists, one line each, why every rule for the demand's country did or did
    not apply and why the winner won; it is empty when evaluated with ``explain=False``.
    """

    stance: Stance
    rule_id: str | None
    condition: str | None
    reply: str | None
    lift_on: str | None
    specificity: int | None
    policy: str
    explanation: tuple[str, ...] = ()


class InvalidPolicy(InvalidInput):
    """The policy cannot be used; each error names the rule (``rules[2].until``) and why."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """Rules ``first`` and ``second`` (indices, first < second) tie and answer differently."""

    first: int
    second: int
    message: str


# --- checks ---------------------------------------------------------------------------------


def rule_problems(rule: Rule) -> list[tuple[str, str]]:
    """Every problem with one rule on its own, as (file-format field name, message)."""
    out: list[tuple[str, str]] = []

    def add(name: str, message: str | None) -> None:
        if message is not None:
            out.append((name, message))

    if not _RULE_ID.match(rule.id):
        add("id", f"rule id {rule.id!r}: use letters, digits, '.', '_' or '-' (at most 100)")
    add("jurisdiction", jurisdiction_problem(rule.jurisdiction))
    if rule.authority is not None:
        add("authority", authority_problem(rule.authority))
    for name, values, check in (
        ("kinds", rule.kinds, kind_problem),
        ("legal_processes", rule.legal_processes, process_problem),
    ):
        if values is not None and not values:
            add(name, f"an empty list matches nothing: leave out {name} to match any")
        for value in sorted(values or ()):
            add(name, check(value))
    if rule.stance not in STANCES:
        add("stance", f"unknown stance {rule.stance!r}: use one of {', '.join(Stance)}")
    aware = True
    for name, when in (("from", rule.starts), ("until", rule.ends)):
        if when is not None and (when.tzinfo is None or when.utcoffset() is None):
            add(name, "a time needs a timezone (a plain date means 00:00 UTC)")
            aware = False
    if aware and rule.starts is not None and rule.ends is not None and rule.ends <= rule.starts:
        add(
            "until",
            f"the window ends ({isoformat_z(rule.ends)}) on or before it starts "
            f"({isoformat_z(rule.starts)})",
        )
    if rule.stance in STANCES:
        add("condition", condition_problem(rule.stance, rule.condition))
    add("lift_on", text_problem(rule.lift_on))
    add("reply", text_problem(rule.reply))
    return out


def _set_overlap(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The intersection, ``None`` for "any"; an empty set means the two never meet."""
    return b if a is None else a if b is None else a & b


def _listing(values: Iterable[str], order: Sequence[str]) -> str:
    chosen = set(values)
    return ", ".join(v for v in order if v in chosen)


def _overlap(a: Rule, b: Rule) -> str | None:
    """A description of the demands both rules match, or None if there are none."""
    if a.jurisdiction == b.jurisdiction or a.jurisdiction == b.jurisdiction[:2]:
        place = b.jurisdiction
    elif b.jurisdiction == a.jurisdiction[:2]:
        place = a.jurisdiction
    else:
        return None
    if a.authority != b.authority:
        return None
    kinds = _set_overlap(a.kinds, b.kinds)
    processes = _set_overlap(a.legal_processes, b.legal_processes)
    start = max((s for s in (a.starts, b.starts) if s is not None), default=None)
    end = min((e for e in (a.ends, b.ends) if e is not None), default=None)
    empty = frozenset[str]()
    if (
        kinds == empty
        or processes == empty
        or (start is not None and end is not None and end <= start)
    ):
        return None
    parts = [f"{place} demands"]
    if a.authority is not None:
        parts.append(f'from "{a.authority}"')
    if kinds is not None:
        parts.append(f"of kind {_listing(kinds, KINDS)}")
    if processes is not None:
        parts.append(f"by {_listing(processes, LEGAL_PROCESSES)}")
    if start is not None:
        parts.append(f"from {isoformat_z(start)}")
    if end is not None:
        parts.append(f"until {isoformat_z(end)}")
    return " ".join(parts)


def _difference(a: Rule, b: Rule) -> str:
    if a.stance != b.stance:
        return f"{a.stance} vs {b.stance}"
    names = ("condition", "lift_on", "reply")
    differing = [n for n, x, y in zip(names, a.answer()[1:], b.answer()[1:], strict=True) if x != y]
    return f"both {a.stance}, with a different {' and '.join(differing)}"


def find_conflicts(rules: Sequence[Rule]) -> list[Conflict]:
    """Every pair of equally specific rules that can match one demand and answer differently.

    Exact: two rules overlap only if some demand and instant satisfy both (jurisdictions
    nested or equal, same authority, intersecting kinds, processes and windows).
    """
    by_country: dict[str, list[int]] = {}
    for index, rule in enumerate(rules):
        by_country.setdefault(rule.jurisdiction[:2], []).append(index)
    conflicts: list[Conflict] = []
    for indices in by_country.values():
        scores = {i: rules[i].specificity for i in indices}
        for pos, i in enumerate(indices):
            for j in indices[pos + 1 :]:
                a, b = rules[i], rules[j]
                if scores[i] != scores[j] or a.answer() == b.answer():
                    continue
                shared = _overlap(a, b)
                if shared is None:
                    continue
                conflicts.append(
                    Conflict(
                        i,
                        j,
                        f'ties with rule "{a.id}" (both specificity {scores[i]}): both match '
                        f"{shared}, but they answer {_difference(a, b)}; make one more "
                        "specific or separate their dates",
                    )
                )
    conflicts.sort(key=lambda c: (c.second, c.first))
    return conflicts


def policy_problems(doc: PolicyDocument) -> list[FieldError]:
    """Every problem with a policy, each located like ``rules[2].until``; [] if usable."""
    out: list[FieldError] = []
    if not doc.name.strip():
        out.append(FieldError(("policy",), "the policy needs a name"))
    if doc.default not in STANCES:
        out.append(FieldError(("default",), f"unknown stance {doc.default!r}"))
    else:
        problem = condition_problem(doc.default, doc.default_condition)
        if problem:
            out.append(FieldError(("default", "condition"), problem))
    for loc, value in (
        (("default", "reply"), doc.default_reply),
        (("description",), doc.description),
    ):
        problem = text_problem(value)
        if problem:
            out.append(FieldError(loc, problem))
    seen: dict[str, int] = {}
    for index, rule in enumerate(doc.rules):
        for name, message in rule_problems(rule):
            out.append(FieldError(("rules", index, name), message))
        if rule.id in seen:
            message = f'rule id "{rule.id}" is already used by rules[{seen[rule.id]}]'
            out.append(FieldError(("rules", index, "id"), message))
        seen.setdefault(rule.id, index)
    if not out:
        for conflict in find_conflicts(doc.rules):
            out.append(FieldError(("rules", conflict.second), conflict.message, "conflict"))
    return out


# --- evaluation -----------------------------------------------------------------------------

# One candidate in the index: (subdivision or None, authority or None, legal processes or
# None, starts, ends, the pre-built answer). Kind and country are already matched by the index.
_Candidate = tuple[
    str | None, str | None, frozenset[str] | None, datetime | None, datetime | None, Evaluation
]


class CompiledPolicy:
    """A validated policy in the form evaluation wants. Immutable once built.

    Raises :class:`InvalidPolicy` listing every problem (see :func:`policy_problems`).
    """

    __slots__ = ("_by_country", "_default", "_index", "_results", "document")

    def __init__(self, document: PolicyDocument) -> None:
        problems = policy_problems(document)
        if problems:
            raise InvalidPolicy(problems)
        self.document = document
        rules = document.rules
        name = document.name
        self._results = [
            Evaluation(Stance(r.stance), r.id, r.condition, r.reply, r.lift_on, r.specificity, name)
            for r in rules
        ]
        self._default = Evaluation(
            Stance(document.default), None, document.default_condition, document.default_reply,
            None, None, name,
        )  # fmt: skip
        self._by_country: dict[str, list[int]] = {}
        index: dict[str, dict[str, list[_Candidate]]] = {}
        for i in sorted(range(len(rules)), key=lambda i: (-rules[i].specificity, i)):
            rule = rules[i]
            country = rule.jurisdiction[:2]
            by_kind = index.setdefault(country, {kind: [] for kind in KINDS})
            candidate: _Candidate = (
                rule.jurisdiction if "-" in rule.jurisdiction else None,
                rule.authority,
                rule.legal_processes,
                rule.starts,
                rule.ends,
                self._results[i],
            )
            for kind in rule.kinds if rule.kinds is not None else KINDS:
                by_kind[kind].append(candidate)
        for i, rule in enumerate(rules):
            self._by_country.setdefault(rule.jurisdiction[:2], []).append(i)
        self._index: dict[str, dict[str, tuple[_Candidate, ...]]] = {
            country: {kind: tuple(found) for kind, found in by_kind.items()}
            for country, by_kind in index.items()
        }

    def evaluate(
        self, facts: DemandFacts, at: datetime | None = None, *, explain: bool = True
    ) -> Evaluation:
        """The stance for ``facts`` at ``at`` (default: when the demand was received).

        ``explain=False`` returns the same answer without the explanation, much faster.
        """
        if at is None:
            at = facts.received_at
        elif at.tzinfo is None:
            raise ValueError("datetime must carry a timezone (e.g. 2020-07-06T09:00:00+08:00)")
        if explain:
            return self._explain(facts, at)
        by_kind = self._index.get(facts.country)
        if by_kind is not None:
            for subdivision, authority, processes, starts, ends, result in by_kind[facts.kind]:
                if (
                    (subdivision is None or subdivision == facts.jurisdiction)
                    and (authority is None or authority == facts.authority)
                    and (processes is None or facts.legal_process in processes)
                    and (starts is None or starts <= at)
                    and (ends is None or at < ends)
                ):
                    return result
        return self._default

    def _explain(self, facts: DemandFacts, at: datetime) -> Evaluation:
        rules = self.document.rules
        considered = self._by_country.get(facts.country, [])
        misses = {i: mismatches(rules[i], facts, at) for i in considered}
        matching = [i for i in considered if not misses[i]]
        winner = min(matching, key=lambda i: (-rules[i].specificity, i)) if matching else None
        lines = [f'policy "{self.document.name}": {facts.describe()}, at {isoformat_z(at)}']
        for i in considered:
            rule = rules[i]
            label = f'rule "{rule.id}" ({_score_text(rule)})'
            if misses[i]:
                lines.append(f"{label} does not match: {'; '.join(misses[i])}")
            elif i == winner or winner is None:
                lines.append(f"{label} matches and is the most specific: {_answer_text(rule)}")
            elif rule.specificity < (best := rules[winner]).specificity:
                lines.append(
                    f'{label} matches but is less specific than rule "{best.id}" '
                    f"({rule.specificity} < {best.specificity})"
                )
            else:
                lines.append(
                    f'{label} matches, as specific as rule "{best.id}" and with the same '
                    "answer, which comes first in the policy"
                )
        others = len(rules) - len(considered)
        if others:
            lines.append(
                f"{others} rule{'s' if others != 1 else ''} for other countries "
                f"cannot match a demand from {facts.jurisdiction}"
            )
        if winner is None:
            result = self._default
            lines.append(f"no rule matches: the default stance applies: {result.stance}")
        else:
            result = self._results[winner]
        return replace(result, explanation=tuple(lines))


def mismatches(rule: Rule, facts: DemandFacts, at: datetime) -> list[str]:
    """Every reason ``rule`` does not match ``facts`` at ``at``; [] when it matches."""
    out: list[str] = []
    if rule.jurisdiction not in (facts.jurisdiction, facts.country):
        out.append(f"it is for {rule.jurisdiction}, the demand is from {facts.jurisdiction}")
    if rule.authority is not None and rule.authority != facts.authority:
        out.append(f'it is for authority "{rule.authority}", not "{facts.authority}"')
    if rule.kinds is not None and facts.kind not in rule.kinds:
        out.append(f"kind {facts.kind} is not one of {_listing(rule.kinds, KINDS)}")
    if rule.legal_processes is not None and facts.legal_process not in rule.legal_processes:
        allowed = _listing(rule.legal_processes, LEGAL_PROCESSES)
        out.append(f"legal process {facts.legal_process} is not one of {allowed}")
    if rule.starts is not None and at < rule.starts:
        out.append(f"it starts {isoformat_z(rule.starts)}, after {isoformat_z(at)}")
    if rule.ends is not None and at >= rule.ends:
        out.append(f"it ended {isoformat_z(rule.ends)}, not after {isoformat_z(at)}")
    return out


def _score_text(rule: Rule) -> str:
    scored = (
        ("authority", AUTHORITY_POINTS, rule.authority is not None),
        ("subdivision", SUBDIVISION_POINTS, rule.authority is None and "-" in rule.jurisdiction),
        ("kinds", KINDS_POINTS, rule.kinds is not None),
        ("legal processes", PROCESSES_POINTS, rule.legal_processes is not None),
        ("window", WINDOW_POINTS, rule.starts is not None or rule.ends is not None),
    )
    parts = [f"{name} {points}" for name, points, applies in scored if applies]
    detail = f" = {' + '.join(parts)}" if parts else " (country only)"
    return f"specificity {rule.specificity}{detail}"


def _answer_text(rule: Rule) -> str:
    return f"{rule.stance} ({rule.condition})" if rule.condition else str(rule.stance)


def evaluate(
    policy: PolicyDocument, facts: DemandFacts, at: datetime | None = None, *, explain: bool = True
) -> Evaluation:
    """The stance ``policy`` gives ``facts`` at ``at`` (default: the demand's ``received_at``).

    Pure: no clock, no I/O. Compiles the policy on first use (raising :class:`InvalidPolicy`
    if it is unusable) and reuses that form afterwards. See the module docstring for the time
    semantics and the precedence.
    """
    return policy.compiled().evaluate(facts, at, explain=explain)
