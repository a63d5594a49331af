"""Schema migrations (Alembic), shipped inside the package so ``dueprocess db upgrade`` works
from an installed wheel as well as from a checkout.
"""

from __future__ import annotations

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
    from dueprocess.audit import models as _audit  # noqa: F401
    from dueprocess.authorities import models as _authorities  # noqa: F401
    from dueprocess.db import Base
    from dueprocess.demands import models as _demands  # noqa: F401
    from dueprocess.policy import models as _policy  # noqa: F401
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
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def drift(engine: Engine) -> list[object]:
    """Differences between the models and the migrated database; empty when they agree."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, all_metadata()))
