"""The demo microblog's post page in a real Chromium: a post withheld in HK through the
connector is hidden from HK ("withheld in your country") and shown from DE."""

from __future__ import annotations

import httpx
import pluggy
import pytest
from playwright.sync_api import Browser

from dueprocess.connectors import service as connectors
from tests.conftest import LiveServer
from tests.connectors.conftest import Seeded
from tests.web.test_pages_browser import browser

__all__ = ["browser"]


def _path(url: str) -> str:
    return f"/microblog/posts/{url.rsplit('/', 1)[1]}"


@pytest.mark.browser
def test_a_post_withheld_in_hk_is_hidden_from_hk_and_shown_from_de(
    browser: Browser, live_server: LiveServer, manager: pluggy.PluginManager, seeded: Seeded
) -> None:
    page = browser.new_page()
    address = f"{live_server.url}{_path(seeded.inside)}"
    page.goto(f"{address}?from=HK")
    assert "光復香港，時代革命" in page.inner_text("article.post")  # before: shown everywhere

    connectors.restrict_content(
        manager, seeded.inside, "withhold", jurisdictions=["HK"], idempotency_key="w-1"
    )
    page.goto(f"{address}?from=HK")
    post = page.inner_text("article.post")
    assert "withheld in your country (HK)" in post
    assert "光復香港" not in post
    assert "Hong Kong (HK)" in page.inner_text(".viewer")

    page.goto(f"{address}?from=DE")
    post = page.inner_text("article.post")
    assert "光復香港，時代革命" in post
    assert "withheld" not in post
    page.close()


def test_the_page_refuses_a_bad_country_and_an_unknown_post(
    live_server: LiveServer, seeded: Seeded
) -> None:
    bad = httpx.get(f"{live_server.url}{_path(seeded.inside)}?from=UK",
                    headers={"Accept": "application/json"})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["query", "from"]
    assert "GB" in bad.json()["detail"][0]["msg"]
    missing = httpx.get(f"{live_server.url}/microblog/posts/999999")
    assert missing.status_code == 404
