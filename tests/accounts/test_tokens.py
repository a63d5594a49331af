"""API tokens: stored hashed, scoped, revocable; officers confined to their authority."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts import service as accounts, signin
from dueprocess.accounts.models import ApiToken
from tests import factories
from tests.conftest import LiveServer


def test_token_is_stored_only_as_a_hash(session: Session) -> None:
    raw = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    stored = session.scalar(select(ApiToken))
    assert stored is not None
    assert raw not in (stored.token_hash, stored.name)
    assert stored.token_hash == signin.digest(raw)


def test_submit_only_scope_cannot_read(live_server: LiveServer, session: Session) -> None:
    factories.authority(session)
    raw = factories.token(
        session, "intake@example.org", ["intake", "legal-reviewer"], scopes=["demands:submit"]
    )
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as http:
        assert http.post("/api/v1/demands", json=factories.body()).status_code == 201
        denied = http.get("/api/v1/demands")
        assert denied.status_code == 403
        assert "demands:read" in denied.json()["detail"]


def test_unknown_scope_is_refused(session: Session) -> None:
    import pytest

    from dueprocess.errors import InvalidInput

    factories.account(session, "intake@example.org", ["intake"])
    with pytest.raises(InvalidInput, match="unknown scope 'demands:everything'"):
        signin.create_token(
            session, "intake@example.org", "x", ["demands:everything"], actor="test"
        )


def test_a_scope_the_account_does_not_hold_is_refused_naming_scope_and_roles(
    session: Session,
) -> None:
    import pytest

    from dueprocess.errors import InvalidInput

    factories.account(session, "ann@example.org", ["approver"])
    with pytest.raises(InvalidInput) as refused:
        signin.create_token(
            session, "ann@example.org", "ci", ["demands:read", "demands:submit"], actor="test"
        )
    (error,) = refused.value.errors
    assert error.loc == ("scopes",)
    assert "does not hold demands:submit" in error.msg
    assert "roles: approver" in error.msg
    assert "demands:read" in error.msg.split("scopes it may have:")[1]
    assert session.scalar(select(ApiToken)) is None
    # What the account holds is accepted.
    _row, raw = signin.create_token(session, "ann@example.org", "ci", ["demands:read"], actor="t")
    assert raw.startswith(signin.TOKEN_PREFIX)


def test_revoked_token_and_disabled_account_stop_working(
    live_server: LiveServer, session: Session
) -> None:
    first = factories.token(session, "a@example.org", ["intake"])
    second = factories.token(session, "b@example.org", ["intake"])
    session.commit()
    with httpx.Client(base_url=live_server.url) as http:
        assert http.get("/api/v1/demands", headers=factories.bearer(first)).status_code == 200
        token_id = session.scalar(
            select(ApiToken.id).where(ApiToken.token_hash == signin.digest(first))
        )
        assert token_id is not None
        signin.revoke_token(session, token_id, actor="test")
        accounts.disable(session, "b@example.org", actor="test")
        session.commit()
        for raw in (first, second, "dp_made-up"):
            answer = http.get("/api/v1/demands", headers=factories.bearer(raw))
            assert answer.status_code == 401
            assert answer.headers["www-authenticate"] == "Bearer"


def test_officer_submits_and_sees_only_their_authority(
    live_server: LiveServer, session: Session
) -> None:
    factories.authority(session)
    factories.authority(session, factories.BKA)
    hk = factories.token(session, "chan@police.gov.hk", ["officer"], "hkpf-nsd")
    de = factories.token(session, "becker@bka.bund.de", ["officer"], "de-bka")
    session.commit()
    with httpx.Client(base_url=live_server.url) as http:
        created = http.post("/api/v1/demands", json=factories.body(), headers=factories.bearer(hk))
        assert created.status_code == 201
        demand_id = created.json()["id"]
        # Submitting in another authority's name is refused as if that authority were unknown.
        forged = http.post(
            "/api/v1/demands",
            json=factories.body(authority="de-bka", jurisdiction="DE"),
            headers=factories.bearer(hk),
        )
        assert forged.status_code == 422
        assert forged.json()["detail"][0]["loc"] == ["body", "authority"]
        assert (
            http.get(f"/api/v1/demands/{demand_id}", headers=factories.bearer(de)).status_code
            == 404
        )
        assert http.get("/api/v1/demands", headers=factories.bearer(de)).json() == []
        mine = http.get("/api/v1/demands", headers=factories.bearer(hk)).json()
        assert [d["id"] for d in mine] == [demand_id]
