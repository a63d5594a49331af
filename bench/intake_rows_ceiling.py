"""The ceiling for batch intake on this machine: only the rows a demand needs, with nothing
else (issue 5's batch target, 10,000 demands/s, is judged against it).

Each of ``--processes`` processes (default 2, one per core) writes batches of 100 demands as
intake does on PostgreSQL: one COPY per table for the demand, its target, its policy
evaluation, its holding reply and its three audit events, chained in Python under the
writers' lock, one commit. No HTTP, no validation, no verification or policy evaluation, no
response: the row values are computed once, only ids, hashes and the chain change. What
dueprocess's ``POST /api/v1/demands/batch`` reaches (bench/intake_api.py --batch 100) is to
be read against this figure.

    scripts/with-postgres --durable .venv/bin/python bench/intake_rows_ceiling.py [--seconds 10]

Like bench/intake_api.py, it states the cluster's settings and warms the cluster up first.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import (  # noqa: E402
    activate_template,
    describe_postgres,
    fresh_runtime,
    warm_up,
)
from tests import factories  # noqa: E402

BATCH = 100
LOCK = 28276576209760099  # dueprocess.audit.service._PG_LOCK_KEY
DEMAND_COLUMNS = [
    "id",
    "authority_id",
    "reference",
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
    "verification_state",
    "verification_confidence",
    "verification_reasons",
    "stance",
    "stance_condition",
    "policy_version_id",
    "request_hash",
    "created_at",
]


def _writer(url: str, seconds: float, counter: multiprocessing.Value) -> None:  # type: ignore[type-arg]
    import psycopg

    from dueprocess.audit.chain import canonical_parts, chain_link
    from dueprocess.clock import isoformat_z

    conn = psycopg.connect(url)
    now = datetime.now(UTC)
    received = datetime(2020, 7, 7, 1, 30, tzinfo=UTC)
    events = [
        (
            "demand.submitted",
            {
                "authority": "hkpf-nsd",
                "channel": "api",
                "kind": "removal",
                "request_hash": "ab" * 32,
                "targets": 1,
                "documents": [],
            },
        ),
        (
            "demand.verification_assessed",
            {
                "state": "unverified",
                "confidence": 20,
                "reasons": [{"signal": "api-token", "effect": -1}],
            },
        ),
        (
            "demand.paused",
            {
                "from": "received",
                "reason": 'policy version 1, rule "hk-nsl": pause (human-rights review)',
                "policy_version": 1,
                "rule": "hk-nsl",
                "policy": {
                    "via": "intake",
                    "policy_version": 1,
                    "rule": "hk-nsl",
                    "stance": "pause",
                    "condition": "human-rights review",
                    "from": None,
                    "at": isoformat_z(received),
                },
                "reply": {"kind": "holding", "text_sha256": "cd" * 32},
            },
        ),
    ]
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with conn.transaction(), conn.cursor() as cur:
            ids = [
                r[0]
                for r in cur.execute(
                    "SELECT nextval('demand_id_seq') FROM generate_series(1, %s)", (BATCH,)
                )
            ]
            with cur.copy(f"COPY demand ({', '.join(DEMAND_COLUMNS)}) FROM STDIN") as copy:
                for i in ids:
                    copy.write_row(
                        (
                            i,
                            1,
                            f"R-{i}",
                            "HK",
                            "api",
                            "removal",
                            "administrative-order",
                            "NSL",
                            "43",
                            "",
                            "[]",
                            received,
                            None,
                            None,
                            "paused",
                            "unverified",
                            20,
                            '[{"signal":"api-token","effect":-1}]',
                            "pause",
                            "human-rights review",
                            1,
                            "ab" * 32,
                            now,
                        )
                    )
            with cur.copy("COPY target (demand_id, position, type, identifier) FROM STDIN") as copy:
                for i in ids:
                    copy.write_row((i, 0, "content", f"https://microblog.demo/@x/{i}"))
            with cur.copy(
                "COPY policy_evaluation (demand_id, version_id, at, stance, rule_id, "
                "condition, explanation) FROM STDIN"
            ) as copy:
                for i in ids:
                    copy.write_row((i, 1, received, "pause", "hk-nsl", "review", '["HK"]'))
            with cur.copy("COPY reply (demand_id, kind, text, created_at) FROM STDIN") as copy:
                for i in ids:
                    copy.write_row((i, "holding", "We have paused our review.", now))
            parts = [
                (
                    i,
                    action,
                    data,
                    *canonical_parts(
                        at=isoformat_z(now),
                        actor="account:1",
                        action=action,
                        subject=f"demand:{i}",
                        data=data,
                        validated=True,
                    ),
                )
                for i in ids
                for action, data in events
            ]
            cur.execute(f"SELECT pg_advisory_xact_lock({LOCK})")
            head = cur.execute("SELECT seq, hash FROM audit_event ORDER BY seq DESC LIMIT 1")
            row = head.fetchone()
            seq, prev = (row[0], row[1]) if row else (0, "0" * 64)
            with cur.copy(
                "COPY audit_event (seq, at, actor, action, subject, data, prev, hash) FROM STDIN"
            ) as copy:
                for i, action, data, head_bytes, tail in parts:
                    seq += 1
                    digest = hashlib.sha256(head_bytes + chain_link(prev, seq) + tail).hexdigest()
                    copy.write_row(
                        (
                            seq,
                            now,
                            "account:1",
                            action,
                            f"demand:{i}",
                            orjson.dumps(data).decode(),
                            prev,
                            digest,
                        )
                    )
                    prev = digest
        done += BATCH
    with counter.get_lock():
        counter.value += done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    runtime = fresh_runtime("bench_rows_ceiling", "postgresql")
    with runtime.sessions() as session, session.begin():
        factories.authority(session)
    # A policy version row for the evaluations' foreign key.
    activate_template(runtime, "facebook-whatsapp-2020.yaml", datetime(2020, 7, 6, tzinfo=UTC))
    print(f"PostgreSQL: {describe_postgres(runtime)}")
    warm_up(runtime)
    url = runtime.settings.database_url.replace("postgresql+psycopg", "postgresql")
    context = multiprocessing.get_context("spawn")
    counter = context.Value("q", 0)
    workers = [
        context.Process(target=_writer, args=(url, args.seconds, counter))
        for _ in range(args.processes)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    rate = counter.value / args.seconds
    print(
        f"{args.processes} process(es), batches of {BATCH}, {args.seconds:.0f} s: "
        f"the rows alone, {rate:,.0f} demands/s (7 rows each: demand, target, evaluation, "
        "reply, 3 audit events)"
    )


if __name__ == "__main__":
    main()
