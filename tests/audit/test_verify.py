"""The standalone verifier against real chains, real Ed25519 keys and real tampering.

Every export here is built by ``dueprocess.audit.chain`` with a key generated on disk, then
altered the way an insider with database access (but not the signing key) could alter it.
Each case runs with orjson and with the stdlib json module: the verdict must not depend on
which one the auditor has.
"""

from __future__ import annotations

import ast
import base64
import gc
import hashlib
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dueprocess.audit import chain, verify
from dueprocess.audit.verify import VerifyResult, verify_export

N_EVENTS = 60
EVERY = 10  # a checkpoint after events 10, 20, ... 60


@dataclass
class Export:
    lines: list[bytes]
    key: Ed25519PrivateKey
    pub: bytes
    key_path: Path


def event(seq: int, prev: str) -> dict[str, Any]:
    return chain.make_event(
        seq=seq,
        at=f"2020-07-06T{seq // 3600 % 24:02d}:{seq // 60 % 60:02d}:{seq % 60:02d}.000001Z",
        actor=f"account:{seq % 7}",
        action="demand.viewed" if seq % 3 else "demand.submitted",
        subject=f"demand:{seq % 11}" if seq % 5 else None,
        data={"note": f"event {seq}", "slogan": "光復香港，時代革命", "n": seq, "ok": True},
        prev=prev,
    )


def build_events(count: int, prev: str = chain.GENESIS, start: int = 1) -> list[dict[str, Any]]:
    events = []
    for seq in range(start, start + count):
        events.append(event(seq, prev))
        prev = events[-1]["hash"]
    return events


def signed(
    keys: Ed25519PrivateKey | Callable[[int], Ed25519PrivateKey],
    heads: list[tuple[int, str]],
    prev: tuple[int, str] = (0, chain.GENESIS),
) -> list[dict[str, Any]]:
    """Checkpoints over ``heads`` (seq, hash), each naming the one before, as a signer makes
    them; ``keys`` may pick the key by seq (a rotation)."""
    checkpoints = []
    for seq, head in heads:
        key = keys(seq) if callable(keys) else keys
        checkpoints.append(chain.sign_checkpoint(key, seq, head, prev=prev))
        prev = (seq, head)
    return checkpoints


def export_of(
    events: list[dict[str, Any]], key: Ed25519PrivateKey, every: int = EVERY
) -> list[bytes]:
    checkpoints = signed(key, [(e["seq"], e["hash"]) for e in events if e["seq"] % every == 0])
    pub = chain.public_key_bytes(key)
    return list(chain.export_lines(events, checkpoints, public_keys=[pub]))


@pytest.fixture
def export(tmp_path: Path) -> Export:
    key_path = tmp_path / "keys" / "audit.key"
    key_path.parent.mkdir()
    chain.generate_signing_key(key_path)
    key = chain.load_signing_key(key_path)
    return Export(
        export_of(build_events(N_EVENTS), key), key, chain.public_key_bytes(key), key_path
    )


@pytest.fixture(params=[True, False], ids=["orjson", "stdlib-json"])
def use_orjson(request: pytest.FixtureRequest) -> bool:
    value: bool = request.param
    return value


def check(lines: list[bytes], pub: bytes | None, use_orjson: bool, **kw: Any) -> VerifyResult:
    return verify_export(lines, None if pub is None else [pub], use_orjson=use_orjson, **kw)


def index_of(lines: list[bytes], kind: str, seq: int) -> int:
    """The list index of the record of ``kind`` with ``seq`` (line number is index + 1)."""
    for i, line in enumerate(lines):
        record = orjson.loads(line)
        if record["type"] == kind and record.get("seq") == seq:
            return i
    raise LookupError((kind, seq))


def dump(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS) + b"\n"


def rehash_from(lines: list[bytes], first_index: int, prev: str) -> list[bytes]:
    """Re-chain every event from ``first_index`` on, as a forger without the key would."""
    out = lines[:first_index]
    for line in lines[first_index:]:
        record = orjson.loads(line)
        if record["type"] == "event":
            record["prev"] = prev
            record["hash"] = prev = chain.event_hash(record)
        elif record["type"] == "trailer":
            record["head"] = prev
        out.append(dump(record))
    return out


