"""Schema migrations (Alembic), shipped inside the package so ``dueprocess db upgrade`` works
from an installed wheel as well as from a checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData

HERE = Path(__file__).resolve().parent


def all_metadata() -> MetaData:
    """The metadata with every domain's tables registered (imports each ``models`` module)."""
    from dueprocess.accounts import models as _accounts  # noqa: F401
    from dueprocess.actions import models as _actions  # noqa: F401
    from dueprocess.audit import models as _audit  # noqa: F401
    from dueprocess.authorities import models as _authorities  # noqa: F401
    from dueprocess.db import Base
    from dueprocess.demands import models as _demands  # noqa: F401
    from dueprocess.policy import models as _policy  # noqa: F401
    from dueprocess.productions import models as _productions  # noqa: F401
    from dueprocess.review import models as _review  # noqa: F401

    return Base.metadata


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at these migrations and ``url``."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to ``revision`` (idempotent: a current database is left alone)."""
    _migrate(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the database down to ``revision`` (for tests of migrations, and undoing one)."""
    _migrate(engine, command.downgrade, revision)


def _migrate(engine: Engine, step: Callable[[Config, str], None], revision: str) -> None:
    """Run ``step`` in one transaction. On SQLite, foreign keys are off while it runs and
    checked before it commits: altering a table there means copying it, dropping the old
    one and renaming the copy, and dropping a table that other rows point to fails with
    them on (the procedure SQLite's documentation gives for ALTER TABLE)."""
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        if sqlite:  # before any transaction begins: the pragma is a no-op inside one
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                step(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def drift(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database; empty when they agree."""
    with engine.connect() as connection:
        opts = {"compare_type": True, "include_object": for_dialect(connection.dialect.name)}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, all_metadata()))


def for_dialect(dialect: str) -> Callable[[object, str | None, str, bool, object], bool]:
    """Alembic's ``include_object`` hook: leaves out of the comparison a model's index made
    for another database only (``Index(...).ddl_if(dialect=...)``, such as a PostgreSQL GIN
    index), which Alembic would otherwise report missing."""

    def include(
        obj: object, _name: str | None, type_: str, _reflected: bool, _other: object
    ) -> bool:
        wanted = getattr(obj, "_ddl_if", None) if type_ == "index" else None
        return wanted is None or wanted.dialect in (None, dialect)

    return include
