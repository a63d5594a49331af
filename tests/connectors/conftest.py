"""The demo microblog seeded for the connector tests, and its connector loaded through the
entry point, as dueprocess loads any connector."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pluggy
import pytest

from dueprocess.config import Settings
from dueprocess.connectors import service as connectors
from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.connector import open_session
from tests.connectors.conformance import Subjects

JULY = (datetime(2020, 7, 1, tzinfo=UTC), datetime(2020, 7, 31, 23, 59, 59, tzinfo=UTC))


@dataclass(frozen=True)
class Seeded:
    """The seeded account's post URLs, before, inside and after :data:`JULY`."""

    handle: str
    before: str
    inside: str
    after: str


@pytest.fixture
def seeded(settings: Settings) -> Seeded:
    with open_session(settings.demo_database_url) as mb, mb.begin():
        account = microblog.add_account(
            mb, "hk_student_union", "Student union (demo)", "HK", datetime(2019, 3, 1, tzinfo=UTC)
        )
        urls = [
            microblog.post_url(
                account.handle,
                microblog.add_post(mb, account, text, "zh", at).id,
            )
            for text, at in [
                ("June post", datetime(2020, 6, 30, 23, 59, 59, tzinfo=UTC)),
                ("光復香港，時代革命", datetime(2020, 7, 1, 0, 0, tzinfo=UTC)),
                ("August post", datetime(2020, 8, 1, 0, 0, tzinfo=UTC)),
            ]
        ]
        for at, ip in [
            (datetime(2020, 6, 15, tzinfo=UTC), "198.51.100.1"),
            (datetime(2020, 7, 31, 23, 59, 59, tzinfo=UTC), "203.0.113.7"),
            (datetime(2020, 8, 2, tzinfo=UTC), "192.0.2.9"),
        ]:
            microblog.add_login(mb, account, at, ip, "Android 10")
        handle = account.handle
    return Seeded(handle, *urls)


@pytest.fixture
def manager(settings: Settings) -> pluggy.PluginManager:
    """The connectors as dueprocess loads them: the demo's through its entry point."""
    return connectors.plugin_manager(settings)


@pytest.fixture
def subjects(seeded: Seeded) -> Subjects:
    return Subjects(handle=seeded.handle, post=seeded.inside, period=JULY)
