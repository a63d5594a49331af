"""HTTP for productions: the list on a demand (API), and the one download (API and portal).
Thin: calls :mod:`dueprocess.productions.service`.

A download's audit event (``production.downloaded``, or ``production.download_refused``
with the reason) is committed before the answer: a refused attempt is answered 404 or 409
only once it is on record; the bytes begin to go out only once the download is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.clock import utcnow
from dueprocess.documents.names import content_disposition
from dueprocess.errors import NotFound
from dueprocess.productions import service as productions
from dueprocess.productions.schemas import ProductionOut
from dueprocess.web.auth import requires, requires_page
from dueprocess.web.deps import runtime_of, unit_of_work
from dueprocess.web.params import Id

api = APIRouter(prefix="/api/v1", tags=["productions"])
pages = APIRouter(include_in_schema=False)

ReadGrant = Annotated[Principal, Depends(requires(Permission.DEMANDS_READ))]
DownloadGrant = Annotated[Principal, Depends(requires(Permission.PRODUCTIONS_DOWNLOAD))]
PageDownloadGrant = Annotated[Principal, Depends(requires_page(Permission.PRODUCTIONS_DOWNLOAD))]
MEDIA_TYPES = {".tar.age": "application/octet-stream", ".tar": "application/x-tar"}


@api.get(
    "/demands/{demand_id:int}/productions",
    response_model=list[ProductionOut],
    summary="A demand's productions",
)
def list_productions(request: Request, demand_id: Id, me: ReadGrant) -> list[ProductionOut]:
    """Every production sealed for the demand, oldest first, with its hashes and status.
    Another authority's demand is 404."""
    with unit_of_work(request) as session:
        rows = productions.list_for_demand(session, demand_id, authority_id=me.authority_scope)
        now = utcnow()
        return [productions.to_out(p, now) for p in rows]


def _download(request: Request, me: Principal, production_id: int, via: str) -> Response:
    runtime = runtime_of(request)
    if me.authority_scope is None:  # the permission is an officer's; kept whole here too
        raise NotFound(f"production {production_id}")
    handle: BinaryIO | None = None
    try:
        with unit_of_work(request) as session:
            attempt = productions.download(
                session,
                runtime,
                production_id,
                account_id=me.account_id,
                authority_id=me.authority_scope,
                via=via,
            )
            handle = attempt.handle
            if attempt.production is not None:
                production = attempt.production
                name = production.name
                media = next(m for s, m in MEDIA_TYPES.items() if name.endswith(s))
                response = StreamingResponse(
                    _chunks(attempt.handle) if attempt.handle else iter(()),
                    media_type=media,
                    headers={
                        "Content-Disposition": content_disposition(name, media),
                        "Content-Length": str(production.size),
                        "X-Production-SHA256": production.stored_sha256,
                        "X-Manifest-SHA256": production.manifest_sha256,
                        "Cache-Control": "no-store",
                    },
                )
    except BaseException:
        if handle is not None:
            handle.close()
        raise
    if attempt.refused is not None:
        raise attempt.refused  # committed above: the refusal is on record
    return response


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(1 << 20):
            yield chunk


@api.get(
    "/productions/{production_id:int}/download",
    summary="Download a production (once)",
    response_class=Response,
    responses={
        200: {
            "description": "The package: a tar, or a tar encrypted to the authority's age key",
            "content": {
                m: {"schema": {"type": "string", "format": "binary"}}
                for m in sorted(set(MEDIA_TYPES.values()))
            },
        },
        409: {"description": "Revoked, already downloaded, or expired (the answer says which)"},
    },
)
def download_api(request: Request, production_id: Id, me: DownloadGrant) -> Response:
    """The production's bytes, for an officer of the demand's authority, once, before it
    expires and unless it was revoked. Every attempt is audited."""
    return _download(request, me, production_id, "api")


@pages.get("/portal/productions/{production_id:int}/download")
def download_page(request: Request, production_id: Id, me: PageDownloadGrant) -> Response:
    """The production's bytes, from the portal's demand page (audited, once)."""
    return _download(request, me, production_id, "portal")
