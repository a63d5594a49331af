"""API intake over real HTTP on PostgreSQL (issue 5): single demands (target: 1,000/s at p99
under 100 ms) or, with ``--batch 100``, batches (target: 10,000 demands/s), reported as a
ratio to a bare FastAPI endpoint that parses the same body, served the same way, loaded by
wrk from a second process in the same run.

Each submission goes through the whole path: token check, validation, intake with the
request hash and idempotency, requester verification (received now, so the authority's
volume over the last day is counted, and by the end of a run it is a spike), the
jurisdiction policy (Facebook's July 2020 template is active, so each Hong Kong demand is
paused with a holding reply), the audit events, the commit. Every request carries new
demands (a reference of their own, filled in by ``bench/wrk_post.lua``): the same body sent
again would be a repeat, refused by the duplicate check, which is measured too.

Run it on a durable cluster (``--durable``: ``deploy/postgresql.conf``, as in service); the
output states the cluster's settings. Before the run it warms the new cluster up
(``bench._db.warm_up``: WAL segments to recycle, shared buffers mapped), as a cluster in
service is; ``--cold`` skips that.

    scripts/with-postgres --durable .venv/bin/python bench/intake_api.py [--seconds 15]
    scripts/with-postgres --durable .venv/bin/python bench/intake_api.py --batch 100 --connections 4
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._db import (  # noqa: E402
    activate_template,
    describe_postgres,
    fresh_runtime,
    warm_up,
)
from dueprocess.web.server import listener  # noqa: E402
from tests import factories  # noqa: E402

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bare_worker(sock: socket.socket) -> None:
    import uvicorn

    from bench.bare_app import app

    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(sockets=[sock])


def _wait(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"server at {url} did not start")


def wrk(url: str, body: Path, token: str, seconds: int, connections: int) -> tuple[float, float]:
    """Requests/s and p99 latency (ms) from a wrk run. ``@@UNIQUE@@`` in the body is replaced
    by a value of its own in every request (bench/wrk_post.lua), this run's included."""
    env = {**os.environ, "BODY_FILE": str(body), "TOKEN": token, "RUN": uuid.uuid4().hex[:12]}
    done = subprocess.run(
        [
            "wrk",
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "wrk_post.lua"),
            url,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)[1])  # type: ignore[index]
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", done.stdout)
    assert p99 is not None, done.stdout
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    if errors:
        print(f"  warning: {errors[1]} non-2xx responses from {url}")
    return rate, float(p99[1]) * scale


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _processes(server_pid: int) -> dict[str, list[int]]:
    """The server's workers and every PostgreSQL process, by pid."""
    with open(f"/proc/{server_pid}/task/{server_pid}/children") as f:
        children = [int(p) for p in f.read().split()]
    workers = []  # not multiprocessing's resource tracker
    for pid in children:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"resource_tracker" not in f.read():
                workers.append(pid)
    postgres = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == "postgres":
                        postgres.append(int(entry))
            except OSError:
                continue
    return {"workers": workers, "postgres": postgres}


def _cpu_use(processes: dict[str, list[int]], run: Callable[[], T]) -> tuple[T, str]:
    """``run()``, and how busy each worker and PostgreSQL were meanwhile (share of a core):
    a worker far busier than another means the connections landed unevenly."""

    def snapshot() -> dict[int, float]:
        out = {}
        for pids in processes.values():
            for pid in pids:
                with contextlib.suppress(OSError):  # gone meanwhile
                    out[pid] = _cpu_seconds(pid)
        return out

    before, start = snapshot(), time.monotonic()
    result = run()
    after, elapsed = snapshot(), time.monotonic() - start
    use = {pid: (after[pid] - before[pid]) / elapsed for pid in after if pid in before}
    workers = " / ".join(f"{use.get(pid, 0):.0%}" for pid in processes["workers"])
    postgres = sum(use.get(pid, 0) for pid in processes["postgres"])
    return result, f"CPU during the run (of one core): workers {workers}, PostgreSQL {postgres:.0%}"


