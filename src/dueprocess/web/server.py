"""Serving the app with one or several worker processes on one port.

The parent binds one listening socket and every worker accepts from it, the one with the
fewest open connections first. Left to the event loops, whichever worker woke first took
the connections waiting at that moment, and a few keep-alive clients (four batch clients,
say) often all landed on one worker while the other idled: half the machine unused for as
long as they stayed connected. (With a socket per worker and ``SO_REUSEPORT`` the kernel
assigns each connection by a hash of its addresses, which is no better.) So each worker
publishes in shared memory its count of open connections and the last time its accept
loop ran, and leaves a waiting connection to any worker with fewer connections whose loop
ran within :data:`ALIVE_SECONDS`; otherwise it takes it. A worker stuck in a long request,
or not given a core for that long, is passed over, so no client is stranded.

A worker serves one request to itself (``/healthz``) before it starts accepting: its first
request used to build the app's middleware, import what handlers import lazily and open the
first database connection, which on a loaded machine kept it from its accept loop for over
:data:`ALIVE_SECONDS`, so the other worker took its share of the clients arriving meanwhile.
Until then it publishes no beat, and is passed over as not started.

Accepted sockets get ``TCP_NODELAY``: uvicorn's own multi-worker mode binds with
``proto=0``, asyncio then leaves Nagle on, and every keep-alive request after the first
waits ~40 ms for a delayed ACK (uvicorn issue #3149; measured in BENCHMARKS.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import multiprocessing
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

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


#: A worker whose accept loop ran this recently is left the connections it should take.
ALIVE_SECONDS = 0.25


@dataclass(frozen=True)
class _Shared:
    """What the workers publish to each other, one slot per worker: open connections, and
    the ``time.monotonic()`` (one clock for every process) at which its accept loop last
    ran (0: not started); and how recent a run makes a worker responsive."""

    counts: Any
    beats: Any
    alive_seconds: float = ALIVE_SECONDS


def leave_it(
    mine: int, counts: Sequence[int], beats: Sequence[float], now: float, alive: float
) -> bool:
    """Whether a worker with ``mine`` open connections leaves a waiting one to another: to a
    worker with fewer whose accept loop ran within ``alive`` seconds (``beats``; 0 is a
    worker not started)."""
    return any(
        count < mine and beat > 0 and now - beat < alive
        for count, beat in zip(counts, beats, strict=True)
    )


def _worker(
    settings: Settings, sock: socket.socket, shared: _Shared | None = None, index: int = 0
) -> None:
    """Serve the app from ``sock``; with ``shared``, as worker ``index`` of several,
    accepting by fewest open connections (module docstring)."""
    from dueprocess.runtime import Runtime
    from dueprocess.web.app import create_app

    config = uvicorn_config(create_app(Runtime(settings)))
    _tune_collector()
    if shared is None:
        uvicorn.Server(config).run(sockets=[sock])
    else:
        _BalancedServer(config, sock, shared, index).run()


def uvicorn_config(app: Any, **options: Any) -> uvicorn.Config:
    """How the app is served (the tests serve it so too). uvicorn's ``proxy_headers`` is
    off: left on, it believes ``X-Forwarded-For`` from any peer on 127.0.0.1, and the
    app reads it itself, from the proxies configured (``web.middleware.ClientAddress``)."""
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=30,
        proxy_headers=False,
        **options,
    )


#: Allocations between two young-generation collections (Python's default is 700).
GC_YOUNG_THRESHOLD = 20_000


def _tune_collector() -> None:
    """Keep the cycle collector off the app's own long-lived objects and out of the way of a
    batch's short-lived ones. The objects made at start-up (the app, its routes and schemas,
    SQLAlchemy's metadata: some 120,000) never become garbage, yet every full
    collection walked them all, pausing requests; they are frozen out of collection. A batch
    of 100 demands allocates hundreds of thousands of short-lived objects, which at the
    default threshold set off collections every few hundred allocations. With both, a
    batch benchmark ran 5-10% faster at a third less p99 latency (BENCHMARKS.md)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class _BalancedServer(uvicorn.Server):
    """A uvicorn server that accepts from a shared socket itself (module docstring)."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, shared: _Shared, index: int):
        super().__init__(config)
        self._listener, self._shared, self._index = sock, shared, index
        # Published as connections open and close, not only when this worker looks.
        self.server_state.connections = _CountedConnections(shared.counts, index)
        self._accepting: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=[])  # no listening server of uvicorn's own
        if not self.should_exit:
            await self._warm_up()
            self._listener.setblocking(False)
            self._accepting = asyncio.create_task(self._accept_forever())

    async def _warm_up(self) -> None:
        """Serve ``GET /healthz`` in-process, before accepting (module docstring). A failure is
        logged and serving goes on: a client then gets the same error."""
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/healthz",
            "raw_path": b"/healthz",
            "root_path": "",
            "query_string": b"",
            "headers": [(b"host", b"localhost")],
            "client": ("127.0.0.1", 0),
            "server": ("127.0.0.1", 0),
            "state": dict(self.lifespan.state),
        }
        status: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        log = logging.getLogger("uvicorn.error")
        try:
            await self.config.loaded_app(scope, receive, send)
        except Exception:  # a broken app or database: every request will say so
            log.exception("worker warm-up failed")
            return
        if status != [200]:
            log.warning("worker warm-up answered %s", status)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._accepting
        await super().shutdown(sockets=sockets)

    def _protocol(self) -> asyncio.Protocol:
        # What uvicorn's own startup hands to create_server for each connection.
        return self.config.http_protocol_class(  # type: ignore[call-arg]
            config=self.config, server_state=self.server_state, app_state=self.lifespan.state
        )

    async def _accept_forever(self) -> None:
        loop = asyncio.get_running_loop()
        counts, beats, index = self._shared.counts, self._shared.beats, self._index
        connections, alive = self.server_state.connections, self._shared.alive_seconds
        while True:
            beats[index] = time.monotonic()
            try:
                await asyncio.wait_for(_readable(loop, self._listener), ALIVE_SECONDS / 5)
            except TimeoutError:
                continue  # nothing waiting: beat again
            if leave_it(len(connections), counts[:], beats[:], time.monotonic(), alive):
                await asyncio.sleep(0.002)  # theirs to take; look again (and beat) shortly
                continue
            mine = len(connections)
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                continue  # another worker took it
            except OSError as exc:  # e.g. out of file descriptors: log, breathe, go on
                logging.getLogger("uvicorn.error").warning("accept failed: %s", exc)
                beats[index] = 0.0  # meanwhile the others take what would be ours
                await asyncio.sleep(0.1)
                continue
            counts[index] = mine + 1  # claimed before the others look again
            conn.setblocking(False)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await loop.connect_accepted_socket(self._protocol, conn)
            counts[index] = len(connections)


class _CountedConnections(set[Any]):
    """uvicorn's set of open connections, publishing its size in ``counts[index]``."""

    def __init__(self, counts: Any, index: int) -> None:
        super().__init__()
        self._counts, self._index = counts, index

    def add(self, item: Any) -> None:
        super().add(item)
        self._counts[self._index] = len(self)

    def discard(self, item: Any) -> None:
        super().discard(item)
        self._counts[self._index] = len(self)

    def remove(self, item: Any) -> None:
        super().remove(item)
        self._counts[self._index] = len(self)


async def _readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Until ``sock`` has a connection waiting (or was woken with nothing: callers retry)."""
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock.fileno(), wake)
    try:
        await ready
    finally:
        loop.remove_reader(sock.fileno())


def serve(
    settings: Settings,
    host: str,
    port: int,
    workers: int = 1,
    *,
    alive_seconds: float = ALIVE_SECONDS,
) -> None:
    """Serve until interrupted. ``workers`` processes share the port, leaving a waiting
    connection to one with fewer whose accept loop ran within ``alive_seconds`` (see module
    docstring; the tests raise it so that a loaded machine cannot pass a worker over)."""
    sock = listener(host, port)
    if workers <= 1:
        _worker(settings, sock)
        return
    context = multiprocessing.get_context("spawn")
    shared = _Shared(
        counts=context.Array("i", workers, lock=False),
        beats=context.Array("d", workers, lock=False),
        alive_seconds=alive_seconds,
    )
    processes = [
        context.Process(target=_worker, args=(settings, sock, shared, i), daemon=True)
        for i in range(workers)
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
