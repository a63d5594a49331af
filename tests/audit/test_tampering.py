"""What an insider who can write the database, but not the signing key's directory, can do to
the audit log, tried through the real commands: ``dueprocess audit checkpoint``, ``export``,
``verify`` and the standalone verifier an auditor runs (issue 19).

Each test builds a log the way a running installation does (events recorded by the service,
checkpoints signed by ``dueprocess audit checkpoint``), then alters the stored rows with
plain SQL, as someone holding the database's credentials would.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from dueprocess.audit import chain, service as audit, verify
from dueprocess.audit.models import AuditCheckpoint, AuditEvent
from dueprocess.cli.main import app
from dueprocess.clock import utcnow
from dueprocess.config import Settings
from dueprocess.runtime import Runtime

runner = CliRunner()


def cli(*args: str) -> Result:
    return runner.invoke(app, list(args))


def record(session: Session, count: int, ago: timedelta, what: str = "demand.viewed") -> None:
    """``count`` events, as the service records them, dated ``ago`` before now."""
    at = utcnow() - ago
    for i in range(count):
        audit.record(
            session,
            actor=f"account:{i % 3 + 1}",
            action=what,
            subject=f"demand:{i + 1}",
            data={"via": "api", "i": i},
            at=at + timedelta(seconds=i),
        )
    session.commit()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The command line on the test's database with its schema, and nothing recorded yet:
    ``dueprocess init`` would also install the review checklists, two audit events that
    would shift every ``seq`` these tests name."""
    env = {
        "DUEPROCESS_DATABASE_URL": settings.database_url,
        "DUEPROCESS_DATA_DIR": str(settings.data_dir),
        "DUEPROCESS_DEMO_DATABASE_URL": settings.demo_database_url,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert cli("db", "upgrade").exit_code == 0
    return env


def checkpoint() -> Result:
    done = cli("audit", "checkpoint")
    return done


@pytest.fixture
def log(cli_env: dict[str, str], session: Session) -> Session:
    """25 events over the last three hours, signed at events 10, 20 and 25 as the server would."""
    record(session, 10, timedelta(hours=3))
    assert checkpoint().exit_code == 0
    record(session, 10, timedelta(hours=2))
    assert checkpoint().exit_code == 0
    record(session, 5, timedelta(minutes=90))
    assert checkpoint().exit_code == 0
    assert _checkpoint_seqs(session) == [10, 20, 25]
    return session


def _checkpoint_seqs(session: Session) -> list[int]:
    seqs = list(session.scalars(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)))
    session.rollback()
    return seqs


def rewrite_and_rechain(session: Session, seq: int, data: dict[str, object]) -> None:
    """Change event ``seq`` and recompute every later hash: a consistent chain, but forged."""
    rows = list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq))
    )
    prev = rows[0].prev
    for row in rows:
        fields = audit.event_fields(row)
        fields["prev"] = prev
        if row.seq == seq:
            fields["data"] = data
        digest = chain.event_hash(fields)
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.seq == row.seq)
            .values(data=fields["data"], prev=prev, hash=digest)
        )
        prev = digest
    session.commit()


def delete_checkpoints(session: Session, *seqs: int) -> None:
    query = delete(AuditCheckpoint)
    if seqs:
        query = query.where(AuditCheckpoint.seq.in_(seqs))
    session.execute(query)
    session.commit()


def public_key(settings: Settings) -> str:
    return str(settings.keys_dir / "audit-checkpoint.key.pub")


