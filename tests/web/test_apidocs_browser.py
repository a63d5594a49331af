"""``/docs`` and ``/redoc`` in a real Chromium with every other host unreachable, as on a
machine without internet: both render every operation of the API from the package's own
files, and ask no other host for anything."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route

from tests.conftest import LiveServer
from tests.web.test_pages_browser import browser

__all__ = ["browser"]

pytestmark = pytest.mark.browser
LOCAL = {"127.0.0.1", "localhost"}


class Offline:
    """A page whose requests to any host but this one are aborted and written down, and
    whose console errors (a refused content-security policy among them) are kept."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.elsewhere: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOCAL:
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort("internetdisconnected")


@pytest.fixture
def offline(browser: Browser) -> Iterator[Offline]:
    context = browser.new_context()
    yield Offline(context.new_page())
    context.close()


def _operations(live_server: LiveServer) -> list[tuple[str, str, str]]:
    """(method, path, summary) of every operation the schema publishes."""
    spec = httpx.get(f"{live_server.url}/openapi.json").json()
    return [
        (method.upper(), path, op["summary"])
        for path, item in spec["paths"].items()
        for method, op in item.items()
    ]


def test_swagger_ui_renders_every_operation_offline(
    offline: Offline, live_server: LiveServer
) -> None:
    operations = _operations(live_server)
    assert len(operations) > 10
    page = offline.page
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".opblock-summary", timeout=20_000)
    shown = page.locator(".opblock-summary").evaluate_all(
        """els => els.map(e => [
            e.querySelector('.opblock-summary-method').innerText.trim(),
            e.querySelector('.opblock-summary-path').getAttribute('data-path'),
            e.querySelector('.opblock-summary-description').innerText.trim()])"""
    )
    assert sorted(map(tuple, shown)) == sorted(operations)
    assert "dueprocess" in page.inner_text(".info .title")
    assert offline.elsewhere == []
    assert offline.errors == []


def test_redoc_renders_every_operation_offline(offline: Offline, live_server: LiveServer) -> None:
    operations = _operations(live_server)
    page = offline.page
    page.goto(f"{live_server.url}/redoc")
    page.wait_for_selector("h2", timeout=20_000)
    page.wait_for_load_state("networkidle")
    headings = set(page.locator("h2").all_inner_texts())
    assert {summary for _, _, summary in operations} <= headings
    shown = page.inner_text("body")
    for method, path, _ in operations:
        assert path in shown, (method, path)
    assert offline.elsewhere == []
    assert offline.errors == []


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_pages_name_no_other_host(live_server: LiveServer, path: str) -> None:
    page = httpx.get(f"{live_server.url}{path}")
    assert page.status_code == 200
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert "//" not in page.text.replace("<!doctype", "")  # no protocol-relative URL either
    for asset in ("/static/vendor/", "/openapi.json"):
        assert asset in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # no inline script
