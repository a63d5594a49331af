"""Validated input and output of the policy domain (API bodies, CLI ``--json``, page data).

Times are UTC. A version's ``author`` and ``approver`` are audit actors (``account:12``);
``author_email`` and ``approver_email`` name the person for display.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from dueprocess.clock import Instant
from dueprocess.jurisdictions import name_of
from dueprocess.policy.models import PolicyVersion, VersionStatus
from dueprocess.policy.rules import KINDS, LEGAL_PROCESSES, CompiledPolicy, DemandFacts, Rule

#: Versions that have been in force, in the order they were activated (the last is active).
Chain = list[tuple[PolicyVersion, CompiledPolicy]]

#: The largest policy file accepted (a policy of thousands of rules is far smaller).
MAX_POLICY_CHARS = 1_000_000


class VersionOut(BaseModel):
    """One stored version, without its text."""

    id: int
    name: str
    status: VersionStatus
    reason: str
    author: str
    author_email: str | None = None
    created_at: datetime
    approver: str | None = Field(
        description="Who approved (active, superseded) or rejected the version."
    )
    approver_email: str | None = None
    decided_at: datetime | None
    effective_from: datetime | None = Field(
        description="The activation time: open demands were re-evaluated at this instant."
    )
    source_sha256: str

    @classmethod
    def of(cls, version: PolicyVersion, people: dict[str, str]) -> VersionOut:
        """The output form of ``version``; ``people`` maps actors to e-mails."""
        return cls(
            id=version.id,
            name=version.name,
            status=version.status,
            reason=version.reason,
            author=version.author,
            author_email=people.get(version.author),
            created_at=version.created_at,
            approver=version.approver,
            approver_email=people.get(version.approver or ""),
            decided_at=version.decided_at,
            effective_from=version.effective_from,
            source_sha256=version.source_sha256,
        )


class VersionDetail(VersionOut):
    """A version with the exact text that was proposed (and, if active, is applied)."""

    source: str


class RuleOut(BaseModel):
    """One rule as the policy file states it (``from``/``until`` are the window)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    jurisdiction: str
    stance: str
    condition: str | None
    authority: str | None
    kinds: list[str] | None
    legal_processes: list[str] | None
    starts: datetime | None = Field(serialization_alias="from")
    ends: datetime | None = Field(serialization_alias="until")
    lift_on: str | None
    reply: str | None
    specificity: int

    @classmethod
    def of(cls, rule: Rule) -> RuleOut:
        """The output form of ``rule``, kinds and processes in their canonical order."""
        return cls(
            id=rule.id,
            jurisdiction=rule.jurisdiction,
            stance=str(rule.stance),
            condition=rule.condition,
            authority=rule.authority,
            kinds=[k for k in KINDS if k in rule.kinds] if rule.kinds is not None else None,
            legal_processes=(
                [p for p in LEGAL_PROCESSES if p in rule.legal_processes]
                if rule.legal_processes is not None
                else None
            ),
            starts=rule.starts,
            ends=rule.ends,
            lift_on=rule.lift_on,
            reply=rule.reply,
            specificity=rule.specificity,
        )


class ActiveOut(BaseModel):
    """The policy in force: its version and rules. ``version`` is None when none is active
    (every demand is then processed)."""

    version: VersionDetail | None
    default: str
    default_condition: str | None = None
    rules: list[RuleOut] = []


class ProposeIn(BaseModel):
    """A new version: the policy file's text and why it is proposed."""

    text: str = Field(max_length=MAX_POLICY_CHARS, description="The policy file (YAML).")
    reason: str = Field(max_length=5000, description="Why this version is proposed.")
    source_name: str = Field(default="policy.yaml", max_length=200)


class WhatIfIn(BaseModel):
    """A policy to try against the open demands, as if activated at ``at`` (default: now)."""

    text: str = Field(max_length=MAX_POLICY_CHARS, description="The policy file (YAML).")
    at: Instant | None = None
    limit: int = Field(
        default=200, ge=0, le=100_000, description="List at most this many demands (0: all)."
    )


