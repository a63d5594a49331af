"""Productions over real HTTP: sealed before they can be had, downloaded once by an officer of
the demand's authority, refused (and audited) after that, after expiry, after revocation, and
to anyone else."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pyrage
import pytest
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.authorities import service as authorities
from dueprocess.clock import utcnow
from dueprocess.demands.models import Demand
from dueprocess.errors import Conflict, InvalidInput
from dueprocess.productions import crypto, package as packages, service as productions
from dueprocess.productions.models import Production
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

USER_DATA = factories.body(
    kind="user-data",
    legal_process="warrant",
    data_categories=["subscriber", "content"],
    period_start="2020-06-01T00:00:00+08:00",
    period_end="2020-07-06T00:00:00+08:00",
    targets=[{"type": "account", "id": "@lamwing"}],
)
EXPORTED: dict[str, list[dict[str, Any]]] = {
    "subscriber": [{"name": "Lam Wing", "email": "lam@example.org"}],
    "content": [{"posts": "a post", "at": "2020-06-10T00:00:00Z"}],
}


def _demand(session: Session, runtime: Runtime) -> Demand:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    return factories.submit(session, runtime, USER_DATA).demand


def _seal(
    session: Session, runtime: Runtime, demand: Demand, recipient: str | None = None
) -> tuple[Production, packages.Package]:
    target = demand.targets[0]
    facts = productions.facts_of(session, demand, target.id)
    scope = packages.scope_of(facts, "comply", None)
    package = packages.build(facts, scope, EXPORTED, at=utcnow())
    production = productions.store(session, runtime, demand, package, recipient, actor="test")
    return production, package


def _reasons(session: Session, production_id: int) -> list[tuple[str, str | None, str]]:
    return [
        (e.action, (e.data or {}).get("reason"), e.actor)
        for e in audit.for_subject(session, f"production:{production_id}")
    ]


@pytest.fixture
def officers(session: Session, runtime: Runtime) -> tuple[Demand, str, str]:
    demand = _demand(session, runtime)
    own = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    other = factories.token(session, "officer@bka.bund.de", ["officer"], "de-bka")
    session.commit()
    return demand, own, other


def test_the_officer_downloads_once_and_every_attempt_is_audited(
    session: Session,
    runtime: Runtime,
    live_server: LiveServer,
    officers: tuple[Demand, str, str],
) -> None:
    demand, own, other = officers
    production, package = _seal(session, runtime, demand)
    session.commit()
    sealed = audit.for_subject(session, f"production:{production.id}")
    assert [e.action for e in sealed] == ["production.sealed"]
    assert sealed[0].data["manifest_sha256"] == package.manifest_sha256
    production_id = production.id
    url = f"{live_server.url}/api/v1/productions/{production_id}/download"
    listing = f"{live_server.url}/api/v1/demands/{demand.id}/productions"
    session.rollback()  # SQLite: a reading transaction holds the write lock the server needs
    with httpx.Client() as client:
        listed = client.get(listing, headers=factories.bearer(own))
        assert listed.status_code == 200, listed.text
        assert [(p["id"], p["status"]) for p in listed.json()] == [(production_id, "available")]
        assert client.get(listing, headers=factories.bearer(other)).status_code == 404

        stranger = client.get(url, headers=factories.bearer(other))
        assert stranger.status_code == 404
        assert stranger.json() == {"detail": "not found"}

        first = client.get(url, headers=factories.bearer(own))
        assert first.status_code == 200, first.text
        assert first.content == package.archive
        assert first.headers["x-manifest-sha256"] == package.manifest_sha256
        assert first.headers["content-type"] == "application/x-tar"

        second = client.get(url, headers=factories.bearer(own))
        assert second.status_code == 409
        assert "already downloaded" in second.json()["detail"]
        assert "can be downloaded once" in second.json()["detail"]

        after = client.get(listing, headers=factories.bearer(own)).json()
        assert after[0]["status"] == "downloaded"

    session.expire_all()
    assert _reasons(session, production_id) == [
        ("production.sealed", None, "test"),
        ("production.download_refused", "not-found", _actor(session, "officer@bka.bund.de")),
        ("production.downloaded", None, _actor(session, "officer@police.gov.hk")),
        (
            "production.download_refused",
            "already-downloaded",
            _actor(session, "officer@police.gov.hk"),
        ),
    ]
    with pytest.raises(Conflict, match="can no longer be revoked"):
        productions.revoke(session, production_id, actor="test", reason="too late")


def _actor(session: Session, email: str) -> str:
    from dueprocess.accounts import service as accounts

    account = accounts.get_by_email(session, email)
    assert account is not None
    return f"account:{account.id}"


def test_expired_and_revoked_productions_are_refused_and_audited(
    session: Session,
    runtime: Runtime,
    live_server: LiveServer,
    officers: tuple[Demand, str, str],
) -> None:
    demand, own, _ = officers
    expired, _ = _seal(session, runtime, demand)
    expired.expires_at = utcnow() - timedelta(seconds=1)
    revoked, _ = _seal(session, runtime, demand)
    productions.revoke(session, revoked.id, actor="account:1", reason="sent too much")
    session.commit()
    expired_id, revoked_id, demand_id = expired.id, revoked.id, demand.id
    session.rollback()

    with httpx.Client(base_url=live_server.url, headers=factories.bearer(own)) as client:
        gone = client.get(f"/api/v1/productions/{expired_id}/download")
        assert gone.status_code == 409
        assert "expired at" in gone.json()["detail"]
        withdrawn = client.get(f"/api/v1/productions/{revoked_id}/download")
        assert withdrawn.status_code == 409
        assert "revoked" in withdrawn.json()["detail"]
        assert "sent too much" in withdrawn.json()["detail"]
        statuses = client.get(f"/api/v1/demands/{demand_id}/productions").json()
        assert [p["status"] for p in statuses] == ["expired", "revoked"]

    session.expire_all()
    officer = _actor(session, "officer@police.gov.hk")
    assert _reasons(session, expired_id)[-1] == ("production.download_refused", "expired", officer)
    assert _reasons(session, revoked_id)[1:] == [
        ("production.revoked", "sent too much", "account:1"),
        ("production.download_refused", "revoked", officer),
    ]


def test_staff_may_list_but_not_download(
    session: Session,
    runtime: Runtime,
    live_server: LiveServer,
    officers: tuple[Demand, str, str],
) -> None:
    demand, _, _ = officers
    production, _ = _seal(session, runtime, demand)
    intake = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    demand_id, production_id = demand.id, production.id
    session.rollback()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(intake)) as client:
        assert client.get(f"/api/v1/demands/{demand_id}/productions").status_code == 200
        refused = client.get(f"/api/v1/productions/{production_id}/download")
        assert refused.status_code == 403
        assert "productions:download" in refused.json()["detail"]


def test_a_production_for_an_authority_with_an_age_key_is_stored_encrypted(
    session: Session, runtime: Runtime, live_server: LiveServer, officers: tuple[Demand, str, str]
) -> None:
    demand, own, _ = officers
    identity = pyrage.x25519.Identity.generate()
    authorities.set_age_recipient(session, "hkpf-nsd", str(identity.to_public()), actor="test")
    production, package = _seal(
        session,
        runtime,
        demand,
        authorities.get_by_slug(session, "hkpf-nsd").age_recipient,  # type: ignore[union-attr]
    )
    session.commit()
    stored = runtime.settings.data_dir / production.path
    assert stored.read_bytes().startswith(crypto.AGE_HEADER)
    assert package.files["data/subscriber.json"] not in stored.read_bytes()
    assert production.name.endswith(".tar.age")
    assert not list(Path(stored.parent).glob(".partial-*"))
    production_id = production.id
    session.rollback()

    with httpx.Client(base_url=live_server.url, headers=factories.bearer(own)) as client:
        got = client.get(f"/api/v1/productions/{production_id}/download")
    assert got.status_code == 200
    assert crypto.decrypt(got.content, str(identity)) == package.archive


def test_tampered_bytes_are_not_delivered(
    session: Session, runtime: Runtime, live_server: LiveServer, officers: tuple[Demand, str, str]
) -> None:
    demand, own, _ = officers
    production, _ = _seal(session, runtime, demand)
    session.commit()
    (runtime.settings.data_dir / production.path).write_bytes(b"not what was sealed")
    production_id = production.id
    session.rollback()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(own)) as client:
        got = client.get(f"/api/v1/productions/{production_id}/download")
    assert got.status_code == 409
    assert "damaged" in got.json()["detail"]
    session.expire_all()
    assert _reasons(session, production_id)[-1][:2] == ("production.download_refused", "damaged")


def test_sealing_to_a_bad_key_or_revoking_without_a_reason_is_refused(
    session: Session, runtime: Runtime, officers: tuple[Demand, str, str]
) -> None:
    demand, _, _ = officers
    with pytest.raises(InvalidInput, match="age_recipient: is an SSH key"):
        _seal(session, runtime, demand, "ssh-ed25519 AAAA")
    production, _ = _seal(session, runtime, demand)
    with pytest.raises(InvalidInput, match="reason"):
        productions.revoke(session, production.id, actor="test", reason=" ")
