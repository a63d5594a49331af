"""How long the policy what-if takes over 1,000,000 open demands in PostgreSQL.

Creates a throwaway database on the cluster named by ``DUEPROCESS_TEST_POSTGRES_URL``, registers
a dozen authorities through the registry service, then loads the demands straight into the
real ``demand`` table with ``COPY`` (generated from a seed: a tenth from Hong Kong, the rest
from eleven other jurisdictions; every open status, most processed, some already paused or
escalated; most with a deadline around now), plus closed demands the what-if must skip. It then
times, warm, best of three:

* ``SELECT count(*) FROM demand WHERE status IN (<open statuses>)`` -- the floor: one pass over
  the same rows, returning nothing;
* :func:`dueprocess.policy.service.whatif` with the Facebook/WhatsApp July 2020 template (pause
  every Hong Kong demand), listing the first 200 changes and deadlines, as the page and the CLI
  do;

prints both, checks the what-if's counts against SQL, and states PASS or FAIL against the
target of 10 seconds.

Run::

    scripts/with-postgres --durable .venv/bin/python bench/policy_whatif.py [--demands N]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dueprocess.authorities import service as authorities
from dueprocess.authorities.schemas import AuthorityIn
from dueprocess.config import Settings
from dueprocess.demands import states
from dueprocess.migrations import all_metadata, upgrade
from dueprocess.policy import whatif as policy_whatif
from dueprocess.policy.rules import KINDS, LEGAL_PROCESSES
from dueprocess.policy.templates import template_text
from dueprocess.runtime import Runtime

TARGET_SECONDS = 10.0
DATABASE = "dueprocess_bench_whatif"
# (slug, jurisdiction, share of the demands)
AUTHORITIES = [
    ("hkpf-nsd", "HK", 0.07),
    ("hkpf-cyber", "HK", 0.03),
    ("de-bka", "DE", 0.12),
    ("us-fbi", "US", 0.20),
    ("us-cand-court", "US-CA", 0.08),
    ("gb-met", "GB", 0.12),
    ("in-meity", "IN", 0.10),
    ("fr-police", "FR", 0.08),
    ("br-pf", "BR", 0.08),
    ("jp-npa", "JP", 0.05),
    ("au-afp", "AU", 0.04),
    ("tr-btk", "TR", 0.03),
]
OPEN = sorted(s.value for s in states.OPEN)
OPEN_WEIGHTS = {
    "received": 55,
    "legal-review": 20,
    "human-rights-review": 10,
    "awaiting-approval": 5,
    "paused": 10,
}
CLOSED = ["done", "refused", "redirected", "withdrawn"]
PENALTY = "Fine of HK$100,000 and imprisonment for six months (Article 43 Implementation Rules)"
T = TypeVar("T")


def fresh_runtime(admin_url: str) -> Runtime:
    """A runtime on a new, migrated database on the benchmark cluster."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    url = make_url(admin_url).set(database=DATABASE).render_as_string(hide_password=False)
    work = Path(tempfile.mkdtemp(prefix="dueprocess-bench-whatif-"))
    runtime = Runtime(Settings(database_url=url, data_dir=work))
    upgrade(runtime.engine)
    return runtime


def register_authorities(runtime: Runtime) -> dict[str, int]:
    """The authorities, through the registry service (as real input would be)."""
    ids = {}
    with runtime.sessions() as session, session.begin():
        for slug, jurisdiction, _share in AUTHORITIES:
            data = AuthorityIn.model_validate(
                {
                    "slug": slug,
                    "name": f"Authority {slug}",
                    "jurisdiction": jurisdiction,
                    "kind": "police",
                    "status": "verified",
                    "official_domains": [f"{slug}.example.gov"],
                    "phone_numbers": [],
                }
            )
            ids[slug] = authorities.create(session, data, actor="bench").id
    return ids


def _copy_columns() -> list[str]:
    """The columns COPY fills; fails loudly if the table gained a required one."""
    filled = [
        "authority_id",
        "jurisdiction",
        "channel",
        "kind",
        "legal_process",
        "legal_basis_instrument",
        "legal_basis_article",
        "summary",
        "data_categories",
        "received_at",
        "deadline",
        "penalty",
        "status",
        "verification_reasons",
        "stance",
        "stance_condition",
        "request_hash",
        "created_at",
    ]
    table = all_metadata().tables["demand"]
    required = {c.name for c in table.columns if not c.nullable and not c.primary_key}
    missing = required - set(filled)
    if missing:
        raise SystemExit(f"the demand table has new required columns: {sorted(missing)}")
    return [c for c in filled if c in table.columns]


