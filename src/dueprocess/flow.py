"""The flow a demand takes through the domains, in one place: intake, then policy.

Every door (the API, the officers' portal, staff entry on the command line, the demo loader)
calls :func:`receive` rather than :func:`dueprocess.demands.service.submit`, so a demand
gets its jurisdiction's stance the moment it is recorded, whichever way it came in. Later
steps of the flow (requester verification, review) will be added here, in order.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from dueprocess.demands import service as demands
from dueprocess.demands.models import Channel
from dueprocess.demands.schemas import DemandIn
from dueprocess.policy import service as policy
from dueprocess.runtime import Runtime


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
) -> demands.Submitted:
    """Record a demand and apply the active policy's stance to it, in the caller's transaction.

    Same contract as :func:`~dueprocess.demands.service.submit` (refuses bad input naming each
    field, writing nothing; a replay returns the earlier demand untouched). A newly created
    demand is then evaluated at its ``received_at``
    (:func:`~dueprocess.policy.service.apply_at_intake`): it may be paused, refused or
    redirected at once, with its reply queued; the audit log names ``system:policy`` as the
    actor of those steps, and ``actor`` as the submitter. The policy lock is taken first, before any
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
    )
    if result.created:
        policy.apply_at_intake(session, result.demand, actor=policy.SYSTEM_ACTOR)
    return result
