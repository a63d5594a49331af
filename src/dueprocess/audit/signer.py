"""The checkpoint signer: its key, the last checkpoint it signed, and the heads it publishes.

A signed checkpoint is worth only as much as the signer's refusal to sign a log that was
rewritten. So the signer keeps, beside its key and out of the database's reach, the last
checkpoint it signed (its *state*), and before it signs again it checks that the database
still holds that checkpoint, that the event it covers still has the hash it signed, and
that every event from there to the new head chains to it (each hash recomputed from the
event's fields). If not, it refuses (:class:`SigningRefused`) and signs nothing, every time
it is asked, until someone looks. Every checkpoint it signs names the one before it (v2,
docs/audit-format.md) and is appended to the *published heads* file, which an auditor
keeps and checks exports against (``verify.py --expect-checkpoint``).

Files in the keys directory, which the database cannot write:

- ``audit-checkpoint.key`` (0600) and ``audit-checkpoint.key.pub``: the key pair;
- ``audit-checkpoint.key.state`` (0600, replaced atomically): the last checkpoint this key
  signed, in the export's form (``last`` is null until it signs one);
- ``audit-checkpoint.heads.jsonl`` (0644, appended): every checkpoint this key signed, one
  export line each, oldest first.

The state is written after the checkpoint's transaction commits, then the heads file: a
crash in between leaves the database ahead, and the next signing finds the checkpoints this
key signed after its state (valid signature, each naming the one before) and catches up.

A key without a state file (an installation from before the state existed) *adopts* the
newest checkpoint in the database that this key signed, after checking its signature and
every event from the first up to it; it says so, once. It cannot know what happened to the
log before that checkpoint was signed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.audit.chain import (
    GENESIS,
    canonical_parts_json,
    chain_link,
    check_event_content,
    checkpoint_line,
    checkpoint_record,
    checkpoint_signature_valid,
    event_hash,
    format_at,
    generate_signing_key,
    load_signing_key,
    public_key_bytes,
    public_key_id,
    public_key_path,
    sign_checkpoint,
)
from dueprocess.audit.models import AuditCheckpoint, AuditEvent
from dueprocess.clock import utcnow

SIGNING_KEY_NAME = "audit-checkpoint.key"
HEADS_NAME = "audit-checkpoint.heads.jsonl"
STATE_FORMAT = "dueprocess-audit-signer/1"
_BATCH = 5000


class SigningRefused(Exception):
    """The log does not extend what this key signed last; nothing was signed."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"refused to sign the audit log's head: {reason}. Nothing was signed.")


# --- files -------------------------------------------------------------------------------


def signing_key_path(keys_dir: Path) -> Path:
    """Where the checkpoint key lives: in the keys directory, never in the database."""
    return keys_dir / SIGNING_KEY_NAME


def public_key_file(keys_dir: Path) -> Path:
    """The public half auditors are given."""
    return public_key_path(signing_key_path(keys_dir))


def state_path(keys_dir: Path) -> Path:
    """The signer's state: the last checkpoint this key signed."""
    return keys_dir / f"{SIGNING_KEY_NAME}.state"


def heads_path(keys_dir: Path) -> Path:
    """The published heads: every checkpoint this key signed, one export line each."""
    return keys_dir / HEADS_NAME


