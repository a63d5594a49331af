"""Who may do what: permissions, and the roles that hold them. The one table to read.

Routes declare the permission they need (``web.auth.requires``); handlers never check roles
with ad-hoc ``if``. Officers hold demand permissions only for their own authority: services
receive the officer's authority as a scope and answer "not found" for anything else.
"""

from __future__ import annotations

import enum

from dueprocess.accounts.models import Role


class Permission(enum.StrEnum):
    """A thing one may do. The values double as API token scopes."""

    SIGNED_IN = "signed-in"
    DEMANDS_SUBMIT = "demands:submit"
    DEMANDS_READ = "demands:read"
    AUDIT_READ = "audit:read"
    POLICY_READ = "policy:read"
    POLICY_PROPOSE = "policy:propose"
    POLICY_APPROVE = "policy:approve"
    ACCOUNTS_MANAGE = "accounts:manage"
    AUTHORITIES_MANAGE = "authorities:manage"
    REPORTS_READ = "reports:read"
    # Review (docs/review.md). Which moves of a demand each role may make is in
    # dueprocess.demands.states; these gate the routes and services around them.
    REVIEW_READ = "review:read"
    REVIEW_WORK = "review:work"
    REVIEW_TRIAGE = "review:triage"
    REVIEW_LEGAL = "review:legal"
    REVIEW_HUMAN_RIGHTS = "review:human-rights"
    DECISIONS_APPROVE = "decisions:approve"
    CHECKLISTS_PROPOSE = "checklists:propose"
    CHECKLISTS_APPROVE = "checklists:approve"
    PROTECTED_MANAGE = "protected:manage"
    # Actions (docs/actions.md): retrying a failed one, revoking one not done.
    ACTIONS_MANAGE = "actions:manage"
    PRODUCTIONS_DOWNLOAD = "productions:download"


P = Permission
_READERS = {
    Role.INTAKE,
    Role.LEGAL_REVIEWER,
    Role.HUMAN_RIGHTS_REVIEWER,
    Role.APPROVER,
    Role.POLICY_OWNER,
    Role.AUDITOR,
}

#: permission -> the roles that hold it.
GRANTS: dict[Permission, frozenset[Role]] = {
    P.SIGNED_IN: frozenset(Role),
    P.DEMANDS_SUBMIT: frozenset({Role.INTAKE, Role.OFFICER}),
    P.DEMANDS_READ: frozenset(_READERS | {Role.OFFICER}),
    P.AUDIT_READ: frozenset({Role.AUDITOR}),
    P.POLICY_READ: frozenset(_READERS),
    P.POLICY_PROPOSE: frozenset({Role.POLICY_OWNER}),
    P.POLICY_APPROVE: frozenset({Role.APPROVER, Role.POLICY_OWNER}),
    P.ACCOUNTS_MANAGE: frozenset({Role.ADMIN}),
    # Verifying officers and recording emergency call-backs: intake's job, and admins'.
    P.AUTHORITIES_MANAGE: frozenset({Role.INTAKE, Role.ADMIN}),
    P.REPORTS_READ: frozenset(_READERS | {Role.ADMIN}),
    # Seeing review's state (decisions, sign-offs, queues): staff, never officers.
    P.REVIEW_READ: frozenset(_READERS),
    # Working a queue: claiming, releasing, handing on; the state table and the service
    # say which role may do what in which status.
    P.REVIEW_WORK: frozenset(
        {Role.INTAKE, Role.LEGAL_REVIEWER, Role.HUMAN_RIGHTS_REVIEWER, Role.APPROVER}
    ),
    # Claiming and assigning new demands, sending them on to review.
    P.REVIEW_TRIAGE: frozenset({Role.INTAKE}),
    P.REVIEW_LEGAL: frozenset({Role.LEGAL_REVIEWER}),
    P.REVIEW_HUMAN_RIGHTS: frozenset({Role.HUMAN_RIGHTS_REVIEWER}),
    P.DECISIONS_APPROVE: frozenset({Role.APPROVER}),
    # Checklists are versioned like policy: a policy owner proposes, someone else approves.
    P.CHECKLISTS_PROPOSE: frozenset({Role.POLICY_OWNER}),
    P.CHECKLISTS_APPROVE: frozenset({Role.APPROVER, Role.POLICY_OWNER}),
    # The list of journalists, activists, lawyers and politicians: human-rights staff keep it.
    P.PROTECTED_MANAGE: frozenset({Role.HUMAN_RIGHTS_REVIEWER}),
    # Retrying or revoking a production or restriction: who decides and who approves.
    P.ACTIONS_MANAGE: frozenset({Role.LEGAL_REVIEWER, Role.APPROVER}),
    # A production's bytes go to the requesting authority's officers only (once, audited);
    # staff see its hashes and status through demands:read.
    P.PRODUCTIONS_DOWNLOAD: frozenset({Role.OFFICER}),
}


def permissions_of(roles: frozenset[Role]) -> frozenset[Permission]:
    """Every permission any of ``roles`` holds."""
    return frozenset(p for p, holders in GRANTS.items() if holders & roles)


def parse_scopes(scopes: list[str]) -> frozenset[Permission]:
    """Token scopes as permissions; :class:`ValueError` naming an unknown scope."""
    out = set()
    for scope in scopes:
        try:
            out.add(Permission(scope))
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise ValueError(f"unknown scope {scope!r}; known scopes: {known}") from None
    return frozenset(out)