def assert_tampered(
    result: VerifyResult, first_bad: int | None, line_no: int | None, *words: str
) -> None:
    assert not result.ok, result
    assert (result.first_bad_seq, result.line_no) == (first_bad, line_no), result
    for word in words:
        assert word in (result.problem or ""), result.problem


# --- intact exports ------------------------------------------------------------------------


def test_intact_export_verifies_with_the_right_counts(export: Export, use_orjson: bool) -> None:
    result = check(export.lines, export.pub, use_orjson)
    assert result.ok, result
    assert (result.events, result.checkpoints, result.signed_seq) == (60, 6, 60)
    assert result.keys_trusted
    assert result.head == orjson.loads(export.lines[-1])["head"]
    assert result.summary() == "OK: 60 events, 6 checkpoints verified"


def test_lines_may_be_str_without_newlines_and_blank_lines_are_skipped(export: Export) -> None:
    text = [line.decode().rstrip("\n") for line in export.lines]
    assert verify_export(text, [export.pub]).ok
    assert verify_export([b"\n", *export.lines, b"  \n"], [export.pub]).ok


def test_empty_log_with_a_genesis_checkpoint_verifies(export: Export, use_orjson: bool) -> None:
    cp = chain.sign_checkpoint(export.key, 0, chain.GENESIS, prev=(0, chain.GENESIS))
    lines = list(chain.export_lines([], [cp], public_keys=[export.pub]))
    result = check(lines, export.pub, use_orjson)
    assert result.ok
    assert (result.events, result.checkpoints) == (0, 1)


def test_header_is_optional(export: Export, use_orjson: bool) -> None:
    assert check(export.lines[1:], export.pub, use_orjson).ok


def test_keys_from_the_header_prove_only_self_consistency(export: Export, use_orjson: bool) -> None:
    result = check(export.lines, None, use_orjson)
    assert result.ok
    assert not result.keys_trusted
    # A forger who re-signs with a key of their own passes that check, and only that check.
    forger = Ed25519PrivateKey.generate()
    events = build_events(N_EVENTS)
    events[3]["data"]["note"] = "rewritten"
    forged = export_of(rehash_events(events), forger)
    assert check(forged, None, use_orjson).ok
    assert_tampered(check(forged, export.pub, use_orjson), 10, 12, "unknown key")


def rehash_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    prev = chain.GENESIS
    for e in events:
        e["prev"] = prev
        e["hash"] = prev = chain.event_hash(e)
    return events


# --- tampering with events -----------------------------------------------------------------


def test_modified_event_content_is_named(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 23)
    lines = list(export.lines)
    assert b"event 23" in lines[i]
    lines[i] = lines[i].replace(b"event 23", b"event 2X")  # one byte inside data
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 23, i + 1, "hash does not match its contents")
    assert result.summary() == (
        f"TAMPERED: event 23 (line {i + 1}): hash does not match its contents"
    )
    assert result.events == 22  # what verified before the problem


FORGED_VALUES: dict[str, Any] = {
    "actor": "account:999",
    "action": "demand.withdrawn",
    "at": "2021-01-01T00:00:00Z",
    "subject": "demand:1",
    "seq": 32,
    "prev": "00" * 32,
}


@pytest.mark.parametrize("field", sorted(FORGED_VALUES))
def test_modifying_any_hashed_field_is_caught(export: Export, field: str) -> None:
    i = index_of(export.lines, "event", 31)
    record = orjson.loads(export.lines[i])
    record[field] = FORGED_VALUES[field]
    lines = [*export.lines[:i], dump(record), *export.lines[i + 1 :]]
    bad = 32 if field == "seq" else 31
    assert_tampered(verify_export(lines, [export.pub]), bad, i + 1, "hash does not match")


def test_deleted_event_is_named(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 37)
    lines = export.lines[:i] + export.lines[i + 1 :]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 37, i + 1, "event 37 is missing", "deleted")


