"""Demands for the review benchmarks, generated from a seed and copied straight into the real
tables (``COPY``), as a service with that many would hold them: twelve authorities in eleven
jurisdictions (a tenth from Hong Kong), every open status in the proportions a busy service
sees (most waiting for intake), a tenth closed; kinds weighted as transparency reports show
them (user data most, emergencies few); most with a legal deadline within days or weeks;
references, summaries in English or Chinese and a target each, with their search rows
(``review.search.document``, as intake writes them); risk flags on some; reviewers assigned
to part of each review queue.

Used by bench/review_queue.py and bench/policy_activation.py, on PostgreSQL only.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from dueprocess import inserts
from dueprocess.authorities import service as authorities
from dueprocess.authorities.schemas import AuthorityIn
from dueprocess.demands.models import DemandKind, LegalProcess
from dueprocess.migrations import all_metadata
from dueprocess.review import deadlines, search
from dueprocess.runtime import Runtime
from tests import factories

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
OPEN_WEIGHTS = {
    "received": 55,
    "legal-review": 20,
    "human-rights-review": 10,
    "awaiting-approval": 5,
    "paused": 10,
}
CLOSED = ["done", "refused", "redirected", "withdrawn"]
KIND_WEIGHTS = {
    "user-data": 60,
    "removal": 15,
    "preservation": 10,
    "geo-restriction": 5,
    "account-restriction": 4,
    "emergency-disclosure": 3,
    "decryption": 2,
    "interception": 1,
}
PROCESS_WEIGHTS = {
    "subpoena": 30,
    "court-order": 30,
    "warrant": 15,
    "administrative-order": 18,
    "mlat": 5,
    "emergency": 2,
}
ENGLISH = [
    "Subscriber records for the account named",
    "Remove the post calling for a protest march",
    "Identify the organisers of the assembly",
    "Preserve the account's messages pending a warrant",
    "Content of messages about the fraud investigation",
    "Withhold the video in the jurisdiction",
    "Traffic data for the period of the incident",
    "Suspend the account for threats against officials",
]
CHINESE = [
    "要求刪除「光復香港，時代革命」的帖子",
    "提供發布五大訴求帖子的帳戶資料",
    "要求提供記者的用戶資料",
    "刪除呼籲集會遊行的帖子",
    "提供該帳戶的登記資料",
]
FLAGS = [
    ("political", "high"),
    ("journalism", "high"),
    ("religion", "high"),
    ("protected-account", "high"),
    ("over-broad", "medium"),
    ("target-not-found", "low"),
]
PENALTY = "Fine of HK$100,000 and imprisonment for six months (Article 43 Implementation Rules)"
REVIEWERS = 40  # per role


@dataclass(frozen=True)
class Loaded:
    """What :func:`load` made: the accounts by role (e-mail -> id), the authorities (slug ->
    id), and how long the copy took."""

    people: dict[str, dict[str, int]]
    authorities: dict[str, int]
    seconds: float
    demands: int


def register(runtime: Runtime) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """The authorities and staff accounts, through their services."""
    slugs: dict[str, int] = {}
    people: dict[str, dict[str, int]] = {}
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
            slugs[slug] = authorities.create(session, data, actor="bench").id
        for role in ("intake", "legal-reviewer", "human-rights-reviewer", "approver"):
            people[role] = {}
            for n in range(REVIEWERS):
                email = f"{role}-{n}@example.org"
                people[role][email] = factories.account(session, email, [role]).id
    return slugs, people


_WORKER = {
    "received": "intake",
    "legal-review": "legal-reviewer",
    "human-rights-review": "human-rights-reviewer",
    "awaiting-approval": "approver",
}


def _rows(
    open_n: int, closed_n: int, seed: int, slugs: dict[str, int], people: dict[str, dict[str, int]]
) -> Iterator[tuple[dict[str, Any], str, list[tuple[str, str]]]]:
    """(demand row, its target, its flags) for every demand, ids from 1."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    names = [s for s, _j, _w in AUTHORITIES]
    weights = [w for _s, _j, w in AUTHORITIES]
    places = {s: j for s, j, _w in AUTHORITIES}
    statuses, status_w = list(OPEN_WEIGHTS), list(OPEN_WEIGHTS.values())
    kinds, kind_w = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    processes, process_w = list(PROCESS_WEIGHTS), list(PROCESS_WEIGHTS.values())
    staff = {status: list(people[role].values()) for status, role in _WORKER.items()}
    for i in range(1, open_n + closed_n + 1):
        slug = rng.choices(names, weights)[0]
        jurisdiction = places[slug]
        status = rng.choices(statuses, status_w)[0] if i <= open_n else rng.choice(CLOSED)
        if status == "paused":
            stance, condition = "pause", "pending legal review of the order"
        elif status == "human-rights-review":
            stance, condition = "escalate", "human-rights review first"
        else:
            stance, condition = "process", None
        kind = rng.choices(kinds, kind_w)[0]
        process = (
            "emergency" if kind == "emergency-disclosure" else rng.choices(processes, process_w)[0]
        )
        received = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 120))
        deadline = (
            received + timedelta(days=rng.choice((1, 2, 3, 7, 10, 30)))
            if rng.random() < 0.7
            else None
        )
        due = deadlines.due_at(received, deadline, DemandKind(kind))
        assignee = None
        if status in staff and rng.random() < (0.05 if status == "received" else 0.4):
            assignee = rng.choice(staff[status])
        chinese = jurisdiction == "HK" and rng.random() < 0.6
        summary = rng.choice(CHINESE if chinese else ENGLISH)
        verification = rng.choices(("verified", "unverified", "suspicious"), (60, 35, 5))[0]
        row = {
            "id": i,
            "authority_id": slugs[slug],
            "reference": f"{slug.upper()}/{received.year}/{i:07d}",
            "jurisdiction": jurisdiction,
            "channel": "api",
            "kind": kind,
            "legal_process": process,
            "legal_basis_instrument": "Instrument",
            "legal_basis_article": "Article 1",
            "summary": summary,
            "data_categories": [],
            "received_at": received,
            "deadline": deadline,
            "due_at": due,
            "emergency": deadlines.is_emergency(DemandKind(kind), LegalProcess(process)),
            "penalty": PENALTY if jurisdiction == "HK" else None,
            "status": status,
            "verification_state": verification,
            "verification_confidence": 60,
            "verification_reasons": [],
            "stance": stance,
            "stance_condition": condition,
            "request_hash": f"{i:064x}",
            "created_at": received,
            "revision": 0,
            "assignee_id": assignee,
            "assigned_at": received if assignee else None,
            "human_rights_required": status == "human-rights-review",
        }
        target = f"https://microblog.demo/@user_{rng.randrange(200_000)}/{rng.randrange(10**7)}"
        flags = []
        if rng.random() < 0.15:
            flags = rng.sample(FLAGS, rng.choice((1, 1, 2)))
            if any(level == "high" for _c, level in flags):
                row["human_rights_required"] = True
        yield row, target, flags


