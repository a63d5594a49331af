"""Serving the app with one or several worker processes on one port.

The parent binds one listening socket and every worker accepts from it: a worker whose
event loop is free takes the connections waiting at that moment. (With a socket per worker
and ``SO_REUSEPORT`` the kernel assigns each connection by a hash of its addresses, busy
worker or not.) Neither spreads a handful of keep-alive clients evenly, so benchmarks use
more connections than workers. The socket is created as ``IPPROTO_TCP`` so that asyncio
sets ``TCP_NODELAY`` on every accepted connection: uvicorn's own multi-worker mode binds
with ``proto=0``, and then every keep-alive request after the first waits ~40 ms for a
delayed ACK (uvicorn issue #3149; measured in BENCHMARKS.md).
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
from types import FrameType

import uvicorn

from dueprocess.config import Settings


def listener(host: str, port: int) -> socket.socket:
    """A listening TCP socket to hand to the workers, with TCP_NODELAY-ready proto."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _worker(settings: Settings, sock: socket.socket) -> None:
    from dueprocess.runtime import Runtime
    from dueprocess.web.app import create_app

    config = uvicorn.Config(
        create_app(Runtime(settings)),
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    """Serve until interrupted. ``workers`` processes share the port (see module docstring)."""
    sock = listener(host, port)
    if workers <= 1:
        _worker(settings, sock)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_worker, args=(settings, sock), daemon=True) for _ in range(workers)
    ]
    for process in processes:
        process.start()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        for process in processes:
            if process.is_alive():
                process.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for process in processes:
        process.join()
