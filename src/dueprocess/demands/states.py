"""The demand state machine, as one table of allowed moves.

Each move is made by exactly one service function, in one transaction, with one audit event
(``demand.<to-state>``). Review (roles per move, queues) extends this table; nothing else may
assign ``Demand.status``.
"""

from __future__ import annotations

from dueprocess.demands.models import DemandStatus as S

#: status -> the statuses it may move to.
TRANSITIONS: dict[S, frozenset[S]] = {
    S.RECEIVED: frozenset(
        {S.PAUSED, S.LEGAL_REVIEW, S.HUMAN_RIGHTS_REVIEW, S.REFUSED, S.REDIRECTED, S.WITHDRAWN}
    ),
    S.PAUSED: frozenset(
        {S.RECEIVED, S.LEGAL_REVIEW, S.HUMAN_RIGHTS_REVIEW, S.REFUSED, S.REDIRECTED, S.WITHDRAWN}
    ),
    S.LEGAL_REVIEW: frozenset(
        {S.PAUSED, S.HUMAN_RIGHTS_REVIEW, S.AWAITING_APPROVAL, S.REFUSED, S.REDIRECTED, S.WITHDRAWN}
    ),
    S.HUMAN_RIGHTS_REVIEW: frozenset(
        {S.PAUSED, S.LEGAL_REVIEW, S.AWAITING_APPROVAL, S.REFUSED, S.WITHDRAWN}
    ),
    S.AWAITING_APPROVAL: frozenset({S.LEGAL_REVIEW, S.DECIDED, S.REFUSED, S.WITHDRAWN}),
    S.DECIDED: frozenset({S.ACTING, S.DONE}),
    S.ACTING: frozenset({S.DONE}),
    S.DONE: frozenset(),
    S.REFUSED: frozenset(),
    S.REDIRECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

#: Statuses in which a demand is still open (policy changes re-evaluate these).
OPEN: frozenset[S] = frozenset(s for s, moves in TRANSITIONS.items() if moves) - {
    S.DECIDED,
    S.ACTING,
}


def can_move(current: S, to: S) -> bool:
    """Whether ``current -> to`` is an allowed move."""
    return to in TRANSITIONS[current]
