"""Benchmark: what the checkpoint signer's check costs (dueprocess.audit.signer.sign_head).

Before it signs, the signer recomputes the hash of every event appended since its last
checkpoint. This records ``--events`` events (realistic ones, in batches of 1,000) into a
fresh database, then times one ``sign_head`` over all of them, in wall and CPU time, and
prints events checked per second. The server signs every 5 minutes, so at a sustained
N events/s it checks 300 N events each time.

SQLite in a temporary directory by default; ``--database-url postgresql://...`` for
PostgreSQL (an empty database: it is migrated here).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from dueprocess.audit import service as audit, signer
from dueprocess.config import Settings
from dueprocess.migrations import upgrade
from dueprocess.runtime import Runtime

ACTIONS = ("demand.viewed", "demand.submitted", "review.note_added", "auth.sign_in_failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="dueprocess-bench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        runtime = Runtime(Settings(database_url=url, data_dir=Path(tmp) / "data"))
        upgrade(runtime.engine)
        for start in range(0, args.events, 1000):
            with runtime.sessions() as session:
                for seq in range(start, min(start + 1000, args.events)):
                    audit.record(
                        session,
                        actor=f"account:{seq % 397}",
                        action=ACTIONS[seq % len(ACTIONS)],
                        subject=f"demand:{seq // 9}" if seq % 4 else None,
                        data={"via": "portal", "n": seq % 1000}
                        if seq % 3
                        else {"ip": "203.0.113.7"},
                    )
                session.commit()
        wall, cpu = time.perf_counter(), time.process_time()
        signed = signer.sign_head(runtime.sessions, runtime.settings.keys_dir)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        runtime.close()
    if signed.checkpoint is None or signed.checkpoint["seq"] != args.events:
        print(f"signing failed: {signed}", file=sys.stderr)
        return 1
    print(f"{runtime.engine.dialect.name}: checked and signed {args.events:,} events")
    print(f"  {args.events / wall:,.0f} events/s ({wall:.1f} s wall)")
    print(f"  {args.events / cpu:,.0f} events/s of this process's CPU time ({cpu:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
