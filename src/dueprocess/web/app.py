"""The FastAPI application: routes of every domain, error handling, static files.

Errors never leak a stack trace: bad input is 422 naming each field, an unknown or
invisible object 404, a state conflict 409, an oversized body 413, anything unexpected a
plain 500 (details go to the server log only).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from dueprocess import __version__
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import Conflict, InvalidInput, NotFound, NotPermitted, from_validation
from dueprocess.runtime import Runtime
from dueprocess.web import apidocs
from dueprocess.web.auth import CsrfRefused, NotAuthenticated, PermissionDenied, public
from dueprocess.web.coalesce import IntakeWriter
from dueprocess.web.errors import problem_page, wants_html
from dueprocess.web.middleware import (
    BodySizeLimit,
    ClientAddress,
    CloseRequestSession,
    SecurityHeaders,
)
from dueprocess.web.openapi import document_errors
from dueprocess.web.refusals import on_http_error, unreadable

log = logging.getLogger("dueprocess.web")

DESCRIPTION = """
dueprocess handles government demands to online services: intake, jurisdiction policy,
review, action, notice, audit and transparency. Errors are JSON: `422` lists every bad
field as `{"loc": [...], "msg": ..., "type": ...}`; `404` means not found *or not yours*.
"""


def sign_audit_head(runtime: Runtime) -> None:
    """Sign the audit chain's head if it moved (the server's periodic checkpoint).

    A refusal (the log does not extend what was signed last) is logged as an error each
    time, and nothing is signed until someone looks (docs/audit-format.md)."""
    from dueprocess.audit import signer

    try:
        signed = signer.sign_head(runtime.sessions, runtime.settings.keys_dir)
    except signer.SigningRefused as exc:
        log.error("audit checkpoint: %s", exc)
        return
    for note in signed.notes:
        log.warning("audit checkpoint: %s", note)


def _checkpoints(runtime: Runtime) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """While the server runs, sign the audit chain's head every
    ``DUEPROCESS_CHECKPOINT_SECONDS`` (default 300) if it moved, and once more at shutdown.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async def every_interval() -> None:
            while True:
                await asyncio.sleep(runtime.settings.checkpoint_seconds)
                try:
                    await run_in_threadpool(sign_audit_head, runtime)
                except Exception:  # keep serving; the failure is logged and retried
                    log.exception("audit checkpoint failed")

        task = asyncio.create_task(every_interval())
        try:
            yield
        finally:
            task.cancel()
            await run_in_threadpool(_app.state.intake_writer.close)
            try:
                await run_in_threadpool(sign_audit_head, runtime)
            except Exception:
                log.exception("audit checkpoint at shutdown failed")

    return lifespan


