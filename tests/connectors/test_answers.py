"""Every malformed answer a connector can give is refused naming the hook and the field; a
connector that raises is a failure to retry; one that answers nothing is no connector.

The connector here is a deliberately broken test plugin registered in the test: the edge
of the world, where a stand-in is allowed.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pluggy
import pytest

from dueprocess.config import Settings
from dueprocess.connectors import service as connectors
from dueprocess.connectors.spec import (
    ActionRefused,
    Applied,
    Export,
    Record,
    RestrictAction,
    hookimpl,
)
from dueprocess.errors import InvalidInput

JULY = (datetime(2020, 7, 1, tzinfo=UTC), datetime(2020, 7, 31, tzinfo=UTC))
IN_JULY = datetime(2020, 7, 15, tzinfo=UTC)
NOW = datetime(2020, 8, 1, 12, tzinfo=UTC)


class Broken:
    """Answers every action hook with :attr:`answer` (raises it, if it is an exception)."""

    def __init__(self, answer: object) -> None:
        self.answer = answer

    def _give(self) -> Any:
        if isinstance(self.answer, BaseException):
            raise self.answer
        return self.answer

    @hookimpl
    def dueprocess_export_account(self, handle: str) -> Any:
        return self._give()

    @hookimpl
    def dueprocess_restrict_content(self, ref: str) -> Any:
        return self._give()

    @hookimpl
    def dueprocess_lift_restriction(self, reference: str) -> Any:
        return self._give()

    @hookimpl
    def dueprocess_send_message(self, handle: str) -> Any:
        return self._give()

    @hookimpl
    def dueprocess_was_applied(self, idempotency_key: str) -> Any:
        return self._give()


def _manager(settings: Settings, answer: object) -> pluggy.PluginManager:
    manager = connectors.plugin_manager(settings.with_overrides(demo_database_url=""))
    manager.register(Broken(answer), name="broken")
    return manager


def _export(manager: pluggy.PluginManager) -> Export:
    return connectors.export_account(
        manager, "someone", categories=["subscriber", "content"], fields=["name", "posts"],
        period_start=JULY[0], period_end=JULY[1], idempotency_key="k",
    )  # fmt: skip


def _good(**records: list[Record]) -> Export:
    return Export(
        handle="someone",
        records={
            "subscriber": [Record({"name": "A"})],
            "content": [Record({"posts": {"text": "t"}}, IN_JULY)],
            **records,
        },
    )


EXPORTS: dict[str, tuple[object, str, str]] = {
    # case: (answer, field named, words of the problem)
    "not an Export": ({"handle": "someone"}, "answer", "must be an Export"),
    "empty handle": (Export("", {}), "handle", "non-empty string"),
    "records not a dict": (Export("someone", [Record({"name": "A"})]), "records", "dict"),  # type: ignore[arg-type]
    "category not asked": (_good(traffic=[]), "records.traffic", "not asked"),
    "category missing": (
        Export("someone", {"subscriber": []}),
        "records.content",
        "every category asked",
    ),
    "records not a list": (
        Export("someone", {"subscriber": (), "content": []}),  # type: ignore[dict-item]
        "records.subscriber",
        "must be a list",
    ),
    "not a Record": (
        _good(subscriber=[{"name": "A"}]),  # type: ignore[list-item]
        "records.subscriber[0]",
        "must be a Record",
    ),
    "empty record": (_good(subscriber=[Record({})]), "records.subscriber[0].data", "non-empty"),
    "field not asked": (
        _good(subscriber=[Record({"name": "A", "email": "a@example.org"})]),
        "records.subscriber[0].data.email",
        "not asked",
    ),
    "field of another category": (
        _good(content=[Record({"posts": "p", "name": "A"}, IN_JULY)]),
        "records.content[0].data.name",
        "not asked",
    ),
    "value not JSON": (
        _good(content=[Record({"posts": {"at": IN_JULY}}, IN_JULY)]),  # type: ignore[dict-item]
        "records.content[0].data.posts.at",
        "not a JSON value",
    ),
    "NaN": (
        _good(content=[Record({"posts": [1.0, math.nan]}, IN_JULY)]),
        "records.content[0].data.posts[1]",
        "not a JSON number",
    ),
    "dated subscriber record": (
        _good(subscriber=[Record({"name": "A"}, IN_JULY)]),
        "records.subscriber[0].at",
        "not dated",
    ),
    "undated content record": (
        _good(content=[Record({"posts": "p"})]),
        "records.content[0].at",
        "must be a datetime",
    ),
    "naive record time": (
        _good(content=[Record({"posts": "p"}, datetime(2020, 7, 15))]),  # noqa: DTZ001
        "records.content[0].at",
        "naive",
    ),
    "record before the period": (
        _good(content=[Record({"posts": "p"}, datetime(2020, 6, 30, 23, 59, tzinfo=UTC))]),
        "records.content[0].at",
        "outside the period",
    ),
    "record after the period": (
        _good(content=[Record({"posts": "p"}, datetime(2020, 7, 31, 0, 0, 1, tzinfo=UTC))]),
        "records.content[0].at",
        "outside the period",
    ),
}


@pytest.mark.parametrize("case", EXPORTS)
def test_a_malformed_export_is_refused_naming_the_field(settings: Settings, case: str) -> None:
    answer, field, problem = EXPORTS[case]
    with pytest.raises(connectors.ConnectorAnswerInvalid) as refused:
        _export(_manager(settings, answer))
    assert refused.value.hook == "dueprocess_export_account"
    assert refused.value.field == field
    assert problem in refused.value.problem
    assert field in str(refused.value)


def test_a_well_formed_export_is_accepted(settings: Settings) -> None:
    assert _export(_manager(settings, _good())) == _good()


def _actions(manager: pluggy.PluginManager) -> dict[str, Any]:
    return {
        "dueprocess_restrict_content": lambda: connectors.restrict_content(
            manager, "post:1", RestrictAction.REMOVE, idempotency_key="k"
        ),
        "dueprocess_lift_restriction": lambda: connectors.lift_restriction(
            manager, "r:1", idempotency_key="k"
        ),
        "dueprocess_send_message": lambda: connectors.send_message(
            manager, "someone", subject="s", body="b", language="en", idempotency_key="k"
        ),
        "dueprocess_was_applied": lambda: connectors.was_applied(manager, "k"),
    }


APPLIED: dict[str, tuple[object, str, str]] = {
    "not an Applied": ("restriction:1", "answer", "must be an Applied"),
    "empty reference": (Applied("  ", NOW), "reference", "non-empty string"),
    "reference not a string": (Applied(7, NOW), "reference", "non-empty string"),  # type: ignore[arg-type]
    "time not a datetime": (Applied("r:1", "2020-08-01"), "applied_at", "must be a datetime"),  # type: ignore[arg-type]
    "naive time": (Applied("r:1", datetime(2020, 8, 1)), "applied_at", "naive"),  # noqa: DTZ001
}


@pytest.mark.parametrize("hook", _actions(pluggy.PluginManager("x")))
@pytest.mark.parametrize("case", APPLIED)
def test_a_malformed_applied_is_refused_naming_hook_and_field(
    settings: Settings, hook: str, case: str
) -> None:
    answer, field, problem = APPLIED[case]
    with pytest.raises(connectors.ConnectorAnswerInvalid) as refused:
        _actions(_manager(settings, answer))[hook]()
    assert (refused.value.hook, refused.value.field) == (hook, field)
    assert problem in refused.value.problem


@pytest.mark.parametrize("hook", _actions(pluggy.PluginManager("x")))
def test_a_connector_that_raises_is_a_failure_to_retry(settings: Settings, hook: str) -> None:
    with pytest.raises(connectors.ConnectorFailed) as failed:
        _actions(_manager(settings, TimeoutError("service did not answer in 30 s")))[hook]()
    assert failed.value.hook == hook
    assert failed.value.message == "TimeoutError: service did not answer in 30 s"
    with pytest.raises(connectors.ConnectorRefused) as refused:
        _actions(_manager(settings, ActionRefused("no such action here")))[hook]()
    assert (refused.value.hook, refused.value.message) == (hook, "no such action here")


def test_a_raising_export_is_a_failure_to_retry(settings: Settings) -> None:
    with pytest.raises(connectors.ConnectorFailed) as failed:
        _export(_manager(settings, ConnectionError("refused")))
    assert failed.value.hook == "dueprocess_export_account"


@pytest.mark.parametrize("hook", [h for h in _actions(pluggy.PluginManager("x")) if "was" not in h])
def test_no_answer_is_no_connector(settings: Settings, hook: str) -> None:
    with pytest.raises(connectors.NoConnector, match=hook):
        _actions(_manager(settings, None))[hook]()
    assert connectors.was_applied(_manager(settings, None), "k") is None


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda m: connectors.restrict_content(m, "p", "ban", idempotency_key="k"), "action"),
        (lambda m: connectors.restrict_content(m, "p", "withhold", idempotency_key="k"),
         "jurisdictions"),
        (lambda m: connectors.restrict_content(
            m, "p", "withhold", jurisdictions=["UK"], idempotency_key="k"), "jurisdictions.0"),
        (lambda m: connectors.restrict_content(
            m, "p", "withhold", jurisdictions=["US-CA"], idempotency_key="k"), "jurisdictions.0"),
        (lambda m: connectors.restrict_content(
            m, "p", "remove", jurisdictions=["HK"], idempotency_key="k"), "jurisdictions"),
        (lambda m: connectors.restrict_content(m, "p", "remove", idempotency_key=""),
         "idempotency_key"),
        (lambda m: connectors.send_message(
            m, "h", subject=" ", body="b", language="en", idempotency_key="k"), "subject"),
        (lambda m: connectors.export_account(
            m, "h", categories=["location"], fields=None, period_start=None, period_end=None,
            idempotency_key="k"), "categories"),
        (lambda m: connectors.export_account(
            m, "h", categories=["subscriber"], fields=["posts"], period_start=None,
            period_end=None, idempotency_key="k"), "fields"),
        (lambda m: connectors.export_account(
            m, "h", categories=["content"], fields=None, period_start=datetime(2020, 7, 1),  # noqa: DTZ001
            period_end=None, idempotency_key="k"), "period_start"),
        (lambda m: connectors.export_account(
            m, "h", categories=["content"], fields=None, period_start=JULY[1],
            period_end=JULY[0], idempotency_key="k"), "period_end"),
    ],
)  # fmt: skip
def test_a_bad_request_is_refused_before_any_connector_is_asked(
    settings: Settings, call: Any, field: str
) -> None:
    broken = _manager(settings, AssertionError("the connector must not be asked"))
    with pytest.raises(InvalidInput) as refused:
        call(broken)
    assert [e.where() for e in refused.value.errors] == [field.replace(".0", "[0]")]
