"""HTTP for the API beyond single submission: batches, document uploads, withdrawal.

Thin, like :mod:`dueprocess.demands.routes`: each handler opens one transaction and calls the
intake flow or a service. What these routes promise (``tests/demands/test_batch.py`` and
``tests/demands/test_uploads.py`` check each):

- ``POST /api/v1/demands/batch`` is all-or-nothing. Every item is validated and run through
  the intake flow in one transaction; if any item is refused the transaction is rolled back
  and the answer (422) lists every refused item with its errors, so the client can fix them
  all at once. Each item's ``idempotency_key`` is honoured as for a single submission. The
  worker's intake writer runs that transaction, in turn with the single submissions it
  writes (:mod:`dueprocess.web.coalesce`), so a worker writes one batch at a time.
- ``POST /api/v1/documents`` streams the file into the document store (never whole in
  memory; the body-size limit cuts off an oversized body while it arrives) and records who
  uploaded it: only that account can cite it by SHA-256 in a demand.
- ``POST /api/v1/demands/{id}/withdraw`` answers 404 for a demand the caller cannot see
  before it looks at the reason, so ids reveal nothing to another authority's officers.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Body, Depends, File, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal, check_token
from dueprocess.demands import service as demands
from dueprocess.demands.schemas import DemandIn, DemandOut
from dueprocess.documents.store import DocumentRefused
from dueprocess.errors import Conflict, FieldError, InvalidInput, from_validation
from dueprocess.intake import flow, record
from dueprocess.intake.routes import EXAMPLE, SubmitToken
from dueprocess.runtime import Runtime
from dueprocess.web.auth import BearerToken, requires
from dueprocess.web.coalesce import intake_writer
from dueprocess.web.deps import body_by_ref, runtime_of, unit_of_work
from dueprocess.web.params import Id

api = APIRouter(prefix="/api/v1", tags=["demands"])

SubmitGrant = Annotated[Principal, Depends(requires(Permission.DEMANDS_SUBMIT))]

#: Most demands one batch may hold.
MAX_BATCH = 100


# --- shapes -------------------------------------------------------------------------------


class BatchIn(BaseModel):
    """1 to 100 demands, recorded together or not at all."""

    model_config = ConfigDict(extra="forbid")

    demands: list[DemandIn] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"1 to {MAX_BATCH} demands, each as for `POST /api/v1/demands`",
    )


class BatchOut(BaseModel):
    """The recorded demands in the order given, and for each whether this call created it
    (``false``: an earlier demand with the same idempotency key and body)."""

    demands: list[DemandOut]
    created: list[bool]


class ErrorOut(BaseModel):
    """One problem with one field (``loc`` is the path to it)."""

    loc: list[str | int]
    msg: str
    type: str


class ItemErrors(BaseModel):
    """The problems of one refused item; ``loc`` is relative to the item."""

    index: int
    errors: list[ErrorOut]


class BatchRefused(BaseModel):
    """A refused batch: nothing was written. ``detail`` has every problem with its full
    location (``["body", "demands", index, ...]``); ``items`` groups them by item. A body
    that is not a list of 1 to 100 demands (not JSON at all, say) has its problems in
    ``detail`` (``["body"]``, ``["body", "demands"]``) and no ``items``."""

    detail: list[ErrorOut]
    items: list[ItemErrors]


class UploadOut(BaseModel):
    """A stored upload; cite it in a demand as ``{"filename": ..., "sha256": ...}``."""

    sha256: str
    size: int
    media_type: str
    filename: str


class WithdrawIn(BaseModel):
    """Why the requester withdraws the demand (required, not empty)."""

    # Optional here and checked by the service after the demand is found, so a demand the
    # caller cannot see is 404 whatever the body; the schema still documents it as required.
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={"required": ["reason"]},
    )

    reason: str | None = Field(
        default=None,
        description="Why the demand is withdrawn, at most 2000 characters (shown to "
        "reviewers, kept in the audit log)",
        examples=["The investigation was closed"],
    )


# --- batch --------------------------------------------------------------------------------

_SECOND = {
    **EXAMPLE,
    "reference": "NSD/202007/1235",
    "targets": [{"type": "account", "id": "@hk_student_union"}],
    "kind": "account-restriction",
    "idempotency_key": "NSD-202007-1235",
}
_BATCH_EXAMPLES: dict[str, Any] = {
    "two-demands": {
        "summary": "Two Hong Kong demands in one call",
        "value": {"demands": [EXAMPLE, _SECOND]},
    }
}
_REFUSED_MSG = "NL is not the jurisdiction of hkpf-nsd (HK)"
_REFUSED_EXAMPLE = {
    "detail": [
        {"loc": ["body", "demands", 1, "jurisdiction"], "msg": _REFUSED_MSG, "type": "value_error"}
    ],
    "items": [
        {
            "index": 1,
            "errors": [{"loc": ["jurisdiction"], "msg": _REFUSED_MSG, "type": "value_error"}],
        }
    ],
}


class _Refused(Exception):
    """Raised inside the transaction so that leaving it rolls everything back."""

    def __init__(self, failures: dict[int, list[FieldError]]) -> None:
        super().__init__(f"{len(failures)} items refused")
        self.failures = failures


def _refusal(
    failures: dict[int, list[FieldError]], outside: list[FieldError] | None = None
) -> JSONResponse:
    """422 in the shape of :class:`BatchRefused`: ``outside`` are problems with the body as a
    whole (not JSON, no ``demands``, too many), which belong to no item."""
    detail: list[dict[str, object]] = [e.as_dict() for e in outside or []]
    items: list[dict[str, object]] = []
    for index in sorted(failures):
        errors = failures[index]
        detail += [FieldError(("demands", index, *e.loc), e.msg, e.type).as_dict() for e in errors]
        items.append(
            {
                "index": index,
                "errors": [{"loc": list(e.loc), "msg": e.msg, "type": e.type} for e in errors],
            }
        )
    return JSONResponse({"detail": detail, "items": items}, status_code=422)


@api.post(
    "/demands/batch",
    response_model=BatchOut,
    status_code=201,
    summary="Submit up to 100 demands, all or nothing",
    # The handler reads and validates the body itself (see _parse); web/app.py publishes
    # BatchIn for this reference.
    openapi_extra=body_by_ref("BatchIn", _BATCH_EXAMPLES),
    responses={
        200: {"description": "Every item was a replay of an earlier identical submission"},
        413: {"description": "Body over the size limit"},
        422: {
            "model": BatchRefused,
            "description": "At least one item refused (each listed); nothing was written. "
            "A body that is not a list of 1 to 100 demands is refused naming `demands`.",
            "content": {"application/json": {"example": _REFUSED_EXAMPLE}},
        },
        409: {"description": "A concurrent request took one of the idempotency keys; retry"},
    },
)
async def submit_batch(request: Request, token: SubmitToken) -> Response:
    """Record every demand in ``demands`` in one transaction, or none of them.

    Each item is checked as ``POST /api/v1/demands`` checks one. If any item is refused the
    answer is 422 with ``items``: every refused item's index and its errors; nothing is
    written. Otherwise 201 (200 if every item was a replay) with the demands in order and,
    for each, ``created``. An item's ``idempotency_key`` replays an earlier demand with the
    same key and body (``created: false``) and is refused with a different body, also when
    the earlier item is in the same batch. An item that repeats an earlier demand of its
    authority, or an earlier item (the same reference, or the same content within 30 days),
    is refused naming it unless the item says ``confirmed_new: true``. Officers may submit
    only for their own authority.
    """
    body = await request.body()
    # Written by the worker's intake writer, in turn with everything else it writes
    # (web/coalesce.py); the token is checked there, in the batch's transaction, and the
    # body validated after it: 401 and 403 come before 422.
    work = partial(_submit_batch, runtime_of(request), token, body)
    return await asyncio.wrap_future(intake_writer(request).run(work))


def _parse(body: bytes) -> tuple[list[tuple[int, DemandIn]], dict[int, list[FieldError]]]:
    """The valid items with their indexes, and the errors of the others. ``InvalidInput``
    (naming ``demands``, or the body) when the body is not a list of 1 to 100 demands.

    The whole body is validated from its bytes in one step, which is the fast path; only a
    batch with a bad item is parsed again item by item, so the good items can still be
    checked and every problem reported at once."""
    try:
        return list(enumerate(_BATCH.validate_json(body).demands)), {}
    except ValidationError as exc:
        errors = exc.errors()
    outside = [e for e in errors if not _in_item(e["loc"])]
    if outside:
        raise from_validation(outside)
    raw = orjson.loads(body)  # valid JSON, or json_invalid would be outside any item
    items: list[tuple[int, DemandIn]] = []
    failures: dict[int, list[FieldError]] = {}
    for index, item in enumerate(raw["demands"]):
        try:
            items.append((index, DemandIn.model_validate(item)))
        except ValidationError as exc:
            failures[index] = from_validation(exc.errors()).errors
    return items, failures


def _in_item(loc: tuple[int | str, ...]) -> bool:
    return len(loc) >= 2 and loc[0] == "demands" and isinstance(loc[1], int)


_BATCH = TypeAdapter(BatchIn)


def _submit_batch(runtime: Runtime, token: BearerToken, body: bytes) -> Response:
    try:
        with runtime.sessions() as session, session.begin():
            me = token.authorise(check_token(session, token.raw))
            items, failures = _parse(body)
            incoming = [
                (index, flow.Incoming.from_api(data, me, label=f"item {index} of this batch"))
                for index, data in items
            ]
            answers = flow.receive_many(session, runtime, [i for _, i in incoming])
            results: list[flow.Received] = []
            for (index, _), answer in zip(incoming, answers, strict=True):
                if isinstance(answer, InvalidInput):
                    failures[index] = answer.errors
                else:
                    results.append(answer)
            if failures:
                raise _Refused(failures)  # rolls the whole batch back
            created = [r.created for r in results]
            out = orjson.dumps(
                {"demands": [r.answer for r in results], "created": created},
                option=orjson.OPT_UTC_Z,
            )
    except _Refused as refused:
        return _refusal(refused.failures)
    except InvalidInput as invalid:  # the body is not a list of 1 to 100 demands
        return _refusal({}, invalid.errors)
    except IntegrityError as exc:
        raise Conflict(
            "another request recorded a demand with one of these idempotency keys at the same "
            "time; nothing was written, send the batch again"
        ) from exc
    # Serialised here, once, from plain data (``BatchOut``'s shape: tests/demands/
    # test_answers.py); handed models, FastAPI would validate them all over again.
    return Response(out, status_code=201 if any(created) else 200, media_type="application/json")


# --- uploads ------------------------------------------------------------------------------


@api.post(
    "/documents",
    response_model=UploadOut,
    status_code=201,
    summary="Upload a document to cite in a demand",
    responses={
        413: {"description": "Body over the size limit (refused while it arrives)"},
        422: {"description": "No `file` field, or the file was refused (the reason is given)"},
    },
)
def upload_document(
    request: Request,
    me: SubmitGrant,
    file: Annotated[
        UploadFile, File(description="The document: PDF, image, UTF-8 text or e-mail (.eml)")
    ],
) -> UploadOut:
    """Store one document (multipart field ``file``) and return its SHA-256.

    A demand then cites it with ``{"documents": [{"filename": "order.pdf", "sha256": ...}]}``;
    only the account that uploaded it may do so. The type is judged by content; encrypted or
    damaged PDFs, archives and executables are refused (422 naming ``file``, with the reason).
    """
    runtime = runtime_of(request)
    try:
        stored = runtime.store.put(
            file.file, file.filename or "document", max_bytes=runtime.settings.max_body_bytes
        )
    except DocumentRefused as exc:
        raise InvalidInput.one(("file",), exc.reason, f"document.{exc.code}") from exc
    finally:
        file.file.close()
    with unit_of_work(request) as session:
        record.record_upload(session, stored, account_id=me.account_id, actor=me.actor)
    return UploadOut(
        sha256=stored.sha256,
        size=stored.size,
        media_type=stored.media_type,
        filename=stored.filename,
    )


# --- withdrawal ---------------------------------------------------------------------------


@api.post(
    "/demands/{demand_id:int}/withdraw",
    response_model=DemandOut,
    summary="Withdraw a demand",
    responses={
        404: {"description": "No such demand, or not your authority's"},
        409: {"description": "The demand can no longer be withdrawn (e.g. already decided)"},
        422: {"description": "No reason given"},
    },
)
def withdraw_demand(
    request: Request,
    demand_id: Id,
    me: SubmitGrant,
    body: Annotated[
        WithdrawIn,
        Body(openapi_examples={"closed": {"value": {"reason": "The investigation was closed"}}}),
    ],
) -> DemandOut:
    """Move the demand to ``withdrawn`` (audited with the reason). Officers may withdraw only
    their own authority's demands; a decided, refused or already withdrawn one is 409."""
    with unit_of_work(request) as session:
        demands.get(session, demand_id, authority_id=me.authority_scope)  # 404 before 422
        demand = demands.withdraw(
            session,
            demand_id,
            authority_id=me.authority_scope,
            actor=me.actor,
            by=me.roles,
            reason=body.reason or "",
        )
        return demands.to_out(session, demand)
