"""Server time of filtered, sorted review-queue pages over 1,000,000 demands in PostgreSQL.

Loads the demands with bench/_demands.py (COPY; ~90% open, most in the intake queue, which
then holds ~500,000), then asks the real app, in process (Starlette's TestClient: routing, the
token check, the query, the JSON; no network), for queue pages of every kind the issue
names: the first page, pages deep in the queue by cursor (page 1,000 and page 9,000), each
filter, search in English and Chinese, and filters combined. Each is asked ``--rounds``
times after two warm-up requests; the figure is the p95 over all of them, printed beside
the bare indexed query measured in the same run on the same data (the page's own index
range alone: ``SELECT id ... WHERE status = ... AND emergency = false AND (due_at, id) >
(...) ORDER BY due_at, id LIMIT 50``, at the same positions), and PASS or FAIL against the
target (p95 under 150 ms).

Run::

    scripts/with-postgres --durable .venv/bin/python bench/review_queue.py [--demands N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import describe_postgres, fresh_runtime  # noqa: E402
from bench._demands import load  # noqa: E402
from dueprocess.accounts import signin  # noqa: E402
from dueprocess.review.queue_filters import Cursor  # noqa: E402
from dueprocess.web.app import create_app  # noqa: E402

TARGET_MS = 150.0
OPEN = "('received', 'paused', 'legal-review', 'human-rights-review', 'awaiting-approval')"


def _cursor_at(runtime: Any, status: str, position: int) -> str:
    """The cursor after the demand at ``position`` (0-based) of a queue, in its order."""
    with runtime.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT emergency, due_at, id FROM demand WHERE status = :s "
                "ORDER BY emergency DESC, due_at, id OFFSET :n LIMIT 1"
            ),
            {"s": status, "n": position},
        ).one()
    return Cursor(bool(row[0]), row[1], int(row[2])).encode()


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demands", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    if not os.environ.get("DUEPROCESS_TEST_POSTGRES_URL"):
        print("run under scripts/with-postgres (DUEPROCESS_TEST_POSTGRES_URL is not set)")
        return 2
    print(f"load average before: {os.getloadavg()}", flush=True)
    runtime = fresh_runtime("dueprocess_bench_queue", "postgresql")
    open_n = args.demands * 9 // 10
    loaded = load(runtime, open_n=open_n, closed_n=args.demands - open_n, seed=args.seed)
    print(f"loaded {loaded.demands:,} demands in {loaded.seconds:.0f} s", flush=True)
    with runtime.engine.connect() as conn:
        sizes = dict(
            conn.execute(
                text("SELECT status, count(*) FROM demand GROUP BY status ORDER BY 2 DESC")
            ).all()
        )
    print("by status: " + ", ".join(f"{k}: {v:,}" for k, v in sizes.items()))

    intake_email = next(iter(loaded.people["intake"]))
    legal_email = next(iter(loaded.people["legal-reviewer"]))
    tokens = {}
    with runtime.sessions() as session, session.begin():
        for who in (intake_email, legal_email):
            _row, raw = signin.create_token(session, who, "bench", [], actor="bench")
            tokens[who] = {"Authorization": f"Bearer {raw}"}
    deep_1000 = _cursor_at(runtime, "received", min(50_000, sizes["received"] // 2) - 1)
    deep_last = _cursor_at(runtime, "received", min(450_000, sizes["received"] - 100))
    legal_deep = _cursor_at(runtime, "legal-review", min(50_000, sizes["legal-review"] - 100))
    i, lg = intake_email, legal_email
    scenarios: list[tuple[str, str, dict[str, str], str]] = [
        ("first page", "intake", {}, i),
        ("page 1,000 (cursor)", "intake", {"after": deep_1000}, i),
        ("page 9,000 (cursor)", "intake", {"after": deep_last}, i),
        ("jurisdiction=HK", "intake", {"jurisdiction": "HK"}, i),
        ("jurisdiction=US (+ US-CA)", "intake", {"jurisdiction": "US"}, i),
        ("authority=tr-btk", "intake", {"authority": "tr-btk"}, i),
        ("kind=removal", "intake", {"kind": "removal"}, i),
        ("legal_process=mlat", "intake", {"legal_process": "mlat"}, i),
        ("stance=escalate (h-r queue)", "human-rights", {"stance": "escalate"}, i),
        ("verification=suspicious", "intake", {"verification": "suspicious"}, i),
        ("flag=political", "intake", {"flag": "political"}, i),
        ("assignee=me", "intake", {"assignee": "me"}, i),
        ("assignee=nobody", "intake", {"assignee": "nobody"}, i),
        ("due=overdue", "intake", {"due": "overdue"}, i),
        ("due=soon", "intake", {"due": "soon"}, i),
        ("due_within=48h", "intake", {"due_within": "48h"}, i),
        (
            "due in a date range",
            "intake",
            {"due_after": "2020-01-01", "due_before": "2099-01-01"},
            i,
        ),
        ("emergency=true", "intake", {"emergency": "true"}, i),
        ("q=subscriber", "intake", {"q": "subscriber"}, i),
        ("q=a reference", "intake", {"q": "DE-BKA/2026/0012345"}, i),
        ("q=香港 (2 characters)", "intake", {"q": "香港"}, i),
        ("q=光復香港", "intake", {"q": "光復香港"}, i),
        (
            "HK + removal + nobody + overdue",
            "intake",
            {"jurisdiction": "HK", "kind": "removal", "assignee": "nobody", "due": "overdue"},
            i,
        ),
        ("legal: mine", "legal", {"assignee": "me"}, lg),
        ("legal: page 1,000 (cursor)", "legal", {"after": legal_deep}, lg),
        ("legal: flag=journalism + q=account", "legal", {"flag": "journalism", "q": "account"}, lg),
    ]
    print(f"PostgreSQL {runtime.engine.dialect.server_version_info}: {describe_postgres(runtime)}")
    print(f"load average at measuring: {os.getloadavg()}", flush=True)
    client = TestClient(create_app(runtime))
    everything: list[float] = []
    print(f"\n{'page':38} {'rows':>5} {'total':>16} {'p50 ms':>7} {'p95 ms':>7}")
    for name, queue, params, who in scenarios:
        url = f"/api/v1/review/queues/{queue}"
        for _ in range(2):
            answer = client.get(url, params=params, headers=tokens[who])
            assert answer.status_code == 200, answer.text
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            answer = client.get(url, params=params, headers=tokens[who])
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
        body = answer.json()
        everything += times
        total = f"{body['total']:,} {body['total_is'][:5]}"
        print(
            f"{name:38} {len(body['rows']):5} {total:>16} {statistics.median(times):7.1f} "
            f"{_p(times, 0.95):7.1f}",
            flush=True,
        )

    bare: list[float] = []
    bare_sql = text(
        "SELECT id FROM demand WHERE status = :s AND emergency = false AND (due_at, id) > (:d, :i) "
        "ORDER BY due_at, id LIMIT 50"
    )
    with runtime.engine.connect() as conn:
        for token in (deep_1000, deep_last):
            here = Cursor.decode(token, "after")
            for n in range(args.rounds + 2):
                started = time.perf_counter()
                rows = conn.execute(
                    bare_sql, {"s": "received", "d": here.due_at, "i": here.id}
                ).all()
                if n >= 2:
                    bare.append((time.perf_counter() - started) * 1000)
                assert len(rows) == 50
        plan = conn.execute(
            text(f"EXPLAIN {bare_sql.text}"), {"s": "received", "d": here.due_at, "i": here.id}
        ).all()
    p95 = _p(everything, 0.95)
    print(
        f"\nbare indexed query (baseline, same run):  p50 {statistics.median(bare):6.2f} ms  "
        f"p95 {_p(bare, 0.95):6.2f} ms   ({plan[0][0].strip()[:60]}...)"
    )
    print(
        f"queue pages, all {len(everything)} requests:  p50 {statistics.median(everything):6.1f} "
        f"ms  p95 {p95:6.1f} ms  max {max(everything):6.1f} ms"
    )
    verdict = "PASS" if p95 < TARGET_MS else "FAIL"
    print(
        f"{verdict}: p95 {p95:.1f} ms over {loaded.demands:,} demands (target < {TARGET_MS:.0f} ms)"
    )
    print(f"load average after: {os.getloadavg()}")
    runtime.close()
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
