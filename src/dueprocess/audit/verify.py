"""Standalone verifier of dueprocess audit exports (format: ``docs/audit-format.md``).

This one file is all an outside party needs: copy it anywhere, ``pip install cryptography``
(and optionally ``orjson``, about three times faster), then run::

    python verify.py EXPORT.jsonl --public-key audit.key.pub

It imports nothing else from dueprocess on purpose, so it can be read and trusted on its own;
the canonical form is therefore written out again here rather than imported, and a test
checks it gives the same bytes as ``dueprocess.audit.chain``. It reads the export as a
stream, one line at a time, in constant memory, and stops at the first problem, which it
names by event ``seq`` and line number. Exit status: 0 intact, 1 tampered or malformed,
2 unreadable input or bad arguments.

Every line must be exactly the canonical JSON of what it holds (keys sorted, no whitespace,
no repeated key): a line a JSON parser would read the same way but that is spelled
differently is refused, so two programs can never read one line two ways (a ``"data"`` key
given twice, of which a parser keeps the last). Events left unsigned for longer than the
server's checkpoint interval allows fail verification (see ``--max-unsigned-age``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - exercised by copying the file to a bare Python
    _orjson = None  # type: ignore[assignment]

GENESIS: Final = "0" * 64
FORMAT: Final = "dueprocess-audit/2"
READS: Final = ("dueprocess-audit/1", FORMAT)  # /1 is /2 without checkpoints naming a predecessor
CHECKPOINT_PREFIX: Final = b"dueprocess-audit-checkpoint:v2:"
CHECKPOINT_PREFIX_V1: Final = b"dueprocess-audit-checkpoint:v1:"
DEFAULT_MAX_UNSIGNED_AGE: Final = 900.0
"""Seconds an event may stay unsigned: the server's 5-minute checkpoint interval, plus 10."""
# Writers keep integers to the signed 64-bit range; the verifier accepts up to 2**64 - 1,
# where orjson and json still agree, so its verdict never depends on the library.
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**64 - 1
MAX_DEPTH: Final = 32

_EVENT_KEYS: Final = ("action", "actor", "at", "data", "prev", "seq", "subject")
_CHECKPOINT_KEYS_V1: Final = frozenset({"seq", "head", "at", "key_id", "signature"})
_CHECKPOINT_KEYS: Final = _CHECKPOINT_KEYS_V1 | {"prev_seq", "prev_head"}
_AT = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z")
_TRAILER_KEYS: Final = frozenset({"events", "checkpoints", "head"})
_HEADER_KEYS: Final = frozenset({"format", "exported_at", "public_keys"})

Loads = Callable[[bytes | str], Any]
Dumps = Callable[[Any], bytes]


# --- canonical form (kept identical to dueprocess.audit.chain; a test compares them) -------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_JSON_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_JSON_ENCODER = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)


def _json_loads(line: bytes | str) -> Any:
    # Decode strictly as UTF-8 first: json.loads(bytes) would also accept UTF-16/32.
    text = line.decode("utf-8") if isinstance(line, bytes) else line
    return _JSON_DECODER.decode(text)


def _json_dumps(obj: Any) -> bytes:
    return _JSON_ENCODER.encode(obj).encode("utf-8")


def codec(use_orjson: bool | None = None) -> tuple[Loads, Dumps]:
    """``(loads, canonical_dumps)``: orjson when importable (or asked), else stdlib ``json``.

    ``canonical_dumps`` is ``orjson.dumps(obj, option=OPT_SORT_KEYS)`` or, identically for
    the allowed values, ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
    ensure_ascii=False).encode()``.
    """
    if use_orjson is None:
        use_orjson = _orjson is not None
    if not use_orjson:
        return _json_loads, _json_dumps
    if _orjson is None:
        raise RuntimeError("orjson is not installed")
    return _orjson.loads, partial(_orjson.dumps, option=_orjson.OPT_SORT_KEYS)


def canonical_bytes(fields: Mapping[str, Any], *, use_orjson: bool | None = None) -> bytes:
    """The canonical bytes of an event's seven hashed fields (``hash`` and ``type`` dropped)."""
    event = {key: fields[key] for key in _EVENT_KEYS}
    return codec(use_orjson)[1](event)


