"""Loading connectors and calling them. Other domains reach the service's systems only here.

Every caller checks the connector's answer (:mod:`.answers`) and turns what can go wrong
into one of four errors the actions worker can act on:

- :class:`NoConnector` (a :class:`~dueprocess.errors.NotFound`): no connector knows the
  target, the restriction or the key;
- :class:`ConnectorRefused`: the connector will never do this (do not retry);
- :class:`ConnectorFailed`: the connector raised (retry with back-off: the key makes the
  retry safe);
- :class:`~dueprocess.connectors.answers.ConnectorAnswerInvalid`: it answered something its
  contract does not allow (a defect in the connector; nothing of the answer is used).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from dueprocess import jurisdictions as iso
from dueprocess.config import Settings
from dueprocess.connectors import answers
from dueprocess.connectors.answers import ConnectorAnswerInvalid
from dueprocess.connectors.spec import (
    FIELDS,
    PROJECT,
    AccountInfo,
    ActionRefused,
    Applied,
    ConnectorSpec,
    ContentInfo,
    Export,
    RestrictAction,
)
from dueprocess.errors import Conflict, DueprocessError, InvalidInput, NotFound

__all__ = [
    "ConnectorAnswerInvalid",
    "ConnectorFailed",
    "ConnectorRefused",
    "NoConnector",
    "export_account",
    "lift_restriction",
    "lookup_account",
    "lookup_content",
    "plugin_manager",
    "restrict_content",
    "send_message",
    "was_applied",
]

#: The entry-point group connectors register in (docs/connectors.md).
GROUP = "dueprocess.connectors"

T = TypeVar("T")


class NoConnector(NotFound):
    """No connector answered for this target (``hook``, ``target``)."""

    def __init__(self, hook: str, target: str) -> None:
        self.hook, self.target = hook, target
        super().__init__(f"no connector knows {target!r} ({hook})")


class ConnectorFailed(DueprocessError):
    """The connector raised while answering ``hook``: a failure to retry later."""

    def __init__(self, hook: str, message: str) -> None:
        self.hook, self.message = hook, message
        super().__init__(f"connector failed in {hook}: {message}")


class ConnectorRefused(Conflict):
    """The connector will never do this (:class:`~.spec.ActionRefused`): retrying is futile."""

    def __init__(self, hook: str, message: str) -> None:
        self.hook, self.message = hook, message
        super().__init__(f"connector refused {hook}: {message}")


def register(manager: pluggy.PluginManager, name: str, loaded: object, settings: Settings) -> None:
    """Register what an entry point named: a module (or any object that is not callable) as
    it is; a callable (a factory, a class) is called with the settings and what it returns
    registered, unless ``None`` (the connector is not configured here)."""
    if isinstance(loaded, ModuleType) or not callable(loaded):
        plugin: object | None = loaded
    else:
        plugin = loaded(settings)
    if plugin is not None:
        manager.register(plugin, name=name)


def plugin_manager(settings: Settings) -> pluggy.PluginManager:
    """A plugin manager with every connector installed in the ``dueprocess.connectors``
    entry-point group (the demo microblog among them, when ``demo_database_url`` is set)."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(ConnectorSpec)
    for ep in entry_points(group=GROUP):
        register(manager, ep.name, ep.load(), settings)
    return manager


def _call(hook: str, call: Callable[[], T]) -> T:
    """``call()``, with a connector's own exceptions turned into ours."""
    try:
        return call()
    except ActionRefused as exc:
        raise ConnectorRefused(hook, str(exc) or type(exc).__name__) from exc
    except Exception as exc:
        raise ConnectorFailed(hook, f"{type(exc).__name__}: {exc}") from exc


def _hook(manager: pluggy.PluginManager, name: str) -> Any:
    return getattr(manager.hook, name)


def lookup_account(manager: pluggy.PluginManager, handle: str) -> AccountInfo | None:
    """The account behind ``handle``, or None when no connector knows it."""
    result: AccountInfo | None = manager.hook.dueprocess_lookup_account(handle=handle)
    return result


def lookup_content(manager: pluggy.PluginManager, ref: str) -> ContentInfo | None:
    """The content item behind ``ref``, or None when no connector knows it."""
    result: ContentInfo | None = manager.hook.dueprocess_lookup_content(ref=ref)
    return result


def _key(key: str) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise InvalidInput.one(("idempotency_key",), "must be 1 to 200 characters")
    return key


