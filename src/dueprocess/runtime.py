"""What a running dueprocess holds: settings, database, document store, connectors.

The CLI and the web app build one :class:`Runtime` at start and hand its parts to services,
so no module reaches for globals and tests can run several isolated runtimes side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pluggy
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dueprocess.config import Settings
from dueprocess.db import make_engine, make_sessionmaker
from dueprocess.documents.store import DirectoryStore, DocumentStore


@dataclass
class Runtime:
    """The process-wide objects, created lazily from :class:`Settings`."""

    settings: Settings

    @cached_property
    def engine(self) -> Engine:
        """The database engine."""
        return make_engine(self.settings.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        """Session factory on :attr:`engine`."""
        return make_sessionmaker(self.engine)

    @cached_property
    def store(self) -> DocumentStore:
        """Where document bytes are kept (a directory by default)."""
        return DirectoryStore(self.settings.documents_dir)

    @cached_property
    def connectors(self) -> pluggy.PluginManager:
        """The connectors to the service's systems."""
        from dueprocess.connectors.service import plugin_manager

        return plugin_manager(self.settings)

    def close(self) -> None:
        """Release database connections."""
        if "engine" in self.__dict__:
            self.engine.dispose()