class Transition(BaseModel):
    """How many open demands would go from one stance to another."""

    from_stance: str
    to_stance: str
    count: int

    @classmethod
    def tally(cls, counts: Counter[tuple[str, str]]) -> list[Transition]:
        """One per (from, to) pair, sorted."""
        return [cls(from_stance=a, to_stance=b, count=n) for (a, b), n in sorted(counts.items())]


class StatusMove(BaseModel):
    """How many open demands would move from one status to another."""

    from_status: str
    to_status: str
    count: int

    @classmethod
    def tally(cls, counts: Counter[tuple[str, str]]) -> list[StatusMove]:
        """One per (from, to) pair, sorted."""
        return [cls(from_status=a, to_status=b, count=n) for (a, b), n in sorted(counts.items())]


class Count(BaseModel):
    """A count under a name (a jurisdiction, a reply kind)."""

    name: str
    count: int

    @classmethod
    def tally(cls, counts: Counter[str]) -> list[Count]:
        """Largest first, then by name."""
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        return [cls(name=name, count=n) for name, n in ordered]


class StanceChange(BaseModel):
    """One open demand whose stance (or its condition) the policy would change."""

    demand_id: int
    jurisdiction: str
    authority: str
    kind: str
    legal_process: str
    received_at: datetime
    deadline: datetime | None
    status: str
    status_after: str
    from_stance: str
    from_condition: str | None
    to_stance: str
    to_condition: str | None
    rule_id: str | None


class DeadlineRisk(BaseModel):
    """A demand the policy would newly pause whose deadline would pass while it is paused."""

    demand_id: int
    jurisdiction: str
    authority: str
    kind: str
    deadline: datetime
    penalty: str | None
    from_stance: str


class WhatIfOut(BaseModel):
    """What activating a policy at ``at`` would do to the open demands. Nothing is written.

    Counts are exact over every open demand; ``changes`` and ``deadlines`` list at most the
    requested number (``*_truncated`` says when there are more).
    """

    policy: str
    at: datetime
    open_demands: int
    changing: int
    transitions: list[Transition]
    moves: list[StatusMove]
    by_jurisdiction: list[Count]
    replies: list[Count]
    changes: list[StanceChange]
    changes_truncated: bool
    deadlines_missed: int = Field(
        description="Demands newly paused whose deadline is at or after the activation time."
    )
    deadlines_already_passed: int = Field(
        description="Demands newly paused whose deadline had already passed."
    )
    deadlines: list[DeadlineRisk]
    deadlines_truncated: bool


class ActivationOut(BaseModel):
    """What approving a version did: it became active and the open demands were re-evaluated."""

    version: VersionOut
    previous_version: int | None
    at: datetime
    evaluated: int
    changed: int
    transitions: list[Transition]
    moves: list[StatusMove]
    replies: list[Count]


class Answer(BaseModel):
    """One stance a jurisdiction's demands get, and which of them get it."""

    stance: str
    condition: str | None
    applies_to: str = Field(description='"all demands", or the kinds and processes concerned.')
    rule_ids: list[str]

    @classmethod
    def summarise(cls, compiled: CompiledPolicy, code: str, at: datetime) -> list[Answer]:
        """What ``compiled`` answers, at ``at``, every kind and legal process of demand from
        ``code`` by an authority no rule names: one :class:`Answer` per distinct answer."""
        covered: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
        rule_ids: dict[tuple[str, str | None], list[str]] = {}
        for kind in KINDS:
            for process in LEGAL_PROCESSES:
                facts = DemandFacts(code, None, kind, process, at)
                evaluation = compiled.evaluate(facts, at, explain=False)
                answer = (evaluation.stance.value, evaluation.condition)
                covered.setdefault(answer, []).append((kind, process))
                ids = rule_ids.setdefault(answer, [])
                if evaluation.rule_id and evaluation.rule_id not in ids:
                    ids.append(evaluation.rule_id)
        out: list[Answer] = []
        for answer, pairs in covered.items():
            parts = []
            for kind in KINDS:
                processes = [p for k, p in pairs if k == kind]
                if len(processes) == len(LEGAL_PROCESSES):
                    parts.append(kind)
                elif processes:
                    parts.append(f"{kind} ({', '.join(processes)})")
            applies = "all demands" if len(covered) == 1 else "; ".join(parts)
            out.append(
                cls(
                    stance=answer[0],
                    condition=answer[1],
                    applies_to=applies,
                    rule_ids=rule_ids[answer],
                )
            )
        return out


