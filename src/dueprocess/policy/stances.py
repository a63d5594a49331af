"""What a stance does to a demand: where it moves, the reply the requester gets, how the
step is explained in the audit log. Pure functions, shared by intake
(:func:`dueprocess.policy.service.decide_at_intake`), activation and the what-if.

The audit log gets one event per move (``demand.<status>``, as every move does), and the
last move's event also carries the policy's decision (``policy``: the version, rule,
stance, condition, previous stance and time of evaluation) and the reply it queued
(``reply``: its kind and the SHA-256 of its text). An answer that changes without moving the
demand (a pause with a new condition, say) gets one ``policy.applied`` event with the same
decision and reply. :func:`effect` works all of it out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from dueprocess.clock import isoformat_z
from dueprocess.demands import states
from dueprocess.demands.models import DemandStatus, ReplyKind
from dueprocess.errors import Conflict
from dueprocess.jurisdictions import name_of
from dueprocess.policy.rules import Evaluation, Stance

S = DemandStatus


def target_status(status: DemandStatus, stance: Stance) -> DemandStatus:
    """Where a demand in ``status`` goes when its answer changes to ``stance``."""
    if stance is Stance.PAUSE:
        return S.PAUSED
    if stance in (Stance.REFUSE, Stance.NO_SERVICE):
        return S.REFUSED
    if stance is Stance.REDIRECT:
        return S.REDIRECTED
    if stance is Stance.ESCALATE:
        return S.HUMAN_RIGHTS_REVIEW
    return S.RECEIVED if status is S.PAUSED else status


def route(status: DemandStatus, target: DemandStatus) -> list[DemandStatus]:
    """The moves the policy (:data:`~dueprocess.demands.states.SYSTEM`) makes from ``status``
    to ``target``: none, one, or two through legal review."""
    if status is target:
        return []
    system = (states.SYSTEM,)
    if states.may_move(status, target, system):
        return [target]
    if states.may_move(status, S.LEGAL_REVIEW, system) and states.may_move(
        S.LEGAL_REVIEW, target, system
    ):
        return [S.LEGAL_REVIEW, target]
    raise Conflict(f"no policy move from {status.value} to {target.value}")


def changes_answer(stance: str | None, condition: str | None, evaluation: Evaluation) -> bool:
    """Whether ``evaluation`` differs from a recorded answer (never evaluated: process)."""
    return (stance or Stance.PROCESS.value, condition) != (
        evaluation.stance.value,
        evaluation.condition,
    )


def reply_for(
    old_stance: str | None, old_condition: str | None, evaluation: Evaluation, jurisdiction: str
) -> tuple[ReplyKind, str] | None:
    """The reply a demand gets when its answer becomes ``evaluation``; None for no reply.

    The rule's ``reply`` text when it has one, otherwise one built from its condition.
    """
    stance, condition, reply = evaluation.stance, evaluation.condition, evaluation.reply
    if stance is Stance.PAUSE:
        return ReplyKind.HOLDING, reply or (
            f"We have paused our review of this request ({condition}). It is held, not "
            "refused; we will write again when this changes."
        )
    if stance is Stance.REFUSE:
        return ReplyKind.REFUSAL, reply or f"We refuse this request: {condition}."
    if stance is Stance.REDIRECT:
        return ReplyKind.REDIRECT, reply or (
            f"We cannot act on this request as sent. Please use this route instead: {condition}."
        )
    if stance is Stance.NO_SERVICE:
        return ReplyKind.NO_SERVICE, reply or (
            f"We do not provide our service in {name_of(jurisdiction)}, so we cannot act on "
            f"this request.{f' {condition}.' if condition else ''}"
        )
    if reply:
        return ReplyKind.ACKNOWLEDGEMENT, reply
    if old_stance == Stance.PAUSE.value:
        return ReplyKind.ACKNOWLEDGEMENT, (
            f"We have resumed our review of this request: the pause ({old_condition}) is lifted."
        )
    return None


def applied_data(
    *, via: str, version_id: int, evaluation: Evaluation, old_stance: str | None, at: datetime
) -> dict[str, object]:
    """The ``policy.applied`` audit event's data."""
    return {
        "via": via,
        "policy_version": version_id,
        "rule": evaluation.rule_id,
        "stance": evaluation.stance.value,
        "condition": evaluation.condition,
        "from": old_stance,
        "at": isoformat_z(at),
    }


def why(version_id: int | None, evaluation: Evaluation) -> str:
    """The reason a policy gives for the moves it makes (in each move's audit event)."""
    text = f'policy version {version_id}, rule "{evaluation.rule_id or "default"}": '
    text += evaluation.stance.value
    if evaluation.condition:
        text += f" ({evaluation.condition})"
    return text


def reply_data(kind: ReplyKind, text: str) -> dict[str, str]:
    """How a queued reply is recorded in the audit log (the text itself only as a hash)."""
    return {"kind": kind.value, "text_sha256": hashlib.sha256(text.encode()).hexdigest()}


@dataclass(frozen=True)
class Effect:
    """What applying an evaluation does to a demand (:func:`effect`).

    ``moves``: each status the demand moves to, with what its ``demand.<status>`` event
    records besides the move itself (``from`` and ``reason``): the version and rule, and on
    the last move the decision and reply. ``applied``: the ``policy.applied`` event's data
    when no move carries them (None: no such event). ``reply``: the reply to queue.
    """

    reason: str
    moves: list[tuple[DemandStatus, dict[str, object]]]
    applied: dict[str, object] | None
    reply: tuple[ReplyKind, str] | None


def effect(
    status: DemandStatus,
    evaluation: Evaluation,
    *,
    version_id: int | None,
    via: str,
    old_stance: str | None,
    old_condition: str | None,
    at: datetime,
    jurisdiction: str,
) -> Effect:
    """What ``evaluation`` (by policy version ``version_id``; None: no policy is active)
    does to a demand in ``status`` whose recorded answer was ``old_stance`` with
    ``old_condition``, evaluated at ``at`` ``via`` intake or activation."""
    reply = reply_for(old_stance, old_condition, evaluation, jurisdiction)
    decision = (
        applied_data(
            via=via, version_id=version_id, evaluation=evaluation, old_stance=old_stance, at=at
        )
        if version_id is not None
        else None
    )
    outcome: dict[str, object] = {}
    if decision is not None:
        outcome["policy"] = decision
    if reply is not None:
        outcome["reply"] = reply_data(*reply)
    steps = route(status, target_status(status, evaluation.stance))
    moves: list[tuple[DemandStatus, dict[str, object]]] = [
        (step, {"policy_version": version_id, "rule": evaluation.rule_id}) for step in steps
    ]
    applied: dict[str, object] | None = None
    if moves:
        moves[-1][1].update(outcome)
    elif outcome:
        applied = {**(decision or {}), **({"reply": outcome["reply"]} if reply else {})}
    return Effect(why(version_id, evaluation), moves, applied, reply)
