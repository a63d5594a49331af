"""The flow a demand takes through the domains, in one place: intake, requester
verification, then policy.

Every door (the API, the officers' portal, staff entry on the command line, the demo loader)
calls :func:`receive` rather than :func:`dueprocess.demands.service.submit`, so a demand
is assessed and gets its jurisdiction's stance the moment it is recorded, whichever way it
came in. Later steps of the flow (review) will be added here, in order.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dueprocess import inserts
from dueprocess.authorities import service as authorities
from dueprocess.clock import utcnow
from dueprocess.demands import service as demands, signatures
from dueprocess.demands.models import Channel, Demand, DemandKind
from dueprocess.demands.schemas import DemandIn
from dueprocess.policy import service as policy
from dueprocess.runtime import Runtime

#: Who the audit log names for the automatic requester assessment.
VERIFICATION_ACTOR = "system:verification"


def receive(
    session: Session,
    runtime: Runtime,
    data: DemandIn,
    *,
    channel: Channel,
    actor: str,
    officer_id: int | None = None,
    restrict_to_authority: int | None = None,
    uploader_id: int | None = None,
    second_factor: bool = False,
    flush: bool = True,
) -> demands.Submitted:
    """Record a demand and apply the active policy's stance to it, in the caller's transaction.

    Same contract as :func:`~dueprocess.demands.service.submit` (refuses bad input naming each
    field, writing nothing; a replay returns the earlier demand untouched). A newly created
    demand's requester is then assessed (:func:`~dueprocess.authorities.service.verify_requester`;
    ``second_factor``: submitted in a web session signed in with TOTP) and the demand is
    evaluated at its ``received_at``
    (:func:`~dueprocess.policy.service.apply_at_intake`): it may be paused, refused or
    redirected at once, with its reply queued; the audit log names ``system:policy`` as the
    actor of those steps, and ``actor`` as the submitter. Everything is written at one flush
    at the end (``flush=False``: at the caller's next flush; ``result.demand.id`` is set only
    then). The policy lock is taken first, before any
    audit write, so an activation running at the same time is either wholly before or wholly
    after this demand.
    """
    policy.lock_for_intake(session)
    result = demands.submit(
        session,
        data,
        channel=channel,
        actor=actor,
        store=runtime.store,
        max_document_bytes=runtime.settings.max_body_bytes,
        officer_id=officer_id,
        restrict_to_authority=restrict_to_authority,
        uploader_id=uploader_id,
        flush=False,
    )
    if result.created:
        demand = result.demand
        with session.no_autoflush:  # the steps below change the demand; one flush at the end
            _assess_and_apply(session, runtime, demand, second_factor=second_factor)
        if flush:
            inserts.flush_new(session)  # the demand's id; a batch passes flush=False, writes once
    return result


def _assess_and_apply(
    session: Session, runtime: Runtime, demand: Demand, *, second_factor: bool
) -> None:
    """Requester verification, then the jurisdiction policy, on a just-recorded demand."""
    verification = authorities.verify_requester(
        session,
        authority_id=demand.authority_id,
        officer_account_id=demand.officer_id,
        second_factor=second_factor,
        sender=demand.sender,
        documents_signed=signatures.documents_signed(runtime.store, demand.documents),
        emergency=demand.kind is DemandKind.EMERGENCY_DISCLOSURE,
        now=utcnow(),
        received_at=demand.received_at,
    )
    demands.set_verification(session, demand, verification, actor=VERIFICATION_ACTOR)
    policy.apply_at_intake(session, demand, actor=policy.SYSTEM_ACTOR)