class JurisdictionRow(BaseModel):
    """A jurisdiction's stance under the active policy, now, for demands from any authority."""

    jurisdiction: str
    name: str
    stance: str = Field(description='The stance, or "mixed" when it depends on the demand.')
    answers: list[Answer]
    since: datetime | None
    authority_rules: int = Field(description="Rules for particular authorities (not shown).")
    demands: int
    open_demands: int

    @classmethod
    def build(
        cls, code: str, chain: Chain, at: datetime, counts: tuple[int, int]
    ) -> JurisdictionRow:
        """The row for ``code`` at ``at``. ``since`` is when this stance began: the activation
        of the earliest version, in the unbroken run ending with the active one, whose rules
        for ``code`` (and default) are the same, or the later start of a winning rule."""
        total, open_ = counts
        if not chain:
            none = Answer(
                stance="process",
                condition=None,
                applies_to="all demands (no policy is active)",
                rule_ids=[],
            )
            return cls(
                jurisdiction=code,
                name=name_of(code),
                stance="process",
                answers=[none],
                since=None,
                authority_rules=0,
                demands=total,
                open_demands=open_,
            )
        version, compiled = chain[-1]
        document = compiled.document
        answers = Answer.summarise(compiled, code, at)

        def shape(c: CompiledPolicy) -> object:
            doc = c.document
            return ([r for r in doc.rules if concerns(r, code)], doc.default, doc.default_condition)

        since = version.effective_from
        for earlier, earlier_compiled in reversed(chain[:-1]):
            if shape(earlier_compiled) != shape(compiled):
                break
            since = earlier.effective_from
        winners = {rule_id for answer in answers for rule_id in answer.rule_ids}
        starts = [r.starts for r in document.rules if r.id in winners and r.starts is not None]
        moments = [moment for moment in (since, *starts) if moment is not None]
        return cls(
            jurisdiction=code,
            name=name_of(code),
            stance=answers[0].stance if len(answers) == 1 else "mixed",
            answers=answers,
            since=max(moments, default=None),
            authority_rules=sum(1 for r in document.rules if r.authority and concerns(r, code)),
            demands=total,
            open_demands=open_,
        )


def concerns(rule: Rule, code: str) -> bool:
    """Whether ``rule`` can apply to demands from ``code``: a rule for the code itself, for
    its country, or (for a country) for one of its subdivisions."""
    return rule.jurisdiction in (code, code[:2]) or (
        "-" not in code and rule.jurisdiction.startswith(f"{code}-")
    )


class JurisdictionVersion(BaseModel):
    """A jurisdiction's rules in one version (the history shows every version)."""

    version: VersionOut
    rules: list[RuleOut]
    default: str
    changed: bool = Field(description="Whether these rules differ from the previous version's.")


class JurisdictionDetail(BaseModel):
    """One jurisdiction's policy: what applies now, its rules, its history, its open demands."""

    row: JurisdictionRow
    rules: list[RuleOut]
    history: list[JurisdictionVersion]
    open_by_stance: list[Count]


class ReplyOut(BaseModel):
    """A reply to the requester, queued (``sent_at`` None) or sent."""

    kind: str
    text: str
    created_at: datetime
    sent_at: datetime | None


class EvaluationOut(BaseModel):
    """One evaluation of a demand: the version used, when, and its answer."""

    version_id: int
    at: datetime
    stance: str
    rule_id: str | None
    condition: str | None
    explanation: list[str]


class DemandPolicy(BaseModel):
    """What the policy made of one demand: its stance now, the replies, every evaluation."""

    stance: str | None
    condition: str | None
    version_id: int | None
    replies: list[ReplyOut]
    evaluations: list[EvaluationOut]
