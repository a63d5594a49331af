"""The checkpoint signer's own records: its state beside the key, the published heads, and
what it does after a crash, a key rotation, or several signers at once."""

from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit, signer
from dueprocess.audit.chain import GENESIS, public_key_bytes, public_key_id
from dueprocess.audit.models import AuditCheckpoint, AuditEvent
from dueprocess.runtime import Runtime


def record(session: Session, count: int = 3) -> None:
    for i in range(count):
        audit.record(session, actor="system", action="test.event", data={"i": i})
    session.commit()


def sign(runtime: Runtime) -> signer.Signed:
    return signer.sign_head(runtime.sessions, runtime.settings.keys_dir)


def stored(session: Session) -> list[AuditCheckpoint]:
    rows = list(session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)))
    session.rollback()
    return rows


def test_a_new_key_comes_with_a_private_state_of_nothing_signed(runtime: Runtime) -> None:
    keys_dir = runtime.settings.keys_dir
    key = signer.ensure_signing_key(keys_dir)
    path = signer.state_path(keys_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    state = signer.read_state(keys_dir)
    assert state == signer.SignerState(public_key_id(key), None)
    assert signer.read_heads(keys_dir) == []


def test_an_empty_log_is_not_signed(runtime: Runtime) -> None:
    assert sign(runtime).checkpoint is None
    assert signer.read_heads(runtime.settings.keys_dir) == []


def test_state_heads_and_database_agree_and_each_checkpoint_names_the_last(
    session: Session, runtime: Runtime
) -> None:
    keys_dir = runtime.settings.keys_dir
    for _ in range(3):
        record(session)
        assert sign(runtime).checkpoint is not None
    assert sign(runtime).checkpoint is None  # the head did not move
    heads = signer.read_heads(keys_dir)
    state = signer.read_state(keys_dir)
    assert state is not None
    assert [h["seq"] for h in heads] == [3, 6, 9]
    assert heads[-1] == state.last
    assert [(h["prev_seq"], h["prev_head"]) for h in heads] == [
        (0, GENESIS),
        (3, heads[0]["head"]),
        (6, heads[1]["head"]),
    ]
    assert [(r.seq, r.signature) for r in stored(session)] == [
        (h["seq"], h["signature"]) for h in heads
    ]
    assert stat.S_IMODE(signer.heads_path(keys_dir).stat().st_mode) == 0o644


def test_a_crash_between_the_commit_and_the_state_is_caught_up(
    session: Session, runtime: Runtime
) -> None:
    keys_dir = runtime.settings.keys_dir
    record(session)
    sign(runtime)
    state_before = signer.state_path(keys_dir).read_bytes()
    heads_before = signer.heads_path(keys_dir).read_bytes()
    record(session)
    lost = sign(runtime).checkpoint
    assert lost is not None
    # As if the process died after the checkpoint committed, before its files were written.
    signer.state_path(keys_dir).write_bytes(state_before)
    signer.heads_path(keys_dir).write_bytes(heads_before)
    record(session)
    signed = sign(runtime)
    assert [c["seq"] for c in signed.recovered] == [6]
    assert signed.checkpoint is not None
    assert (signed.checkpoint["prev_seq"], signed.checkpoint["prev_head"]) == (6, lost["head"])
    assert [h["seq"] for h in signer.read_heads(keys_dir)] == [3, 6, 9]
    key = signer.ensure_signing_key(keys_dir)
    assert audit.verify_database(session, [public_key_bytes(key)]).ok


def test_a_heads_line_cut_short_by_a_crash_is_dropped(session: Session, runtime: Runtime) -> None:
    keys_dir = runtime.settings.keys_dir
    record(session)
    sign(runtime)
    with signer.heads_path(keys_dir).open("ab") as heads:
        heads.write(b'{"at":"2020-07-06T')
    record(session)
    sign(runtime)
    content = signer.heads_path(keys_dir).read_bytes()
    assert [json.loads(line)["seq"] for line in content.splitlines()] == [3, 6]


def test_a_new_key_names_the_last_checkpoint_of_the_old_one(
    session: Session, runtime: Runtime, tmp_path: Path
) -> None:
    keys_dir = runtime.settings.keys_dir
    old = signer.ensure_signing_key(keys_dir)
    record(session)
    sign(runtime)
    keys_dir.rename(tmp_path / "retired-keys")  # a rotation: the old key is kept elsewhere
    record(session)
    first = sign(runtime).checkpoint
    assert first is not None
    new = signer.ensure_signing_key(keys_dir)
    assert first["key_id"] == public_key_id(new) != public_key_id(old)
    assert first["prev_seq"] == 3
    both = [public_key_bytes(old), public_key_bytes(new)]
    assert audit.verify_database(session, both).summary() == "OK: 6 events, 2 checkpoints verified"
    session.rollback()


def test_a_state_belonging_to_another_key_is_refused(session: Session, runtime: Runtime) -> None:
    keys_dir = runtime.settings.keys_dir
    signer.ensure_signing_key(keys_dir)
    signer.write_state(keys_dir, signer.SignerState("0123456789abcdef", None))
    record(session)
    with pytest.raises(signer.SigningRefused, match="belongs to key 0123456789abcdef"):
        sign(runtime)
    signer.state_path(keys_dir).write_text("not json")
    with pytest.raises(signer.SigningRefused, match="cannot read the signer's state"):
        sign(runtime)
    assert stored(session) == []


def test_signers_at_once_make_one_line_of_checkpoints(session: Session, runtime: Runtime) -> None:
    # The server's workers and the command line may sign at the same moment.
    signer.ensure_signing_key(runtime.settings.keys_dir)
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                with runtime.sessions() as own:
                    record(own, 2)
                sign(runtime)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    rows = stored(session)
    assert [r.prev_seq for r in rows[1:]] == [r.seq for r in rows[:-1]]
    key = signer.ensure_signing_key(runtime.settings.keys_dir)
    assert audit.verify_database(session, [public_key_bytes(key)]).ok
    session.rollback()
    state = signer.read_state(runtime.settings.keys_dir)
    assert state is not None
    assert state.last is not None
    assert state.last["seq"] == rows[-1].seq


def test_an_unsigned_event_whose_hash_does_not_match_is_refused(
    session: Session, runtime: Runtime
) -> None:
    record(session)
    sign(runtime)
    record(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(data={"i": 99}))
    session.commit()
    with pytest.raises(signer.SigningRefused, match="event 5's hash does not match its contents"):
        sign(runtime)
    assert [r.seq for r in stored(session)] == [3]


def test_data_stored_in_another_spelling_is_judged_by_its_content(
    session: Session, runtime: Runtime
) -> None:
    # The signer reads the stored JSON text; text that is not canonical (here with spaces)
    # is parsed and hashed in full, and passes if its content has the event's hash.
    record(session)
    session.execute(
        text("UPDATE audit_event SET data = :data WHERE seq = 2"), {"data": '{ "i" : 1 }'}
    )
    session.commit()
    assert sign(runtime).checkpoint is not None
    key = signer.ensure_signing_key(runtime.settings.keys_dir)
    assert audit.verify_database(session, [public_key_bytes(key)]).ok
    session.rollback()
