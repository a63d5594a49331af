"""Emergency call-backs: an emergency disclosure is never acted on until staff have called
the authority back on a number from the registry, and recorded that the call confirmed it.

The forged "emergency data requests" of 2021-2022 came from hijacked police mailboxes and
gave a phone number to call for confirmation: the forger's own. So the number called is
always one the registry holds for the authority (compared by its digits), never one from
the request, and the page shows only those. :func:`check_move` is called by
:func:`dueprocess.demands.service.move`, the one place a status changes, so no path around
it exists: approval, decision and action all wait for a confirmed call-back.

Plain functions taking a session; the caller commits. This module never imports
:mod:`dueprocess.demands.service` (which imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts
from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.authorities.schemas import phone_digits
from dueprocess.clock import isoformat_z, utcnow
from dueprocess.demands.models import Callback, Demand, DemandKind, DemandStatus
from dueprocess.errors import Conflict, InvalidInput, NotFound

#: Statuses an emergency disclosure may enter only after a confirmed call-back.
NEEDS_CALLBACK = frozenset(
    {DemandStatus.AWAITING_APPROVAL, DemandStatus.DECIDED, DemandStatus.ACTING}
)
MAX_NOTES = 5000


def needs_callback(demand: Demand) -> bool:
    """Whether the demand is of the kind that waits for a call-back (emergency disclosure)."""
    return demand.kind is DemandKind.EMERGENCY_DISCLOSURE


def registry_numbers(session: Session, demand: Demand) -> list[str]:
    """The numbers the registry holds for the demand's authority: the only ones to call."""
    authority = authorities.get(session, demand.authority_id)
    return list(authority.phone_numbers) if authority is not None else []


def list_callbacks(session: Session, demand_id: int) -> list[Callback]:
    """The call-backs recorded for a demand, oldest first."""
    query = select(Callback).where(Callback.demand_id == demand_id).order_by(Callback.id)
    return list(session.scalars(query))


def has_confirmed_callback(session: Session, demand_id: int) -> bool:
    """Whether staff recorded a call-back for the demand that confirmed it."""
    query = select(Callback.id).where(Callback.demand_id == demand_id, Callback.confirmed.is_(True))
    return session.scalar(query.limit(1)) is not None


def check_move(session: Session, demand: Demand, to: DemandStatus) -> None:
    """Refuse (:class:`Conflict`) to move an emergency disclosure into approval, decision or
    action without a confirmed call-back."""
    if (
        needs_callback(demand)
        and to in NEEDS_CALLBACK
        and not has_confirmed_callback(session, demand.id)
    ):
        raise Conflict(
            f"demand {demand.id} is an emergency disclosure: it cannot move to "
            f"{to.value} until staff record a confirmed call-back to a number from the "
            "authority registry"
        )


def record_callback(
    session: Session,
    demand_id: int,
    *,
    number: str,
    confirmed: bool,
    notes: str,
    actor: str,
    now: datetime | None = None,
) -> Callback:
    """Record that ``actor`` called the authority on ``number`` about an emergency
    disclosure, and whether the call confirmed the request; who and when are set here
    (``called_by`` = ``actor``, ``called_at`` = now), not taken from a form.

    Refused: a demand that does not exist (:class:`NotFound`); one that is not an emergency
    disclosure (:class:`Conflict`); a ``number`` that is not one of the authority's registry
    numbers, compared by digits (:class:`InvalidInput` naming ``number``); ``notes`` over
    :data:`MAX_NOTES` characters. The stored number is the registry's own spelling.
    Audited ``demand.callback_recorded``.
    """
    demand = session.get(Demand, demand_id)
    if demand is None:
        raise NotFound(f"demand {demand_id}")
    if not needs_callback(demand):
        raise Conflict(
            f"demand {demand.id} is {demand.kind.value}, not an emergency disclosure: "
            "call-backs are recorded for emergency disclosures"
        )
    known = registry_numbers(session, demand)
    digits = phone_digits(number)
    match = next((n for n in known if digits and phone_digits(n) == digits), None)
    if match is None:
        listed = ", ".join(known) or "none: add one to the registry first"
        raise InvalidInput.one(
            ("number",),
            f"{number.strip()!r} is not a number from the authority registry ({listed}); "
            "never call a number given in the request",
        )
    text = notes.strip()
    if len(text) > MAX_NOTES:
        raise InvalidInput.one(("notes",), f"at most {MAX_NOTES} characters")
    when = now or utcnow()
    callback = Callback(
        demand_id=demand.id,
        number=match,
        called_by=actor,
        called_at=when,
        confirmed=confirmed,
        notes=text,
    )
    session.add(callback)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="demand.callback_recorded",
        subject=f"demand:{demand.id}",
        data={
            "callback": callback.id,
            "number": match,
            "confirmed": confirmed,
            "called_by": actor,
            "called_at": isoformat_z(when),
        },
        at=when,
    )
    return callback


# --- what the demand page shows staff ---------------------------------------------------------


@dataclass(frozen=True)
class CallbackRow:
    """One recorded call-back as shown: ``who`` is the caller's e-mail where known."""

    number: str
    who: str
    at: datetime
    confirmed: bool
    notes: str


@dataclass(frozen=True)
class CallbackPanel:
    """The call-back panel of an emergency disclosure's page."""

    numbers: list[str]
    callbacks: list[CallbackRow]
    confirmed: bool


@dataclass(frozen=True)
class VerificationView:
    """The stored requester verification of a demand (``state`` None: not assessed)."""

    state: str | None
    confidence: int | None
    reasons: list[dict[str, str]]


def verification_of(demand: Demand) -> VerificationView:
    """The demand's stored requester verification, for display."""
    reasons = [
        {k: str(r.get(k, "")) for k in ("signal", "effect", "detail")}
        for r in demand.verification_reasons or []
        if isinstance(r, dict)
    ]
    return VerificationView(demand.verification_state, demand.verification_confidence, reasons)


def panel(session: Session, demand: Demand) -> CallbackPanel | None:
    """The call-back panel for an emergency disclosure; ``None`` for any other demand."""
    if not needs_callback(demand):
        return None
    rows = [
        CallbackRow(
            number=c.number,
            who=accounts.describe_actor(session, c.called_by),
            at=c.called_at,
            confirmed=c.confirmed,
            notes=c.notes,
        )
        for c in list_callbacks(session, demand.id)
    ]
    return CallbackPanel(
        numbers=registry_numbers(session, demand),
        callbacks=rows,
        confirmed=any(r.confirmed for r in rows),
    )
