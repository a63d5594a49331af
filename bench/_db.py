"""Shared set-up for benchmarks: a fresh, migrated database on SQLite or PostgreSQL.

PostgreSQL comes from ``DUEPROCESS_TEST_POSTGRES_URL`` (run the benchmark under
``scripts/with-postgres``); without it, a temporary SQLite file is used.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dueprocess.config import Settings
from dueprocess.migrations import upgrade
from dueprocess.runtime import Runtime


def fresh_runtime(name: str, backend: str | None = None) -> Runtime:
    """A runtime on a new empty database called ``name`` (dropped first if it exists)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"dueprocess-bench-{name}-"))
    admin_url = os.environ.get("DUEPROCESS_TEST_POSTGRES_URL")
    if (backend or ("postgresql" if admin_url else "sqlite")) == "postgresql":
        if not admin_url:
            raise SystemExit("PostgreSQL needed: run under scripts/with-postgres")
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{workdir / 'bench.db'}"
    settings = Settings(
        database_url=url,
        data_dir=workdir / "data",
        demo_database_url=f"sqlite:///{workdir / 'microblog.db'}",
    )
    runtime = Runtime(settings)
    upgrade(runtime.engine)
    return runtime


def activate_template(runtime: Runtime, name: str, at: datetime) -> None:
    """Propose and approve (two people, as the four-eyes rule wants) one of the policy
    templates shipped in ``policy/templates``, active from ``at``."""
    from dueprocess.policy import service as policy
    from tests import factories

    source = (Path(policy.__file__).parent / "templates" / name).read_text(encoding="utf-8")
    with runtime.sessions() as session, session.begin():
        owner = factories.account(session, "bench-owner@example.org", ["policy-owner"])
        approver = factories.account(session, "bench-approver@example.org", ["approver"])
        version = policy.propose(session, source, name, "benchmark", actor=f"account:{owner.id}")
        policy.approve(session, version.id, actor=f"account:{approver.id}", at=at)


def describe_postgres(runtime: Runtime) -> str:
    """The cluster's durability settings, for a benchmark to print beside its figures: a
    figure measured with ``fsync`` off says nothing about a database in service."""
    names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "max_wal_size")
    with runtime.engine.connect() as conn:
        values = [conn.execute(text(f"SHOW {name}")).scalar_one() for name in names]
    return ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True))


def warm_up(runtime: Runtime, megabytes: int = 1536) -> None:
    """Make a new cluster behave like one in service, where two one-time costs are paid:

    - write-ahead log segments are recycled, where a new cluster creates and zero-fills a
      16 MB file for each one it fills (measured: about 4% of this machine's CPU during a
      batch run); ``deploy/postgresql.conf``'s ``min_wal_size`` keeps them;
    - shared buffers are mapped, where a new cluster takes a page fault (and the kernel
      zeroes a page) the first time each of its buffer pages is used (about 3%).

    Writes ``megabytes`` of rows (and as much WAL), reads them into shared buffers with
    ``pg_prewarm``, drops them and checkpoints, so the run that follows reuses both."""
    rows = megabytes * 1024 // 2  # rows of ~2 KB each, stored uncompressed
    with runtime.engine.connect() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
        conn.execute(text("DROP TABLE IF EXISTS bench_scratch"))
        conn.execute(text("CREATE TABLE bench_scratch (v text)"))
        conn.execute(
            text("INSERT INTO bench_scratch SELECT repeat('w', 1900) FROM generate_series(1, :n)"),
            {"n": rows},
        )
        conn.commit()
        conn.execute(text("SELECT pg_prewarm('bench_scratch')"))
        conn.execute(text("DROP TABLE bench_scratch"))
        conn.commit()
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
