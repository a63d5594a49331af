"""``dueprocess serve --workers N``: one port, every worker accepting from one socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(BACKEND != "postgresql", reason="several workers need PostgreSQL")
def test_two_workers_serve_one_port_and_stop_on_sigterm(cli_env: dict[str, str]) -> None:
    port = _free_port()
    command = Path(sys.executable).parent / "dueprocess"
    server = subprocess.Popen(
        [str(command), "serve", "--port", str(port), "--workers", "2"],
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
        clients = [httpx.Client(timeout=5) for _ in range(4)]  # keep-alive connections
        try:
            answers = [c.get(url).status_code for _ in range(5) for c in clients]
        finally:
            for c in clients:
                c.close()
        assert answers == [200] * 20
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert b"Traceback" not in errors, errors.decode()