def test_several_deleted_events_are_named_as_a_range(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 34)
    lines = export.lines[:i] + export.lines[i + 3 :]
    assert_tampered(check(lines, export.pub, use_orjson), 34, i + 1, "events 34..36 are missing")


def test_inserted_self_consistent_event_is_named(export: Export, use_orjson: bool) -> None:
    i5 = index_of(export.lines, "event", 5)
    prev = orjson.loads(export.lines[i5])["hash"]
    forged = event(6, prev)
    forged["data"]["note"] = "this never happened"
    forged["hash"] = chain.event_hash(forged)
    lines = [*export.lines[: i5 + 1], dump({**forged, "type": "event"}), *export.lines[i5 + 1 :]]
    # The forgery itself links correctly; the genuine event 6 after it cannot.
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 6, i5 + 3, "inserted")


def test_inserted_event_with_a_fresh_seq_breaks_the_chain(export: Export) -> None:
    i5 = index_of(export.lines, "event", 5)
    forged = event(6, "ab" * 32)  # a seq that fits, but it cannot know event 5's successor
    lines = [*export.lines[: i5 + 1], dump({**forged, "type": "event"}), *export.lines[i5 + 1 :]]
    assert_tampered(verify_export(lines, [export.pub]), 6, i5 + 2, "prev does not match")


def test_swapped_events_are_named_as_reordered(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 14)
    lines = list(export.lines)
    lines[i], lines[i + 1] = lines[i + 1], lines[i]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 14, i + 1, "reordered", f"line {i + 2}")


def test_event_moved_far_away_is_named_as_reordered(export: Export) -> None:
    i = index_of(export.lines, "event", 3)
    moved = export.lines[i]
    lines = [*export.lines[:i], *export.lines[i + 1 : -1], moved, export.lines[-1]]
    assert_tampered(verify_export(lines, [export.pub]), 3, i + 1, "reordered")


def test_event_rewritten_and_rechained_is_caught_by_the_next_checkpoint(
    export: Export, use_orjson: bool
) -> None:
    i = index_of(export.lines, "event", 25)
    record = orjson.loads(export.lines[i])
    record["data"]["note"] = "nothing was disclosed"
    lines = list(export.lines)
    lines[i] = dump(record)
    lines = rehash_from(lines, i, orjson.loads(export.lines[i])["prev"])
    cp30 = index_of(lines, "checkpoint", 30)
    result = check(lines, export.pub, use_orjson)
    # Without the original the verifier can only bound it: after checkpoint 20, by 30.
    assert_tampered(result, 21, cp30 + 1, "does not match the chain", "21..30")
    assert result.signed_seq == 20


def test_float_in_data_is_refused_identically_by_both_libraries(export: Export) -> None:
    i = index_of(export.lines, "event", 8)
    record = orjson.loads(export.lines[i])
    record["data"]["score"] = 1e-7  # orjson writes 1e-7, json writes 1e-07
    del record["type"]
    record["hash"] = hashlib.sha256(
        orjson.dumps({k: v for k, v in record.items() if k != "hash"}, option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    lines = [*export.lines[:i], dump({**record, "type": "event"}), *export.lines[i + 1 :]]
    for flag in (True, False):
        assert_tampered(check(lines, export.pub, flag), 8, i + 1, "floating-point")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (b"not json\n", "not valid JSON"),
        (b"\xff\xfe\n", "not valid JSON"),
        (b"[1, 2]\n", "not a JSON object"),
        (b'{"type": "comment"}\n', "unknown record type"),
    ],
)
def test_garbage_lines_are_named(export: Export, use_orjson: bool, line: bytes, words: str) -> None:
    i = index_of(export.lines, "event", 12)
    lines = [*export.lines[:i], line, *export.lines[i:]]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 12, i + 1, words)