def _value_problem(value: object, depth: int) -> str | None:
    """Why ``value`` may not appear in ``data`` (no floats, 64-bit ints), or None."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return None
    if kind is int:
        ok = MIN_INT <= value <= MAX_INT  # type: ignore[operator]
        return None if ok else f"integer {value} outside the 64-bit range"
    if kind is float:
        return f"floating-point number {value!r}, which the canonical form forbids"
    if depth >= MAX_DEPTH:
        return f"value nested deeper than {MAX_DEPTH} levels"
    if kind is dict:
        for item in value.values():  # type: ignore[attr-defined]
            problem = _value_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    if kind is list:
        for item in value:  # type: ignore[attr-defined]
            problem = _value_problem(item, depth + 1)
            if problem is not None:
                return problem
        return None
    return f"value of type {kind.__name__}"


# --- keys and signatures -------------------------------------------------------------------


def public_key_id(raw: bytes) -> str:
    """First 16 hex digits of SHA-256 over the raw 32-byte Ed25519 public key."""
    return hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(
    seq: int, head: str, at: str, prev_seq: int | None = None, prev_head: str | None = None
) -> bytes:
    """What a checkpoint signs, UTF-8: ``dueprocess-audit-checkpoint:v2:{seq}:{head}:{at}:
    {prev_seq}:{prev_head}``, or for a checkpoint of before v2 (no predecessor named)
    ``dueprocess-audit-checkpoint:v1:{seq}:{head}:{at}``."""
    if prev_seq is None:
        return CHECKPOINT_PREFIX_V1 + f"{seq}:{head}:{at}".encode()
    return CHECKPOINT_PREFIX + f"{seq}:{head}:{at}:{prev_seq}:{prev_head}".encode()


def parse_at(text: object) -> datetime | None:
    """An ``at`` string (``2020-07-06T09:00:00.123456Z``) as an aware datetime, or None."""
    match = _AT.fullmatch(text) if type(text) is str else None
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second),
                        int((fraction or "0").ljust(6, "0")), timezone.utc)  # noqa: UP017 # fmt: skip
    except ValueError:
        return None


def parse_public_key(content: bytes) -> bytes:
    """Raw 32-byte key from a PEM SubjectPublicKeyInfo, raw bytes, base64 or hex text.

    Raises ``ValueError`` for anything else, including a PEM key that is not Ed25519.
    """
    text = content.strip()
    if text.startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(text)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if len(content) == 32:
        return content
    for decode in (partial(base64.b64decode, validate=True), binascii.unhexlify):
        try:
            raw = decode(text)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    raise ValueError("not an Ed25519 public key (PEM, 32 raw bytes, base64 or hex)")


def load_public_key(path: str) -> bytes:
    """:func:`parse_public_key` of a file's content (``OSError`` if it cannot be read)."""
    with open(path, "rb") as handle:
        return parse_public_key(handle.read())


def _key_map(keys: Iterable[bytes]) -> dict[str, Ed25519PublicKey]:
    return {public_key_id(raw): Ed25519PublicKey.from_public_bytes(raw) for raw in keys}


