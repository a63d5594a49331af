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
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
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
FORMAT: Final = "dueprocess-audit/1"
CHECKPOINT_PREFIX: Final = b"dueprocess-audit-checkpoint:v1:"
# Writers keep integers to the signed 64-bit range; the verifier accepts up to 2**64 - 1,
# where orjson and json still agree, so its verdict never depends on the library.
MIN_INT: Final = -(2**63)
MAX_INT: Final = 2**64 - 1
MAX_DEPTH: Final = 32

_EVENT_KEYS: Final = ("action", "actor", "at", "data", "prev", "seq", "subject")
_CHECKPOINT_KEYS: Final = frozenset({"seq", "head", "at", "key_id", "signature"})
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


def checkpoint_message(seq: int, head: str, at: str) -> bytes:
    """What a checkpoint signs: ``dueprocess-audit-checkpoint:v1:{seq}:{head}:{at}``, UTF-8."""
    return CHECKPOINT_PREFIX + f"{seq}:{head}:{at}".encode()


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
    when the signatures were checked against keys listed in the export itself.
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

    def summary(self) -> str:
        """The one-line verdict the command line prints."""
        if self.ok:
            events = f"{self.events} event{'s' if self.events != 1 else ''}"
            checkpoints = f"{self.checkpoints} checkpoint{'s' if self.checkpoints != 1 else ''}"
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
) -> VerifyResult:
    """Check an export's chain, checkpoints and trailer; stop at the first problem.

    ``lines``: the export's lines (bytes or str, with or without newlines; blank ones are
    skipped). ``public_keys``: raw 32-byte Ed25519 keys the auditor trusts; None means use
    the keys in the export's header, which proves only self-consistency
    (``keys_trusted=False``). ``expected_checkpoints``: ``{"seq", "head"}`` pairs the auditor
    kept from earlier (a signed checkpoint, a published head); the export must reach each and
    agree with it. ``min_events``: the export must hold at least this many events. These two
    catch a truncation whose trailer and later checkpoints were rewritten or removed.
    """
    loads, dumps = codec(use_orjson)
    # Values that need no walk: orjson turns integers beyond 64 bits into floats, the json
    # module does not, so there integers take the slow path and get range-checked.
    flat = _FLAT_ORJSON if dumps is not _json_dumps else _FLAT_JSON
    sha256 = hashlib.sha256
    trusted = public_keys is not None
    keys = _key_map(public_keys) if public_keys is not None else {}
    expected = {int(cp["seq"]): str(cp["head"]) for cp in expected_checkpoints}
    last_seq = checkpoints = signed_seq = confirmed_seq = trailer_at = line_no = 0
    last_hash = GENESIS
    header_seen = False
    problem: _Problem | None = None

    stream = iter(lines)
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
        kind = rec.pop("type", None)

        if kind == "event":  # the hot path, kept inline: one pass per event, no calls
            claimed = rec.pop("hash", None)  # not type-checked: a non-str never matches
            seq: Any = rec.get("seq")
            try:
                data = rec["data"]
                subject = rec["subject"]
                well_formed = (
                    len(rec) == 7
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
                digest = sha256(dumps(rec)).hexdigest()
            except (TypeError, ValueError) as exc:
                problem = (f"event cannot be serialised canonically ({exc})", seq, "event")
                break
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
            last_seq = seq
            last_hash = digest
        elif kind == "checkpoint":
            problem = _checkpoint_problem(rec, keys, trusted, last_seq, last_hash, confirmed_seq)
            if problem is not None:
                break
            checkpoints += 1
            signed_seq = confirmed_seq = rec["seq"]
        elif kind == "header":
            if header_seen or last_seq or checkpoints:
                problem = ("a header may only be the first line", None, "header")
                break
            problem = _header_problem(rec)
            if problem is not None:
                break
            if not trusted:
                keys = _key_map(base64.b64decode(k) for k in rec.get("public_keys", []))
            header_seen = True
        elif kind == "trailer":
            problem = _trailer_problem(rec, last_seq, last_hash, checkpoints)
            if problem is not None:
                break
            trailer_at = line_no
        else:
            problem = (f"unknown record type {kind!r}", last_seq + 1, "export")
            break

    result = VerifyResult(True, last_seq, checkpoints, None, None, None, None, last_hash,
                          signed_seq, trusted)  # fmt: skip
    at_line: int | None = line_no
    if problem is None:
        problem = _end_problem(trailer_at, last_seq, expected, min_events)
        at_line = None if trailer_at else line_no + 1  # a missing trailer's would-be line
    if problem is None:
        return result
    message, first_bad, record = problem
    return replace(result, ok=False, first_bad_seq=first_bad, line_no=at_line, problem=message,
                   record=record)  # fmt: skip


_FLAT_ORJSON: Final = frozenset({str, int, bool, type(None)})
_FLAT_JSON: Final = frozenset({str, bool, type(None)})


def _checkpoint_problem(
    rec: Mapping[str, Any],
    keys: Mapping[str, Ed25519PublicKey],
    trusted: bool,
    last_seq: int,
    last_hash: str,
    confirmed_seq: int,
) -> _Problem | None:
    """Check a checkpoint line (its ``type`` already removed) against the chain so far.

    The signature is checked before the position, so only a genuinely signed checkpoint
    beyond the last event is reported as truncation; a forged one is reported as forged.
    """
    seq = rec.get("seq")
    if rec.keys() != _CHECKPOINT_KEYS or not (
        type(seq) is int
        and seq >= 0
        and all(type(rec[k]) is str for k in ("head", "at", "key_id", "signature"))
    ):
        return ("checkpoint fields missing or malformed", None, "checkpoint")
    key = keys.get(rec["key_id"])
    if key is None:
        where = "the keys given" if trusted else "the export's header"
        return (f"signed by unknown key {rec['key_id']} (not in {where})", seq, "checkpoint")
    try:
        signature = base64.b64decode(rec["signature"], validate=True)
        key.verify(signature, checkpoint_message(seq, rec["head"], rec["at"]))
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
    return None


def _header_problem(rec: Mapping[str, Any]) -> _Problem | None:
    """Check the optional header line (its ``type`` already removed)."""
    problem: str | None = None
    keys = rec.get("public_keys", [])
    if not rec.keys() <= _HEADER_KEYS or "format" not in rec:
        problem = "header fields missing or unexpected"
    elif rec["format"] != FORMAT:
        problem = f"unsupported format {rec['format']!r} (this verifier reads {FORMAT})"
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
    trailer_at: int, last_seq: int, expected: Mapping[int, str], min_events: int
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


def _load_expected(path: str, loads: Loads) -> list[dict[str, Any]]:
    """Checkpoints the auditor kept: a JSON object with ``seq`` and ``head`` per line."""
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
        expected = [cp for path in args.expect_checkpoint for cp in _load_expected(path, loads)]
        source = sys.stdin.buffer if args.export == "-" else open(args.export, "rb", 1 << 20)  # noqa: SIM115
        with source:
            result = verify_export(
                source, keys, expected_checkpoints=expected, min_events=args.min_events,
                use_orjson=use_orjson,
            )  # fmt: skip
    except (OSError, ValueError) as exc:
        print(f"error: cannot read input: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    if not result.ok:
        return 1
    if not result.keys_trusted:
        print("WARNING: signatures were checked against keys listed in the export itself; "
              "that does not prove who wrote it", file=sys.stderr)  # fmt: skip
    if result.signed_seq < result.events:
        print(f"WARNING: events {result.signed_seq + 1}..{result.events} come after the last "
              "checkpoint: chained, not signed; only the trailer vouches for them",
              file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
