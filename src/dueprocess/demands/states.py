"""The demand state machine: one table of allowed moves, and who may make each.

Each move is made by exactly one service function, in one transaction, with one audit event
(``demand.<to-state>``); nothing else may assign ``Demand.status``. :data:`MOVES` names,
for every allowed move, the roles whose holders may make it, and :data:`SYSTEM` for the
moves the service makes itself (the policy applying a stance, the actions worker). A
person holding several roles may make any move one of them allows.
"""

from __future__ import annotations

from collections.abc import Iterable

from dueprocess.accounts.models import Role
from dueprocess.demands.models import DemandStatus as S

#: The service itself: the policy applying a stance at intake or on activation, and later
#: the actions worker. Never a person.
SYSTEM = "system"

_INTAKE = Role.INTAKE.value
_LEGAL = Role.LEGAL_REVIEWER.value
_RIGHTS = Role.HUMAN_RIGHTS_REVIEWER.value
_APPROVER = Role.APPROVER.value
_OFFICER = Role.OFFICER.value
#: Withdrawing: the requesting officer (their own authority's demand), or intake on their
#: behalf (a withdrawal received by e-mail).
_WITHDRAW = frozenset({_OFFICER, _INTAKE})


def _movers(*who: str) -> frozenset[str]:
    return frozenset(who)


#: status -> {status it may move to: who may make that move}.
MOVES: dict[S, dict[S, frozenset[str]]] = {
    S.RECEIVED: {
        S.PAUSED: _movers(SYSTEM),
        S.LEGAL_REVIEW: _movers(SYSTEM, _INTAKE),
        S.HUMAN_RIGHTS_REVIEW: _movers(SYSTEM, _INTAKE),
        S.REFUSED: _movers(SYSTEM, _LEGAL),
        S.REDIRECTED: _movers(SYSTEM, _LEGAL),
        S.WITHDRAWN: _WITHDRAW,
    },
    S.PAUSED: {
        S.RECEIVED: _movers(SYSTEM),
        S.LEGAL_REVIEW: _movers(SYSTEM),
        S.HUMAN_RIGHTS_REVIEW: _movers(SYSTEM),
        S.REFUSED: _movers(SYSTEM, _LEGAL),
        S.REDIRECTED: _movers(SYSTEM, _LEGAL),
        S.WITHDRAWN: _WITHDRAW,
    },
    S.LEGAL_REVIEW: {
        S.PAUSED: _movers(SYSTEM),
        S.HUMAN_RIGHTS_REVIEW: _movers(SYSTEM, _LEGAL),
        S.AWAITING_APPROVAL: _movers(_LEGAL),
        # Decisions that disclose nothing and restrict nothing need no approval.
        S.DECIDED: _movers(_LEGAL),
        S.REFUSED: _movers(SYSTEM, _LEGAL),
        S.REDIRECTED: _movers(SYSTEM, _LEGAL),
        S.WITHDRAWN: _WITHDRAW,
    },
    S.HUMAN_RIGHTS_REVIEW: {
        S.PAUSED: _movers(SYSTEM),
        S.LEGAL_REVIEW: _movers(SYSTEM, _RIGHTS),
        S.AWAITING_APPROVAL: _movers(_RIGHTS),
        S.REFUSED: _movers(SYSTEM),
        S.WITHDRAWN: _WITHDRAW,
    },
    S.AWAITING_APPROVAL: {
        # The approver returns it; the policy takes it back to pause, refuse or redirect.
        S.LEGAL_REVIEW: _movers(SYSTEM, _APPROVER),
        S.DECIDED: _movers(_APPROVER),
        S.REFUSED: _movers(SYSTEM),
        S.WITHDRAWN: _WITHDRAW,
    },
    S.DECIDED: {S.ACTING: _movers(SYSTEM), S.DONE: _movers(SYSTEM)},
    S.ACTING: {S.DONE: _movers(SYSTEM)},
    S.DONE: {},
    S.REFUSED: {},
    S.REDIRECTED: {},
    S.WITHDRAWN: {},
}

#: status -> the statuses it may move to (by anyone).
TRANSITIONS: dict[S, frozenset[S]] = {s: frozenset(moves) for s, moves in MOVES.items()}

#: Statuses in which a demand is still open (policy changes re-evaluate these).
OPEN: frozenset[S] = frozenset(s for s, moves in TRANSITIONS.items() if moves) - {
    S.DECIDED,
    S.ACTING,
}


def can_move(current: S, to: S) -> bool:
    """Whether ``current -> to`` is an allowed move (by someone)."""
    return to in TRANSITIONS[current]


def movers(current: S, to: S) -> frozenset[str]:
    """Who may make the move ``current -> to``: role values and/or :data:`SYSTEM`; empty if
    the move is not allowed at all."""
    return MOVES[current].get(to, frozenset())


def may_move(current: S, to: S, roles: Iterable[str]) -> bool:
    """Whether a holder of ``roles`` (role values, or ``[SYSTEM]`` for the service) may make
    the move ``current -> to``."""
    return not movers(current, to).isdisjoint(roles)