# --- the result ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What :func:`verify_export` found.

    ``events``/``checkpoints`` count what verified before any problem. On failure,
    ``first_bad_seq`` is the first event modified, missing or out of place (for a
    ``record == "checkpoint"`` problem, the seq that checkpoint claims to cover; None when no
    event can be named), ``line_no`` the 1-based line where the problem showed, ``record``
    what is wrong (``event``, ``checkpoint``, ``header`` or ``trailer``). ``signed_seq`` is
    the last event covered by a verified checkpoint signature; ``keys_trusted`` is False
    when the signatures were checked against keys listed in the export itself. ``tail_at``
    is the ``at`` of the first event after the last checkpoint (None when every event is
    signed); ``stale_tail_allowed`` is True when that event was older than
    ``max_unsigned_age`` and only ``allow_unsigned_tail`` let the export pass.
    """

    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None = None
    line_no: int | None = None
    problem: str | None = None
    record: str | None = None
    head: str = GENESIS
    signed_seq: int = 0
    keys_trusted: bool = True
    tail_at: str | None = None
    max_unsigned_age: float | None = None
    stale_tail_allowed: bool = False

    def summary(self) -> str:
        """The one-line verdict the command line prints."""
        if self.ok:
            events = f"{self.events} event{'s' if self.events != 1 else ''}"
            checkpoints = f"{self.checkpoints} checkpoint{'s' if self.checkpoints != 1 else ''}"
            if self.stale_tail_allowed:
                tail = _span(self.signed_seq + 1, self.events, "is", "are").upper()
                return (f"OK: {events}, {checkpoints} verified, BUT {tail} NOT SIGNED "
                        "(accepted because of --allow-unsigned-tail)")  # fmt: skip
            return f"OK: {events}, {checkpoints} verified"
        at = "" if self.line_no is None else f" (line {self.line_no})"
        seq = self.first_bad_seq
        if self.record == "event" and seq is not None:
            where = f"event {seq}{at}"
        elif self.record == "checkpoint" and seq is not None:
            where = f"checkpoint for event {seq}{at}"
        elif self.record == "export":  # a line that is no record at all
            where = f"line {self.line_no}"
        else:
            where = f"{self.record}{at}"
        return f"TAMPERED: {where}: {self.problem}"


def warning_lines(result: VerifyResult) -> list[str]:
    """What to say after an ``OK`` (on standard error), one line each: keys taken from the
    export, and events not yet signed. ``dueprocess audit verify`` prints the same lines."""
    if not result.ok:
        return []
    lines = []
    if not result.keys_trusted:
        lines.append("WARNING: signatures were checked against keys listed in the export "
                     "itself; that does not prove who wrote it")  # fmt: skip
    first, last = result.signed_seq + 1, result.events
    if first > last:
        return lines
    if result.stale_tail_allowed:
        limit = _duration(result.max_unsigned_age or 0)
        lines.append(
            f"WARNING: UNSIGNED: {_span(first, last, 'is', 'are')} covered by no checkpoint, "
            f"and event {first} (at {result.tail_at}) is older than {limit}: checkpoints may "
            "have been deleted and the events rewritten. Accepted only because "
            "--allow-unsigned-tail was given."
        )
    else:
        lines.append(
            f"WARNING: {_span(first, last, 'comes', 'come')} after the last checkpoint: "
            "chained but not yet signed, so whoever can write the database could have added "
            "or changed them"
        )
    return lines


def _span(first: int, last: int, one: str, many: str) -> str:
    return f"event {first} {one}" if first == last else f"events {first}..{last} {many}"


def _duration(seconds: float) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size or unit == "second":
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError  # pragma: no cover


# --- verification --------------------------------------------------------------------------

# (message, first bad seq or None, record): one problem, as verify_export reports it.
_Problem = tuple[str, int | None, str]


def verify_export(
    lines: Iterable[bytes | str],
    public_keys: Sequence[bytes] | None,
    *,
    expected_checkpoints: Iterable[Mapping[str, Any]] = (),
    min_events: int = 0,
    use_orjson: bool | None = None,
    max_unsigned_age: float | None = DEFAULT_MAX_UNSIGNED_AGE,
    allow_unsigned_tail: bool = False,
    now: datetime | None = None,
) -> VerifyResult:
    """Check an export's chain, checkpoints and trailer; stop at the first problem.

    ``lines``: the export's lines (bytes or str, with or without newlines; blank ones are
    skipped). ``public_keys``: raw 32-byte Ed25519 keys the auditor trusts; None means use
    the keys in the export's header, which proves only self-consistency
    (``keys_trusted=False``). ``expected_checkpoints``: ``{"seq", "head"}`` pairs the auditor
    kept from earlier (a published head, a checkpoint line); the export must reach each and
    agree with it, and must itself hold each one that carries a ``signature`` (a checkpoint
    the service signed cannot have vanished from its log). ``min_events``: the export must
    hold at least this many events. These catch a truncation whose trailer and later
    checkpoints were rewritten or removed.

    ``max_unsigned_age``: seconds the first event after the last checkpoint may be older than
    the export's ``exported_at`` (``now``, by default the current time, when the export has
    no header); older, the export fails, since a running service signs its head every few
    minutes. ``allow_unsigned_tail`` lets it pass anyway (``stale_tail_allowed`` is then
    set, and the summary says so); None turns the rule off.
    """
    loads, dumps = codec(use_orjson)
    # Values that need no walk: orjson turns integers beyond 64 bits into floats, the json
    # module does not, so there integers take the slow path and get range-checked.
    flat = _FLAT_ORJSON if dumps is not _json_dumps else _FLAT_JSON
    sha256 = hashlib.sha256
    trusted = public_keys is not None
    keys = _key_map(public_keys) if public_keys is not None else {}
    expected, held, problem = _held_checkpoints(expected_checkpoints)
    last_seq = checkpoints = signed_seq = confirmed_seq = trailer_at = line_no = 0
    last_hash = GENESIS
    previous: tuple[int, str, bool] | None = None  # the last checkpoint: seq, head, v2
    tail_at: str | None = None  # the at of the first event after the last checkpoint
    exported_at: str | None = None
    header_seen = False

    stream = iter(() if problem else lines)
    for line_no, line in enumerate(stream, 1):
        try:
            rec = loads(line)
        except (ValueError, RecursionError):
            if not line.strip():
                continue
            cut = "" if line[-1:] in (b"\n", "\n") else " (it ends without a newline: cut short?)"
            problem = (f"line is not valid JSON (UTF-8){cut}", last_seq + 1, "export")
            break
        if type(rec) is not dict:
            problem = ("line is not a JSON object", last_seq + 1, "export")
            break
        if trailer_at:
            problem = (f"content after the trailer on line {trailer_at}", None, "trailer")
            break
        raw = line if isinstance(line, bytes) else _utf8(line)
        kind = rec.get("type")

        if kind == "event":  # the hot path, kept inline: one pass per event, no calls
            claimed = rec.get("hash")  # not type-checked: a non-str never matches
            seq: Any = rec.get("seq")
            try:
                data = rec["data"]
                subject = rec["subject"]
                well_formed = (
                    len(rec) == 9
                    and type(seq) is int
                    and type(data) is dict
                    and str is type(rec["at"]) is type(rec["actor"]) is type(rec["action"])
                    and type(rec["prev"]) is str
                    and (subject is None or type(subject) is str)
                )
            except KeyError:
                well_formed = False
            if not well_formed:
                bad = seq if type(seq) is int else last_seq + 1
                problem = ("event fields missing, unexpected or of the wrong type", bad, "event")
                break
            for value in data.values():  # nested or unusual values take the full walk
                if type(value) not in flat:
                    value_problem = _value_problem(data, 0)
                    if value_problem is not None:
                        problem = (f"data holds a {value_problem}", seq, "event")
                    break
            if problem is not None:
                break
            try:
                full = dumps(rec)
            except (TypeError, ValueError) as exc:
                problem = (f"event cannot be serialised canonically ({exc})", seq, "event")
                break
            if (raw[:-1] != full or raw[-1] != 10) and raw != full:  # 10: its newline
                problem = (_NOT_CANONICAL, seq, "event")
                break
            # The hashed form is the line without its hash and type (sorted keys put the
            # top-level hash after data, and nothing after it can hold a raw '"'). If the
            # cut were wrong, the digest could not equal the claimed one.
            cut_at = full.rfind(b',"hash":"')
            hashed = sha256(full[:cut_at])
            hashed.update(full[cut_at + 74 : -16])
            hashed.update(b"}")
            digest = hashed.hexdigest()
            if digest != claimed:
                problem = ("hash does not match its contents", seq, "event")
                break
            if seq != last_seq + 1:
                problem = _order_problem(seq, last_seq, stream, line_no, loads)
                break
            if rec["prev"] != last_hash:
                problem = (
                    f"prev does not match the hash of event {last_seq}: an event was "
                    "inserted, removed or replaced here (the chain is broken)",
                    seq,
                    "event",
                )
                break
            if expected and seq in expected:
                if expected[seq] != digest:
                    problem = (
                        f"does not match the checkpoint you hold for event {seq}: the log was "
                        f"rewritten somewhere in events {confirmed_seq + 1}..{seq}",
                        confirmed_seq + 1,
                        "event",
                    )
                    break
                confirmed_seq = seq
            if tail_at is None:
                tail_at = rec["at"]
            last_seq = seq
            last_hash = digest
            continue

        if kind not in ("checkpoint", "header", "trailer"):
            problem = (f"unknown record type {kind!r}", last_seq + 1, "export")
            break
        if not _canonical(raw, rec, dumps):
            problem = (_NOT_CANONICAL, rec.get("seq") if kind == "checkpoint" else None, kind)
            break
        del rec["type"]
        if kind == "checkpoint":
            problem = _checkpoint_problem(
                rec, keys, trusted, last_seq, last_hash, confirmed_seq, previous
            )
            if problem is not None:
                break
            checkpoints += 1
            signed_seq = confirmed_seq = rec["seq"]
            previous = (signed_seq, rec["head"], "prev_seq" in rec)
            tail_at = None
            held.pop(rec["signature"], None)
        elif kind == "header":
            if header_seen or last_seq or checkpoints:
                problem = ("a header may only be the first line", None, "header")
                break
            problem = _header_problem(rec)
            if problem is not None:
                break
            if not trusted:
                keys = _key_map(base64.b64decode(k) for k in rec.get("public_keys", []))
            exported_at = rec.get("exported_at")
            header_seen = True
        else:
            problem = _trailer_problem(rec, last_seq, last_hash, checkpoints)
            if problem is not None:
                break
            trailer_at = line_no

    result = VerifyResult(
        True, last_seq, checkpoints, head=last_hash, signed_seq=signed_seq, keys_trusted=trusted,
        tail_at=tail_at, max_unsigned_age=max_unsigned_age,
    )  # fmt: skip
    at_line: int | None = line_no or None
    if problem is None:
        problem = _end_problem(trailer_at, last_seq, expected, min_events, held)
        at_line = None if trailer_at else line_no + 1  # a missing trailer's would-be line
    if problem is None and tail_at is not None and max_unsigned_age is not None:
        since = parse_at(exported_at) or now or datetime.now(timezone.utc)  # noqa: UP017 - Python 3.10 too
        problem = _tail_problem(result, since, allow_unsigned_tail)
        if problem is None and _is_stale(result, since):
            result = replace(result, stale_tail_allowed=True)
        at_line = None
    if problem is None:
        return result
    message, first_bad, record = problem
    return replace(result, ok=False, first_bad_seq=first_bad, line_no=at_line, problem=message,
                   record=record)  # fmt: skip


_FLAT_ORJSON: Final = frozenset({str, int, bool, type(None)})
_FLAT_JSON: Final = frozenset({str, bool, type(None)})
_NOT_CANONICAL: Final = (
    "line is not in canonical form (a key given twice, whitespace, escapes or another "
    "spelling dueprocess never writes): it could be read two ways"
)


def _utf8(line: str) -> bytes:
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no canonical line holds one
        return b""


def _canonical(raw: bytes, rec: Mapping[str, Any], dumps: Dumps) -> bool:
    """Whether ``raw`` (a line, with or without its newline) is exactly ``rec``'s canonical
    JSON, so no key was given twice and nothing else was spelled another way."""
    try:
        full = dumps(rec)
    except (TypeError, ValueError):
        return False
    return raw.startswith(full) and (len(raw) == len(full) or raw[len(full) :] == b"\n")


def _held_checkpoints(
    held: Iterable[Mapping[str, Any]],
) -> tuple[dict[int, str], dict[str, tuple[int, str]], _Problem | None]:
    """What the auditor holds: head by seq, and the signed checkpoints among them (by
    signature: seq, at) that the export must contain. Two heads for one seq are a fork."""
    heads: dict[int, str] = {}
    signed: dict[str, tuple[int, str]] = {}
    for cp in held:
        seq, head = int(cp["seq"]), str(cp["head"])
        if heads.setdefault(seq, head) != head:
            message = (f"the checkpoints you hold name two different heads for event {seq}: "
                       "the service signed two different logs (a fork)")  # fmt: skip
            return heads, signed, (message, seq, "checkpoint")
        if "signature" in cp:
            signed[str(cp["signature"])] = (seq, str(cp.get("at")))
    return heads, signed, None


def _is_stale(result: VerifyResult, since: datetime) -> bool:
    first = parse_at(result.tail_at)
    limit = result.max_unsigned_age
    return first is not None and limit is not None and (since - first).total_seconds() > limit


def _tail_problem(result: VerifyResult, since: datetime, allowed: bool) -> _Problem | None:
    """The interval rule: the events after the last checkpoint must be recent."""
    first = result.signed_seq + 1
    if parse_at(result.tail_at) is None:
        return (f"at must be ISO 8601 UTC ending in Z, not {result.tail_at!r}", first, "event")
    if allowed or not _is_stale(result, since):
        return None
    limit = _duration(result.max_unsigned_age or 0)
    return (
        f"{_span(first, result.events, 'is', 'are')} covered by no checkpoint, and event "
        f"{first} (at {result.tail_at}) was recorded more than {limit} before the export was "
        "made, though a running service signs its log every few minutes: its checkpoints "
        "were deleted, or nothing signed the log (--allow-unsigned-tail accepts this "
        "knowingly)",
        first,
        "event",
    )


def _checkpoint_problem(
    rec: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    trusted: bool,
    last_seq: int,
    last_hash: str,
    confirmed_seq: int,
    previous: tuple[int, str, bool] | None,
) -> _Problem | None:
    """Check a checkpoint line (its ``type`` already removed) against the chain so far and
    the checkpoint before it (``previous``: seq, head, and whether it names its own).

    The signature is checked before the position, so only a genuinely signed checkpoint
    beyond the last event is reported as truncation; a forged one is reported as forged.
    A v2 checkpoint names its predecessor, so a checkpoint deleted before it is named.
    """
    seq = rec.get("seq")
    v2 = rec.keys() == _CHECKPOINT_KEYS
    if not (v2 or rec.keys() == _CHECKPOINT_KEYS_V1) or not (
        type(seq) is int
        and seq >= 0
        and all(type(rec[k]) is str for k in ("head", "at", "key_id", "signature"))
        and (not v2 or (type(rec["prev_seq"]) is int and type(rec["prev_head"]) is str))
    ):
        return ("checkpoint fields missing or malformed", None, "checkpoint")
    key = keys.get(rec["key_id"])
    if key is None:
        where = "the keys given" if trusted else "the export's header"
        return (f"signed by unknown key {rec['key_id']} (not in {where})", seq, "checkpoint")
    names = (rec["prev_seq"], rec["prev_head"]) if v2 else (None, None)
    try:
        signature = base64.b64decode(rec["signature"], validate=True)
        key.verify(signature, checkpoint_message(seq, rec["head"], rec["at"], *names))
    except (InvalidSignature, binascii.Error, ValueError):
        return (f"signature does not verify with key {rec['key_id']}", seq, "checkpoint")
    if seq > last_seq:
        return (
            f"a signed checkpoint covers event {seq} but the events before it end at "
            f"{last_seq}: events {last_seq + 1}..{seq} are missing (tail truncated or deleted)",
            last_seq + 1,
            "event",
        )
    if seq < last_seq:
        return (
            f"out of place: it must directly follow event {seq}, not event {last_seq}",
            seq,
            "checkpoint",
        )
    if rec["head"] != last_hash:
        return (
            f"the signed checkpoint for event {seq} does not match the chain: the log was "
            f"rewritten somewhere in events {confirmed_seq + 1}..{seq}",
            confirmed_seq + 1,
            "event",
        )
    return _predecessor_problem(seq, names[0], names[1], previous)


def _predecessor_problem(
    seq: int, prev_seq: int | None, prev_head: str | None, previous: tuple[int, str, bool] | None
) -> _Problem | None:
    """A v2 checkpoint must name the checkpoint just before it (or the genesis, if first);
    a v1 checkpoint (from before v2 existed) may not come after a v2 one."""
    if prev_seq is None:
        if previous is not None and previous[2]:
            return (
                "a v1 checkpoint (naming no predecessor) after a v2 one: the service signs v2 "
                "only, so this one was replayed or made by an outdated signer",
                seq,
                "checkpoint",
            )
        return None
    before = (0, GENESIS) if previous is None else previous[:2]
    if (prev_seq, prev_head) == before:
        return None
    what = f"the one before it is for event {before[0]}" if previous else "none comes before it"
    if prev_seq > before[0]:
        why = f"the checkpoint for event {prev_seq} was deleted"
    elif prev_seq == before[0]:
        why = f"two different heads were signed for event {prev_seq} (a fork)"
    else:
        why = "a checkpoint was inserted, moved or signed twice"
    return (
        f"it names the checkpoint for event {prev_seq} as its predecessor, but {what}: {why}",
        seq,
        "checkpoint",
    )


def _header_problem(rec: Mapping[str, Any]) -> _Problem | None:
    """Check the optional header line (its ``type`` already removed)."""
    problem: str | None = None
    keys = rec.get("public_keys", [])
    if not rec.keys() <= _HEADER_KEYS or "format" not in rec:
        problem = "header fields missing or unexpected"
    elif rec["format"] not in READS:
        problem = f"unsupported format {rec['format']!r} (this verifier reads {', '.join(READS)})"
    elif "exported_at" in rec and parse_at(rec["exported_at"]) is None:
        problem = "header exported_at must be ISO 8601 UTC ending in Z"
    elif type(keys) is not list or not all(type(k) is str for k in keys):
        problem = "header public_keys must be a list of base64 strings"
    else:
        try:
            if any(len(base64.b64decode(k, validate=True)) != 32 for k in keys):
                problem = "a header public key is not 32 bytes"
        except binascii.Error:
            problem = "a header public key is not base64"
    return None if problem is None else (problem, None, "header")


def _trailer_problem(
    rec: Mapping[str, Any], last_seq: int, last_hash: str, checkpoints: int
) -> _Problem | None:
    """Check the trailer (its ``type`` already removed) against what was read."""
    if rec.keys() != _TRAILER_KEYS or not (
        type(rec["events"]) is int and type(rec["checkpoints"]) is int
    ):
        return ("trailer fields missing or malformed", None, "trailer")
    events = rec["events"]
    if events > last_seq:
        return (
            f"the trailer counts {events} events but the export holds {last_seq}: tail truncated",
            last_seq + 1,
            "event",
        )
    if events < last_seq:
        return (
            f"the trailer counts only {events} events: events were appended after it",
            events + 1,
            "event",
        )
    if rec["head"] != last_hash:
        return ("the trailer's head is not the last event's hash", None, "trailer")
    if rec["checkpoints"] != checkpoints:
        return (
            f"the trailer counts {rec['checkpoints']} checkpoints but the export holds "
            f"{checkpoints}: a checkpoint line was removed or added",
            None,
            "trailer",
        )
    return None


def _end_problem(
    trailer_at: int,
    last_seq: int,
    expected: Mapping[int, str],
    min_events: int,
    held: Mapping[str, tuple[int, str]],
) -> _Problem | None:
    """What is wrong with where the export ends: no trailer, or short of what the auditor holds."""
    if not trailer_at:
        return (
            f"the export ends without a trailer after event {last_seq}: tail truncated",
            last_seq + 1,
            "event",
        )
    beyond = [seq for seq in expected if seq > last_seq]
    if beyond:
        return (
            f"you hold a checkpoint for event {max(beyond)} but the export ends at event "
            f"{last_seq}: tail truncated (its trailer and later checkpoints rewritten)",
            last_seq + 1,
            "event",
        )
    if min_events > last_seq:
        return (
            f"at least {min_events} events were expected but the export ends at event "
            f"{last_seq}: tail truncated",
            last_seq + 1,
            "event",
        )
    if held:  # the signed checkpoints held that the export did not contain
        seq, at = min(held.values())
        others = sorted({s for s, _ in held.values()} - {seq})
        more = f" (and those for events {', '.join(map(str, others))})" if others else ""
        return (
            f"you hold the checkpoint for event {seq} signed at {at}{more}, but the export "
            "does not: it was deleted",
            seq,
            "checkpoint",
        )
    return None


def _order_problem(
    seq: int, last_seq: int, rest: Iterator[bytes | str], line_no: int, loads: Loads
) -> _Problem:
    """Name an out-of-sequence event: inserted or duplicated, moved, or deleted.

    On a gap the rest of the file is scanned (still streaming) for the missing event, to
    tell a move from a deletion.
    """
    expected = last_seq + 1
    if seq < expected:
        return (
            f"seq {seq} comes after event {last_seq}: an event was inserted, duplicated "
            "or moved (the chain is broken)",
            seq,
            "event",
        )
    for later_no, line in enumerate(rest, line_no + 1):
        try:
            rec = loads(line)
        except (ValueError, RecursionError):
            continue
        if type(rec) is dict and rec.get("type") == "event" and rec.get("seq") == expected:
            return (
                f"out of order: expected event {expected} but found event {seq}; "
                f"event {expected} appears later, on line {later_no} (reordered)",
                expected,
                "event",
            )
    missing = f"event {expected} is" if seq == expected + 1 else f"events {expected}..{seq - 1} are"
    return (
        f"{missing} missing: expected event {expected} but found event {seq} (deleted)",
        expected,
        "event",
    )


# --- command line --------------------------------------------------------------------------


def load_checkpoints(path: str, loads: Loads = _json_loads) -> list[dict[str, Any]]:
    """Checkpoints the auditor kept: a JSON object with ``seq`` and ``head`` per line (a
    checkpoint line of an export, or the service's published heads file, as they are)."""
    found = []
    with open(path, "rb") as handle:
        for raw in filter(bytes.strip, handle):
            rec = loads(raw)
            if type(rec) is not dict or type(rec.get("seq")) is not int or "head" not in rec:
                raise ValueError(f"{path}: each line must be a JSON object with seq and head")
            found.append(rec)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (0 intact, 1 tampered, 2 unreadable)."""
    parser = argparse.ArgumentParser(
        prog="python -m dueprocess.audit.verify",
        description="Verify a dueprocess audit export (JSON lines) against trusted keys.",
    )
    add = parser.add_argument
    # fmt: off
    add("export", help="the export file, or - for standard input")
    add("--public-key", action="append", default=[], metavar="FILE",
        help="a trusted Ed25519 public key (PEM, base64 or hex); repeatable")
    add("--trust-export-keys", action="store_true",
        help="check signatures against the keys inside the export (self-consistency only)")
    add("--expect-checkpoint", action="append", default=[], metavar="FILE",
        help="checkpoints you kept (JSON lines with seq, head); the export must match them")
    add("--min-events", type=int, default=0, metavar="N",
        help="fail unless the export holds at least N events")
    add("--max-unsigned-age", type=float, default=DEFAULT_MAX_UNSIGNED_AGE, metavar="SECONDS",
        help="fail if the first unsigned event is older than this before the export "
             "(default: %(default).0f, the service's 5-minute checkpoint interval plus 10)")
    add("--allow-unsigned-tail", action="store_true",
        help="pass despite older unsigned events, with a loud warning (their checkpoints "
             "may have been deleted)")
    add("--no-orjson", action="store_true", help="use the json module even if orjson is here")
    # fmt: on
    args = parser.parse_args(argv)
    if not args.public_key and not args.trust_export_keys:
        print("error: give --public-key FILE (or, knowingly, --trust-export-keys)", file=sys.stderr)
        return 2
    use_orjson = False if args.no_orjson else None
    try:
        keys = [load_public_key(path) for path in args.public_key] or None
        loads = codec(use_orjson)[0]
        expected = [cp for path in args.expect_checkpoint for cp in load_checkpoints(path, loads)]
        source = sys.stdin.buffer if args.export == "-" else open(args.export, "rb", 1 << 20)  # noqa: SIM115
        with source:
            result = verify_export(
                source, keys, expected_checkpoints=expected, min_events=args.min_events,
                use_orjson=use_orjson, max_unsigned_age=args.max_unsigned_age,
                allow_unsigned_tail=args.allow_unsigned_tail,
            )  # fmt: skip
    except (OSError, ValueError) as exc:
        print(f"error: cannot read input: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    for warning in warning_lines(result):
        print(warning, file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
