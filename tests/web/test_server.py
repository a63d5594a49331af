"""``dueprocess serve --workers N``: one port, every worker accepting from one socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(
    cli_env: dict[str, str], workers: int
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``dueprocess serve --workers N`` on a free port, answering; stopped by SIGTERM after,
    which must leave no traceback."""
    port = _free_port()
    command = Path(sys.executable).parent / "dueprocess"
    server = subprocess.Popen(
        [str(command), "serve", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **cli_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                assert server.poll() is None, "server exited"
                time.sleep(0.2)
        yield server, url
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert b"Traceback" not in errors, errors.decode()


@pytest.mark.skipif(BACKEND != "postgresql", reason="several workers need PostgreSQL")
def test_two_workers_serve_one_port_and_stop_on_sigterm(cli_env: dict[str, str]) -> None:
    with _serving(cli_env, 2) as (_, url):
        clients = [httpx.Client(timeout=5) for _ in range(4)]  # keep-alive connections
        try:
            answers = [c.get(url).status_code for _ in range(5) for c in clients]
        finally:
            for c in clients:
                c.close()
        assert answers == [200] * 20


def _connections_by_process(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections to ``port`` each process holds (Linux /proc)."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] == "01":  # ESTABLISHED
                inodes.add(fields[9])
    held = {}
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        links = [os.readlink(fd) for fd in fds.iterdir()]
        held[pid] = sum(link.startswith("socket:[") and link[8:-1] in inodes for link in links)
    return held


@pytest.mark.skipif(BACKEND != "postgresql", reason="several workers need PostgreSQL")
def test_a_few_keep_alive_clients_are_spread_evenly_over_the_workers(
    cli_env: dict[str, str],
) -> None:
    # Opened together, as a benchmark or an importer opens its connections: the first
    # worker to wake used to take them all while the other idled. Round 0 warms the workers
    # up: a worker busy with its first requests (imports, pool) is passed over by design.
    with _serving(cli_env, 2) as (server, url):
        port = int(url.split(":")[2].split("/")[0])
        for round_ in range(4):
            clients = [httpx.Client(timeout=5) for _ in range(4)]
            try:
                with ThreadPoolExecutor(4) as pool:
                    answers = list(pool.map(lambda c: c.get(url).status_code, clients))
                assert answers == [200] * 4
                children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text()
                held = _connections_by_process([int(p) for p in children.split()], port)
                if round_:
                    assert sorted(n for n in held.values() if n) == [2, 2], (round_, held)
            finally:
                for c in clients:
                    c.close()


def test_each_worker_freezes_its_start_up_objects_and_collects_young_ones_less_often() -> None:
    import gc

    from dueprocess.web import server

    before = gc.get_threshold()
    try:
        server._tune_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (server.GC_YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