def load_demands(
    runtime: Runtime, ids: dict[str, int], open_n: int, closed_n: int, seed: int
) -> float:
    """COPY ``open_n`` open and ``closed_n`` closed demands; returns the seconds it took."""
    rng = random.Random(seed)
    columns = _copy_columns()
    now = datetime.now(UTC)
    slugs = [slug for slug, _j, _s in AUTHORITIES]
    weights = [share for _slug, _j, share in AUTHORITIES]
    places = {slug: j for slug, j, _s in AUTHORITIES}
    open_statuses = list(OPEN_WEIGHTS)
    open_weights = list(OPEN_WEIGHTS.values())
    assert set(open_statuses) == set(OPEN), "the open statuses changed"
    started = time.perf_counter()
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        statement = f"COPY demand ({', '.join(columns)}) FROM STDIN"
        with cursor.copy(statement) as copy:
            buffer = io.StringIO()
            total = open_n + closed_n
            for i in range(total):
                slug = rng.choices(slugs, weights)[0]
                jurisdiction = places[slug]
                status = (
                    rng.choices(open_statuses, open_weights)[0]
                    if i < open_n
                    else rng.choice(CLOSED)
                )
                if status == "paused":
                    stance, condition = "pause", "pending legal review of the order"
                elif status == "human-rights-review":
                    stance, condition = "escalate", "human-rights review first"
                else:
                    stance, condition = "process", None
                received = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 365))
                deadline = (
                    received + timedelta(days=rng.choice((1, 3, 7, 30, 90)))
                    if rng.random() < 0.7
                    else None
                )
                row = (
                    str(ids[slug]),
                    jurisdiction,
                    "api",
                    rng.choice(KINDS),
                    rng.choice(LEGAL_PROCESSES),
                    "Instrument",
                    "Article 1",
                    "",
                    "[]",
                    received.isoformat(),
                    deadline.isoformat() if deadline else "\\N",
                    PENALTY if jurisdiction == "HK" else "\\N",
                    status,
                    "[]",
                    stance,
                    condition or "\\N",
                    f"{i:064x}",
                    now.isoformat(),
                )
                buffer.write("\t".join(row))
                buffer.write("\n")
                if i % 50_000 == 49_999:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        raw.commit()
        cursor.execute("ANALYZE demand")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def best_of(runs: int, fn: Callable[[], T]) -> tuple[float, float, T]:
    """(first run's seconds, best run's seconds, last result)."""
    times = []
    result: Any = None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return times[0], min(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demands", type=int, default=1_000_000, help="open demands")
    parser.add_argument("--closed", type=int, default=100_000, help="closed demands too")
    parser.add_argument("--seed", type=int, default=2020)
    args = parser.parse_args()
    admin_url = os.environ.get("DUEPROCESS_TEST_POSTGRES_URL")
    if not admin_url:
        print("run under scripts/with-postgres (DUEPROCESS_TEST_POSTGRES_URL is not set)")
        return 2
    runtime = fresh_runtime(admin_url)
    ids = register_authorities(runtime)
    loaded = load_demands(runtime, ids, args.demands, args.closed, args.seed)
    print(f"loaded {args.demands:,} open and {args.closed:,} closed demands in {loaded:.1f} s")

    open_list = ", ".join(f"'{s}'" for s in OPEN)
    count_sql = text(f"SELECT count(*) FROM demand WHERE status IN ({open_list})")

    def count() -> int:
        with runtime.engine.connect() as conn:
            return int(conn.execute(count_sql).scalar_one())

    facebook = template_text("facebook-whatsapp-2020")

    def whatif() -> Any:
        with runtime.sessions() as session, session.begin():
            return policy_whatif.whatif(session, facebook, limit=200)

    count_first, count_best, rows = best_of(3, count)
    whatif_first, whatif_best, result = best_of(3, whatif)

    condition = "pending human-rights due diligence"
    with runtime.engine.connect() as conn:
        expected = conn.execute(
            text(
                f"SELECT count(*) FROM demand WHERE status IN ({open_list}) AND ("
                "(jurisdiction = 'HK' AND (stance IS DISTINCT FROM 'pause'"
                "  OR stance_condition IS DISTINCT FROM :condition))"
                " OR (jurisdiction <> 'HK' AND (stance IS DISTINCT FROM 'process'"
                "  OR stance_condition IS NOT NULL)))"
            ),
            {"condition": condition},
        ).scalar_one()
    assert rows == args.demands, (rows, args.demands)
    assert result.open_demands == rows, (result.open_demands, rows)
    assert result.changing == expected, (result.changing, expected)
    assert len(result.changes) == 200
    assert len(result.deadlines) == 200

    print(f"PostgreSQL {runtime.engine.dialect.server_version_info}, {os.cpu_count()} CPUs")
    print(
        f"SELECT count(*) of open demands ({rows:,} rows): best {count_best:.3f} s "
        f"(first {count_first:.3f} s)"
    )
    print(
        f"what-if, Facebook/WhatsApp template:          best {whatif_best:.3f} s "
        f"(first {whatif_first:.3f} s), {whatif_best / count_best:.1f}x the count"
    )
    how = ", ".join(f"{t.from_stance} -> {t.to_stance}: {t.count:,}" for t in result.transitions)
    print(f"  {result.changing:,} would change stance (checked against SQL): {how}")
    print(
        f"  deadlines that would pass while newly paused: {result.deadlines_missed:,} "
        f"(already passed: {result.deadlines_already_passed:,})"
    )
    verdict = "PASS" if whatif_best < TARGET_SECONDS else "FAIL"
    print(
        f"{verdict}: what-if over {rows:,} open demands in {whatif_best:.2f} s "
        f"(target < {TARGET_SECONDS:.0f} s)"
    )
    runtime.close()
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