SPELLINGS = [
    ("event", 7, lambda line: line.replace(b'"data":', b'"data":{"n":0},"data":', 1)),
    ("event", 7, lambda line: line.replace(b'"seq":7', b'"seq": 7')),
    ("event", 7, lambda line: line.replace(b'"event 7"', b'"event \\u0037"')),
    ("event", 7, lambda line: b" " + line),
    ("event", 7, lambda line: line.replace(b"\n", b"\r\n")),
    (
        "checkpoint",
        10,
        lambda line: line.replace(b'"head":', b'"head":"' + b"0" * 64 + b'","head":'),
    ),
    ("trailer", None, lambda line: line.replace(b'"events":', b'"events":1,"events":')),
    ("header", None, lambda line: line.replace(b"{", b'{"format":"x",', 1)),
]


@pytest.mark.parametrize(("kind", "seq", "respell"), SPELLINGS)
def test_a_line_spelled_other_than_canonically_is_refused(
    export: Export, use_orjson: bool, kind: str, seq: int | None, respell: Callable[[bytes], bytes]
) -> None:
    # Each reads as the same JSON to a lenient parser (which keeps a repeated key's last
    # value), so two programs could read the line two ways.
    i = 0 if kind == "header" else len(export.lines) - 1
    if kind in ("event", "checkpoint"):
        i = index_of(export.lines, kind, seq or 0)
    lines = list(export.lines)
    lines[i] = respell(lines[i])
    assert lines[i] != export.lines[i]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, seq, i + 1, "not in canonical form")
    assert result.record == kind


def test_event_with_an_extra_field_is_refused(export: Export) -> None:
    i = index_of(export.lines, "event", 9)
    record = orjson.loads(export.lines[i])
    record["comment"] = "unhashed content"
    lines = [*export.lines[:i], dump(record), *export.lines[i + 1 :]]
    assert_tampered(verify_export(lines, [export.pub]), 9, i + 1, "fields missing, unexpected")


# --- tampering with the tail ---------------------------------------------------------------


def test_truncated_tail_without_trailer_is_named(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 46)
    lines = export.lines[:i]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 46, i + 1, "without a trailer", "tail truncated")


def test_truncated_tail_with_a_later_checkpoint_is_named(export: Export, use_orjson: bool) -> None:
    # What a database whose last events were deleted exports: checkpoint 60 outlives them.
    events = build_events(N_EVENTS)
    checkpoints = signed(export.key, [(60, events[-1]["hash"])])
    lines = list(chain.export_lines(events[:50], checkpoints, public_keys=[export.pub]))
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 51, len(lines) - 1, "covers event 60", "51..60")


def test_truncated_tail_with_the_old_trailer_is_named(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 56)
    lines = [*export.lines[:i], export.lines[-1]]
    assert_tampered(check(lines, export.pub, use_orjson), 56, i + 1, "trailer counts 60 events")


def test_appended_events_after_the_trailer_count_are_named(export: Export) -> None:
    head = orjson.loads(export.lines[-1])["head"]
    extra = build_events(2, prev=head, start=61)
    lines = [*export.lines[:-1], *(dump({**e, "type": "event"}) for e in extra), export.lines[-1]]
    assert_tampered(verify_export(lines, [export.pub]), 61, len(lines), "appended")


def test_content_after_the_trailer_is_refused(export: Export) -> None:
    lines = [*export.lines, export.lines[-1]]
    result = verify_export(lines, [export.pub])
    assert not result.ok
    assert result.record == "trailer"
    assert result.line_no == len(lines)


def test_truncation_with_rewritten_trailer_needs_the_auditors_checkpoint(
    export: Export, use_orjson: bool
) -> None:
    # The limit of an export alone: cut at 40, drop checkpoints 50 and 60, rewrite the trailer.
    # (Cut anywhere else, its last events would be unsigned and older than the interval.)
    events = build_events(N_EVENTS)
    kept = signed(export.key, [(s, events[s - 1]["hash"]) for s in (10, 20, 30, 40)])
    lines = list(chain.export_lines(events[:40], kept, public_keys=[export.pub]))
    assert check(lines, export.pub, use_orjson).ok
    # An auditor who kept checkpoint 60 from an earlier export (or knows there were 60 events):
    held = orjson.loads(export.lines[index_of(export.lines, "checkpoint", 60)])
    result = check(lines, export.pub, use_orjson, expected_checkpoints=[held])
    assert_tampered(result, 41, None, "you hold a checkpoint for event 60", "tail truncated")
    assert_tampered(check(lines, export.pub, use_orjson, min_events=60), 41, None, "at least 60")
    # ... and an intact export agrees with what they hold.
    assert check(export.lines, export.pub, use_orjson, expected_checkpoints=[held]).ok


