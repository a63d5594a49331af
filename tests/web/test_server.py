"""``dueprocess serve --workers N``: one port, every worker accepting from one socket."""

from __future__ import annotations

import contextlib
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
    cli_env: dict[str, str], workers: int, alive_seconds: float | None = None
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``dueprocess serve --workers N`` on a free port, answering; stopped by SIGTERM after,
    which must leave no traceback. With ``alive_seconds``, ``web.server.serve`` itself, so
    told."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "dueprocess"), "serve"]
    command += ["--port", str(port), "--workers", str(workers)]
    if alive_seconds is not None:
        command = [
            sys.executable,
            "-c",
            "import sys; from dueprocess.config import Settings; "
            "from dueprocess.web.server import serve; "
            "serve(Settings.from_env(), '127.0.0.1', int(sys.argv[1]), int(sys.argv[2]), "
            "alive_seconds=float(sys.argv[3]))",
            str(port),
            str(workers),
            str(alive_seconds),
        ]
    server = subprocess.Popen(
        command,
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


def _sockets_by_process(pids: list[int], port: int, states: set[str]) -> dict[int, int]:
    """How many of the server's sockets on ``port`` in TCP ``states`` (``/proc/net/tcp``
    codes: 01 established, 08 close-wait) each process holds (Linux /proc)."""
    inodes = set()
    with open("/proc/net/tcp") as table:
        for line in list(table)[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] in states:
                inodes.add(fields[9])
    held = {}
    for pid in pids:
        links = []
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError):  # closed since the listing
                links.append(os.readlink(fd))
        held[pid] = sum(link.startswith("socket:[") and link[8:-1] in inodes for link in links)
    return held


def _children(server: subprocess.Popen[bytes]) -> list[int]:
    return [
        int(p) for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    ]


def _connect(url: str, n: int) -> list[httpx.Client]:
    """``n`` keep-alive connections, opened together as a benchmark or an importer opens
    its own, each answered once."""
    clients = [httpx.Client(timeout=30) for _ in range(n)]
    with ThreadPoolExecutor(n) as pool:
        assert list(pool.map(lambda c: c.get(url).status_code, clients)) == [200] * n
    return clients


@pytest.mark.skipif(BACKEND != "postgresql", reason="several workers need PostgreSQL")
def test_a_few_keep_alive_clients_are_spread_evenly_over_the_workers(
    cli_env: dict[str, str],
) -> None:
    """A connection goes to the worker with the fewest open, unless that one has not run its
    accept loop for ``alive_seconds`` (stuck, or denied a core: ``test_leave_it`` covers
    that). The left-to-themselves workers used to let the first to wake take them all.

    Under load this failed (``[4] == [2, 2]``): the port answers as soon as one worker does,
    and the other could still be starting, or be busy with its first request; and a busy
    machine can keep even a ready worker off a core for longer than the 0.25 s the server
    allows. So the test waits until both workers take connections (they serve a request to
    themselves before they do), allows 10 s, which no scheduler outwaits, and never closes
    a connection before counting (a close the server has not yet seen would count).
    """
    with _serving(cli_env, 2, alive_seconds=10.0) as (server, url):
        port = int(url.split(":")[2].split("/")[0])
        workers = _children(server)
        kept: list[httpx.Client] = []
        try:
            deadline = time.monotonic() + 120
            while True:  # until both workers are up: one connection each
                while any(_sockets_by_process(workers, port, {"01", "08"}).values()):
                    assert time.monotonic() < deadline, "the server kept closed connections"
                    time.sleep(0.05)
                pair = _connect(url, 2)
                held = _sockets_by_process(workers, port, {"01"})
                if sorted(n for n in held.values() if n) == [1, 1]:
                    kept += pair
                    break
                for c in pair:
                    c.close()
                assert time.monotonic() < deadline, "the second worker never took a connection"
                time.sleep(0.2)
            for round_ in range(1, 4):
                kept += _connect(url, 4)
                held = _sockets_by_process(workers, port, {"01"})
                busy = sorted(n for n in held.values() if n)
                assert busy == [1 + 2 * round_] * 2, (round_, held)
        finally:
            for c in kept:
                c.close()


def test_leave_it() -> None:
    from dueprocess.web.server import ALIVE_SECONDS, leave_it

    now, recent, stale = 100.0, 100.0 - ALIVE_SECONDS / 2, 100.0 - ALIVE_SECONDS * 2
    assert leave_it(2, [2, 1], [now, recent], now, ALIVE_SECONDS)  # fewer, responsive
    assert not leave_it(2, [2, 2], [now, recent], now, ALIVE_SECONDS)  # not fewer
    assert not leave_it(2, [2, 1], [now, stale], now, ALIVE_SECONDS)  # stuck or starved
    assert not leave_it(2, [2, 0], [now, 0.0], now, ALIVE_SECONDS)  # not started
    assert not leave_it(3, [3, 2, 9], [now, stale, recent], now, ALIVE_SECONDS)
    assert leave_it(3, [3, 9, 2], [now, stale, recent], now, ALIVE_SECONDS)


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
