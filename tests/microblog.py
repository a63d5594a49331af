"""The demo microblog filled with real posts of the demo scenario (``posts``), for the tests
of risk flags: import the fixture where it is used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dueprocess.config import Settings
from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.connector import open_session
from dueprocess.demo import risk_examples, scenario

#: handle -> (display name, posts): the scenario's own texts.
POSTS: dict[str, tuple[str, list[str]]] = {
    "hk_student_union": (
        "Student union (demo)",
        [
            scenario.PROTEST_POSTS_ZH[0],
            risk_examples.PROTEST_POSTS_HANS[1],
            risk_examples.CRITICISM_POSTS_EN[1],
        ],
    ),
    "standnews_reporter": ("Reporter, independent outlet", [risk_examples.JOURNALISM_POSTS[0][0]]),
    "hk_pastor_lee": ("Pastor Lee", [risk_examples.RELIGIOUS_POSTS[1][0]]),
    "causeway_bay_mum": ("Causeway Bay Mum", [t for t, _ in risk_examples.ORDINARY_POSTS_ZH[:2]]),
}


@pytest.fixture
def posts(settings: Settings) -> dict[str, list[str]]:
    """handle -> the URLs of its posts on the demo microblog (posted 1 July 2020 on)."""
    urls: dict[str, list[str]] = {}
    start = datetime(2020, 7, 1, 9, tzinfo=UTC)
    with open_session(settings.demo_database_url) as mb, mb.begin():
        for handle, (name, texts) in POSTS.items():
            account = microblog.add_account(
                mb, handle, name, "HK", datetime(2019, 1, 1, tzinfo=UTC)
            )
            for n, text in enumerate(texts):
                row = microblog.add_post(mb, account, text, "zh", start + timedelta(days=n))
                urls.setdefault(handle, []).append(microblog.post_url(handle, row.id))
    return urls