def test_rewrite_before_a_held_checkpoint_is_bounded_by_it(export: Export) -> None:
    i = index_of(export.lines, "event", 44)
    record = orjson.loads(export.lines[i])
    record["actor"] = "account:0"
    lines = list(export.lines)
    lines[i] = dump(record)
    lines = rehash_from(lines, i, record["prev"])
    lines = [line for line in lines if orjson.loads(line)["type"] != "checkpoint"]
    lines[-1] = dump({**orjson.loads(lines[-1]), "checkpoints": 0})
    held = {
        "seq": 50,
        "head": orjson.loads(export.lines[index_of(export.lines, "event", 50)])["hash"],
    }
    result = verify_export(lines, [export.pub], expected_checkpoints=[held])
    assert_tampered(result, 1, index_of(lines, "event", 50) + 1, "checkpoint you hold", "1..50")


# --- tampering with checkpoints ------------------------------------------------------------


def test_forged_checkpoint_signature_is_named(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "checkpoint", 30)
    record = orjson.loads(export.lines[i])
    signature = bytearray(base64.b64decode(record["signature"]))
    signature[0] ^= 1
    record["signature"] = base64.b64encode(bytes(signature)).decode()
    lines = [*export.lines[:i], dump(record), *export.lines[i + 1 :]]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 30, i + 1, "signature does not verify")
    assert result.record == "checkpoint"
    assert result.summary().startswith(f"TAMPERED: checkpoint for event 30 (line {i + 1}): ")


def test_checkpoint_moved_to_another_head_does_not_verify(export: Export) -> None:
    i = index_of(export.lines, "checkpoint", 30)
    record = orjson.loads(export.lines[i])
    j = index_of(export.lines, "event", 31)
    record["seq"], record["head"] = 31, orjson.loads(export.lines[j])["hash"]
    lines = [*export.lines[:i], *export.lines[i + 1 : j + 1], dump(record), *export.lines[j + 1 :]]
    assert_tampered(verify_export(lines, [export.pub]), 31, j + 1, "signature does not verify")


def test_checkpoint_signed_by_another_key_under_our_key_id_is_refused(export: Export) -> None:
    i = index_of(export.lines, "checkpoint", 20)
    record = orjson.loads(export.lines[i])
    forged = signed(Ed25519PrivateKey.generate(), [(20, record["head"])], (10, "ab" * 32))[0]
    forged["key_id"] = record["key_id"]
    lines = [*export.lines[:i], dump({**forged, "type": "checkpoint"}), *export.lines[i + 1 :]]
    assert_tampered(verify_export(lines, [export.pub]), 20, i + 1, "signature does not verify")


def test_wrong_public_key_is_named(export: Export, use_orjson: bool) -> None:
    other = chain.public_key_bytes(Ed25519PrivateKey.generate())
    i = index_of(export.lines, "checkpoint", 10)
    result = check(export.lines, other, use_orjson)
    assert_tampered(result, 10, i + 1, "unknown key", chain.public_key_id(export.pub))


def test_removed_checkpoint_is_named_by_the_next(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "checkpoint", 40)
    lines = export.lines[:i] + export.lines[i + 1 :]
    result = check(lines, export.pub, use_orjson)
    cp50 = index_of(lines, "checkpoint", 50)
    assert_tampered(result, 50, cp50 + 1, "names the checkpoint for event 40 as its predecessor")
    assert result.problem is not None
    assert result.problem.endswith("the one before it is for event 30: the checkpoint for "
                                   "event 40 was deleted")  # fmt: skip
    assert result.record == "checkpoint"


