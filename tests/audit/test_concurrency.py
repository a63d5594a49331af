"""Several processes appending at once never fork the chain (two events never claim the same
predecessor, no seq is lost or doubled) on either database.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit, signer
from dueprocess.audit.chain import public_key_bytes
from dueprocess.audit.models import AuditEvent
from dueprocess.db import make_engine, make_sessionmaker
from dueprocess.runtime import Runtime

WRITERS = 4
TRANSACTIONS = 25


def _writer(url: str, writer: int) -> None:
    engine = make_engine(url, pool=False)
    sessions = make_sessionmaker(engine)
    for i in range(TRANSACTIONS):
        with sessions() as session, session.begin():
            # Read something first, as a request handler would, then append two events.
            session.scalar(select(func.count(AuditEvent.seq)))
            audit.record(session, actor=f"writer:{writer}", action="test.first", data={"i": i})
            audit.record(session, actor=f"writer:{writer}", action="test.second", data={"i": i})
    engine.dispose()


def test_parallel_writers_keep_one_chain(session: Session, runtime: Runtime) -> None:
    url = runtime.settings.database_url
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_writer, args=(url, w)) for w in range(WRITERS)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
        assert p.exitcode == 0

    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert len(rows) == WRITERS * TRANSACTIONS * 2
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    prevs = [r.prev for r in rows]
    assert len(set(prevs)) == len(prevs), "two events claim the same predecessor"
    # Each transaction's two events are adjacent: nothing interleaved inside a transaction.
    for first, second in zip(rows[::2], rows[1::2], strict=True):
        assert (first.action, second.action) == ("test.first", "test.second")
        assert first.actor == second.actor
    session.rollback()
    key = signer.ensure_signing_key(runtime.settings.keys_dir)
    assert signer.sign_head(runtime.sessions, runtime.settings.keys_dir).checkpoint is not None
    assert audit.verify_database(session, [public_key_bytes(key)]).ok
    session.rollback()


def _start_worker(keys_dir: str, start: object, out: object) -> None:
    start.wait()  # type: ignore[attr-defined]
    key = signer.ensure_signing_key(Path(keys_dir))
    out.put(public_key_bytes(key.public_key()))  # type: ignore[attr-defined]


def test_workers_starting_at_once_share_one_signing_key(tmp_path: Path) -> None:
    # The server's workers start together on a new data directory: each asks for the key.
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    keys_dir = str(tmp_path) + "/keys"
    workers = [context.Process(target=_start_worker, args=(keys_dir, start, out)) for _ in range(8)]
    for w in workers:
        w.start()
    start.set()
    for w in workers:
        w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * len(workers)
    keys = {out.get(timeout=5) for _ in workers}
    assert len(keys) == 1
