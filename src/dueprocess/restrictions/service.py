"""Where the statements of reasons to export come from.

TODO(actions): the restriction model is being built in ``actions/`` (the lead's restriction
storage and durable jobs). Once a restriction is recorded, :func:`statements` is to read each
applied restriction whose statement has not yet been submitted, build its
:class:`~dueprocess.restrictions.sor.RestrictionFacts` (from the demand, its authority, the
decision and the restriction), skip those :func:`~dueprocess.restrictions.sor.not_due_reason`
says are not due (recording why), and return the rest. Until then it returns none, and
``dueprocess sor export`` writes nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dueprocess.restrictions.sor_export import PendingStatement


def statements(session: Session) -> list[PendingStatement]:
    """The statements of reasons due and not yet exported, oldest restriction first.

    Empty until restrictions are recorded (module docstring).
    """
    del session  # read once the restriction model exists
    return []
