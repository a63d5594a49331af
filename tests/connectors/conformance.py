"""The conformance suite: what every connector must do, run against a plugin manager.

A connector's author runs it against their own connector, loaded the way dueprocess loads it
(``dueprocess.connectors.service.plugin_manager``, through the entry point), with
:class:`Subjects` naming things that exist on their service::

    from tests.connectors.conformance import CHECKS, Subjects

    @pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
    def test_conformance(check, manager, subjects):
        check(manager, subjects)

Each check goes through :mod:`dueprocess.connectors.service`, which refuses any answer
outside the contract (a field or a record not asked, a naive time...), so a check that
passes has also had every answer validated. Keys are fresh per check (``uuid4``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pluggy
import pytest

from dueprocess.connectors import service as connectors
from dueprocess.connectors.spec import FIELDS, RestrictAction


@dataclass(frozen=True)
class Subjects:
    """Things on the service under test: an account ``handle`` with at least one post in
    ``period`` and one outside it, and a ``post`` of that account to restrict."""

    handle: str
    post: str
    period: tuple[datetime, datetime]


def key() -> str:
    """A fresh idempotency key."""
    return f"conformance-{uuid.uuid4()}"


def restrict_is_idempotent(manager: pluggy.PluginManager, s: Subjects) -> None:
    k = key()
    assert connectors.was_applied(manager, k) is None
    first = connectors.restrict_content(
        manager, s.post, RestrictAction.WITHHOLD, jurisdictions=["HK"], idempotency_key=k
    )
    again = connectors.restrict_content(
        manager, s.post, RestrictAction.WITHHOLD, jurisdictions=["HK"], idempotency_key=k
    )
    assert again == first
    assert connectors.was_applied(manager, k) == first


def lift_is_idempotent(manager: pluggy.PluginManager, s: Subjects) -> None:
    restriction = connectors.restrict_content(
        manager, s.post, RestrictAction.REMOVE, idempotency_key=key()
    )
    k = key()
    assert connectors.was_applied(manager, k) is None
    first = connectors.lift_restriction(manager, restriction.reference, idempotency_key=k)
    again = connectors.lift_restriction(manager, restriction.reference, idempotency_key=k)
    assert again == first
    assert connectors.was_applied(manager, k) == first


def send_message_is_idempotent(manager: pluggy.PluginManager, s: Subjects) -> None:
    k = key()
    assert connectors.was_applied(manager, k) is None
    args = {"subject": "A demand about your account", "body": "We received...", "language": "en"}
    first = connectors.send_message(manager, s.handle, **args, idempotency_key=k)
    again = connectors.send_message(manager, s.handle, **args, idempotency_key=k)
    assert again == first
    assert connectors.was_applied(manager, k) == first
    other = connectors.send_message(manager, s.handle, **args, idempotency_key=key())
    assert other.reference != first.reference  # another key is another message


def export_is_idempotent(manager: pluggy.PluginManager, s: Subjects) -> None:
    k = key()
    assert connectors.was_applied(manager, k) is None
    ask = {
        "categories": list(FIELDS), "fields": None,
        "period_start": s.period[0], "period_end": s.period[1], "idempotency_key": k,
    }  # fmt: skip
    first = connectors.export_account(manager, s.handle, **ask)  # type: ignore[arg-type]
    again = connectors.export_account(manager, s.handle, **ask)  # type: ignore[arg-type]
    assert again == first
    assert connectors.was_applied(manager, k) is not None


def export_answers_only_what_was_asked(manager: pluggy.PluginManager, s: Subjects) -> None:
    got = connectors.export_account(
        manager, s.handle, categories=["content"], fields=["posts"],
        period_start=s.period[0], period_end=s.period[1], idempotency_key=key(),
    )  # fmt: skip
    assert set(got.records) == {"content"}
    assert got.records["content"], "the subjects' account has a post in the period"
    for record in got.records["content"]:
        assert set(record.data) <= {"posts"}
        assert record.at is not None
        assert s.period[0] <= record.at <= s.period[1]


def a_key_names_one_action(manager: pluggy.PluginManager, s: Subjects) -> None:
    k = key()
    connectors.send_message(
        manager, s.handle, subject="One", body="One", language="en", idempotency_key=k
    )
    with pytest.raises(connectors.ConnectorRefused) as refused:
        connectors.send_message(
            manager, s.handle, subject="Two", body="Two", language="en", idempotency_key=k
        )
    assert refused.value.hook == "dueprocess_send_message"


def unknown_targets_are_no_connectors(manager: pluggy.PluginManager, s: Subjects) -> None:
    nobody = f"nobody-{uuid.uuid4().hex[:12]}"
    with pytest.raises(connectors.NoConnector):
        connectors.send_message(
            manager, nobody, subject="x", body="x", language="en", idempotency_key=key()
        )
    with pytest.raises(connectors.NoConnector):
        connectors.export_account(
            manager, nobody, categories=["subscriber"], fields=None,
            period_start=None, period_end=None, idempotency_key=key(),
        )  # fmt: skip
    with pytest.raises(connectors.NoConnector):
        connectors.restrict_content(manager, nobody, "remove", idempotency_key=key())
    with pytest.raises(connectors.NoConnector):
        connectors.lift_restriction(manager, f"no-such-restriction:{nobody}", idempotency_key=key())


CHECKS: list[Callable[[pluggy.PluginManager, Subjects], None]] = [
    restrict_is_idempotent,
    lift_is_idempotent,
    send_message_is_idempotent,
    export_is_idempotent,
    export_answers_only_what_was_asked,
    a_key_names_one_action,
    unknown_targets_are_no_connectors,
]