def test_removed_last_checkpoint_is_caught_by_the_trailer(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "checkpoint", 60)
    lines = export.lines[:i] + export.lines[i + 1 :]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, None, len(lines), "counts 6 checkpoints", "holds 5")
    assert result.record == "trailer"


def test_removed_checkpoint_is_named_by_the_heads_held(export: Export, use_orjson: bool) -> None:
    # What the auditor keeps of the published heads: the export must still hold each one.
    held = [orjson.loads(line) for line in export.lines if b'"checkpoint"' in line]
    i = index_of(export.lines, "checkpoint", 60)
    lines = [*export.lines[:i], dump({**orjson.loads(export.lines[-1]), "checkpoints": 5})]
    assert check(lines, export.pub, use_orjson, max_unsigned_age=None).ok
    result = check(lines, export.pub, use_orjson, expected_checkpoints=held)
    assert_tampered(result, 60, None, "you hold the checkpoint for event 60", "deleted")


def test_held_checkpoints_that_disagree_are_a_fork(export: Export, use_orjson: bool) -> None:
    held = orjson.loads(export.lines[index_of(export.lines, "checkpoint", 30)])
    other = {**held, "head": "ab" * 32}
    result = check(export.lines, export.pub, use_orjson, expected_checkpoints=[held, other])
    assert_tampered(result, 30, None, "two different heads for event 30", "fork")


def test_checkpoint_naming_a_wrong_predecessor_is_refused(export: Export) -> None:
    # Genuinely signed (a signer that lost its state, say), but not after checkpoint 20.
    i = index_of(export.lines, "checkpoint", 30)
    head30 = orjson.loads(export.lines[i])["head"]
    j = index_of(export.lines, "event", 10)
    head10 = orjson.loads(export.lines[j])["hash"]
    for prev, why in (((10, head10), "inserted"), ((20, "ab" * 32), "fork")):
        forked = signed(export.key, [(30, head30)], prev)[0]
        lines = [*export.lines[:i], dump({**forked, "type": "checkpoint"}), *export.lines[i + 1 :]]
        assert_tampered(verify_export(lines, [export.pub]), 30, i + 1, "predecessor", why)


def test_legacy_v1_checkpoints_verify_before_v2_ones_only(export: Export) -> None:
    events = build_events(N_EVENTS)
    v1 = [chain.sign_checkpoint(export.key, s, events[s - 1]["hash"], prev=None) for s in (10, 20)]
    v2 = signed(
        export.key, [(s, events[s - 1]["hash"]) for s in (30, 40)], (20, events[19]["hash"])
    )
    lines = list(chain.export_lines(events[:40], v1 + v2, public_keys=[export.pub]))
    assert verify_export(lines, [export.pub]).summary() == "OK: 40 events, 4 checkpoints verified"
    # A v1 checkpoint (naming nothing) after a v2 one is refused: the signer no longer makes them.
    late = chain.sign_checkpoint(export.key, 40, events[39]["hash"], prev=None)
    lines = list(chain.export_lines(events[:40], [*v1, v2[0], late], public_keys=[export.pub]))
    i = index_of(lines, "checkpoint", 40)
    assert_tampered(verify_export(lines, [export.pub]), 40, i + 1, "v1 checkpoint", "after a v2")
    # Deleting the last v1 checkpoint shows: the first v2 one names it.
    lines = list(chain.export_lines(events[:40], [v1[0], *v2], public_keys=[export.pub]))
    i = index_of(lines, "checkpoint", 30)
    assert_tampered(verify_export(lines, [export.pub]), 30, i + 1, "event 20 was deleted")


def test_checkpoint_out_of_place_is_refused(export: Export) -> None:
    i = index_of(export.lines, "checkpoint", 10)
    lines = list(export.lines)
    lines.insert(i + 3, lines.pop(i))
    assert_tampered(verify_export(lines, [export.pub]), 10, i + 4, "out of place")


