"""What a stance does to a demand: where it moves, the reply the requester gets, how the
step is explained in the audit log. Pure functions, shared by intake
(:func:`dueprocess.policy.service.decide_at_intake`), activation and the what-if.
"""

from __future__ import annotations

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
    """The moves from ``status`` to ``target``: none, one, or two through legal review."""
    if status is target:
        return []
    if states.can_move(status, target):
        return [target]
    if states.can_move(status, S.LEGAL_REVIEW) and states.can_move(S.LEGAL_REVIEW, target):
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
