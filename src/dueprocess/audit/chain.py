"""Hash-chain primitives of the audit log: canonical form, hashes, signing keys, checkpoints.

Everything here is pure (no database, no clock reads): the writer in
:mod:`dueprocess.audit.service` calls these when it appends an event, signs a checkpoint or
writes an export. The standalone :mod:`dueprocess.audit.verify` re-implements the
canonical form on purpose (it must run as a single copied file); a test checks both produce
the same bytes. The format is specified in ``docs/audit-format.md``.

Canonical form of an event: the seven fields ``action actor at data prev seq subject`` (never
``hash`` nor ``type``) serialised as one JSON object with keys sorted by code point, no
whitespace, non-ASCII characters written as raw UTF-8 (not ``\\u`` escapes), i.e. exactly
``orjson.dumps(fields, option=OPT_SORT_KEYS)``, which equals
``json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()``
for the values allowed: strings, integers in the signed 64-bit range, ``true``/``false``/
``null``, lists and objects (string keys), nested at most :data:`MAX_DEPTH` deep.
Floating-point numbers are refused: the two libraries write some of them differently
(``1e-7`` against ``1e-07``), so a float would make the hash depend on the verifier's library.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from dueprocess.clock import isoformat_z, utcnow

GENESIS: Final = "0" * 64
"""The ``prev`` of event 1, and the head of an empty chain."""

FORMAT: Final = "dueprocess-audit/2"
"""The export format named in the header line (``/2``: checkpoints name their predecessor)."""

HASHED_FIELDS: Final = ("action", "actor", "at", "data", "prev", "seq", "subject")
"""The fields an event's hash covers, in canonical (sorted) order."""

CHECKPOINT_PREFIX: Final = b"dueprocess-audit-checkpoint:v2:"
"""Domain separation for checkpoint signatures: the key signs nothing else with this prefix."""

CHECKPOINT_PREFIX_V1: Final = b"dueprocess-audit-checkpoint:v1:"
"""The prefix of checkpoints signed before they named their predecessor (still verified)."""

CHECKPOINT_FIELDS: Final = ("seq", "head", "at", "key_id", "signature", "prev_seq", "prev_head")
"""A checkpoint's fields in the export; a v1 checkpoint has no ``prev_seq``/``prev_head``."""

MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**63 - 1
MAX_DEPTH: Final = 32
"""How deeply ``data`` may nest (objects and lists), so no reader hits a recursion limit."""

_FIELD_SET: Final = frozenset(HASHED_FIELDS)
_TOLERATED: Final = frozenset({"hash", "type"})
_HEX64 = re.compile(r"[0-9a-f]{64}")
_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")
_DUMPS_OPTION: Final = orjson.OPT_SORT_KEYS


# --- canonical form and hashes -------------------------------------------------------------


def format_at(value: datetime) -> str:
    """The ``at`` string of an event or checkpoint: ISO 8601 UTC with ``Z``.

    This is :func:`dueprocess.clock.isoformat_z` (microseconds when non-zero), so a
    timestamp read back from the database renders to the very string that was hashed/signed.
    """
    return isoformat_z(value)