def standalone(export: Path, settings: Settings, *extra: str) -> tuple[int, str, str]:
    """The auditor's verifier on an export: exit status, standard output and error."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = verify.main([str(export), "--public-key", public_key(settings), *extra])
    return status, out.getvalue(), err.getvalue()


def export_to(tmp_path: Path, name: str = "audit.jsonl") -> tuple[Result, Path]:
    path = tmp_path / name
    return cli("audit", "export", str(path)), path


# --- the attacks -------------------------------------------------------------------


def test_rewrite_after_deleting_every_checkpoint_verifies_nowhere(
    log: Session, settings: Settings, tmp_path: Path
) -> None:
    delete_checkpoints(log)
    rewrite_and_rechain(log, 7, {"via": "api", "i": 6, "note": "nothing was disclosed"})

    database = cli("audit", "verify")
    assert database.exit_code == 1, database.output
    assert database.stdout.startswith("TAMPERED: ")

    exported, path = export_to(tmp_path)
    assert path.exists()  # the evidence is still written out, but nothing new was signed
    assert exported.exit_code == 1
    assert _checkpoint_seqs(log) == []
    status, stdout, _ = standalone(path, settings)
    assert status == 1, stdout
    assert "covered by no checkpoint" in stdout


def test_deleting_the_checkpoints_alone_verifies_nowhere(
    log: Session, settings: Settings, tmp_path: Path
) -> None:
    delete_checkpoints(log)
    database = cli("audit", "verify")
    assert database.exit_code == 1, database.output
    assert database.stdout.startswith("TAMPERED: checkpoint for event 10: ")
    assert "deleted" in database.stdout

    _, path = export_to(tmp_path)
    status, stdout, _ = standalone(path, settings)
    assert status == 1
    assert stdout.startswith("TAMPERED: event 1: events 1..25 are covered by no checkpoint")


def test_the_next_checkpoint_after_a_forgery_is_refused_and_nothing_is_signed(
    log: Session, settings: Settings
) -> None:
    heads = settings.keys_dir / "audit-checkpoint.heads.jsonl"
    state = settings.keys_dir / "audit-checkpoint.key.state"
    before = (heads.read_bytes(), state.read_bytes())
    delete_checkpoints(log)
    rewrite_and_rechain(log, 12, {"via": "api", "i": 11, "note": "forged"})
    record(log, 2, timedelta(0))

    refused = checkpoint()
    assert refused.exit_code == 1
    assert "refused to sign" in refused.stderr
    assert _checkpoint_seqs(log) == []
    assert (heads.read_bytes(), state.read_bytes()) == before
    # Checkpoints alone being deleted is enough to refuse: the log lost what was signed.
    assert checkpoint().exit_code == 1


def test_a_forgery_with_the_checkpoints_kept_is_refused_too(log: Session) -> None:
    rewrite_and_rechain(log, 22, {"via": "api", "i": 1, "note": "forged"})
    record(log, 1, timedelta(0))
    refused = checkpoint()
    assert refused.exit_code == 1
    assert "event 25" in refused.stderr
    assert _checkpoint_seqs(log) == [10, 20, 25]


def test_the_servers_periodic_checkpoint_logs_each_refusal(
    log: Session, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    from dueprocess.web.app import sign_audit_head

    rewrite_and_rechain(log, 3, {"forged": True})
    record(log, 1, timedelta(0))
    with caplog.at_level(logging.ERROR, logger="dueprocess.web"):
        sign_audit_head(runtime)
        sign_audit_head(runtime)
    refusals = [r for r in caplog.records if "refused to sign" in r.getMessage()]
    assert len(refusals) == 2
    assert all(r.levelno == logging.ERROR for r in refusals)
    assert _checkpoint_seqs(log) == [10, 20, 25]


def test_a_deleted_middle_checkpoint_is_named(
    log: Session, settings: Settings, tmp_path: Path
) -> None:
    delete_checkpoints(log, 20)
    database = cli("audit", "verify")
    assert database.exit_code == 1
    assert "checkpoint for event 20" in database.stdout
    assert "deleted" in database.stdout

    _, path = export_to(tmp_path)
    status, stdout, _ = standalone(path, settings)
    assert status == 1
    assert stdout.startswith("TAMPERED: checkpoint for event 25 ")
    assert "checkpoint for event 20" in stdout
    assert "deleted" in stdout


@pytest.mark.parametrize("no_orjson", [False, True], ids=["orjson", "stdlib-json"])
def test_a_line_with_a_duplicated_key_does_not_verify(
    log: Session, settings: Settings, tmp_path: Path, no_orjson: bool
) -> None:
    _, path = export_to(tmp_path)
    lines = path.read_bytes().splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if b'"seq":5,' in line and b'"event"' in line)
    forged = b'"data":{"i":4,"via":"a forged note"},'
    lines[i] = lines[i].replace(b'"data":', forged + b'"data":', 1)
    path.write_bytes(b"".join(lines))
    status, stdout, _ = standalone(path, settings, *(["--no-orjson"] if no_orjson else []))
    assert status == 1
    assert stdout.startswith(f"TAMPERED: event 5 (line {i + 1}): ")
    assert "canonical" in stdout


def test_an_event_appended_after_the_last_checkpoint_is_warned_about_alike(
    log: Session, settings: Settings, tmp_path: Path
) -> None:
    head = log.scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert head is not None
    now = utcnow()
    forged = chain.make_event(
        seq=head.seq + 1,
        at=now,
        actor="account:1",
        action="demand.closed",
        subject="demand:1",
        data={},
        prev=head.hash,
    )
    log.execute(insert(AuditEvent).values(**{**forged, "at": now}))
    log.commit()

    database = cli("audit", "verify")
    assert database.exit_code == 0, database.output
    path = tmp_path / "unsigned.jsonl"
    path.write_bytes(b"".join(audit.export_lines(log)))
    log.rollback()
    status, _, stderr = standalone(path, settings)
    assert status == 0
    warning = "WARNING: event 26 comes after the last checkpoint"
    assert warning in stderr
    assert warning in database.stderr
    assert [line for line in database.stderr.splitlines() if line.startswith("WARNING")] == [
        line for line in stderr.splitlines() if line.startswith("WARNING")
    ]


def test_an_old_unsigned_tail_fails_unless_allowed_loudly(
    cli_env: dict[str, str], session: Session, settings: Settings, tmp_path: Path
) -> None:
    # Never checkpointed (no server ran), and the events are an hour old.
    record(session, 4, timedelta(hours=1))
    refused = cli("audit", "verify")
    assert refused.exit_code == 1
    assert "events 1..4 are covered by no checkpoint" in refused.stdout
    allowed = cli("audit", "verify", "--allow-unsigned-tail")
    assert allowed.exit_code == 0
    assert "WARNING: UNSIGNED" in allowed.stderr
    assert "NOT SIGNED" in allowed.stdout

    path = tmp_path / "unsigned.jsonl"
    path.write_bytes(b"".join(audit.export_lines(session)))
    session.rollback()
    status, stdout, _ = standalone(path, settings)
    assert status == 1
    assert stdout == refused.stdout
    status, stdout, stderr = standalone(path, settings, "--allow-unsigned-tail")
    assert status == 0
    assert stdout == allowed.stdout
    assert "WARNING: UNSIGNED" in stderr
    # A recent unsigned tail (within the interval) only warns.
    record(session, 1, timedelta(0))
    assert checkpoint().exit_code == 0
    record(session, 1, timedelta(0))
    recent = cli("audit", "verify")
    assert recent.exit_code == 0, recent.output


def test_the_published_heads_hold_the_operator_to_what_was_signed(
    log: Session, settings: Settings, tmp_path: Path
) -> None:
    heads = tmp_path / "heads.jsonl"
    assert cli("audit", "heads", str(heads)).exit_code == 0
    held = [json.loads(line) for line in heads.read_text().splitlines()]
    assert [h["seq"] for h in held] == [10, 20, 25]
    _, intact = export_to(tmp_path, "intact.jsonl")
    assert standalone(intact, settings, "--expect-checkpoint", str(heads))[0] == 0

    # Rewrite inside the signed part, delete what would show it, and sign nothing new.
    delete_checkpoints(log)
    rewrite_and_rechain(log, 15, {"via": "api", "i": 14, "note": "forged"})
    path = tmp_path / "forged.jsonl"
    path.write_bytes(b"".join(audit.export_lines(log)))
    log.rollback()
    status, stdout, _ = standalone(
        path, settings, "--expect-checkpoint", str(heads), "--allow-unsigned-tail"
    )
    assert status == 1
    assert "does not match the checkpoint you hold for event 20" in stdout


# --- legacy checkpoints and the signer's own state -----------------------------------------


def _legacy_checkpoint(session: Session, key: Ed25519PrivateKey, seq: int) -> None:
    import base64

    head = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
    at = utcnow() - timedelta(minutes=30)
    message = f"dueprocess-audit-checkpoint:v1:{seq}:{head}:{chain.format_at(at)}".encode()
    session.execute(
        insert(AuditCheckpoint).values(
            seq=seq,
            head=head,
            at=at,
            key_id=chain.public_key_id(key),
            signature=base64.b64encode(key.sign(message)).decode(),
        )
    )
    session.commit()


def test_an_installation_from_before_signer_state_adopts_its_last_v1_checkpoint(
    cli_env: dict[str, str], session: Session, settings: Settings, tmp_path: Path
) -> None:
    key = chain.load_signing_key(settings.keys_dir / "audit-checkpoint.key")
    (settings.keys_dir / "audit-checkpoint.key.state").unlink(missing_ok=True)
    (settings.keys_dir / "audit-checkpoint.heads.jsonl").unlink(missing_ok=True)
    record(session, 6, timedelta(hours=2))
    _legacy_checkpoint(session, key, 3)
    _legacy_checkpoint(session, key, 6)
    record(session, 2, timedelta(minutes=1))

    adopted = checkpoint()
    assert adopted.exit_code == 0, adopted.output
    assert "adopted the checkpoint for event 6" in adopted.stderr
    newest = session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
    assert newest is not None
    assert (newest.seq, newest.prev_seq) == (8, 6)  # v2, naming the last v1 checkpoint
    session.rollback()
    _, path = export_to(tmp_path)
    status, stdout, _ = standalone(path, settings)
    assert (status, stdout) == (0, "OK: 8 events, 3 checkpoints verified\n")
    assert cli("audit", "verify").exit_code == 0


def test_a_forged_checkpoint_row_under_the_keys_id_is_refused(log: Session) -> None:
    record(log, 1, timedelta(0))
    forger = Ed25519PrivateKey.generate()
    real = log.scalar(select(AuditCheckpoint).where(AuditCheckpoint.seq == 25))
    assert real is not None
    head = log.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 26))
    forged = chain.sign_checkpoint(forger, 26, str(head), prev=(25, real.head))
    log.execute(
        insert(AuditCheckpoint).values(
            seq=26,
            head=head,
            at=utcnow(),
            key_id=real.key_id,
            signature=forged["signature"],
            prev_seq=25,
            prev_head=real.head,
        )
    )
    log.commit()
    refused = checkpoint()
    assert refused.exit_code == 1
    assert "does not verify" in refused.stderr


def test_a_database_rolled_back_past_the_last_checkpoint_is_refused(log: Session) -> None:
    delete_checkpoints(log, 25)
    log.execute(delete(AuditEvent).where(AuditEvent.seq > 21))
    log.commit()
    record(log, 6, timedelta(0))  # new events take seqs 22.. again, on a different chain
    refused = checkpoint()
    assert refused.exit_code == 1
    assert "event 25" in refused.stderr
    assert cli("audit", "verify").exit_code == 1


def test_deleted_checkpoints_can_be_restored_from_the_published_heads(log: Session) -> None:
    delete_checkpoints(log)
    assert checkpoint().exit_code == 1
    restored = cli("audit", "checkpoint", "--restore")
    assert restored.exit_code == 0, restored.output
    assert "restored 3 checkpoints" in restored.stdout
    assert _checkpoint_seqs(log) == [10, 20, 25]
    restorations = select(func.count(AuditEvent.seq)).where(
        AuditEvent.action == "audit.checkpoints_restored"
    )
    assert log.scalar(restorations) == 1
    log.rollback()
    assert checkpoint().exit_code == 0
    assert cli("audit", "verify").exit_code == 0


def test_after_a_key_rotation_the_log_verifies_with_both_public_keys(
    log: Session, settings: Settings, tmp_path: Path
) -> None:
    retired = tmp_path / "retired-keys"
    settings.keys_dir.rename(retired)
    record(log, 2, timedelta(0))
    assert checkpoint().exit_code == 0  # a new key, naming the old key's last checkpoint
    assert cli("audit", "verify").exit_code == 1  # the old key's checkpoints: unknown key
    both = cli(
        "audit",
        "verify",
        "--public-key",
        str(retired / "audit-checkpoint.key.pub"),
        "--public-key",
        public_key(settings),
    )
    assert both.exit_code == 0, both.output
    assert both.stdout == "OK: 27 events, 4 checkpoints verified\n"
