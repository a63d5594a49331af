"""Alembic environment: runs on the connection handed in by :func:`dueprocess.migrations.upgrade`,
or on ``sqlalchemy.url`` when Alembic's own command line is used.
"""

from __future__ import annotations

from alembic import context

from dueprocess.db import make_engine
from dueprocess.migrations import all_metadata, for_dialect

config = context.config
target_metadata = all_metadata()


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=for_dialect(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", pool=False)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=for_dialect(connection.dialect.name),
        )
        with context.begin_transaction():
            context.run_migrations()


run()