def _value_problem(value: object, depth: int) -> str | None:
    """Why ``value`` may not appear in ``data``, or None when it may."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return None
    if kind is int:
        ok = MIN_INT <= value <= MAX_INT  # type: ignore[operator]
        return None if ok else f"integer {value} outside the signed 64-bit range"
    if kind is float:
        return f"floating-point number {value!r} (write it as a string or a scaled integer)"
    if depth >= MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str:
                return f"object key {key!r} is not a string"
            # Strings and None, most values, without a call (this runs on every event).
            if type(item) is not str and item is not None:
                problem = _value_problem(item, depth + 1)
                if problem is not None:
                    return problem
        return None
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            if type(item) is not str and item is not None:
                problem = _value_problem(item, depth + 1)
                if problem is not None:
                    return problem
        return None
    return f"value of type {kind.__name__} (allowed: str, int, bool, None, list, dict)"


def check_event_fields(event_fields: Mapping[str, Any]) -> dict[str, Any]:
    """Validate an event's fields and return exactly the seven hashed ones, as a new dict.

    Raises ``ValueError`` naming the first problem: a missing or unknown field (``hash`` and
    ``type`` are tolerated and dropped), a field of the wrong type, ``seq`` below 1, ``prev``
    not 64 lowercase hex digits, ``at`` not ISO 8601 UTC ending in ``Z``, or a value in
    ``data`` outside the canonical value set (module docstring).
    """
    unknown = event_fields.keys() - _FIELD_SET - _TOLERATED
    if unknown:
        raise ValueError(f"unknown event field(s): {', '.join(sorted(unknown))}")
    missing = _FIELD_SET - event_fields.keys()
    if missing:
        raise ValueError(f"missing event field(s): {', '.join(sorted(missing))}")
    fields = {name: event_fields[name] for name in HASHED_FIELDS}
    seq = fields["seq"]
    if type(seq) is not int or not 1 <= seq <= MAX_INT:
        raise ValueError(f"seq must be an integer >= 1, not {seq!r}")
    if type(fields["at"]) is not str or not _AT.fullmatch(fields["at"]):
        raise ValueError(f"at must be ISO 8601 UTC ending in Z, not {fields['at']!r}")
    if type(fields["prev"]) is not str or not _HEX64.fullmatch(fields["prev"]):
        raise ValueError(f"prev must be 64 lowercase hex digits, not {fields['prev']!r}")
    check_event_content(fields["actor"], fields["action"], fields["subject"], fields["data"])
    return fields


def check_event_content(actor: object, action: object, subject: object, data: object) -> None:
    """The part of :func:`check_event_fields` a writer needs for an event it is recording
    (it makes ``seq``, ``prev`` and ``at`` itself): ``ValueError`` naming the first problem
    with ``actor``, ``action``, ``subject`` or a value in ``data``."""
    check_event_names(actor, action, subject)
    check_event_data(data)


def check_event_names(actor: object, action: object, subject: object) -> None:
    """``ValueError`` unless ``actor`` and ``action`` are non-empty strings and ``subject``
    a string or None."""
    for name, value in (("actor", actor), ("action", action)):
        if type(value) is not str or not value:
            raise ValueError(f"{name} must be a non-empty string, not {value!r}")
    if subject is not None and type(subject) is not str:
        raise ValueError(f"subject must be a string or None, not {subject!r}")


def check_event_data(data: object) -> None:
    """``ValueError`` naming the first value of ``data`` outside the canonical value set
    (module docstring), or if ``data`` is not a dict."""
    if type(data) is not dict:
        raise ValueError(f"data must be a JSON object (dict), not {type(data).__name__}")
    problem = _value_problem(data, 0)
    if problem is not None:
        raise ValueError(f"data holds a {problem}")


def canonical_bytes(event_fields: Mapping[str, Any]) -> bytes:
    """The bytes an event's hash is taken over (module docstring; validated first)."""
    fields = check_event_fields(event_fields)
    try:
        return orjson.dumps(fields, option=_DUMPS_OPTION)
    except orjson.JSONEncodeError as exc:  # e.g. a lone surrogate in a string
        raise ValueError(f"event cannot be serialised canonically: {exc}") from exc


def event_hash(fields: Mapping[str, Any]) -> str:
    """Lowercase hex SHA-256 of :func:`canonical_bytes`; ``prev`` chains it to the last event."""
    return hashlib.sha256(canonical_bytes(fields)).hexdigest()


def canonical_parts(
    *,
    at: str,
    actor: str,
    action: str,
    subject: str | None,
    data: Mapping[str, Any],
    validated: bool = False,
) -> tuple[bytes, bytes]:
    """The canonical form of an event not yet placed in the chain, split where ``prev`` and
    ``seq`` go: ``head + b'"prev":"<prev>","seq":<seq>,' + tail`` is :func:`canonical_bytes`
    of the placed event. Keys sort as ``action actor at data prev seq subject``, so the two
    chain fields fall between ``data`` and ``subject``. The database's chaining trigger
    (PostgreSQL) fills in that middle. Fields are validated as in :func:`canonical_bytes`
    unless ``validated`` (the writer checked them when the event was recorded).
    """
    if not validated:
        check_event_fields(
            {
                "seq": 1,
                "at": at,
                "actor": actor,
                "action": action,
                "subject": subject,
                "data": data,
                "prev": GENESIS,
            }
        )
    return canonical_parts_json(
        at=at, actor=actor, action=action, subject=subject, data_json=canonical_data(data)
    )


