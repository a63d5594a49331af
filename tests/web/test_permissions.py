"""The permission matrix: every route x every role x own/other authority, over real HTTP.

The expected permission of each route is written here by hand, apart from the code: a new
route that is not in :data:`DECLARED` fails the suite, as does a route that declares no
permission, so nothing ships open by accident.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts, signin
from dueprocess.accounts.models import Role
from dueprocess.accounts.passwords import current_code
from dueprocess.accounts.permissions import GRANTS, Permission
from dueprocess.runtime import Runtime
from dueprocess.web.app import create_app, route_table
from dueprocess.web.auth import declared_permission
from tests import factories
from tests.conftest import LiveServer

#: (method, path) -> the permission the route must declare. Written by hand on purpose.
DECLARED: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/"): "public",
    ("GET", "/sign-in"): "public",
    ("POST", "/sign-in"): "public",
    ("GET", "/docs"): "public",
    ("GET", "/redoc"): "public",
    ("GET", "/microblog/posts/{post_id}"): "public",
    ("POST", "/sign-out"): "signed-in",
    ("POST", "/api/v1/demands"): "demands:submit",
    ("POST", "/api/v1/demands/batch"): "demands:submit",
    ("POST", "/api/v1/documents"): "demands:submit",
    ("POST", "/api/v1/demands/{demand_id}/withdraw"): "demands:submit",
    ("GET", "/api/v1/demands"): "demands:read",
    ("GET", "/api/v1/demands/{demand_id}"): "demands:read",
    ("GET", "/demands"): "demands:read",
    ("GET", "/demands/{demand_id}"): "demands:read",
    ("GET", "/api/v1/demands/{demand_id}/documents/{sha256}"): "demands:read",
    ("GET", "/demands/{demand_id}/documents/{sha256}"): "demands:read",
    ("GET", "/api/v1/transparency/counts"): "reports:read",
    ("GET", "/portal"): "demands:read",
    ("GET", "/portal/demands/new"): "demands:submit",
    ("POST", "/portal/demands/new"): "demands:submit",
    ("GET", "/portal/demands/{demand_id}"): "demands:read",
    ("POST", "/portal/demands/{demand_id}/withdraw"): "demands:submit",
    ("GET", "/demands/new"): "demands:submit",
    ("POST", "/demands/new"): "demands:submit",
    ("GET", "/authorities"): "demands:read",
    ("GET", "/authorities/{slug}"): "demands:read",
    ("POST", "/authorities/{slug}/officers/{account_id}/verify"): "authorities:manage",
    ("POST", "/demands/{demand_id}/callbacks"): "authorities:manage",
    ("GET", "/api/v1/audit/events"): "audit:read",
    ("GET", "/audit"): "audit:read",
    ("GET", "/policy"): "policy:read",
    ("GET", "/policy/{jurisdiction}"): "policy:read",
    ("GET", "/policy/whatif"): "policy:read",
    ("POST", "/policy/whatif"): "policy:read",
    ("GET", "/policy/versions/{version_id}"): "policy:read",
    ("POST", "/policy/versions/{version_id}/approve"): "policy:approve",
    ("POST", "/policy/versions/{version_id}/reject"): "policy:approve",
    ("GET", "/api/v1/policy/active"): "policy:read",
    ("GET", "/api/v1/policy/versions"): "policy:read",
    ("POST", "/api/v1/policy/versions"): "policy:propose",
    ("POST", "/api/v1/policy/versions/{version_id}/approve"): "policy:approve",
    ("POST", "/api/v1/policy/whatif"): "policy:read",
    ("GET", "/api/v1/demands/{demand_id}/review"): "review:read",
    ("POST", "/api/v1/demands/{demand_id}/review/claim"): "review:work",
    ("POST", "/api/v1/demands/{demand_id}/review/release"): "review:work",
    ("POST", "/api/v1/demands/{demand_id}/review/assign"): "review:work",
    ("POST", "/api/v1/demands/{demand_id}/review/send"): "review:work",
    ("PUT", "/api/v1/demands/{demand_id}/review/decisions"): "review:legal",
    ("POST", "/api/v1/demands/{demand_id}/review/submit"): "review:legal",
    ("POST", "/api/v1/demands/{demand_id}/review/sign-off"): "review:human-rights",
    ("POST", "/api/v1/demands/{demand_id}/review/approval"): "decisions:approve",
    ("GET", "/review"): "review:read",
    ("GET", "/review/{queue}"): "review:read",
    ("POST", "/review/{queue}/bulk"): "review:work",
    ("GET", "/api/v1/review/queues"): "review:read",
    ("GET", "/api/v1/review/reminders"): "review:read",
    ("GET", "/api/v1/demands/{demand_id}/actions"): "review:read",
    ("POST", "/api/v1/actions/{action_id}/retry"): "actions:manage",
    ("POST", "/api/v1/actions/{action_id}/revoke"): "actions:manage",
    ("POST", "/actions/{action_id}/retry"): "actions:manage",
    ("POST", "/actions/{action_id}/revoke"): "actions:manage",
    ("GET", "/api/v1/review/queues/{queue}"): "review:read",
    ("POST", "/api/v1/review/bulk/assign"): "review:work",
    ("POST", "/api/v1/review/bulk/send"): "review:work",
    ("GET", "/demands/{demand_id}/review"): "review:read",
    ("POST", "/demands/{demand_id}/review/claim"): "review:work",
    ("POST", "/demands/{demand_id}/review/release"): "review:work",
    ("POST", "/demands/{demand_id}/review/assign"): "review:work",
    ("POST", "/demands/{demand_id}/review/send"): "review:work",
    ("POST", "/demands/{demand_id}/review/decisions"): "review:legal",
    ("POST", "/demands/{demand_id}/review/submit"): "review:legal",
    ("POST", "/demands/{demand_id}/review/sign-off"): "review:human-rights",
    ("POST", "/demands/{demand_id}/review/approval"): "decisions:approve",
    ("GET", "/api/v1/protected-accounts"): "protected:manage",
    ("POST", "/api/v1/protected-accounts"): "protected:manage",
    ("POST", "/api/v1/protected-accounts/{entry_id}/remove"): "protected:manage",
    ("GET", "/protected-accounts"): "protected:manage",
    ("POST", "/protected-accounts"): "protected:manage",
    ("POST", "/protected-accounts/{entry_id}/remove"): "protected:manage",
    ("GET", "/api/v1/checklists"): "review:read",
    ("GET", "/api/v1/checklists/versions"): "review:read",
    ("POST", "/api/v1/checklists/versions"): "checklists:propose",
    ("POST", "/api/v1/checklists/versions/{version_id}/approve"): "checklists:approve",
    ("POST", "/api/v1/checklists/versions/{version_id}/reject"): "checklists:approve",
    ("GET", "/api/v1/demands/{demand_id}/checklists/legal"): "review:read",
    ("GET", "/api/v1/demands/{demand_id}/checklists/human-rights"): "review:read",
    ("POST", "/api/v1/demands/{demand_id}/checklists/legal"): "review:legal",
    ("POST", "/api/v1/demands/{demand_id}/checklists/human-rights"): "review:human-rights",
    ("GET", "/checklists"): "review:read",
    ("GET", "/checklists/propose"): "checklists:propose",
    ("POST", "/checklists/propose"): "checklists:propose",
    ("GET", "/checklists/versions/{version_id}"): "review:read",
    ("POST", "/checklists/versions/{version_id}/approve"): "checklists:approve",
    ("POST", "/checklists/versions/{version_id}/reject"): "checklists:approve",
    ("GET", "/demands/{demand_id}/checklists/{kind}"): "review:read",
    ("POST", "/demands/{demand_id}/checklists/legal"): "review:legal",
    ("POST", "/demands/{demand_id}/checklists/human-rights"): "review:human-rights",
    ("GET", "/api/v1/demands/{demand_id}/productions"): "demands:read",
    ("GET", "/api/v1/productions/{production_id}/download"): "productions:download",
    ("GET", "/portal/productions/{production_id}/download"): "productions:download",
}

#: The roles that hold each permission, as the product promises (checked against GRANTS).
HOLDERS: dict[str, set[str]] = {
    "signed-in": {r.value for r in Role},
    "demands:submit": {"intake", "officer"},
    "demands:read": {
        "intake",
        "legal-reviewer",
        "human-rights-reviewer",
        "approver",
        "policy-owner",
        "auditor",
        "officer",
    },
    "audit:read": {"auditor"},
    "productions:download": {"officer"},
    "policy:read": {
        "intake",
        "legal-reviewer",
        "human-rights-reviewer",
        "approver",
        "policy-owner",
        "auditor",
    },
    "policy:propose": {"policy-owner"},
    "policy:approve": {"approver", "policy-owner"},
    "accounts:manage": {"admin"},
    "actions:manage": {"legal-reviewer", "approver"},
    "authorities:manage": {"intake", "admin"},
    "reports:read": {
        "intake",
        "legal-reviewer",
        "human-rights-reviewer",
        "approver",
        "policy-owner",
        "auditor",
        "admin",
    },
    "review:read": {
        "intake",
        "legal-reviewer",
        "human-rights-reviewer",
        "approver",
        "policy-owner",
        "auditor",
    },
    "review:work": {"intake", "legal-reviewer", "human-rights-reviewer", "approver"},
    "review:triage": {"intake"},
    "review:legal": {"legal-reviewer"},
    "review:human-rights": {"human-rights-reviewer"},
    "decisions:approve": {"approver"},
    "checklists:propose": {"policy-owner"},
    "checklists:approve": {"approver", "policy-owner"},
    "protected:manage": {"human-rights-reviewer"},
}


def _key(route: object) -> tuple[str, str]:
    methods = sorted(route.methods)  # type: ignore[attr-defined]
    return (methods[0], route.path_format)  # type: ignore[attr-defined]


def test_every_route_declares_the_expected_permission(runtime: Runtime) -> None:
    routes = route_table(create_app(runtime))
    seen = {}
    for route in routes:
        declared = declared_permission(route)
        seen[_key(route)] = declared
        assert declared != "undeclared", f"{_key(route)} declares no permission"
    unknown = set(seen) - set(DECLARED)
    assert not unknown, f"routes missing from the permission matrix: {sorted(unknown)}"
    gone = set(DECLARED) - set(seen)
    assert not gone, f"routes in the permission matrix that the app no longer has: {sorted(gone)}"
    for key, permission in seen.items():
        assert str(permission) == DECLARED[key], key


def test_grants_are_what_the_product_promises() -> None:
    for permission in Permission:
        assert {r.value for r in GRANTS[permission]} == HOLDERS[permission.value], permission


@dataclass
class Who:
    name: str
    roles: set[str]
    own: bool  # an officer of the demand's authority
    token: str | None = None
    cookie: str | None = None
    csrf: str | None = None


def _sign_in(session: Session, email: str) -> tuple[str, str]:
    account = accounts.get_by_email(session, email)
    assert account is not None
    code = current_code(account.totp_secret) if account.totp_secret else ""
    outcome = signin.sign_in(session, email, factories.PASSWORD, code, remote="matrix")
    assert outcome.session_id, outcome.problem
    assert outcome.csrf_token
    return outcome.session_id, outcome.csrf_token


@pytest.fixture
def people(session: Session, runtime: Runtime) -> tuple[list[Who], int, str]:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    document = {"filename": "order.txt", "content_base64": base64.b64encode(b"order\n").decode()}
    demand = factories.submit(session, runtime, factories.body(documents=[document])).demand
    crowd = [Who("anonymous", set(), own=False)]
    for role in Role:
        if role is Role.OFFICER:
            continue
        crowd.append(Who(role.value, {role.value}, own=False))
    crowd.append(Who("officer-own", {"officer"}, own=True))
    crowd.append(Who("officer-other", {"officer"}, own=False))
    for who in crowd[1:]:
        email = f"{who.name}@example.org"
        authority = None
        if who.name.startswith("officer"):
            authority = "hkpf-nsd" if who.own else "de-bka"
        who.token = factories.token(session, email, sorted(who.roles), authority)
        who.cookie, who.csrf = _sign_in(session, email)
    session.commit()
    return crowd, demand.id, demand.documents[0].sha256


def _path(template: str, demand_id: int, sha256: str) -> str:
    values = {
        "demand_id": str(demand_id),
        "jurisdiction": "HK",
        "version_id": "999999",
        "sha256": sha256,
        "slug": "hkpf-nsd",
        "account_id": "999999",
        "kind": "legal",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "1"), template)


#: Staff pages an officer is sent from to the portal's own (303).
TO_THE_PORTAL = {"/demands"}


def _expected(permission: str, who: Who, page: bool, path: str) -> set[int]:
    """The statuses acceptable for ``who`` on a route needing ``permission``."""
    if permission == "public":
        # A public page of something by id (the demo microblog's posts) may name nothing.
        return set(range(200, 400)) | {401, 422, 403} | ({404} if "{" in path else set())
    if who.name == "anonymous":
        return {303} if page else {401}
    if not (who.roles & HOLDERS[permission]):
        return {403}
    if who.name.startswith("officer") and path in TO_THE_PORTAL:
        return {303}
    if who.name == "officer-other" and "{demand_id}" in path:
        return {404}
    # Authorised: anything but an authentication or permission refusal (bad bodies -> 422,
    # unknown ids -> 404, state conflicts -> 409).
    return {200, 201, 303, 400, 404, 409, 422}


def test_matrix(
    live_server: LiveServer, runtime: Runtime, people: tuple[list[Who], int, str]
) -> None:
    crowd, demand_id, sha256 = people
    routes = sorted(route_table(create_app(runtime)), key=lambda r: r.path == "/sign-out")
    failures = []
    with httpx.Client(base_url=live_server.url, follow_redirects=False) as http:
        for route in routes:
            method, template = _key(route)
            permission = str(declared_permission(route))
            page = not template.startswith("/api/") and template != "/healthz"
            path = _path(template, demand_id, sha256)
            for who in crowd:
                headers: dict[str, str] = {}
                if who.token and not page:
                    headers.update(factories.bearer(who.token))
                if who.cookie and page:
                    headers["Cookie"] = f"dp_session={who.cookie}"
                    if method == "POST" and who.csrf:
                        headers["X-CSRF-Token"] = who.csrf
                if template == "/sign-out" and who.cookie:
                    continue  # signing out is tested on its own; it would end the session
                answer = http.request(
                    method,
                    path,
                    headers=headers,
                    json={} if method == "POST" and not page else None,
                )
                allowed = _expected(permission, who, page, template)
                if answer.status_code not in allowed:
                    failures.append(f"{method} {path} as {who.name}: {answer.status_code}")
                if template in TO_THE_PORTAL and who.name.startswith("officer"):
                    assert answer.headers["location"] == "/portal"
                elif (
                    who.name == "officer-own"
                    and "{demand_id}" in template
                    and method == "GET"
                    and "officer" in HOLDERS.get(permission, set())
                ):
                    assert answer.status_code == 200, f"{path}: {answer.status_code}"
    assert not failures, "\n".join(failures)
