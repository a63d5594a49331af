"""Fixtures that build real objects in a real database.

``DUEPROCESS_TEST_DATABASE=postgresql`` (set by ``scripts/test`` for the second pass, with
``DUEPROCESS_TEST_POSTGRES_URL`` from ``scripts/with-postgres``) runs every test on
PostgreSQL; otherwise on SQLite. Each xdist worker gets its own database, migrated once;
each test starts from empty tables.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from dueprocess.config import Settings
from dueprocess.db import make_engine
from dueprocess.migrations import all_metadata, upgrade
from dueprocess.runtime import Runtime

BACKEND = os.environ.get("DUEPROCESS_TEST_DATABASE", "sqlite")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def _database_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated database for this worker: an SQLite file to copy, or a PostgreSQL URL."""
    if BACKEND == "postgresql":
        admin_url = os.environ.get("DUEPROCESS_TEST_POSTGRES_URL")
        if not admin_url:
            pytest.exit("DUEPROCESS_TEST_POSTGRES_URL is not set (run through scripts/test)", 2)
        name = f"dueprocess_test_{_worker()}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        url = f"sqlite:///{path}"
    engine = make_engine(url, pool=False)
    upgrade(engine)
    engine.dispose()
    return url


def _empty_tables(url: str) -> None:
    engine = make_engine(url, pool=False)
    tables = [t.name for t in reversed(all_metadata().sorted_tables)]
    with engine.begin() as conn:
        conn.execute(
            text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
        )
    engine.dispose()


@pytest.fixture
def database_url(_database_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if BACKEND == "postgresql":
        _empty_tables(_database_template)
        return _database_template
    source = Path(make_url(_database_template).database or "")
    target = tmp_path / "dueprocess.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for one test: its own database, data directory and demo service."""
    data = tmp_path / "data"
    return Settings(
        database_url=database_url,
        data_dir=data,
        demo_database_url=f"sqlite:///{tmp_path / 'microblog.db'}",
        max_body_bytes=2 * 1024 * 1024,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A runtime on the test's database."""
    rt = Runtime(settings)
    yield rt
    rt.close()


@pytest.fixture
def session(runtime: Runtime) -> Iterator[Session]:
    """A session; tests commit with ``session.commit()`` like a caller at the edge would."""
    with runtime.sessions() as s:
        yield s


class LiveServer:
    """The real app served by uvicorn on a free loopback port, in a thread."""

    def __init__(self, runtime: Runtime) -> None:
        from dueprocess.web.app import create_app
        from dueprocess.web.server import uvicorn_config

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(runtime)
        self.server = uvicorn.Server(uvicorn_config(self.app, lifespan="off"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def live_server(runtime: Runtime) -> Iterator[LiveServer]:
    """A real HTTP server on the test's runtime."""
    with LiveServer(runtime) as server:
        yield server


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The command line pointed at the test's database and data directory, initialised."""
    from typer.testing import CliRunner

    from dueprocess.cli.main import app

    env = {
        "DUEPROCESS_DATABASE_URL": settings.database_url,
        "DUEPROCESS_DATA_DIR": str(settings.data_dir),
        "DUEPROCESS_DEMO_DATABASE_URL": settings.demo_database_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert CliRunner().invoke(app, ["init"]).exit_code == 0
    return env


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, for tests that migrate down and up again."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    admin_url = os.environ["DUEPROCESS_TEST_POSTGRES_URL"]
    name = f"dueprocess_fresh_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
