"""Models and migrations cannot drift: the migrated schema equals the models' schema."""

from __future__ import annotations

from dueprocess.db import make_engine
from dueprocess.migrations import drift, upgrade


def test_migrated_database_matches_models(database_url: str) -> None:
    engine = make_engine(database_url, pool=False)
    try:
        upgrade(engine)  # already at head: must be a no-op
        assert drift(engine) == []
    finally:
        engine.dispose()
