"""The worker: claims due actions, runs each through its kind's handler, records the outcome.
``dueprocess worker`` runs :func:`run`; several may run on PostgreSQL, one on SQLite.

Each action is three steps, each its own transaction: claim (committed before any connector
call), the handler's call (outside any transaction: it may take seconds, and must not hold
locks), and the outcome (:func:`~dueprocess.actions.service.succeed` or
:func:`~dueprocess.actions.service.fail`). A crash between any two leaves the action
``running`` until its lease lapses, then another worker takes it with ``attempt`` > 1, and
the handler asks the connector whether the key was applied before acting again
(:class:`Handler`'s contract).

**Handlers** are registered per kind by the domains that own the effect (productions,
restrictions, notices) with :func:`register`. An action whose kind has no handler yet fails
with that said, and waits for staff; nothing is marked done that was not done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from dueprocess.actions import service
from dueprocess.actions.models import ActionKind
from dueprocess.actions.service import Claimed
from dueprocess.runtime import Runtime

log = logging.getLogger("dueprocess.worker")

Handler = Callable[[Runtime, Claimed], Mapping[str, Any]]
"""Does one action through the connector and returns what to record as its result (JSON).

Contract: pass ``claimed.key`` to every connector call; when ``claimed.attempt`` > 1, first
ask the connector whether the key was applied (``dueprocess_was_applied``) and, if so,
return that instead of acting again. Raise (any exception; its message is recorded, never a
stack trace) when the action did not happen: it is retried after a back-off."""

_HANDLERS: dict[ActionKind, Handler] = {}


def register(kind: ActionKind, handler: Handler) -> None:
    """Make ``handler`` the one that runs actions of ``kind`` (a later call replaces it)."""
    _HANDLERS[kind] = handler


def handler_for(kind: ActionKind) -> Handler | None:
    """The handler registered for ``kind``, if any."""
    return _HANDLERS.get(kind)


class NoHandler(Exception):
    """An action of a kind nothing can run yet."""


def run_one(runtime: Runtime, worker: str, claimed: Claimed) -> bool:
    """Run a claimed action and record its outcome; True if it was done."""
    handler = handler_for(claimed.kind)
    try:
        if handler is None:
            raise NoHandler(f"no handler for {claimed.kind.value} actions is installed")
        result = handler(runtime, claimed)
    except Exception as exc:  # any failure of the call is the action's, recorded; never lost
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        log.warning("action %s attempt %s failed: %s", claimed.id, claimed.attempt, message)
        with runtime.sessions() as session, session.begin():
            service.fail(session, claimed.id, worker, message)
        return False
    with runtime.sessions() as session, session.begin():
        recorded = service.succeed(session, claimed.id, worker, result)
        if recorded:
            service.settle(session, claimed.demand_id)
    if not recorded:
        log.warning("action %s: lease lapsed before it was recorded; another worker has it",
                    claimed.id)  # fmt: skip
    return recorded


def run_batch(runtime: Runtime, worker: str, *, limit: int = 10) -> int:
    """Claim up to ``limit`` due actions and run them; how many were claimed."""
    with runtime.sessions() as session, session.begin():
        claimed = service.claim(session, worker, limit=limit)
    for action in claimed:
        run_one(runtime, worker, action)
    return len(claimed)


def run(
    runtime: Runtime,
    worker: str,
    *,
    stop: threading.Event | None = None,
    batch: int = 10,
    idle_seconds: float = 1.0,
    until_idle: bool = False,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Run actions until ``stop`` is set (or, with ``until_idle``, until none is due);
    sleeps ``idle_seconds`` when none is. Returns how many were claimed in all."""
    stop = stop or threading.Event()
    total = 0
    while not stop.is_set():
        claimed = run_batch(runtime, worker, limit=batch)
        total += claimed
        if progress is not None and claimed:
            progress(claimed)
        if not claimed:
            if until_idle:
                break
            stop.wait(idle_seconds)
    return total