def export_account(
    manager: pluggy.PluginManager,
    handle: str,
    *,
    categories: Collection[str],
    fields: Collection[str] | None,
    period_start: datetime | None,
    period_end: datetime | None,
    idempotency_key: str,
) -> Export:
    """The account's data in ``categories``, limited to ``fields`` (``None``: every field of
    those categories) and the period (``None`` bounds are open), checked to hold nothing
    else. A request that names an unknown category, a field of no category asked or a naive
    time is refused before any connector is asked."""
    hook = "dueprocess_export_account"
    asked = sorted(set(categories))
    unknown = [c for c in asked if c not in FIELDS]
    if not asked or unknown:
        raise InvalidInput.one(
            ("categories",), f"must be some of {', '.join(FIELDS)}; not {unknown or 'none'}"
        )
    allowed = {f for c in asked for f in FIELDS[c]}
    wanted = sorted(allowed if fields is None else set(fields))
    stray = [f for f in wanted if f not in allowed]
    if stray:
        raise InvalidInput.one(
            ("fields",), f"{', '.join(stray)}: not a field of the categories asked"
        )
    for name, bound in (("period_start", period_start), ("period_end", period_end)):
        if bound is not None and bound.utcoffset() is None:
            raise InvalidInput.one((name,), "must carry a time zone")
    if period_start and period_end and period_end < period_start:
        raise InvalidInput.one(("period_end",), "must not be before period_start")
    key = _key(idempotency_key)
    answer = _call(
        hook,
        lambda: _hook(manager, hook)(
            handle=handle,
            categories=asked,
            fields=wanted,
            period_start=period_start,
            period_end=period_end,
            idempotency_key=key,
        ),
    )
    if answer is None:
        raise NoConnector(hook, handle)
    return answers.export(
        hook, answer, categories=asked, fields=wanted,
        period_start=period_start, period_end=period_end,
    )  # fmt: skip


def restrict_content(
    manager: pluggy.PluginManager,
    ref: str,
    action: RestrictAction | str,
    *,
    jurisdictions: Collection[str] = (),
    idempotency_key: str,
) -> Applied:
    """Apply ``action`` to the content item or account ``ref``. ``withhold`` needs at least
    one jurisdiction (ISO 3166-1 alpha-2, normalised to upper case); the other actions take
    none."""
    hook = "dueprocess_restrict_content"
    try:
        chosen = RestrictAction(action)
    except ValueError:
        raise InvalidInput.one(
            ("action",), f"must be one of {', '.join(a.value for a in RestrictAction)}"
        ) from None
    codes = []
    for n, code in enumerate(jurisdictions):
        try:
            codes.append(iso.normalise(code))
        except ValueError as exc:
            raise InvalidInput.one(("jurisdictions", n), str(exc)) from None
        if "-" in codes[-1]:
            raise InvalidInput.one(
                ("jurisdictions", n), f"{code!r}: a country (ISO 3166-1 alpha-2), not a subdivision"
            )
    if chosen is RestrictAction.WITHHOLD and not codes:
        raise InvalidInput.one(("jurisdictions",), "withhold needs at least one jurisdiction")
    if chosen is not RestrictAction.WITHHOLD and codes:
        raise InvalidInput.one(("jurisdictions",), f"{chosen.value} applies everywhere: give none")
    key = _key(idempotency_key)
    answer = _call(
        hook,
        lambda: _hook(manager, hook)(
            ref=ref, action=chosen, jurisdictions=sorted(set(codes)), idempotency_key=key
        ),
    )
    if answer is None:
        raise NoConnector(hook, ref)
    return answers.applied(hook, answer)


def lift_restriction(
    manager: pluggy.PluginManager, reference: str, *, idempotency_key: str
) -> Applied:
    """Lift the restriction a connector answered ``reference`` for."""
    hook = "dueprocess_lift_restriction"
    key = _key(idempotency_key)
    answer = _call(hook, lambda: _hook(manager, hook)(reference=reference, idempotency_key=key))
    if answer is None:
        raise NoConnector(hook, reference)
    return answers.applied(hook, answer)


def send_message(
    manager: pluggy.PluginManager,
    handle: str,
    *,
    subject: str,
    body: str,
    language: str,
    idempotency_key: str,
) -> Applied:
    """Send the account ``handle`` a message on the service; the answer names the message."""
    hook = "dueprocess_send_message"
    for name, value in (("subject", subject), ("body", body), ("language", language)):
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput.one((name,), "must not be empty")
    key = _key(idempotency_key)
    answer = _call(
        hook,
        lambda: _hook(manager, hook)(
            handle=handle, subject=subject, body=body, language=language, idempotency_key=key
        ),
    )
    if answer is None:
        raise NoConnector(hook, handle)
    return answers.applied(hook, answer)


def was_applied(manager: pluggy.PluginManager, idempotency_key: str) -> Applied | None:
    """What the action keyed ``idempotency_key`` answered when applied, or ``None`` when no
    connector applied it (a worker that crashed before the call may then make it)."""
    hook = "dueprocess_was_applied"
    key = _key(idempotency_key)
    answer = _call(hook, lambda: _hook(manager, hook)(idempotency_key=key))
    return None if answer is None else answers.applied(hook, answer)
