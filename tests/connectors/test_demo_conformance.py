"""The demo microblog's connector, loaded through its entry point, passes the conformance
suite; and the actions take effect in the microblog's own database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pluggy
import pytest
from sqlalchemy import func, select

from dueprocess.config import Settings
from dueprocess.connectors import service as connectors
from dueprocess.connectors.demo import service as microblog
from dueprocess.connectors.demo.connector import DemoConnector, open_session
from dueprocess.connectors.demo.models import MicroblogMessage, MicroblogRestriction
from dueprocess.connectors.spec import FIELDS, RestrictAction
from dueprocess.demands.models import DataCategory
from dueprocess.review import decisions
from tests.connectors.conformance import CHECKS, Subjects, key
from tests.connectors.conftest import JULY, Seeded


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_the_demo_connector_conforms(
    check: Callable[[pluggy.PluginManager, Subjects], None],
    manager: pluggy.PluginManager,
    subjects: Subjects,
) -> None:
    check(manager, subjects)


def test_the_demo_connector_comes_in_through_its_entry_point(settings: Settings) -> None:
    manager = connectors.plugin_manager(settings)
    assert isinstance(manager.get_plugin("demo"), DemoConnector)
    # Not configured: the entry point's factory answers None and nothing is registered.
    bare = connectors.plugin_manager(settings.with_overrides(demo_database_url=""))
    assert bare.get_plugin("demo") is None


def test_the_export_vocabulary_is_reviews() -> None:
    assert dict(FIELDS) == {c.value: fields for c, fields in decisions.FIELDS.items()}
    assert set(FIELDS) == {c.value for c in DataCategory}


def _count(settings: Settings, model: type[MicroblogRestriction] | type[MicroblogMessage]) -> int:
    with open_session(settings.demo_database_url) as mb:
        return int(mb.scalar(select(func.count()).select_from(model)) or 0)


def test_the_same_key_twice_restricts_once_and_sends_once(
    manager: pluggy.PluginManager, seeded: Seeded, settings: Settings
) -> None:
    k = key()
    for _ in range(3):
        connectors.restrict_content(
            manager, seeded.inside, "withhold", jurisdictions=["hk"], idempotency_key=k
        )
    assert _count(settings, MicroblogRestriction) == 1
    m = key()
    for _ in range(3):
        connectors.send_message(
            manager, seeded.handle, subject="s", body="b", language="en", idempotency_key=m
        )
    assert _count(settings, MicroblogMessage) == 1


def test_a_withheld_post_is_hidden_in_hk_only_until_lifted(
    manager: pluggy.PluginManager, seeded: Seeded, settings: Settings
) -> None:
    applied = connectors.restrict_content(
        manager, seeded.inside, RestrictAction.WITHHOLD, jurisdictions=["HK"], idempotency_key=key()
    )
    with open_session(settings.demo_database_url) as mb:
        assert microblog.visible(mb, seeded.inside, "HK") is False
        assert microblog.visible(mb, seeded.inside, "DE") is True
        assert microblog.visible(mb, seeded.inside, None) is True
        assert microblog.visible(mb, seeded.before, "HK") is True  # only that post
    connectors.lift_restriction(manager, applied.reference, idempotency_key=key())
    with open_session(settings.demo_database_url) as mb:
        assert microblog.visible(mb, seeded.inside, "HK") is True


def test_remove_hides_everywhere_and_suspend_hides_the_accounts_posts(
    manager: pluggy.PluginManager, seeded: Seeded, settings: Settings
) -> None:
    connectors.restrict_content(manager, seeded.inside, "remove", idempotency_key=key())
    with open_session(settings.demo_database_url) as mb:
        assert not microblog.visible(mb, seeded.inside, "DE")
        assert microblog.visible(mb, seeded.after, "DE")
    connectors.restrict_content(
        manager, f"@{seeded.handle}", "suspend-account", idempotency_key=key()
    )
    with open_session(settings.demo_database_url) as mb:
        assert not microblog.visible(mb, seeded.after, "DE")


def test_an_action_the_microblog_lacks_is_refused_not_retried(
    manager: pluggy.PluginManager, seeded: Seeded, settings: Settings
) -> None:
    k = key()
    with pytest.raises(connectors.ConnectorRefused, match="cannot suspend-account a post"):
        connectors.restrict_content(manager, seeded.inside, "suspend-account", idempotency_key=k)
    assert connectors.was_applied(manager, k) is None
    assert _count(settings, MicroblogRestriction) == 0


def test_messages_sent_are_listed_per_account(
    manager: pluggy.PluginManager, seeded: Seeded, settings: Settings
) -> None:
    sent = connectors.send_message(
        manager, seeded.handle, subject="主旨", body="內容", language="zh-Hant",
        idempotency_key=key(),
    )  # fmt: skip
    with open_session(settings.demo_database_url) as mb:
        inbox = microblog.messages_for(mb, f"@{seeded.handle.upper()}")
        assert [(f"message:{m.id}", m.subject, m.body, m.language) for m in inbox] == [
            (sent.reference, "主旨", "內容", "zh-Hant")
        ]
        assert microblog.messages_for(mb, "someone_else") == []


def test_an_export_holds_the_real_posts_and_nothing_outside_the_request(
    manager: pluggy.PluginManager, seeded: Seeded
) -> None:
    got = connectors.export_account(
        manager, seeded.handle, categories=["subscriber", "content"],
        fields=["name", "posts"], period_start=JULY[0], period_end=JULY[1],
        idempotency_key=key(),
    )  # fmt: skip
    assert got.handle == seeded.handle
    assert set(got.records) == {"subscriber", "content"}  # no traffic: not asked
    assert [r.data for r in got.records["subscriber"]] == [{"name": "Student union (demo)"}]
    assert [(r.at, r.data) for r in got.records["content"]] == [
        (
            datetime(2020, 7, 1, tzinfo=UTC),  # the period's first instant is inside it
            {
                "posts": {
                    "url": seeded.inside,
                    "text": "光復香港，時代革命",
                    "language": "zh",
                    "posted_at": "2020-07-01T00:00:00Z",
                }
            },
        )
    ]  # the June and August posts are outside the period


def test_an_export_of_traffic_keeps_the_period_inclusive_and_only_the_fields_asked(
    manager: pluggy.PluginManager, seeded: Seeded
) -> None:
    got = connectors.export_account(
        manager, seeded.handle, categories=["traffic"], fields=["login-ips"],
        period_start=JULY[0], period_end=JULY[1], idempotency_key=key(),
    )  # fmt: skip
    assert [r.data for r in got.records["traffic"]] == [{"login-ips": "203.0.113.7"}]
    everything = connectors.export_account(
        manager, seeded.handle, categories=list(FIELDS), fields=None,
        period_start=None, period_end=None, idempotency_key=key(),
    )  # fmt: skip
    assert [r.data["login-ips"] for r in everything.records["traffic"]] == [
        "198.51.100.1", "203.0.113.7", "192.0.2.9",
    ]  # fmt: skip
    assert everything.records["traffic"][0].data == {
        "login-ips": "198.51.100.1",
        "login-times": "2020-06-15T00:00:00Z",
        "devices": "Android 10",
    }
    assert everything.records["subscriber"][0].data == {
        "name": "Student union (demo)",
        "created-at": "2019-03-01T00:00:00Z",
    }
    assert len(everything.records["content"]) == 3


def test_a_repeated_export_is_the_first_one_even_after_new_posts(
    manager: pluggy.PluginManager, seeded: Seeded, settings: Settings
) -> None:
    ask = {"categories": ["content"], "fields": None, "period_start": None, "period_end": None}
    k = key()
    first = connectors.export_account(manager, seeded.handle, **ask, idempotency_key=k)  # type: ignore[arg-type]
    with open_session(settings.demo_database_url) as mb, mb.begin():
        account = microblog.find_account(mb, seeded.handle)
        assert account is not None
        microblog.add_post(mb, account, "new", "en", datetime(2020, 9, 1, tzinfo=UTC))
    assert connectors.export_account(manager, seeded.handle, **ask, idempotency_key=k) == first  # type: ignore[arg-type]
    fresh = connectors.export_account(manager, seeded.handle, **ask, idempotency_key=key())  # type: ignore[arg-type]
    assert len(fresh.records["content"]) == len(first.records["content"]) + 1