def load(runtime: Runtime, *, open_n: int, closed_n: int, seed: int) -> Loaded:
    """Register authorities and staff, then COPY the demands, their search rows and flags."""
    slugs, people = register(runtime)
    started = time.perf_counter()
    table = all_metadata().tables["demand"]
    columns: list[str] | None = None
    raw = runtime.engine.raw_connection()
    try:
        cursor = raw.cursor()
        batch: list[dict[str, Any]] = []
        searches: list[str] = []
        flags: list[str] = []
        at = datetime.now(UTC).isoformat()

        def flush() -> None:
            nonlocal columns
            if not batch:
                return
            if columns is None:
                columns = list(batch[0])
                required = {
                    c.name for c in table.columns if not c.nullable and c.server_default is None
                }
                missing = required - set(columns) - {"id"}
                if missing:
                    raise SystemExit(
                        f"the demand table has new required columns: {sorted(missing)}"
                    )
            lines = inserts.copy_lines(table, columns, batch)  # type: ignore[arg-type]
            with cursor.copy(f"COPY demand ({', '.join(columns)}) FROM STDIN") as copy:
                copy.write("".join(lines))
            with cursor.copy("COPY demand_search (demand_id, text, terms) FROM STDIN") as copy:
                copy.write("".join(searches))
            if flags:
                flag_columns = "demand_id, code, level, summary, evidence, computed_at"
                with cursor.copy(f"COPY risk_flag ({flag_columns}) FROM STDIN") as copy:
                    copy.write("".join(flags))
            batch.clear()
            searches.clear()
            flags.clear()

        for row, target, raised in _rows(open_n, closed_n, seed, slugs, people):
            batch.append(row)
            doc = search.document(row["reference"], row["summary"], [target])
            searches.append(
                f"{row['id']}\t{inserts.copy_field(doc.text)}\t{inserts.copy_field(doc.terms)}\n"
            )
            for code, level in raised:
                flags.append(f"{row['id']}\t{code}\t{level}\t{code} (generated)\t[]\t{at}\n")
            if len(batch) == 20_000:
                flush()
        flush()
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('demand', 'id'), (SELECT max(id) FROM demand))"
        )
        raw.commit()
    finally:
        raw.close()
    with runtime.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(
            text("VACUUM ANALYZE demand, demand_search, risk_flag")
        )
    return Loaded(people, slugs, time.perf_counter() - started, open_n + closed_n)