def canonical_data(data: Mapping[str, Any]) -> bytes:
    """``data`` in its canonical JSON form (keys sorted, compact), as it is hashed; it is also
    valid JSON to store. ``ValueError`` if it cannot be serialised (e.g. a lone surrogate).
    Values are not checked here: see :func:`check_event_content`."""
    try:
        return orjson.dumps(data, option=_DUMPS_OPTION)
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"event cannot be serialised canonically: {exc}") from exc


def canonical_parts_json(
    *, at: str, actor: str, action: str, subject: str | None, data_json: bytes
) -> tuple[bytes, bytes]:
    """:func:`canonical_parts` of checked fields, with ``data`` already in canonical form
    (:func:`canonical_data`), so a writer serialises it once for both the hash and the row."""
    try:
        head = orjson.dumps({"action": action, "actor": actor, "at": at})
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"event cannot be serialised canonically: {exc}") from exc
    return head[:-1] + b',"data":' + data_json + b",", canonical_tail(subject)


def canonical_tail(subject: str | None) -> bytes:
    """The part of :func:`canonical_parts_json` after the chain link: all that differs
    between events alike but for their subject."""
    try:
        return b'"subject":' + orjson.dumps(subject) + b"}"
    except orjson.JSONEncodeError as exc:
        raise ValueError(f"event cannot be serialised canonically: {exc}") from exc


def chain_link(prev: str, seq: int) -> bytes:
    """The middle of a placed event's canonical form (see :func:`canonical_parts`)."""
    return b'"prev":"' + prev.encode("ascii") + b'","seq":' + str(seq).encode("ascii") + b","


def make_event(
    *,
    seq: int,
    at: datetime | str,
    actor: str,
    action: str,
    subject: str | None,
    data: Mapping[str, Any],
    prev: str,
) -> dict[str, Any]:
    """A complete event (the seven fields plus ``hash``), ready to store or export."""
    fields: dict[str, Any] = {
        "seq": seq,
        "at": format_at(at) if isinstance(at, datetime) else at,
        "actor": actor,
        "action": action,
        "subject": subject,
        "data": dict(data),
        "prev": prev,
    }
    fields["hash"] = hashlib.sha256(canonical_bytes(fields)).hexdigest()
    return fields


# --- signing keys --------------------------------------------------------------------------


def public_key_path(private_key_path: str | os.PathLike[str]) -> Path:
    """Where :func:`generate_signing_key` puts the public half: the same name plus ``.pub``."""
    path = Path(private_key_path)
    return path.with_name(path.name + ".pub")


