"""Builders of real objects through the real service functions (no rows written by hand)."""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts, signin
from dueprocess.accounts.models import Account, Role
from dueprocess.accounts.schemas import AccountIn
from dueprocess.authorities import service as authorities
from dueprocess.authorities.models import Authority
from dueprocess.authorities.schemas import AuthorityIn
from dueprocess.demands import states
from dueprocess.demands.models import Channel
from dueprocess.demands.schemas import DemandIn
from dueprocess.intake import record
from dueprocess.runtime import Runtime

HKPF = {
    "slug": "hkpf-nsd",
    "name": "Hong Kong Police Force, National Security Department",
    "jurisdiction": "HK",
    "kind": "police",
    "status": "verified",
    "official_domains": ["police.gov.hk"],
    "phone_numbers": ["+852 2860 2000"],
}
BKA = {
    "slug": "de-bka",
    "name": "Bundeskriminalamt",
    "jurisdiction": "DE",
    "kind": "police",
    "status": "verified",
    "official_domains": ["bka.bund.de"],
    "phone_numbers": ["+49 611 550"],
}

HK_REMOVAL: dict[str, Any] = {
    "authority": "hkpf-nsd",
    "jurisdiction": "HK",
    "reference": "NSD/202007/0001",
    "kind": "removal",
    "legal_process": "administrative-order",
    "legal_basis": {
        "instrument": "Implementation Rules for Article 43 of the National Security Law",
        "article": "Schedule 4",
    },
    "summary": "Remove a post",
    "received_at": "2020-07-07T09:30:00+08:00",
    "deadline": "2020-07-08T09:30:00+08:00",
    "penalty": "Fine of HK$100,000 and imprisonment for six months",
    "targets": [{"type": "content", "id": "https://microblog.demo/@hk_student_union/1"}],
}


def authority(session: Session, data: dict[str, Any] | None = None) -> Authority:
    """Register an authority (HK police by default) through the registry service."""
    return authorities.create(session, AuthorityIn.model_validate(data or HKPF), actor="test")


def body(**changes: Any) -> dict[str, Any]:
    """A valid Hong Kong removal demand, with ``changes`` applied on a deep copy."""
    out = copy.deepcopy(HK_REMOVAL)
    out.update(changes)
    return out


def submit(
    session: Session, runtime: Runtime, data: dict[str, Any], channel: Channel = Channel.EMAIL
) -> record.Submitted:
    """Submit ``data`` as staff entry through the intake flow (as every door does)."""
    from dueprocess.intake import flow

    return flow.receive(
        session, runtime, DemandIn.model_validate(data), channel=channel, actor="test"
    )


PASSWORD = "correct horse battery staple"


def account(
    session: Session, email: str, roles: list[str], authority: str | None = None
) -> Account:
    """An account through the accounts service, with :data:`PASSWORD`."""
    return accounts.create(
        session,
        AccountIn.model_validate(
            {
                "email": email,
                "display_name": email.split("@")[0],
                "roles": roles,
                "authority": authority,
                "password": PASSWORD,
            }
        ),
        actor="test",
    )


def token(
    session: Session,
    email: str,
    roles: list[str],
    authority: str | None = None,
    scopes: list[str] | None = None,
) -> str:
    """A raw API token for a new account with ``roles``."""
    account(session, email, roles, authority)
    _row, raw = signin.create_token(session, email, "test", scopes or [], actor="test")
    return raw


def bearer(raw: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {raw}"}


#: Every role and the service itself: for tests that move a demand along to set up a case
#: and are not about who may move it (tests/demands/test_states.py is).
ANYONE: frozenset[str] = frozenset({*(role.value for role in Role), states.SYSTEM})