def test_a_second_key_after_rotation_verifies(export: Export, tmp_path: Path) -> None:
    second = chain.generate_signing_key(tmp_path / "second.key")
    events = build_events(N_EVENTS)
    checkpoints = signed(
        lambda s: export.key if s <= 30 else second,
        [(s, events[s - 1]["hash"]) for s in range(10, 61, 10)],
    )
    keys = [export.pub, chain.public_key_bytes(second)]
    lines = list(chain.export_lines(events, checkpoints, public_keys=keys))
    assert verify_export(lines, keys).checkpoints == 6
    assert verify_export(lines, [export.pub]).first_bad_seq == 40


# --- streaming -----------------------------------------------------------------------------


def test_memory_stays_constant_over_a_long_stream(export: Export) -> None:
    count = 20_000

    def stream() -> Iterator[bytes]:
        prev = chain.GENESIS
        for seq in range(1, count + 1):
            e = event(seq, prev)
            prev = e["hash"]
            yield dump({**e, "type": "event"})
        yield dump({"type": "trailer", "events": count, "checkpoints": 0, "head": prev})

    gc.collect()
    tracemalloc.start()
    try:
        result = verify_export(stream(), [export.pub], max_unsigned_age=None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.ok
    assert result.events == count
    assert peak < 1_000_000, peak  # the lines alone are ~6 MB


# --- the command line and the copied file --------------------------------------------------


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=60, check=False, cwd=cwd
    )


def write(tmp_path: Path, lines: list[bytes], name: str = "export.jsonl") -> str:
    path = tmp_path / name
    path.write_bytes(b"".join(lines))
    return str(path)


def test_cli_exit_codes(export: Export, tmp_path: Path) -> None:
    pub = str(chain.public_key_path(export.key_path))
    ok = run("-m", "dueprocess.audit.verify", write(tmp_path, export.lines), "--public-key", pub)
    assert (ok.returncode, ok.stdout) == (0, "OK: 60 events, 6 checkpoints verified\n")
    assert ok.stderr == ""

    i = index_of(export.lines, "event", 42)
    lines = list(export.lines)
    lines[i] = lines[i].replace(b"event 42", b"event 4!")
    bad = run(
        "-m", "dueprocess.audit.verify", write(tmp_path, lines, "bad.jsonl"), "--public-key", pub
    )
    assert bad.returncode == 1
    assert bad.stdout == f"TAMPERED: event 42 (line {i + 1}): hash does not match its contents\n"

    missing = run(
        "-m", "dueprocess.audit.verify", str(tmp_path / "nope.jsonl"), "--public-key", pub
    )
    assert missing.returncode == 2
    assert "cannot read" in missing.stderr
    badkey = tmp_path / "bad.pub"
    badkey.write_text("not a key\n")
    wrong = run(
        "-m", "dueprocess.audit.verify", write(tmp_path, export.lines), "--public-key", str(badkey)
    )
    assert wrong.returncode == 2
    nokey = run("-m", "dueprocess.audit.verify", write(tmp_path, export.lines))
    assert nokey.returncode == 2
    assert "--public-key" in nokey.stderr


def test_cli_expectations_and_warnings(export: Export, tmp_path: Path) -> None:
    pub = str(chain.public_key_path(export.key_path))
    cut = list(chain.export_lines(build_events(54), [], public_keys=[export.pub]))
    path = write(tmp_path, cut, "cut.jsonl")
    held = tmp_path / "held.jsonl"
    held.write_bytes(export.lines[index_of(export.lines, "checkpoint", 60)])
    result = run(
        "-m", "dueprocess.audit.verify", path, "--public-key", pub, "--expect-checkpoint", str(held)
    )
    assert result.returncode == 1, result
    assert result.stdout.startswith("TAMPERED: event 55: you hold a checkpoint for event 60")
    trusting = run("-m", "dueprocess.audit.verify", path, "--trust-export-keys")
    assert trusting.returncode == 1  # the events are from 2020 and nothing signed them
    assert "events 1..54 are covered by no checkpoint" in trusting.stdout
    allowing = run(
        "-m", "dueprocess.audit.verify", path, "--trust-export-keys", "--allow-unsigned-tail"
    )
    assert allowing.returncode == 0
    assert allowing.stdout.startswith("OK: 54 events, 0 checkpoints verified, BUT EVENTS 1..54")
    assert "keys listed in the export itself" in allowing.stderr
    assert "WARNING: UNSIGNED: events 1..54 are covered by no checkpoint" in allowing.stderr
    old_enough = run(
        "-m", "dueprocess.audit.verify", path, "--trust-export-keys", "--max-unsigned-age", "1e10"
    )
    assert old_enough.returncode == 0
    assert "WARNING: events 1..54 come after the last checkpoint" in old_enough.stderr


