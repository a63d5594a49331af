"""Authentication and authorisation for every route, declared in one place per route.

A route states what it needs with ``Depends(requires(Permission.X))`` (API: bearer token)
or ``Depends(requires_page(Permission.X))`` (pages: session cookie, and a CSRF token on every
unsafe method), or declares itself public with ``Depends(public)``. A route whose work runs
in another thread's transaction (single API submissions, :mod:`dueprocess.web.coalesce`)
uses ``Depends(requires_later(Permission.X))``: the same check, made there. ``tests/web`` walks the
route table and fails for any route that declares neither, so a new route cannot ship open
by accident.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal, check_session, check_token
from dueprocess.audit import service as audit
from dueprocess.web.deps import discard_request_session, open_request_session, runtime_of

SESSION_COOKIE = "dp_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="An API token: `dueprocess token create`")
_NO_TOKEN = "an API token is required (Authorization: Bearer ...)"  # noqa: S105 - a message
_BAD_TOKEN = "the API token is unknown, revoked or its account disabled"  # noqa: S105


class NotAuthenticated(Exception):
    """No valid credentials. API: 401; pages: a redirect to the sign-in page."""

    def __init__(self, problem: str, *, page: bool) -> None:
        super().__init__(problem)
        self.problem = problem
        self.page = page


class PermissionDenied(Exception):
    """Signed in, but the route needs a permission this account does not hold (403)."""

    def __init__(self, permission: Permission, *, page: bool) -> None:
        super().__init__(f"this needs the {permission.value} permission")
        self.permission = permission
        self.page = page


class CsrfRefused(Exception):
    """An unsafe request from a page without the session's CSRF token (403)."""


def public(request: Request) -> None:
    """Marks a route as open to everyone (sign-in page, health check)."""
    request.state.principal = None


class requires:
    """API dependency: a bearer token whose account (and scopes) hold ``permission``."""

    page = False

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    ) -> Principal:
        if credentials is None:
            raise NotAuthenticated(_NO_TOKEN, page=False)
        principal = await run_in_threadpool(self._check_token, request, credentials.credentials)
        if principal is None:
            raise NotAuthenticated(_BAD_TOKEN, page=False)
        return self._authorise(request, principal)

    @staticmethod
    def _check_token(request: Request, raw: str) -> Principal | None:
        # The handler's unit of work continues this transaction (web.deps.unit_of_work).
        session = open_request_session(request)
        principal = check_token(session, raw)
        if principal is None:
            discard_request_session(request.scope)
        return principal

    def _authorise(self, request: Request, principal: Principal) -> Principal:
        if self.permission not in principal.permissions:
            raise PermissionDenied(self.permission, page=self.page)
        request.state.principal = principal
        return principal


@dataclass(frozen=True)
class BearerToken:
    """A bearer token not checked yet, and the check its route declared
    (:class:`requires_later`)."""

    raw: str
    authorise: Callable[[Principal | None], Principal]


class requires_later(requires):
    """API dependency for a route whose work runs in another thread's transaction: here only
    that a bearer token was sent (401 if not); there, :meth:`authorise` on the principal the
    token names, with the same answers as :class:`requires` (401, 403).
    """

    async def __call__(  # type: ignore[override]
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
    ) -> BearerToken:
        if credentials is None:
            raise NotAuthenticated(_NO_TOKEN, page=False)
        return BearerToken(credentials.credentials, self.authorise)

    def authorise(self, principal: Principal | None) -> Principal:
        """``principal`` (None: the token is unknown, revoked or disabled) if it may act here."""
        if principal is None:
            raise NotAuthenticated(_BAD_TOKEN, page=False)
        if self.permission not in principal.permissions:
            raise PermissionDenied(self.permission, page=False)
        return principal


class requires_page(requires):
    """Page dependency: a live session cookie holding ``permission``; unsafe methods also
    need the session's CSRF token in the form field ``csrf_token`` (or ``X-CSRF-Token``).
    """

    page = True

    async def __call__(  # type: ignore[override]
        self, request: Request
    ) -> Principal:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            raise NotAuthenticated("please sign in", page=True)
        sent: str | None = None
        if request.method not in SAFE_METHODS:
            sent = request.headers.get("x-csrf-token")
            if sent is None:
                form = await request.form()
                value = form.get("csrf_token")
                sent = value if isinstance(value, str) else None
        return await run_in_threadpool(self._check, request, raw, sent)

    def _check(self, request: Request, raw: str, sent: str | None) -> Principal:
        with runtime_of(request).sessions() as session, session.begin():
            check = check_session(session, raw)
            if check.principal is None:
                problem = check.problem or "please sign in"
                session.commit()
                raise NotAuthenticated(problem, page=True)
            if request.method not in SAFE_METHODS and not (
                sent and check.csrf_token and hmac.compare_digest(sent, check.csrf_token)
            ):
                audit.record(
                    session,
                    actor=check.principal.actor,
                    action="auth.csrf_refused",
                    data={
                        "path": request.url.path,
                        "method": request.method,
                        "token": "missing" if not sent else "wrong",
                    },
                )
                session.commit()
                raise CsrfRefused
        request.state.csrf_token = check.csrf_token
        return self._authorise(request, check.principal)


def signed_in(request: Request) -> Principal | None:
    """For a public page that adapts to who is looking: the principal of a live session
    cookie, or None (never refuses). Sets what the page layout shows of them. Blocking: call
    it from a plain ``def`` route (a worker thread)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    with runtime_of(request).sessions() as session, session.begin():
        check = check_session(session, raw)  # an expired session is audited: commit that
    if check.principal is not None:
        request.state.principal = check.principal
        request.state.csrf_token = check.csrf_token
    return check.principal


def declared_permission(route: Any) -> Permission | str | None:
    """The permission a route declares, ``"public"``, or ``"undeclared"`` (for the tests)."""
    found: list[Permission | str] = []
    for dep in route.dependant.dependencies:
        call = dep.call
        if call is public:
            found.append("public")
        elif isinstance(call, requires):
            found.append(call.permission)
    if len(found) != 1:
        return "undeclared"
    return found[0]
