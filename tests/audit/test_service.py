"""The audit log in the database: one event per change in the same transaction, and every
kind of tampering with the stored rows caught by the same verifier an outsider runs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit, signer
from dueprocess.audit.chain import GENESIS, event_hash, public_key_bytes
from dueprocess.audit.models import AuditCheckpoint, AuditEvent, AuditStaging
from dueprocess.audit.verify import verify_export
from dueprocess.errors import InvalidInput
from dueprocess.runtime import Runtime
from tests import factories


def _count(session: Session) -> int:
    return int(session.scalar(select(func.count(AuditEvent.seq))) or 0)


def test_rolled_back_change_leaves_no_event(session: Session, runtime: Runtime) -> None:
    factories.authority(session)
    session.commit()
    before = _count(session)
    factories.submit(session, runtime, factories.body())
    session.rollback()
    assert _count(session) == before
    with pytest.raises(InvalidInput):
        factories.submit(session, runtime, factories.body(jurisdiction="DE"))
    session.rollback()
    assert _count(session) == before
    factories.submit(session, runtime, factories.body())
    session.commit()
    assert _count(session) == before + 2  # submitted, and the requester's assessment


def test_events_chain_from_genesis(session: Session) -> None:
    for i in range(3):
        audit.record(session, actor="test", action="test.event", data={"i": i, "text": "光復"})
    session.commit()
    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev == GENESIS
    assert [r.prev for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_floats_are_refused_rather_than_hashed_ambiguously(session: Session) -> None:
    with pytest.raises(ValueError, match="floating-point"):
        audit.record(session, actor="test", action="test.event", data={"x": 0.1})


def test_prepared_data_records_as_the_same_data_would(session: Session) -> None:
    data = {"b": [1, {"nested": None}], "a": "光復", "when": datetime(2020, 7, 6, tzinfo=UTC)}
    prepared = audit.prepare(data)
    audit.record(session, actor="test", action="test.event", subject="demand:1", data=data)
    audit.record(session, actor="test", action="test.event", subject="demand:2", data=prepared)
    data["a"] = "changed after recording"  # the event keeps what was recorded
    session.commit()
    first, second = session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
    assert (
        first.data
        == second.data
        == {
            "a": "光復",
            "b": [1, {"nested": None}],
            "when": "2020-07-06T00:00:00Z",
        }
    )
    assert _verify_rows(session) is None
    with pytest.raises(ValueError, match="floating-point"):
        audit.prepare({"x": [0.1]})


def _verify_rows(session: Session) -> int | None:
    result = audit.verify_database(session, [])
    session.rollback()
    return result.first_bad_seq


@pytest.fixture
def chain(session: Session, runtime: Runtime) -> tuple[Session, list[bytes], Path]:
    """Twenty events with a checkpoint at 10 and one at 20, and the trusted public key."""
    key = signer.ensure_signing_key(runtime.settings.keys_dir)
    for i in range(20):
        audit.record(
            session,
            actor=f"account:{i % 3}",
            action="demand.viewed",
            subject=f"demand:{i}",
            data={"via": "api", "i": i},
        )
        if i in (9, 19):
            session.commit()
            signer.sign_head(runtime.sessions, runtime.settings.keys_dir)
    return session, [public_key_bytes(key)], runtime.settings.keys_dir


def _verify(session: Session, keys: list[bytes]) -> tuple[bool, int | None, str]:
    session.expire_all()
    result = audit.verify_database(session, keys)
    session.rollback()
    return result.ok, result.first_bad_seq, result.summary()


def test_intact_log_verifies(chain: tuple[Session, list[bytes], Path]) -> None:
    session, keys, _ = chain
    assert _verify(session, keys) == (True, None, "OK: 20 events, 2 checkpoints verified")


def test_flipped_byte_is_detected(chain: tuple[Session, list[bytes], Path]) -> None:
    session, keys, _ = chain
    session.execute(
        update(AuditEvent).where(AuditEvent.seq == 7).values(data={"via": "apj", "i": 6})
    )
    session.commit()
    ok, bad, summary = _verify(session, keys)
    assert (ok, bad) == (False, 7)
    assert "TAMPERED: event 7" in summary


def test_deleted_event_is_detected(chain: tuple[Session, list[bytes], Path]) -> None:
    session, keys, _ = chain
    session.execute(delete(AuditEvent).where(AuditEvent.seq == 5))
    session.commit()
    assert _verify(session, keys)[:2] == (False, 5)


def test_inserted_event_is_detected(chain: tuple[Session, list[bytes], Path]) -> None:
    session, keys, _ = chain
    # Shift events 12.. up by one and slip a forged event in at 12, with a self-consistent hash.
    rows = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.seq >= 12).order_by(AuditEvent.seq.desc())
        )
    )
    session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq >= 12))
    for row in rows:
        session.execute(update(AuditEvent).where(AuditEvent.seq == row.seq).values(seq=row.seq + 1))
    prev = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 11))
    from dueprocess.audit.chain import make_event

    forged = make_event(
        seq=12,
        at="2020-07-07T00:00:00Z",
        actor="account:1",
        action="demand.viewed",
        subject="demand:99",
        data={},
        prev=str(prev),
    )
    session.expunge_all()
    session.add(AuditEvent(**{**forged, "at": rows[-1].at}))
    session.commit()
    ok, bad, _ = _verify(session, keys)
    assert not ok
    assert bad is not None
    assert bad in (12, 13)


def test_reordered_events_are_detected(chain: tuple[Session, list[bytes], Path]) -> None:
    session, keys, _ = chain
    session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(seq=-3))
    session.execute(update(AuditEvent).where(AuditEvent.seq == 4).values(seq=3))
    session.execute(update(AuditEvent).where(AuditEvent.seq == -3).values(seq=4))
    session.commit()
    assert _verify(session, keys)[:2] == (False, 3)


def test_truncated_tail_is_detected_against_a_held_checkpoint(
    chain: tuple[Session, list[bytes], Path],
) -> None:
    session, keys, _ = chain
    held = {"seq": 20, "head": session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 20))}
    # The stored checkpoint references its event, so cutting the tail means removing the
    # checkpoint too: the export alone is then self-consistent (docs/audit-format.md says so),
    # and the checkpoint an auditor kept is what exposes it.
    session.execute(delete(AuditCheckpoint).where(AuditCheckpoint.seq == 20))
    session.execute(delete(AuditEvent).where(AuditEvent.seq > 17))
    session.commit()
    lines = list(audit.export_lines(session, keys))
    session.rollback()
    assert verify_export(lines, keys).ok
    result = verify_export(lines, keys, expected_checkpoints=[held])
    assert not result.ok
    assert "TAMPERED" in result.summary()


def test_events_missing_before_a_checkpoint_are_detected(
    chain: tuple[Session, list[bytes], Path],
) -> None:
    session, keys, _ = chain
    session.execute(delete(AuditEvent).where(AuditEvent.seq.in_([18, 19])))
    session.commit()
    assert _verify(session, keys)[:2] == (False, 18)


def test_wrong_public_key_is_refused(
    chain: tuple[Session, list[bytes], Path], tmp_path: Path
) -> None:
    session, _keys, _ = chain
    other = signer.ensure_signing_key(tmp_path / "other-keys")
    ok, _bad, summary = _verify(session, [public_key_bytes(other)])
    assert not ok
    assert "checkpoint" in summary


def test_export_verifies_standalone(chain: tuple[Session, list[bytes], Path]) -> None:
    session, keys, _ = chain
    lines = list(audit.export_lines(session, keys))
    session.rollback()
    assert verify_export(lines, keys).ok
    assert lines[-1].startswith(b'{"checkpoints":2,"events":20')


def test_events_of_a_rolled_back_savepoint_are_dropped_others_kept(session: Session) -> None:
    audit.record(session, actor="test", action="test.before")
    savepoint = session.begin_nested()
    audit.record(session, actor="test", action="test.inside")
    savepoint.rollback()
    kept = session.begin_nested()
    audit.record(session, actor="test", action="test.released")
    kept.commit()
    audit.record(session, actor="test", action="test.after")
    session.commit()
    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [r.action for r in rows] == ["test.before", "test.released", "test.after"]
    assert [r.prev for r in rows[1:]] == [r.hash for r in rows[:-1]]


def test_reads_inside_the_transaction_see_pending_events(session: Session) -> None:
    audit.record(session, actor="test", action="demand.viewed", subject="demand:1")
    assert [e.action for e in audit.for_subject(session, "demand:1")] == ["demand.viewed"]
    session.rollback()
    assert audit.for_subject(session, "demand:1") == []
    session.rollback()


def test_nothing_stays_staged_after_commit_or_rollback(session: Session) -> None:
    # PostgreSQL stages events for the chaining trigger; a staged row outliving its
    # transaction would be an event never chained.
    audit.record(session, actor="test", action="test.kept")
    session.commit()
    audit.record(session, actor="test", action="test.dropped")
    audit.append_pending(session)
    session.rollback()
    assert session.scalar(select(func.count(AuditStaging.id))) == 0
    assert [e.action for e in session.scalars(select(AuditEvent))] == ["test.kept"]


def test_events_chained_early_and_at_commit_form_one_chain(session: Session) -> None:
    audit.record(session, actor="test", action="test.one", subject="s")
    assert len(audit.for_subject(session, "s")) == 1  # chains now, inside the transaction
    audit.record(session, actor="test", action="test.two", subject="s")
    session.commit()
    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [r.action for r in rows] == ["test.one", "test.two"]
    assert rows[1].prev == rows[0].hash
    # Whoever computed them (the database's trigger or Python), the hashes are the documented ones.
    assert [r.hash for r in rows] == [event_hash(audit.event_fields(r)) for r in rows]


def test_database_trigger_takes_the_writers_lock(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("the chaining trigger exists on PostgreSQL only")
    source = session.scalar(text("SELECT prosrc FROM pg_proc WHERE proname = 'audit_chain'"))
    assert f"pg_advisory_xact_lock({audit._PG_LOCK_KEY})" in str(source)


def test_a_large_append_after_staged_events_keeps_their_order(session: Session) -> None:
    # PostgreSQL stages small appends for its trigger and chains large ones in Python: both
    # in one transaction must come out in the order recorded, with valid hashes.
    for i in range(3):
        audit.record(session, actor="test", action="test.small", data={"i": i})
    audit.append_pending(session)
    for i in range(audit.DIRECT_APPEND_AT + 6):
        audit.record(session, actor="test", action="test.large", data={"i": i, "光": "復"})
    audit.record(session, actor="test", action="test.last")
    session.commit()
    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [r.action for r in rows] == (
        ["test.small"] * 3 + ["test.large"] * (audit.DIRECT_APPEND_AT + 6) + ["test.last"]
    )
    assert [r.data.get("i") for r in rows[3:6]] == [0, 1, 2]
    assert [r.prev for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert [r.hash for r in rows] == [event_hash(audit.event_fields(r)) for r in rows]
    assert session.scalar(select(func.count(AuditStaging.id))) == 0


AWKWARD = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "光復", 'quote"']


@pytest.mark.parametrize("count", [3, audit.DIRECT_APPEND_AT + 1], ids=["staged", "copied"])
def test_awkward_text_is_stored_and_hashed_exactly(session: Session, count: int) -> None:
    # Large appends on PostgreSQL are written as COPY text, where a backslash, a tab or a
    # newline would otherwise end or change a field: each must come back as it was hashed.
    shared = audit.prepare({"why": "\\ and \t and \n", "list": AWKWARD})
    for i in range(count):
        word = AWKWARD[i % len(AWKWARD)]
        audit.record(
            session,
            actor=f"account:{word}",
            action=f"test.{word}",
            subject=None if i % 5 == 4 else f"demand:{word}",
            data=shared if i % 2 else {"word": word, "i": i},
        )
    session.commit()
    rows = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
    assert len(rows) == count
    for i, row in enumerate(rows):
        word = AWKWARD[i % len(AWKWARD)]
        assert (row.actor, row.action) == (f"account:{word}", f"test.{word}")
        assert row.subject == (None if i % 5 == 4 else f"demand:{word}")
        expected = {"why": "\\ and \t and \n", "list": AWKWARD} if i % 2 else {"word": word, "i": i}
        assert row.data == expected
    assert [r.hash for r in rows] == [event_hash(audit.event_fields(r)) for r in rows]
    assert _verify_rows(session) is None


@pytest.mark.parametrize("count", [1, audit.DIRECT_APPEND_AT], ids=["one", "copied"])
def test_an_event_at_a_whole_second_is_found_from_that_second(session: Session, count: int) -> None:
    # SQLite compares stored times as text: each writer must store the text the ORM binds.
    when = datetime(2020, 7, 6, 9, 0, tzinfo=UTC)
    for _ in range(count):
        audit.record(session, actor="test", action="test.event", at=when)
    session.commit()
    assert len(audit.search(session, since=when)) == count
    assert audit.search(session, until=when) == []
    assert audit.count(session, since=when, until=when + timedelta(seconds=1)) == count
    session.rollback()