def create_app(runtime: Runtime) -> FastAPI:
    """Build the app on ``runtime``. Routes come from each domain's ``routes`` module."""
    from dueprocess.accounts import routes as account_routes
    from dueprocess.actions import routes as action_routes
    from dueprocess.audit import routes as audit_routes
    from dueprocess.authorities import routes as authority_routes
    from dueprocess.connectors.demo import routes as microblog_routes
    from dueprocess.demands import routes as demand_routes
    from dueprocess.intake import batch as demand_batch, entry, portal, routes as intake_routes
    from dueprocess.policy import routes as policy_routes
    from dueprocess.productions import routes as production_routes
    from dueprocess.review import (
        checklist_routes,
        pages as review_pages,
        protected_routes,
        queue_pages,
        queue_routes,
        routes as review_routes,
    )
    from dueprocess.transparency import routes as transparency_routes

    app = FastAPI(
        title="dueprocess",
        version=__version__,
        description=DESCRIPTION,
        lifespan=_checkpoints(runtime),
        docs_url=None,  # web/apidocs.py serves /docs and /redoc from the package
        redoc_url=None,
    )
    app.state.runtime = runtime
    app.state.intake_writer = IntakeWriter(runtime)
    app.add_middleware(BodySizeLimit, limit=runtime.settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(CloseRequestSession)
    app.add_middleware(ClientAddress, proxies=runtime.settings.trusted_proxies)

    routers = [
        intake_routes.api,
        demand_routes.api,
        entry.pages,  # before demand_routes.pages, so /demands/new is not read as /demands/{id}
        portal.pages,
        demand_routes.pages,
        demand_batch.api,
        transparency_routes.api,
        audit_routes.api,
        audit_routes.pages,
        account_routes.pages,
        authority_routes.pages,
        policy_routes.api,
        policy_routes.pages,
        review_routes.api,
        review_pages.pages,
        queue_routes.api,
        queue_pages.pages,
        protected_routes.api,
        protected_routes.pages,
        checklist_routes.api,
        checklist_routes.pages,
        action_routes.api,
        action_routes.pages,
        production_routes.api,
        production_routes.pages,
        apidocs.pages,
        microblog_routes.pages,  # the demo service's own page, when it is configured
    ]
    for router in routers:
        app.include_router(router)
    app.state.routers = routers
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness and database check",
        dependencies=[Depends(public)],
    )
    def healthz(request: Request) -> dict[str, str]:
        with request.app.state.runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"status": "ok", "version": __version__}

    # Each error is a page for a browser and JSON for an API client (web/errors.py).

    def refused(request: Request, invalid: InvalidInput) -> Response:
        if wants_html(request):
            return problem_page(
                request,
                422,
                "Some of what was sent was not accepted, so nothing was changed:",
                title="Not accepted",
                errors=invalid.errors,
            )
        return JSONResponse({"detail": [e.as_dict() for e in invalid.errors]}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> Response:
        return refused(request, from_validation(exc.errors()))

    @app.exception_handler(InvalidInput)
    async def on_invalid(request: Request, exc: InvalidInput) -> Response:
        return refused(request, exc)

    @app.exception_handler(NotFound)
    async def on_not_found(request: Request, _exc: NotFound) -> Response:
        if wants_html(request):
            return problem_page(request, 404, "There is nothing here, or nothing you may see.")
        return JSONResponse({"detail": "not found"}, status_code=404)

    @app.exception_handler(Conflict)
    async def on_conflict(request: Request, exc: Conflict) -> Response:
        if wants_html(request):
            return problem_page(request, 409, str(exc), title="Not possible now")
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(NotPermitted)
    async def on_not_permitted(request: Request, exc: NotPermitted) -> Response:
        # A move this person's roles may not make (demands/states.py): 403, saying which.
        if wants_html(request):
            return problem_page(request, 403, str(exc), title="Not allowed")
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette's and FastAPI's own errors, in the app's shapes (web/refusals.py): an
        # unreadable body is 422, 405's Allow complete; no such address is 404.
        answer = await on_http_error(request, exc)
        if not wants_html(request):
            return answer
        if exc.status_code == 400:
            return refused(request, InvalidInput([unreadable(request)]))
        problem = {
            404: "There is no page at this address.",
            405: f"This address does not take {request.method} requests.",
        }.get(answer.status_code, str(exc.detail))
        allow = {"Allow": answer.headers["allow"]} if "allow" in answer.headers else {}
        return problem_page(request, answer.status_code, problem, headers=allow or exc.headers)

    @app.exception_handler(NotAuthenticated)
    async def on_unauthenticated(request: Request, exc: NotAuthenticated) -> Response:
        if exc.page:
            target = quote(
                request.url.path + (f"?{request.url.query}" if request.url.query else "")
            )
            return RedirectResponse(
                f"/sign-in?next={target}&problem={quote(exc.problem)}", status_code=303
            )
        if wants_html(request):
            return problem_page(
                request,
                401,
                f"This address is part of the API, for programs: {exc.problem}. "
                "People use the pages, after signing in.",
                title="Sign in",
                link=("/sign-in", "Sign in"),
                headers={"WWW-Authenticate": "Bearer"},
            )
        return JSONResponse(
            {"detail": exc.problem}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )

    @app.exception_handler(PermissionDenied)
    async def on_denied(request: Request, exc: PermissionDenied) -> Response:
        if exc.page or wants_html(request):
            return problem_page(
                request,
                403,
                f"Your account does not have the {exc.permission.value} permission "
                f"{'this page' if exc.page else 'this API call'} needs.",
                title="Not allowed",
            )
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(CsrfRefused)
    async def on_csrf(request: Request, _exc: CsrfRefused) -> Response:
        return problem_page(
            request,
            403,
            "The form's security token was missing or wrong, so nothing was changed. "
            "Reload the page and try again.",
            title="Form refused",
        )

    @app.exception_handler(ClientDisconnect)
    async def on_gone(request: Request, _exc: ClientDisconnect) -> Response:
        # The client hung up while sending its body: nothing was written, nobody is listening.
        log.info("client left during %s %s", request.method, request.url.path)
        return PlainTextResponse("client disconnected", status_code=400)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if wants_html(request):
            return problem_page(
                request,
                500,
                "Something went wrong on our side. It has been logged for the operators; "
                "please try again later.",
                title="Something went wrong",
            )
        return PlainTextResponse("internal error; it has been logged", status_code=500)

    _publish_models(app, DemandIn, demand_batch.BatchIn)
    return app


def _publish_models(app: FastAPI, *models: type[BaseModel]) -> None:
    """Add ``models`` to the OpenAPI components, for routes that describe their body by
    ``$ref`` in ``openapi_extra`` instead of letting FastAPI parse it, and the error answers
    every operation can give (:func:`dueprocess.web.openapi.document_errors`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = generate()
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for model in models:
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, definition in schema.pop("$defs", {}).items():
                    schemas.setdefault(name, definition)
                schemas[model.__name__] = schema
            document_errors(spec)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


def route_table(app: FastAPI) -> list[APIRoute]:
    """Every endpoint the app serves (the permission tests walk this)."""
    own = [r for r in app.router.routes if isinstance(r, APIRoute)]
    return own + [
        r for router in app.state.routers for r in router.routes if isinstance(r, APIRoute)
    ]
