"""Loading connectors and calling them. Other domains reach the service's systems only here."""

from __future__ import annotations

from importlib.metadata import entry_points

import pluggy

from dueprocess.config import Settings
from dueprocess.connectors.spec import PROJECT, AccountInfo, ConnectorSpec, ContentInfo


def plugin_manager(settings: Settings) -> pluggy.PluginManager:
    """A plugin manager with installed connectors and, when configured, the demo service."""
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(ConnectorSpec)
    for ep in entry_points(group="dueprocess.connectors"):
        manager.register(ep.load(), name=ep.name)
    if settings.demo_database_url and manager.get_plugin("demo") is None:
        from dueprocess.connectors.demo.connector import DemoConnector

        manager.register(DemoConnector.from_url(settings.demo_database_url), name="demo")
    return manager


def lookup_account(manager: pluggy.PluginManager, handle: str) -> AccountInfo | None:
    """The account behind ``handle``, or None when no connector knows it."""
    result: AccountInfo | None = manager.hook.dueprocess_lookup_account(handle=handle)
    return result


def lookup_content(manager: pluggy.PluginManager, ref: str) -> ContentInfo | None:
    """The content item behind ``ref``, or None when no connector knows it."""
    result: ContentInfo | None = manager.hook.dueprocess_lookup_content(ref=ref)
    return result
