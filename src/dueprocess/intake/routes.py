"""HTTP for a single demand's submission: ``POST /api/v1/demands``. Thin: the worker's intake
writer (:mod:`dueprocess.web.coalesce`) checks the token and writes the demand through
:func:`dueprocess.intake.flow.receive_many`."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from dueprocess.accounts.permissions import Permission
from dueprocess.demands.schemas import DemandOut
from dueprocess.web.auth import BearerToken, requires_later
from dueprocess.web.coalesce import Submission, intake_writer
from dueprocess.web.deps import body_by_ref

api = APIRouter(prefix="/api/v1", tags=["demands"])

SubmitToken = Annotated[BearerToken, Depends(requires_later(Permission.DEMANDS_SUBMIT))]

EXAMPLE = {
    "authority": "hkpf-nsd",
    "jurisdiction": "HK",
    "reference": "NSD/202007/1234",
    "kind": "removal",
    "legal_process": "administrative-order",
    "legal_basis": {
        "instrument": "Implementation Rules for Article 43 of the National Security Law",
        "article": "Schedule 4",
    },
    "summary": "Remove messages likely to constitute an offence endangering national security",
    "received_at": "2020-07-07T09:30:00+08:00",
    "deadline": "2020-07-08T09:30:00+08:00",
    "penalty": "Fine of HK$100,000 and imprisonment for six months",
    "targets": [{"type": "content", "id": "https://microblog.demo/@hk_student_union/12"}],
    "idempotency_key": "NSD-202007-1234",
}


@api.post(
    "/demands",
    response_model=DemandOut,
    status_code=201,
    summary="Submit a demand",
    # The body is read by the handler and validated by the intake writer after the token
    # (see submit_demand), so FastAPI is told its shape here; web/app.py publishes DemandIn.
    openapi_extra=body_by_ref("DemandIn", {"hong-kong-removal": {"value": EXAMPLE}}),
    responses={
        200: {"description": "An identical earlier submission (same idempotency key and body)"},
        413: {"description": "Body over the size limit"},
        422: {
            "description": "Bad input: every bad field is listed; nothing was written. A "
            "repeat of an earlier demand of the same authority (the same reference, or the "
            "same content within 30 days) is refused as `repeat`, naming it, unless "
            "`confirmed_new` is true"
        },
    },
)
async def submit_demand(
    request: Request,
    response: Response,
    token: SubmitToken,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> DemandOut:
    """Record a demand. Retrying with the same ``Idempotency-Key`` (header or field) and the
    same body returns the first result with status 200; the same key with another body is 422.
    Without a key, sending the same demand again is refused as a repeat (422, type ``repeat``,
    naming the earlier demand) unless it says ``confirmed_new: true``.
    """
    # Checked, validated and written by the worker's intake writer, in one transaction with
    # whatever else is being submitted right now (web/coalesce.py); the answer comes after
    # that commit. The body is validated there, after the token: 401 and 403 come before 422.
    body = await request.body()
    submission = Submission(token.raw, token.authorise, body, idempotency_key)
    accepted = await asyncio.wrap_future(intake_writer(request).submit(submission))
    if not accepted.created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/demands/{accepted.demand.id}"
    return accepted.demand