def generate_signing_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Create a new Ed25519 key at ``path`` (PKCS#8 PEM, mode 0600) and return it.

    The public key is written beside it (:func:`public_key_path`, SubjectPublicKeyInfo PEM,
    mode 0644) for auditors. Refuses to overwrite an existing file (``FileExistsError``):
    losing a checkpoint key silently would orphan every checkpoint it signed.
    """
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub_path = public_key_path(path)
    if pub_path.exists():
        raise FileExistsError(f"{pub_path} already exists")
    _write_new(Path(path), private_pem, 0o600)
    _write_new(pub_path, public_pem, 0o644)
    return key


def _write_new(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to a new file at ``path``, all at once or not at all.

    A reader that finds ``path`` finds it complete: the content goes to a private temporary
    file first, which is then hard-linked to ``path`` (atomic, and fails with
    ``FileExistsError`` rather than replace a file there). Another process starting at the
    same moment may look for the key without the creation lock, so a half-written key
    would fail its load."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)  # left by a crash of an earlier process with our pid
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            os.fchmod(fd, mode)  # the umask may have narrowed it; make it exactly this
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the new name survives a crash, not only the content
    finally:
        os.close(directory)


def load_signing_key(
    path: str | os.PathLike[str], *, allow_shared_permissions: bool = False
) -> Ed25519PrivateKey:
    """Read a private key written by :func:`generate_signing_key` (PKCS#8 PEM, unencrypted).

    Refuses (``PermissionError``) a file that group or others may read or write, as ssh does,
    unless ``allow_shared_permissions`` (for secret mounts that cannot be 0600). Raises
    ``ValueError`` if the file is not an Ed25519 private key.
    """
    path = Path(path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077 and not allow_shared_permissions:
        raise PermissionError(
            f"{path} has mode {mode:04o}; a checkpoint signing key must be 0600 (chmod 600 {path})"
        )
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def public_key_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """The raw 32-byte public key (what the header lists and the key id is taken over)."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_id(pub: bytes | Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """First 16 hex digits of SHA-256 over the raw 32-byte public key."""
    raw = pub if isinstance(pub, bytes) else public_key_bytes(pub)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 raw bytes")
    return hashlib.sha256(raw).hexdigest()[:16]


# --- checkpoints ---------------------------------------------------------------------------


def checkpoint_message(
    seq: int, head: str, at: str, prev_seq: int | None = None, prev_head: str | None = None
) -> bytes:
    """The bytes a checkpoint signs, UTF-8:
    ``dueprocess-audit-checkpoint:v2:{seq}:{head}:{at}:{prev_seq}:{prev_head}``.

    ``seq`` in decimal without leading zeros, ``head`` the hash of event ``seq`` (or
    :data:`GENESIS` for seq 0), ``at`` the checkpoint's timestamp string, ``prev_seq`` and
    ``prev_head`` those of the checkpoint before it in the log (0 and :data:`GENESIS` for the
    first). Signing ``at`` lets an auditor holding a checkpoint prove the log had ``seq``
    events by then; naming the predecessor makes a deleted checkpoint show. Without a
    predecessor, the v1 message of older checkpoints: ``...:v1:{seq}:{head}:{at}``.
    """
    if prev_seq is None:
        return CHECKPOINT_PREFIX_V1 + f"{seq}:{head}:{at}".encode()
    return CHECKPOINT_PREFIX + f"{seq}:{head}:{at}:{prev_seq}:{prev_head}".encode()


def sign_checkpoint(
    key: Ed25519PrivateKey,
    seq: int,
    head: str,
    at: datetime | None = None,
    *,
    prev: tuple[int, str] | None,
) -> dict[str, Any]:
    """Sign the chain's head at ``seq`` and return the checkpoint's fields.

    ``prev`` is ``(seq, head)`` of the checkpoint before this one in the log, ``(0,
    GENESIS)`` for the first; None makes a v1 checkpoint, which names none (only to build
    logs as they were before v2, in tests). Returns ``{"seq", "head", "at", "key_id",
    "signature", "prev_seq", "prev_head"}`` (no ``prev_*`` for v1; ``at`` as
    :func:`format_at`, now if not given; ``signature`` standard base64 with padding). The
    export adds ``"type": "checkpoint"``.
    """
    if type(seq) is not int or seq < 0:
        raise ValueError(f"seq must be an integer >= 0, not {seq!r}")
    if not _HEX64.fullmatch(head):
        raise ValueError(f"head must be 64 lowercase hex digits, not {head!r}")
    if prev is not None and not (
        type(prev[0]) is int and 0 <= prev[0] <= seq and _HEX64.fullmatch(prev[1])
    ):
        raise ValueError(f"prev must be (seq <= {seq}, 64 lowercase hex digits), not {prev!r}")
    when = format_at(at if at is not None else utcnow())
    names = prev if prev is not None else (None, None)
    signature = key.sign(checkpoint_message(seq, head, when, *names))
    signed = {
        "seq": seq,
        "head": head,
        "at": when,
        "key_id": public_key_id(key),
        "signature": base64.b64encode(signature).decode("ascii"),
    }
    if prev is not None:
        signed["prev_seq"], signed["prev_head"] = prev
    return signed


def checkpoint_signature_valid(public_key: bytes, checkpoint: Mapping[str, Any]) -> bool:
    """Whether ``checkpoint`` carries a valid signature by ``public_key`` (raw 32 bytes):
    v2 when it has ``prev_seq`` (not None), else v1."""
    try:
        signature = base64.b64decode(checkpoint["signature"], validate=True)
        message = checkpoint_message(
            checkpoint["seq"],
            checkpoint["head"],
            _at(checkpoint["at"]),
            checkpoint.get("prev_seq"),
            checkpoint.get("prev_head"),
        )
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return bool(public_key_id(public_key) == checkpoint["key_id"])


# --- export --------------------------------------------------------------------------------


def _line(record: Mapping[str, Any]) -> bytes:
    return orjson.dumps(record, option=_DUMPS_OPTION) + b"\n"


def _at(value: datetime | str) -> str:
    return format_at(value) if isinstance(value, datetime) else value


def export_lines(
    events: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]],
    *,
    public_keys: Sequence[bytes] = (),
    exported_at: datetime | None = None,
) -> Iterator[bytes]:
    """The export, one JSON line (with its newline) at a time.

    ``events`` in ``seq`` order, each with the seven hashed fields plus ``hash`` (``at`` may
    be a datetime; other keys are ignored); ``checkpoints`` in ``seq`` order with ``seq head
    at key_id signature`` and, but for v1 ones, ``prev_seq prev_head``. Both must come from
    one consistent snapshot of the database.
    Writes the header, every event followed by the checkpoints of its ``seq``, checkpoints
    whose ``seq`` is past the last event at the end (the verifier reports those as
    truncation), then the trailer. Values are written as stored, not re-validated: the
    export must show tampering, not hide it.
    """
    yield _line(
        {
            "type": "header",
            "format": FORMAT,
            "exported_at": format_at(exported_at if exported_at is not None else utcnow()),
            "public_keys": [base64.b64encode(key).decode("ascii") for key in public_keys],
        }
    )
    pending = iter(checkpoints)
    checkpoint = next(pending, None)
    count = written_checkpoints = 0
    head = GENESIS
    for event in events:
        seq = event["seq"]
        while checkpoint is not None and checkpoint["seq"] < seq:
            yield checkpoint_line(checkpoint)
            written_checkpoints += 1
            checkpoint = next(pending, None)
        record = {name: event[name] for name in HASHED_FIELDS}
        record["at"] = _at(record["at"])
        record["hash"] = head = event["hash"]
        record["type"] = "event"
        yield _line(record)
        count += 1
        while checkpoint is not None and checkpoint["seq"] == seq:
            yield checkpoint_line(checkpoint)
            written_checkpoints += 1
            checkpoint = next(pending, None)
    while checkpoint is not None:
        yield checkpoint_line(checkpoint)
        written_checkpoints += 1
        checkpoint = next(pending, None)
    yield _line(
        {"type": "trailer", "events": count, "checkpoints": written_checkpoints, "head": head}
    )


def checkpoint_record(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint as the export writes it (``type`` included; no ``prev_*`` for v1)."""
    record = {name: checkpoint[name] for name in CHECKPOINT_FIELDS[:5]}
    if checkpoint.get("prev_seq") is not None:
        record["prev_seq"], record["prev_head"] = checkpoint["prev_seq"], checkpoint["prev_head"]
    record["at"] = _at(record["at"])
    record["type"] = "checkpoint"
    return record


def checkpoint_line(checkpoint: Mapping[str, Any]) -> bytes:
    """One checkpoint as an export line, canonical, with its newline (the published heads
    file holds these too)."""
    return _line(checkpoint_record(checkpoint))


def write_export(
    out: BinaryIO,
    events: Iterable[Mapping[str, Any]],
    checkpoints: Iterable[Mapping[str, Any]],
    *,
    public_keys: Sequence[bytes] = (),
    exported_at: datetime | None = None,
) -> int:
    """Write :func:`export_lines` to a binary file; return the number of bytes written."""
    written = 0
    for line in export_lines(events, checkpoints, public_keys=public_keys, exported_at=exported_at):
        written += out.write(line)
    return written
