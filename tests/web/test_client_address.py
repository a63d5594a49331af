"""The client's address: ``X-Forwarded-For`` believed only from configured proxies
(``DUEPROCESS_TRUSTED_PROXIES``), read from the right past trusted hops; over HTTP, as the
sign-in throttle and the audit log see it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from ipaddress import ip_network

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts.models import SignInAttempt
from dueprocess.config import Settings, parse_networks
from dueprocess.runtime import Runtime
from dueprocess.web.middleware import client_address
from tests import factories
from tests.conftest import LiveServer

#: Each sign-in runs argon2 (64 MiB); on a loaded machine one took over httpx's 5 s.
SIGN_IN_TIMEOUT = 60

PROXIES = (ip_network("10.0.0.0/8"), ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("192.0.2.1", ["203.0.113.9"], "192.0.2.1"),  # not a proxy: the header is ignored
        ("10.0.0.5", [], "10.0.0.5"),
        ("10.0.0.5", ["203.0.113.9"], "203.0.113.9"),
        # The client may write anything on the left; the nearest proxy appended the truth.
        ("10.0.0.5", ["1.2.3.4, 203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", ["1.2.3.4", "203.0.113.9"], "203.0.113.9"),  # two headers, in order
        ("10.0.0.5", ["203.0.113.9, 10.0.0.7"], "203.0.113.9"),  # past a second proxy
        ("10.0.0.5", ["10.0.0.8, 10.0.0.7"], "10.0.0.8"),  # only proxies: the furthest
        ("10.0.0.5", ["203.0.113.9, junk"], "10.0.0.5"),  # not an address: stop at the proxy
        ("10.0.0.5", ["2001:db8::1"], "2001:db8::1"),
        ("::1", ["203.0.113.9"], "203.0.113.9"),
        ("10.0.0.5", [" 203.0.113.9 ,"], "203.0.113.9"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], client: str) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_the_setting() -> None:
    settings = Settings.from_env({"DUEPROCESS_TRUSTED_PROXIES": "10.0.0.5, 192.168.0.0/24 ::1"})
    assert settings.trusted_proxies == (
        ip_network("10.0.0.5/32"),
        ip_network("192.168.0.0/24"),
        ip_network("::1/128"),
    )
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(ValueError, match=r"DUEPROCESS_TRUSTED_PROXIES: 'proxy\.local' is not"):
        parse_networks("10.0.0.5 proxy.local")


def _remotes(session: Session) -> list[str]:
    try:
        return list(session.scalars(select(SignInAttempt.remote).order_by(SignInAttempt.id)))
    finally:
        session.rollback()


def _fail_sign_in(http: httpx.Client, forwarded_for: str) -> int:
    form = http.get("/sign-in")
    presign = re.search(r'name="presign" value="([^"]+)"', form.text)
    assert presign is not None
    answer = http.post(
        "/sign-in",
        data={"email": "x@example.org", "password": "a guess", "presign": presign[1]},
        headers={"X-Forwarded-For": forwarded_for},
    )
    return answer.status_code


@pytest.fixture
def behind_a_proxy(settings: Settings) -> Iterator[LiveServer]:
    """The app with this machine (the test's client) configured as its reverse proxy."""
    runtime = Runtime(settings.with_overrides(trusted_proxies=parse_networks("127.0.0.1")))
    with LiveServer(runtime) as server:
        yield server
    runtime.close()


def test_a_forwarded_address_is_ignored_unless_the_peer_is_a_configured_proxy(
    live_server: LiveServer, session: Session
) -> None:
    with httpx.Client(base_url=live_server.url, timeout=SIGN_IN_TIMEOUT) as http:
        assert _fail_sign_in(http, "203.0.113.9") == 401
    assert _remotes(session) == ["127.0.0.1"]


def test_behind_a_configured_proxy_the_forwarded_client_is_the_address(
    behind_a_proxy: LiveServer, session: Session
) -> None:
    with httpx.Client(base_url=behind_a_proxy.url, timeout=SIGN_IN_TIMEOUT) as http:
        assert _fail_sign_in(http, "203.0.113.9") == 401
        assert _fail_sign_in(http, "6.6.6.6, 198.51.100.4") == 401  # a forged hop, ignored
    assert _remotes(session) == ["203.0.113.9", "198.51.100.4"]


def test_a_colleague_behind_the_same_proxy_is_not_locked_out(
    behind_a_proxy: LiveServer, live_server: LiveServer, session: Session
) -> None:
    """Five typos by one person, behind a proxy configured or not: the others still sign in
    (the proxy's own address, when it is not configured, is every user's)."""
    factories.account(session, "bob@example.org", ["intake"])
    session.commit()
    for server, office in ((behind_a_proxy, "198.51.100.10"), (live_server, "ignored")):
        with httpx.Client(base_url=server.url, timeout=SIGN_IN_TIMEOUT) as http:
            for _ in range(5):
                assert _fail_sign_in(http, office) == 401
            assert _fail_sign_in(http, office) == 429  # the typist is held
            form = http.get("/sign-in")
            presign = re.search(r'name="presign" value="([^"]+)"', form.text)
            assert presign is not None
            bob = http.post(
                "/sign-in",
                data={
                    "email": "bob@example.org",
                    "password": factories.PASSWORD,
                    "presign": presign[1],
                },
                headers={"X-Forwarded-For": office},
            )
            assert bob.status_code == 303, bob.text
            http.cookies.clear()