def _received_now(**changes: object) -> dict[str, object]:
    """A Hong Kong demand as the API receives one: at the time of submission (so requester
    verification counts the authority's volume over the last day, as it would in service),
    with its deadline ahead."""
    deadline = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    return factories.body(received_at=None, deadline=deadline, **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="Post batches of this many demands to /api/v1/demands/batch instead (target "
        ">= 10,000 demands/s).",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="Measure a new cluster as it is, without warming it up (bench/_db.py: warm_up).",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")

    runtime = fresh_runtime("bench_intake", "postgresql")
    with runtime.sessions() as session, session.begin():
        factories.authority(session)
        token = factories.token(session, "bench@example.org", ["intake"])
    activate_template(runtime, "facebook-whatsapp-2020.yaml", datetime(2020, 7, 6, tzinfo=UTC))
    cluster = describe_postgres(runtime)
    if not args.cold:
        print("warming the cluster up: WAL to recycle, shared buffers mapped ...", flush=True)
        warm_up(runtime)
    body = Path(tempfile.mkdtemp()) / "demand.json"
    if args.batch:
        # Each request new demands: a reference of their own (a repeat would be refused).
        items = [_received_now(reference=f"B-@@UNIQUE@@-{i}") for i in range(args.batch)]
        body.write_text(json.dumps({"demands": items}), encoding="utf-8")
        bare_path, real_path, per_request = "/bare-batch", "/api/v1/demands/batch", args.batch
    else:
        body.write_text(json.dumps(_received_now(reference="S-@@UNIQUE@@")), encoding="utf-8")
        bare_path, real_path, per_request = "/bare", "/api/v1/demands", 1

    # Baseline: the bare endpoint.
    port = _free_port()
    context = multiprocessing.get_context("spawn")
    shared = listener("127.0.0.1", port)  # one socket for every worker, as dueprocess serves
    bare = [
        context.Process(target=_bare_worker, args=(shared,), daemon=True)
        for _ in range(args.workers)
    ]
    for p in bare:
        p.start()
    _wait(f"http://127.0.0.1:{port}/docs")
    bare_url = f"http://127.0.0.1:{port}{bare_path}"
    wrk(bare_url, body, "", 3, args.connections)  # warm-up
    bare_rate, bare_p99 = wrk(bare_url, body, "", args.seconds, args.connections)
    for p in bare:
        p.terminate()
        p.join()
    shared.close()

    # dueprocess, same server set-up.
    port = _free_port()
    env = {
        **os.environ,
        "DUEPROCESS_DATABASE_URL": runtime.settings.database_url,
        "DUEPROCESS_DATA_DIR": str(runtime.settings.data_dir),
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "dueprocess"),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}{real_path}"
        wrk(url, body, token, 3, args.connections)  # warm-up
        (rate, p99), cpu = _cpu_use(
            _processes(server.pid),
            lambda: wrk(url, body, token, args.seconds, args.connections),
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
    with runtime.sessions() as session:
        from sqlalchemy import func, select

        from dueprocess.audit import service as audit
        from dueprocess.demands.models import Demand

        stored = session.scalar(select(func.count(Demand.id)))
        stances: dict[str | None, int] = {
            stance: count
            for stance, count in session.execute(
                select(Demand.stance, func.count(Demand.id)).group_by(Demand.stance)
            )
        }
        from dueprocess.audit.signer import public_key_file
        from dueprocess.audit.verify import load_public_key

        key = public_key_file(runtime.settings.keys_dir)  # the server signed at shutdown
        chain = audit.verify_database(session, [load_public_key(str(key))])
    n = per_request
    print(
        f"workers: {args.workers}, connections: {args.connections}, {args.seconds} s each, "
        f"{n} demand(s) per request"
    )
    print(f"PostgreSQL: {cluster}")
    print(
        f"bare FastAPI endpoint (baseline): {bare_rate * n:9,.0f} demands/s  p99 {bare_p99:6.1f} ms"
    )
    print(f"dueprocess API intake:            {rate * n:9,.0f} demands/s  p99 {p99:6.1f} ms")
    print(cpu)
    print(
        f"ratio to baseline: {rate / bare_rate:.3f}; demands stored: {stored}, by stance: "
        + ", ".join(f"{k}: {v}" for k, v in stances.items())
    )
    print(
        f"audit chain after the run: {chain.events} events, "
        + ("intact" if chain.first_bad_seq is None else f"BROKEN at {chain.first_bad_seq}")
    )
    if args.batch:
        ok = rate * n >= 10_000
        print(f"target >= 10,000 demands/s in batches: {'PASS' if ok else 'FAIL'}")
    else:
        ok = rate >= 1000 and p99 < 100
        print(f"target >= 1,000 demands/s at p99 < 100 ms: {'PASS' if ok else 'FAIL'}")


if __name__ == "__main__":
    main()
