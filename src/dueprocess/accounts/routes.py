"""Sign-in and sign-out pages.

The sign-in form is itself protected against login CSRF by a double-submit token: a random
value in a short-lived cookie that must come back in the form. A session id is always fresh
on sign-in (no fixation), kept in an HttpOnly, SameSite=Strict cookie (Secure when
``DUEPROCESS_SECURE_COOKIES`` is set, as it must be behind HTTPS).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from dueprocess.accounts import signin
from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.web.auth import SESSION_COOKIE, public, requires_page, signed_in
from dueprocess.web.deps import TEMPLATES, runtime_of, unit_of_work

pages = APIRouter(include_in_schema=False)
PRESIGN_COOKIE = "dp_presign"

#: A staff account's home: the first of these pages its permissions open.
STAFF_HOMES = (
    (Permission.DEMANDS_READ, "/demands"),
    (Permission.POLICY_READ, "/policy"),
    (Permission.AUDIT_READ, "/audit"),
)


def home_of(me: Principal) -> str | None:
    """Where ``me`` starts: an officer at the portal, staff at the first staff page their
    permissions open; None when they open none (an administrator: accounts are managed on
    the command line)."""
    if me.authority_scope is not None:
        return "/portal"
    return next((path for permission, path in STAFF_HOMES if permission in me.permissions), None)


@pages.get("/", response_class=HTMLResponse, dependencies=[Depends(public)])
def home(request: Request) -> Response:
    """The start: the sign-in page, or the signed-in person's home (:func:`home_of`). Signing
    in without a ``next`` page lands here too."""
    me = signed_in(request)
    if me is None:
        return RedirectResponse("/sign-in", status_code=303)
    target = home_of(me)
    if target is not None:
        return RedirectResponse(target, status_code=303)
    return TEMPLATES.TemplateResponse(request, "accounts/home.html", {"me": me})


def _safe_next(target: str | None) -> str:
    # Only local paths: an attacker's link must not bounce a fresh session to another site.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _form(
    request: Request, *, problem: str | None, email: str, next_url: str, status: int = 200
) -> HTMLResponse:
    token = secrets.token_urlsafe(24)
    response = TEMPLATES.TemplateResponse(
        request,
        "accounts/sign_in.html",
        {"problem": problem, "email": email, "next": next_url, "presign": token},
        status_code=status,
    )
    response.set_cookie(
        PRESIGN_COOKIE,
        token,
        max_age=1800,
        httponly=True,
        samesite="strict",
        secure=runtime_of(request).settings.secure_cookies,
        path="/sign-in",
    )
    return response


@pages.get("/sign-in", response_class=HTMLResponse, dependencies=[Depends(public)])
def sign_in_page(request: Request, next: str = "/", problem: str | None = None) -> HTMLResponse:
    """The sign-in form."""
    return _form(request, problem=problem, email="", next_url=_safe_next(next))


@pages.post("/sign-in", response_class=HTMLResponse, dependencies=[Depends(public)])
def sign_in(
    request: Request,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=12)] = "",
    presign: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Check the credentials; on success set the session cookie and go to ``next``."""
    cookie = request.cookies.get(PRESIGN_COOKIE, "")
    if not (presign and cookie and hmac.compare_digest(presign, cookie)):
        return _form(
            request,
            problem="the form expired or came from elsewhere; please try again",
            email=email,
            next_url=_safe_next(next),
            status=403,
        )
    remote = request.client.host if request.client else "unknown"
    with unit_of_work(request) as session:
        outcome = signin.sign_in(session, email, password, code, remote=remote)
    if outcome.principal is None or outcome.session_id is None:
        return _form(
            request,
            problem=outcome.problem,
            email=email,
            next_url=_safe_next(next),
            status=429 if outcome.throttled else 401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        outcome.session_id,
        httponly=True,
        samesite="strict",
        secure=runtime_of(request).settings.secure_cookies,
        path="/",
        max_age=int(signin.SESSION_LIFETIME.total_seconds()),
    )
    response.delete_cookie(PRESIGN_COOKIE, path="/sign-in")
    return response


@pages.post("/sign-out", dependencies=[Depends(requires_page(Permission.SIGNED_IN))])
def sign_out(request: Request) -> Response:
    """End the session."""
    with unit_of_work(request) as session:
        signin.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