def test_copied_file_runs_alone_without_dueprocess_or_orjson(
    export: Export, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir()
    shutil.copy(verify.__file__, elsewhere / "verify.py")
    pub = str(chain.public_key_path(export.key_path))
    export_path = write(tmp_path, export.lines)
    for blocked in (["dueprocess"], ["dueprocess", "orjson"]):
        code = (
            "import runpy, sys\n"
            f"for name in {blocked!r}: sys.modules[name] = None  # any import of it fails\n"
            f"sys.argv = ['verify.py', {export_path!r}, '--public-key', {pub!r}]\n"
            "runpy.run_path('verify.py', run_name='__main__')\n"
        )
        result = run("-c", code, cwd=elsewhere)
        assert (result.returncode, result.stdout) == (
            0,
            "OK: 60 events, 6 checkpoints verified\n",
        ), result.stderr


def test_verifier_imports_only_the_stdlib_cryptography_and_orjson() -> None:
    tree = ast.parse(Path(verify.__file__).read_text())
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            roots.add((node.module or "").split(".")[0])
    assert roots - sys.stdlib_module_names == {"cryptography", "orjson"}


# --- the documentation ---------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "audit-format.md"


def documented_example() -> tuple[list[bytes], bytes]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- example-export -->\n```\n", 1)[1].split("```", 1)[0]
    lines = [line.encode() + b"\n" for line in block.splitlines()]
    key = base64.b64decode(orjson.loads(lines[0])["public_keys"][0])
    return lines, key


def test_the_documented_example_export_verifies(use_orjson: bool) -> None:
    lines, key = documented_example()
    result = verify_export(lines, [key], use_orjson=use_orjson)
    assert result.summary() == "OK: 2 events, 1 checkpoint verified"
    assert f"`{base64.b64encode(key).decode()}`" in DOC.read_text(encoding="utf-8")
    first = orjson.loads(lines[1])
    assert chain.canonical_bytes(first).decode() in DOC.read_text(encoding="utf-8")
    assert f"SHA-256 is `{first['hash']}`" in DOC.read_text(encoding="utf-8")
    # Altering the documented example is caught like any other export.
    lines[2] = lines[2].replace("時代革命".encode(), "時代".encode())
    assert verify_export(lines, [key], use_orjson=use_orjson).first_bad_seq == 2


def test_summary_names_what_is_wrong_and_where() -> None:
    def summary(**kw: Any) -> str:
        return VerifyResult(False, 0, 0, problem="why", **kw).summary()

    assert summary(first_bad_seq=4, line_no=5, record="event") == "TAMPERED: event 4 (line 5): why"
    assert summary(first_bad_seq=4, line_no=None, record="event") == "TAMPERED: event 4: why"
    assert summary(first_bad_seq=4, line_no=6, record="checkpoint") == (
        "TAMPERED: checkpoint for event 4 (line 6): why"
    )
    assert summary(line_no=6, record="checkpoint") == "TAMPERED: checkpoint (line 6): why"
    assert summary(first_bad_seq=4, line_no=7, record="export") == "TAMPERED: line 7: why"
    assert summary(line_no=9, record="trailer") == "TAMPERED: trailer (line 9): why"
    assert VerifyResult(True, 1, 1).summary() == "OK: 1 event, 1 checkpoint verified"


def test_export_cut_mid_line_is_named(export: Export, use_orjson: bool) -> None:
    i = index_of(export.lines, "event", 46)
    lines = [*export.lines[:i], export.lines[i][:100]]
    result = check(lines, export.pub, use_orjson)
    assert_tampered(result, 46, i + 1, "not valid JSON", "cut short")
