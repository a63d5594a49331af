"""The intake writer: submissions written together in one transaction still stand alone."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.accounts.permissions import Permission
from dueprocess.accounts.signin import Principal
from dueprocess.audit import service as audit
from dueprocess.audit.models import AuditEvent
from dueprocess.demands.models import Demand
from dueprocess.errors import InvalidInput
from dueprocess.runtime import Runtime
from dueprocess.web.auth import NotAuthenticated, PermissionDenied, requires_later
from dueprocess.web.coalesce import Accepted, IntakeWriter, Submission
from tests import factories

SUBMIT = requires_later(Permission.DEMANDS_SUBMIT)


@pytest.fixture
def intake_token(session: Session) -> str:
    factories.authority(session)
    raw = factories.token(session, "intake@example.org", ["intake"])
    session.commit()
    return raw


def _submission(token: str, **changes: Any) -> Submission:
    return Submission(token, SUBMIT.authorise, json.dumps(factories.body(**changes)).encode())


def _demands(session: Session) -> list[str | None]:
    session.rollback()  # a fresh snapshot, and no transaction left open on SQLite
    refs = list(session.scalars(select(Demand.reference).order_by(Demand.id)))
    session.rollback()
    return refs


def _outcome(future: Future[Accepted]) -> Accepted | BaseException:
    error = future.exception()
    return future.result() if error is None else error


def test_a_group_writes_every_good_demand_and_refuses_only_the_bad(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    writer = IntakeWriter(runtime)
    futures = writer.write_group(
        [
            _submission(intake_token, reference="A"),
            _submission(intake_token, reference="B", jurisdiction="DE"),  # not HKPF's
            _submission("dp_not-a-token"),
            Submission(intake_token, SUBMIT.authorise, b"{not json"),
            _submission(intake_token, reference="C"),
        ]
    )
    outcomes = [_outcome(f) for f in futures]
    assert isinstance(outcomes[0], Accepted)
    assert outcomes[0].created
    assert isinstance(outcomes[1], InvalidInput)
    assert outcomes[1].errors[0].loc == ("jurisdiction",)
    assert isinstance(outcomes[2], NotAuthenticated)
    assert isinstance(outcomes[3], InvalidInput)
    assert isinstance(outcomes[4], Accepted)
    assert _demands(session) == ["A", "C"]
    assert audit.verify_database(session, []).ok
    session.rollback()


def test_permission_is_checked_before_the_body_is_validated(
    session: Session, runtime: Runtime
) -> None:
    raw = factories.token(session, "auditor@example.org", ["auditor"])
    session.commit()
    (future,) = IntakeWriter(runtime).write_group([Submission(raw, SUBMIT.authorise, b"{}")])
    assert isinstance(future.exception(), PermissionDenied)


def test_same_idempotency_key_twice_in_a_group_is_one_demand(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    first, second = IntakeWriter(runtime).write_group(
        [_submission(intake_token, idempotency_key="K-1")] * 2
    )
    assert first.result().created
    assert not second.result().created
    assert first.result().demand.id == second.result().demand.id
    assert len(_demands(session)) == 1


def test_an_unexpected_failure_rolls_the_group_back_and_each_is_written_alone(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    def broken(_principal: Principal | None) -> Principal:
        raise RuntimeError("connector exploded")

    futures = IntakeWriter(runtime).write_group(
        [
            _submission(intake_token, reference="A"),
            Submission(intake_token, broken, json.dumps(factories.body()).encode()),
            _submission(intake_token, reference="C"),
        ]
    )
    assert isinstance(futures[1].exception(), RuntimeError)
    assert [f.result().created for f in (futures[0], futures[2])] == [True, True]
    assert _demands(session) == ["A", "C"]
    session.rollback()
    # Each written exactly once: two demand.submitted events, not four.
    submitted = select(func.count()).where(AuditEvent.action == "demand.submitted")
    assert session.scalar(submitted) == 2
    session.rollback()


def test_the_thread_answers_concurrent_submitters_and_drains_at_close(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    writer = IntakeWriter(runtime, max_group=4)
    results: list[Future[Accepted]] = []
    lock = threading.Lock()

    def submit(i: int) -> None:
        future = writer.submit(_submission(intake_token, reference=f"R-{i}"))
        with lock:
            results.append(future)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    writer.close()
    assert all(f.done() and f.result().created for f in results)
    assert sorted(str(r) for r in _demands(session)) == sorted(f"R-{i}" for i in range(20))
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(_submission(intake_token))


def test_the_thread_keeps_answering_after_a_failure(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    def broken(_principal: Principal | None) -> Principal:
        raise RuntimeError("boom")

    writer = IntakeWriter(runtime)
    failed = writer.submit(Submission(intake_token, broken, b"{}"))
    assert isinstance(failed.exception(timeout=30), RuntimeError)
    later = writer.submit(_submission(intake_token, reference="after"))
    assert later.result(timeout=30).created
    writer.close()
    assert _demands(session) == ["after"]


def test_work_runs_alone_in_its_turn_between_groups(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    # A batch is handed to the writer as work: it must run in the writer's thread, after the
    # submissions queued before it and before those queued after, never inside their group.
    writer = IntakeWriter(runtime)
    seen: list[str] = []
    gate = threading.Event()
    writer.run(gate.wait)  # holds the writer until everything below is queued
    before = [writer.submit(_submission(intake_token, reference=f"before-{i}")) for i in range(3)]

    def work() -> str:
        seen.append(threading.current_thread().name)
        with Session(runtime.engine) as reader:
            seen.extend(str(r) for r in _demands(reader))
        return "done"

    middle = writer.run(work)
    after = [writer.submit(_submission(intake_token, reference=f"after-{i}")) for i in range(3)]
    gate.set()
    assert middle.result(timeout=30) == "done"
    assert all(f.result(timeout=30).created for f in before + after)
    writer.close()
    assert seen == ["dueprocess-intake-writer", "before-0", "before-1", "before-2"]
    assert _demands(session) == [f"before-{i}" for i in range(3)] + [f"after-{i}" for i in range(3)]


def test_failing_work_is_the_callers_answer_and_the_writer_carries_on(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    def broken() -> None:
        raise ValueError("boom")

    writer = IntakeWriter(runtime)
    failed = writer.run(broken)
    assert isinstance(failed.exception(timeout=30), ValueError)
    later = writer.submit(_submission(intake_token, reference="after"))
    assert later.result(timeout=30).created
    queued = writer.run(lambda: "ran")
    writer.close()  # work queued before close is done before the thread stops
    assert queued.result(timeout=0) == "ran"
    assert _demands(session) == ["after"]
    with pytest.raises(RuntimeError, match="closed"):
        writer.run(lambda: None)


def test_a_submission_cancelled_while_waiting_is_not_written_and_the_rest_are(
    session: Session, runtime: Runtime, intake_token: str
) -> None:
    # A request whose waiting is cancelled (the server stopping, say) cancels
    # its future; the writer must skip it, answer the others and keep going.
    writer = IntakeWriter(runtime)
    gate = threading.Event()
    writer.run(gate.wait)
    kept = writer.submit(_submission(intake_token, reference="kept"))
    dropped = writer.submit(_submission(intake_token, reference="dropped"))
    ran: list[str] = []
    dropped_batch = writer.run(lambda: ran.append("cancelled work"))
    assert dropped.cancel()
    assert dropped_batch.cancel()
    gate.set()
    assert kept.result(timeout=30).created
    later = writer.submit(_submission(intake_token, reference="later"))
    assert later.result(timeout=30).created
    writer.close()
    assert _demands(session) == ["kept", "later"]
    assert ran == []
