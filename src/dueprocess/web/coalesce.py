"""Single-demand API submissions of one worker written together, a group per transaction.

A demand submitted alone costs a transaction of its own: a connection, the token check, the
intake lock, the active policy, the authority and its volume, a flush, the audit rows, a
commit. Most of that is per transaction, not per demand, so under load the worker's one
:class:`IntakeWriter` thread takes every submission waiting at that moment (up to
``max_group``) and writes them in one transaction with
:func:`dueprocess.intake.flow.receive_many`: the checks, verification, policy and audit events of
:func:`dueprocess.intake.flow.receive`, every table written with one statement for the group.
Each request still gets its own answer, and only after the commit that made its demand
durable.

Each demand stands on its own:

- a refusal of one (bad input, an unknown token, a missing permission) is that request's
  answer, and the others are written (:func:`dueprocess.intake.flow.receive_many` refuses an item
  before it writes or records anything of it);
- if anything else goes wrong (an error from the database at insert or commit, such as two
  workers racing on one idempotency key), the whole group is rolled back and each
  submission is written again in a transaction of its own, so one bad demand never fails
  another;
- a submission (or batch) whose request was cancelled while it waited (the server
  stopping, say) is not written, and the others are answered as usual.

With no load a group holds one submission, so the latency of a lone request is unchanged.

The same thread writes the worker's batches (:meth:`IntakeWriter.run`), in turn with the
groups, each batch in a transaction of its own (a batch is all or nothing, so it is never
mixed with other submissions). A worker thus runs one intake transaction at a time, and
the database as many as there are workers. Two at once in one worker only contend for the
interpreter's lock, and more transactions than cores only contend in the database: on the
2-core machine of BENCHMARKS.md, four batch clients on two workers went from about 9,300
to about 10,300 demands a second when their batches stopped running side by side.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from dueprocess.accounts.signin import Principal, check_token
from dueprocess.demands.schemas import DemandIn, DemandOut
from dueprocess.errors import DueprocessError, from_validation
from dueprocess.intake import flow
from dueprocess.runtime import Runtime
from dueprocess.web.auth import NotAuthenticated, PermissionDenied

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How many waiting submissions one transaction takes at most. A group of 32 is written in
#: about 30 ms on a 2-core machine, which bounds what a request waits behind others.
MAX_GROUP = 32


@dataclass(frozen=True)
class Submission:
    """One API submission as received: the bearer token and the check its route declared,
    the JSON body as sent (validated only after the check, so that a caller who may not
    submit learns nothing from a 422), and the ``Idempotency-Key`` header."""

    token: str
    authorise: Callable[[Principal | None], Principal]
    body: bytes
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Accepted:
    """A written demand (``created``) or the earlier one an identical submission created."""

    demand: DemandOut
    created: bool


@dataclass
class _Job:
    submission: Submission
    future: Future[Accepted] = field(default_factory=Future)


@dataclass
class _Task:
    """Work run alone, in turn with the groups (:meth:`IntakeWriter.run`)."""

    work: Callable[[], Any]
    future: Future[Any] = field(default_factory=Future)


#: Refusals that are one request's answer (422, 401, 403, 404, 409), not the group's failure.
_REFUSALS = (DueprocessError, NotAuthenticated, PermissionDenied)


class IntakeWriter:
    """The worker's writer of single API submissions (module docstring). Thread-safe.

    The thread starts with the first submission and stops at :meth:`close`, after writing
    whatever was already submitted.
    """

    def __init__(self, runtime: Runtime, *, max_group: int = MAX_GROUP) -> None:
        self._runtime = runtime
        self._max_group = max_group
        self._queue: queue.SimpleQueue[_Job | _Task | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False

    def submit(self, submission: Submission) -> Future[Accepted]:
        """Queue ``submission``; the future holds its :class:`Accepted` once committed, or the
        exception that refused it (the same a lone transaction would have raised)."""
        job = _Job(submission)
        self._put(job)
        return job.future

    def run(self, work: Callable[[], T]) -> Future[T]:
        """Run ``work()`` in the writer's thread, alone, in its turn; the future holds what it
        returns or raises. For intake that opens its own transaction (a batch)."""
        task = _Task(work)
        self._put(task)
        return task.future

    def _put(self, item: _Job | _Task) -> None:
        if self._closed:
            raise RuntimeError("the intake writer is closed")
        with self._start:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="dueprocess-intake-writer", daemon=True
                )
                self._thread.start()
        self._queue.put(item)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the thread."""
        self._closed = True
        with self._start:
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def write_group(self, submissions: list[Submission]) -> list[Future[Accepted]]:
        """Write ``submissions`` as one group in the calling thread, as the writer's thread
        does with what it finds queued; the futures are done when this returns."""
        group = [_Job(s) for s in submissions]
        for job in group:
            job.future.set_running_or_notify_cancel()
        self._write(group)
        return [job.future for job in group]

    def _run(self) -> None:
        held: list[_Job | _Task | None] = []  # met while gathering a group; next in turn
        while True:
            first = held.pop() if held else self._queue.get()
            if first is None:  # close(): everything queued before it is done
                return
            if isinstance(first, _Task):
                _run_task(first)
                continue
            group = [first]
            while len(group) < self._max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if not isinstance(item, _Job):
                    held.append(item)  # a batch, or the stop, waits for this group
                    break
                group.append(item)
            # A request cancelled while it waited (the server stopping, say) is
            # not written; the others' futures can no longer be cancelled under us.
            group = [job for job in group if job.future.set_running_or_notify_cancel()]
            if not group:
                continue
            try:
                self._write(group)
            except BaseException as exc:  # never leave a request waiting for an answer
                log.exception("intake writer failed on a group of %d", len(group))
                for job in group:
                    if not job.future.done():
                        job.future.set_exception(exc)

    def _write(self, group: list[_Job]) -> None:
        try:
            outcomes = self._in_one_transaction(group)
        except Exception as exc:
            if len(group) == 1:
                group[0].future.set_exception(exc)
                return
            log.info(
                "group of %d submissions rolled back (%s); writing each alone",
                len(group),
                type(exc).__name__,
            )
            for job in group:
                self._write([job])
            return
        for job, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, Accepted):
                job.future.set_result(outcome)
            else:
                job.future.set_exception(outcome)

    def _in_one_transaction(self, group: list[_Job]) -> list[Accepted | Exception]:
        principals: dict[str, Principal | None] = {}
        answers: list[Accepted | Exception | None] = [None] * len(group)
        incoming: list[tuple[int, flow.Incoming]] = []
        with self._runtime.sessions() as session, session.begin():
            for index, job in enumerate(group):
                try:
                    incoming.append((index, self._incoming(session, job.submission, principals)))
                except _REFUSALS as refused:
                    answers[index] = refused
            received = flow.receive_many(session, self._runtime, [i for _, i in incoming])
            for (index, _), answer in zip(incoming, received, strict=True):
                answers[index] = (
                    answer
                    if isinstance(answer, Exception)
                    else Accepted(answer.demand, answer.created)
                )
        return [a for a in answers if a is not None]

    def _incoming(
        self, session: Session, submission: Submission, principals: dict[str, Principal | None]
    ) -> flow.Incoming:
        """The submission checked (token, permission) and parsed, or the refusal raised."""
        if submission.token not in principals:
            principals[submission.token] = check_token(session, submission.token)
        me = submission.authorise(principals[submission.token])
        try:
            data = DemandIn.model_validate_json(submission.body)
        except ValidationError as exc:
            raise from_validation(exc.errors()) from None
        if submission.idempotency_key and not data.idempotency_key:
            data = data.model_copy(update={"idempotency_key": submission.idempotency_key})
        return flow.Incoming.from_api(data, me)


def _run_task(task: _Task) -> None:
    if not task.future.set_running_or_notify_cancel():
        return  # cancelled while it waited: not run at all
    try:
        result = task.work()
    except BaseException as exc:  # the caller gets it; the writer carries on
        task.future.set_exception(exc)
    else:
        task.future.set_result(result)


def intake_writer(request: Request) -> IntakeWriter:
    """The worker's writer (made with the app, closed when it shuts down)."""
    writer: IntakeWriter = request.app.state.intake_writer
    return writer