def ensure_signing_key(keys_dir: Path) -> Ed25519PrivateKey:
    """The checkpoint signing key, created (0600, public half beside it) on first use, with
    its state (nothing signed yet).

    Safe when several processes start at once (the server's workers on a new data
    directory): the first creates the key under a lock file, the others wait and load it."""
    path = signing_key_path(keys_dir)
    if path.exists():
        return load_signing_key(path)
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    with open(keys_dir / ".create.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if path.exists():
            return load_signing_key(path)
        key = generate_signing_key(path)
        write_state(keys_dir, SignerState(public_key_id(key), None))
        return key


@dataclass(frozen=True)
class SignerState:
    """What the signer remembers: its key's id, and the last checkpoint it signed (the
    export's form, without ``type``), or None if it has signed none."""

    key_id: str
    last: dict[str, Any] | None


def read_state(keys_dir: Path) -> SignerState | None:
    """The signer's state, or None if there is no state file. ``ValueError`` if it cannot
    be read as one."""
    path = state_path(keys_dir)
    try:
        content = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read the signer's state ({exc})") from exc
    last = content.get("last") if type(content) is dict else None
    if (
        type(content) is not dict
        or content.get("format") != STATE_FORMAT
        or type(content.get("key_id")) is not str
        or not (last is None or (type(last) is dict and type(last.get("seq")) is int))
    ):
        raise ValueError(f"{path}: not a signer state ({STATE_FORMAT})")
    return SignerState(content["key_id"], last)


def write_state(keys_dir: Path, state: SignerState) -> None:
    """Replace the state file atomically (a reader sees the old state or the new, whole)."""
    content = {"format": STATE_FORMAT, "key_id": state.key_id, "last": state.last}
    path = state_path(keys_dir)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, json.dumps(content, sort_keys=True).encode() + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    _sync_directory(keys_dir)


def read_heads(keys_dir: Path) -> list[dict[str, Any]]:
    """The published heads, oldest first, without their ``type`` (a last line still being
    written is left out)."""
    try:
        content = heads_path(keys_dir).read_bytes()
    except FileNotFoundError:
        return []
    heads = [json.loads(line) for line in content.split(b"\n")[:-1] if line.strip()]
    for head in heads:
        head.pop("type", None)
    return heads


def signed_here(keys_dir: Path) -> list[dict[str, Any]]:
    """Every checkpoint this installation's signer says it signed: the published heads and
    the last one in its state (``ValueError`` if they cannot be read). The log must still
    hold each, as signed."""
    state = read_state(keys_dir)
    return read_heads(keys_dir) + ([state.last] if state is not None and state.last else [])


def _publish(keys_dir: Path, checkpoints: Sequence[Mapping[str, Any]]) -> None:
    """Append to the heads file the checkpoints after the last one it holds (reading only
    the file's end). A last line cut short by a crash is dropped first."""
    fd = os.open(heads_path(keys_dir), os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        start = max(0, size - 4096)
        os.lseek(fd, start, os.SEEK_SET)
        tail = os.read(fd, size - start)
        if b"\n" in tail:
            complete = start + tail.rfind(b"\n") + 1
        elif start == 0:
            complete = 0
        else:
            raise ValueError(f"{heads_path(keys_dir)} does not end in JSON lines: repair it")
        if complete < size:
            os.ftruncate(fd, complete)
        lines = tail[: complete - start].split(b"\n")[:-1]
        after = int(json.loads(lines[-1])["seq"]) if lines else -1
        new = b"".join(checkpoint_line(c) for c in checkpoints if c["seq"] > after)
        if new:
            os.write(fd, new)
            os.fsync(fd)
    finally:
        os.close(fd)


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _signing(keys_dir: Path) -> Iterator[None]:
    # One signer at a time (the server's workers and the command line): from reading the
    # state to writing it, across the checkpoint's commit.
    keys_dir.mkdir(parents=True, exist_ok=True)
    with open(keys_dir / ".sign.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- signing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """What :func:`sign_head` did: the checkpoint it signed (None when the head was already
    signed), checkpoints of this key it found in the database but not in its state (left by
    a crash after their commit), and notes to show (an adoption)."""

    checkpoint: dict[str, Any] | None
    recovered: list[dict[str, Any]]
    notes: list[str]


def sign_head(sessions: Callable[[], Session], keys_dir: Path) -> Signed:
    """Sign the chain's head, if it moved and extends what this key signed last.

    Unlike a service function this commits, in transactions of its own: the signer's state
    may only follow a committed checkpoint. The chain is checked in two passes, the long one
    without the writers' lock and the rest under it, so writers wait only for the events
    appended meanwhile. Raises :class:`SigningRefused`, having signed nothing.
    """
    key = ensure_signing_key(keys_dir)
    key_id, public = public_key_id(key), public_key_bytes(key)
    with _signing(keys_dir):
        try:
            state = read_state(keys_dir)
        except ValueError as exc:
            raise SigningRefused(str(exc)) from exc
        if state is not None and state.key_id != key_id:
            raise SigningRefused(
                f"the state beside the key belongs to key {state.key_id}, not {key_id}: the "
                "key was replaced without its state"
            )
        notes: list[str] = []
        with sessions() as session, session.begin():
            if state is None:
                last, notes = _adopt(session, key_id, public, keys_dir)
            else:
                last = state.last
                _publish(keys_dir, [last] if last else [])  # a crash may have cut it short
            start = (last["seq"], last["head"]) if last else (0, GENESIS)
            checked = _check_chain(session, start, None, last)
        with sessions() as session, session.begin():
            head = audit.locked_head(session)  # no event is appended until this commits
            newest, recovered = _catch_up(session, key_id, public, last, keys_dir)
            for signed_before in (last, *recovered):
                if signed_before is not None:
                    _check_head(session, signed_before)
            _check_chain(session, checked, head.seq, None)
            if head.seq == 0 or (newest is not None and head.seq <= newest["seq"]):
                signed = None
            else:
                prev = (newest["seq"], newest["head"]) if newest else (0, GENESIS)
                at = utcnow()
                signed = sign_checkpoint(key, head.seq, head.hash, at, prev=prev)
                session.add(AuditCheckpoint(**{**signed, "at": at}))
        mine = [c for c in (last, *recovered, signed) if c is not None and c["key_id"] == key_id]
        if state is None or (mine and mine[-1] is not last):
            write_state(keys_dir, SignerState(key_id, mine[-1] if mine else None))
        _publish(keys_dir, mine)
    return Signed(signed, recovered, notes)


def _fields(row: AuditCheckpoint) -> dict[str, Any]:
    """A stored checkpoint in the export's form (without ``type``)."""
    record = checkpoint_record(
        {
            "seq": row.seq,
            "head": row.head,
            "at": row.at,
            "key_id": row.key_id,
            "signature": row.signature,
            "prev_seq": row.prev_seq,
            "prev_head": row.prev_head,
        }
    )
    del record["type"]
    return record


def _describe(checkpoint: Mapping[str, Any]) -> str:
    return f"the checkpoint for event {checkpoint['seq']} signed at {checkpoint['at']}"


def _catch_up(
    session: Session,
    key_id: str,
    public: bytes,
    last: dict[str, Any] | None,
    keys_dir: Path,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The checkpoint a new one must name (the log's newest), and those after ``last`` that
    this key signed but its state does not know. Refuses if ``last`` is gone, or if a later
    checkpoint is not one this key signed after it."""
    start = last["seq"] if last else 0
    rows = [
        _fields(row)
        for row in session.scalars(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.seq >= start)
            .order_by(AuditCheckpoint.seq, AuditCheckpoint.id)
        )
    ]
    newest = last
    if last is not None:
        if not any(r["signature"] == last["signature"] and r["seq"] == start for r in rows):
            raise SigningRefused(
                f"the database no longer holds {_describe(last)}, the last this key signed: "
                f"it was deleted. Every checkpoint this key signed is in {heads_path(keys_dir)}; "
                "`dueprocess audit checkpoint --restore` puts the deleted ones back"
            )
        rows = [r for r in rows if r["seq"] > start]
    recovered: list[dict[str, Any]] = []
    for row in rows:
        if row["key_id"] != key_id:
            if last is not None or recovered:
                raise SigningRefused(
                    f"{_describe(row)} by another key ({row['key_id']}) follows "
                    f"{_describe(newest or row)}, which this key signed: two signers on one "
                    "log, or a forged row"
                )
            newest = row  # a new key, after checkpoints signed by an older one
            continue
        expected = (newest["seq"], newest["head"]) if newest else (0, GENESIS)
        if not (
            checkpoint_signature_valid(public, row)
            and (row.get("prev_seq"), row.get("prev_head")) == expected
        ):
            raise SigningRefused(
                f"{_describe(row)}, under this key's id, does not verify as a checkpoint this "
                f"key signed after event {expected[0]}: a forged row"
            )
        recovered.append(row)
        newest = row
    return newest, recovered


def _check_head(session: Session, checkpoint: Mapping[str, Any]) -> None:
    """Refuse unless the event ``checkpoint`` covers still has the hash it signed."""
    seq = checkpoint["seq"]
    if seq == 0:
        return
    stored = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq))
    if stored is None:
        raise SigningRefused(
            f"event {seq} is no longer in the database, though this key signed it "
            f"({_describe(checkpoint)}): events were deleted, or the database was restored "
            "from a backup older than that checkpoint"
        )
    if stored != checkpoint["head"]:
        raise SigningRefused(
            f"event {seq} no longer has the hash this key signed for it "
            f"({_describe(checkpoint)}): the log was rewritten up to event {seq}"
        )


def _check_chain(
    session: Session,
    start: tuple[int, str],
    until: int | None,
    signed: Mapping[str, Any] | None,
) -> tuple[int, str]:
    """Check that event ``start[0]`` has hash ``start[1]`` (the head ``signed`` covers, or
    one checked in an earlier pass) and that every event after it, up to ``until`` (or the
    last one stored), follows in sequence, links to the one before and has the hash of its
    own fields. Returns the last event checked (seq, hash)."""
    seq, digest = start
    if signed is not None:
        _check_head(session, signed)
    elif seq and session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq)) != digest:
        raise SigningRefused(f"event {seq} was deleted or changed while the chain was checked")
    anchor = f"event {seq}, which this key signed" if signed else "the events checked"
    columns = [getattr(AuditEvent, name) for name in ("seq", "at", "actor", "action")]
    # The data as stored, unparsed: the writers store its canonical text (see _hash_problem).
    columns += [AuditEvent.subject, cast(AuditEvent.data, Text).label("data")]
    columns += [AuditEvent.prev, AuditEvent.hash]
    while True:
        query = select(*columns).where(AuditEvent.seq > seq)
        if until is not None:
            query = query.where(AuditEvent.seq <= until)
        rows = session.execute(query.order_by(AuditEvent.seq).limit(_BATCH)).all()
        for row in rows:
            problem: str | None
            if row.seq != seq + 1:
                problem = f"events {seq + 1}..{row.seq - 1} are missing"
            elif row.prev != digest:
                problem = f"event {row.seq} does not link to event {seq}"
            else:
                problem = _hash_problem(row)
            if problem:
                raise SigningRefused(
                    f"{problem}, so the head does not extend {anchor}: the log was altered "
                    "after it was signed"
                )
            seq, digest = row.seq, row.hash
        if len(rows) < _BATCH:
            break
    if until is not None and seq < until:
        raise SigningRefused(f"events {seq + 1}..{until} are missing")
    return seq, digest


def _hash_problem(row: Any) -> str | None:
    """Why the stored event ``row`` (its data as stored text) does not hash to its ``hash``,
    or None. The writers store ``data`` in its canonical form, so the event's canonical
    bytes are put together around that text (as the writer did), once it is shown to be
    canonical; anything else is decided by :func:`chain.event_hash` on the parsed data."""
    at = format_at(row.at)
    try:
        text = row.data.encode()
        data = orjson.loads(text)
        if orjson.dumps(data, option=orjson.OPT_SORT_KEYS) == text:
            check_event_content(row.actor, row.action, row.subject, data)
            head, tail = canonical_parts_json(
                at=at, actor=row.actor, action=row.action, subject=row.subject, data_json=text
            )
            digest = hashlib.sha256(head + chain_link(row.prev, row.seq) + tail).hexdigest()
            if digest == row.hash:
                return None
    except (ValueError, TypeError, AttributeError):
        pass  # decided below
    fields = {"seq": row.seq, "at": at, "actor": row.actor, "action": row.action}
    fields |= {"subject": row.subject, "prev": row.prev}
    try:
        fields["data"] = json.loads(row.data)
        matches = event_hash(fields) == row.hash
    except (ValueError, TypeError) as exc:
        return f"event {row.seq} is malformed ({exc})"
    return None if matches else f"event {row.seq}'s hash does not match its contents"


def _adopt(
    session: Session, key_id: str, public: bytes, keys_dir: Path
) -> tuple[dict[str, Any] | None, list[str]]:
    """For a key without a state file: the newest checkpoint in the database this key
    signed (checked against events 1 up to it), and a note saying what was adopted."""
    rows = session.scalars(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.key_id == key_id)
        .order_by(AuditCheckpoint.seq.desc(), AuditCheckpoint.id.desc())
    )
    found = next((c for c in map(_fields, rows) if checkpoint_signature_valid(public, c)), None)
    where = f"no signer state beside the key ({state_path(keys_dir)})"
    if found is None:
        return None, [f"{where}, and this key signed nothing in this log: starting from the "
                      "log as it stands"]  # fmt: skip
    _check_chain(session, (0, GENESIS), found["seq"], None)
    _check_head(session, found)
    return found, [
        f"{where}: adopted {_describe(found)}, after checking events 1..{found['seq']} "
        "against it (what happened before it was signed cannot be known)"
    ]


# --- restoring deleted checkpoints ----------------------------------------------------------


def restore_checkpoints(
    sessions: Callable[[], Session], keys_dir: Path, *, actor: str
) -> list[dict[str, Any]]:
    """Put back into the database the checkpoints this key signed (the published heads and
    its state) that are missing there, each checked against its signature and the event it
    covers, and record that as an ``audit.checkpoints_restored`` event. Raises
    :class:`SigningRefused` if one cannot be restored (the event it signed was changed)."""
    key = ensure_signing_key(keys_dir)
    key_id, public = public_key_id(key), public_key_bytes(key)
    with _signing(keys_dir):
        try:
            state = read_state(keys_dir)
        except ValueError as exc:
            raise SigningRefused(str(exc)) from exc
        held = {c["signature"]: c for c in read_heads(keys_dir)}
        if state is not None and state.last is not None:
            held[state.last["signature"]] = state.last
        restored = []
        with sessions() as session, session.begin():
            stored = set(session.scalars(select(AuditCheckpoint.signature)))
            for checkpoint in sorted(held.values(), key=lambda c: c["seq"]):
                if checkpoint["signature"] in stored:
                    continue
                if checkpoint["key_id"] != key_id or not checkpoint_signature_valid(
                    public, checkpoint
                ):
                    raise SigningRefused(
                        f"{_describe(checkpoint)} in {heads_path(keys_dir)} was not signed by "
                        "this key: the published heads were altered"
                    )
                _check_head(session, checkpoint)
                at = datetime.fromisoformat(checkpoint["at"])
                session.add(AuditCheckpoint(**{**checkpoint, "at": at}))
                restored.append(checkpoint)
            if restored:
                audit.record(
                    session,
                    actor=actor,
                    action="audit.checkpoints_restored",
                    data={"seqs": [c["seq"] for c in restored], "from": str(heads_path(keys_dir))},
                )
    return restored
