"""How much writing the audit event adds to the operation it records (issue 3: <= 20%).

Submits the same demands through the intake flow (``flow.receive``: checks, requester
verification, policy, two audit events each with no policy active) twice, each in its own
transaction as a lone API request would: once as shipped, once with ``audit.record``
replaced by a no-op, alternating rounds so machine noise hits both alike. Prints both rates
and the overhead.

    scripts/with-postgres --durable .venv/bin/python bench/audit_overhead.py  # PostgreSQL
    .venv/bin/python bench/audit_overhead.py                             # SQLite
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._db import fresh_runtime
from dueprocess.audit import service as audit
from dueprocess.demands.models import Channel
from dueprocess.demands.schemas import DemandIn
from dueprocess.intake import flow
from dueprocess.runtime import Runtime
from tests import factories


def _round(runtime: Runtime, n: int, start: int) -> float:
    data = [DemandIn.model_validate(factories.body(reference=f"R-{start + i}")) for i in range(n)]
    began = time.perf_counter()
    for item in data:
        with runtime.sessions() as session, session.begin():
            flow.receive(session, runtime, item, channel=Channel.API, actor="account:1")
    return n / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-round", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runtime = fresh_runtime("bench_audit_overhead")
    with runtime.sessions() as session, session.begin():
        factories.authority(session)
    real = audit.record

    def no_audit(*_a: Any, **_k: Any) -> None:
        return None

    with_audit: list[float] = []
    without: list[float] = []
    _round(runtime, 200, 0)  # warm-up
    for r in range(args.rounds):
        with_audit.append(_round(runtime, args.per_round, (2 * r + 1) * args.per_round))
        audit.record = no_audit
        try:
            without.append(_round(runtime, args.per_round, (2 * r + 2) * args.per_round))
        finally:
            audit.record = real
    a, b = statistics.median(with_audit), statistics.median(without)
    overhead = (b / a - 1) * 100
    print(f"database: {runtime.engine.dialect.name}")
    print(f"demand submission without audit (baseline): {b:,.0f}/s")
    print(f"demand submission with audit:               {a:,.0f}/s")
    print(
        f"audit adds {overhead:.1f}% to the time of a submission (target <= 20%): "
        f"{'PASS' if overhead <= 20 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
