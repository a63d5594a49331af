"""The chain primitives: canonical bytes, hashes, keys, checkpoints and the export writer."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dueprocess.audit import chain, verify

AT = "2020-07-06T09:00:00.123456Z"


def fields(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "seq": 1,
        "at": AT,
        "actor": "account:12",
        "action": "demand.submitted",
        "subject": "demand:42",
        "data": {"authority": "HK Police", "kind": "user-data"},
        "prev": chain.GENESIS,
    }
    base.update(changes)
    return base


def stdlib_canonical(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- canonical form ------------------------------------------------------------------------


def test_canonical_bytes_are_sorted_compact_utf8_without_hash_or_type() -> None:
    event = fields(data={"slogan": "光復香港，時代革命", "n": 3}, hash="ab" * 32, type="event")
    expected = (
        '{"action":"demand.submitted","actor":"account:12","at":"2020-07-06T09:00:00.123456Z",'
        '"data":{"n":3,"slogan":"光復香港，時代革命"},"prev":"' + "0" * 64 + '","seq":1,'
        '"subject":"demand:42"}'
    ).encode()
    assert chain.canonical_bytes(event) == expected
    assert chain.event_hash(event) == hashlib.sha256(expected).hexdigest()


def test_event_hash_is_stable_across_releases() -> None:
    # A golden value: if this changes, every stored chain stops verifying.
    golden = "0343fff29097e23b006a204d4f592d710befde490c71a0b248a7466f09b75c1e"
    assert chain.event_hash(fields()) == golden


TRICKY_DATA: list[dict[str, Any]] = [
    {"slogan": "光復香港，時代革命", "lang": "zh-Hant"},
    {"nested": {"b": [1, {"z": None, "a": [True, False]}], "a": {"é": "ü", "e": "\u2028\u2029"}}},
    {"controls": "".join(chr(i) for i in range(32)) + "\x7f\x80\x9f", "quote": '"\\/'},
    {"emoji": "\U0001f600", "keys": {"\uffff": 1, "\U00010000": 2, "Z": 3, "a": 4, "é": 5}},
    {"ints": [0, -1, chain.MIN_INT, chain.MAX_INT], "empty": {}, "list": []},
]


@pytest.mark.parametrize("data", TRICKY_DATA)
def test_orjson_and_stdlib_json_give_identical_canonical_bytes(data: dict[str, Any]) -> None:
    event = fields(data=data)
    ours = chain.canonical_bytes(event)
    assert ours == stdlib_canonical({k: event[k] for k in chain.HASHED_FIELDS})
    # The standalone verifier's copy of the canonical form, both codecs, agrees byte for byte.
    assert verify.canonical_bytes(event, use_orjson=True) == ours
    assert verify.canonical_bytes(event, use_orjson=False) == ours
    # And re-reading the exported line with either library reproduces the same bytes.
    line = orjson.dumps({**chain.make_event(**event), "type": "event"})
    for loads in (orjson.loads, json.loads):
        assert verify.canonical_bytes(loads(line), use_orjson=True) == ours


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"data": {"score": 0.5}}, "floating-point"),
        ({"data": {"deep": [{"x": 1.0}]}}, "floating-point"),
        ({"data": {"big": 2**63}}, "64-bit"),
        ({"data": {"small": -(2**63) - 1}}, "64-bit"),
        ({"data": {1: "x"}}, "not a string"),
        ({"data": {"when": datetime(2020, 7, 6, tzinfo=UTC)}}, "datetime"),
        ({"data": {"t": (1, 2)}}, "tuple"),
        ({"data": ["not", "an", "object"]}, "JSON object"),
        ({"seq": 0}, "seq"),
        ({"seq": True}, "seq"),
        ({"seq": "1"}, "seq"),
        ({"prev": "AB" * 32}, "prev"),
        ({"prev": "ab"}, "prev"),
        ({"at": "2020-07-06 09:00:00"}, "at"),
        ({"at": "2020-07-06T09:00:00+08:00"}, "at"),
        ({"actor": ""}, "actor"),
        ({"subject": 42}, "subject"),
        ({"extra": 1}, "unknown event field"),
    ],
)
def test_canonical_bytes_refuse_values_outside_the_canonical_set(
    change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        chain.canonical_bytes(fields(**change))


def test_canonical_bytes_refuse_missing_fields_deep_nesting_and_lone_surrogates() -> None:
    event = fields()
    del event["subject"]
    with pytest.raises(ValueError, match="missing event field"):
        chain.canonical_bytes(event)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(chain.MAX_DEPTH + 1):
        node["x"] = {}
        node = node["x"]
    with pytest.raises(ValueError, match="nested deeper"):
        chain.canonical_bytes(fields(data=deep))
    with pytest.raises(ValueError, match="serialised"):
        chain.canonical_bytes(fields(data={"s": "\ud800"}))


def test_make_event_links_to_prev_and_accepts_datetimes() -> None:
    first = chain.make_event(
        seq=1,
        at=datetime(2020, 7, 6, 17, 0, 0, 5, tzinfo=timezone(timedelta(hours=8))),
        actor="system",
        action="policy.activated",
        subject=None,
        data={},
        prev=chain.GENESIS,
    )
    assert first["at"] == "2020-07-06T09:00:00.000005Z"
    assert first["hash"] == chain.event_hash(first)
    second = chain.make_event(
        seq=2,
        at=AT,
        actor="cli",
        action="demand.viewed",
        subject="demand:1",
        data={},
        prev=first["hash"],
    )
    assert second["prev"] == first["hash"] != second["hash"]


def test_format_at_matches_isoformat_z_and_refuses_naive_datetimes() -> None:
    assert chain.format_at(datetime(2020, 7, 6, 9, 0, tzinfo=UTC)) == "2020-07-06T09:00:00Z"
    with pytest.raises(ValueError, match="timezone"):
        chain.format_at(datetime(2020, 7, 6, 9, 0))  # noqa: DTZ001


# --- keys ----------------------------------------------------------------------------------


def test_generate_signing_key_writes_a_0600_private_key_and_a_public_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    old_umask = os.umask(0)  # the file must still be 0600 under a permissive umask
    try:
        key = chain.generate_signing_key(path)
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in path.read_bytes()
    pub_path = chain.public_key_path(path)
    assert pub_path == tmp_path / "audit.key.pub"
    assert b"PUBLIC KEY" in pub_path.read_bytes()
    loaded = chain.load_signing_key(path)
    assert chain.public_key_bytes(loaded) == chain.public_key_bytes(key)
    assert verify.load_public_key(str(pub_path)) == chain.public_key_bytes(key)
    with pytest.raises(FileExistsError):
        chain.generate_signing_key(path)


def test_a_key_file_appears_only_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another worker may look for the key without the creation lock; it must never find
    # the name before the content (a CI run once caught a worker loading a half-written key).
    path = tmp_path / "audit.key"
    seen_while_writing: list[tuple[bool, bool]] = []
    real_write = os.write

    def write(fd: int, data: bytes) -> int:
        seen_while_writing.append((path.exists(), chain.public_key_path(path).exists()))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    chain.generate_signing_key(path)
    # The private key's content is written before its name exists, then the public key's.
    assert seen_while_writing == [(False, False), (True, False)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.key", "audit.key.pub"]


def test_load_signing_key_refuses_a_key_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    chain.generate_signing_key(path)
    path.chmod(0o644)
    with pytest.raises(PermissionError, match="0644"):
        chain.load_signing_key(path)
    assert chain.load_signing_key(path, allow_shared_permissions=True) is not None


def test_load_signing_key_refuses_a_public_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    chain.generate_signing_key(path)
    pub_path = chain.public_key_path(path)
    pub_path.chmod(0o600)
    with pytest.raises(ValueError):  # noqa: PT011 - cryptography's own message varies
        chain.load_signing_key(pub_path)


def test_public_key_id_is_the_first_16_hex_of_sha256_of_the_raw_key() -> None:
    key = Ed25519PrivateKey.generate()
    raw = chain.public_key_bytes(key)
    assert len(raw) == 32
    expected = hashlib.sha256(raw).hexdigest()[:16]
    assert chain.public_key_id(raw) == chain.public_key_id(key) == expected
    assert verify.public_key_id(raw) == expected
    with pytest.raises(ValueError, match="32"):
        chain.public_key_id(b"short")


@pytest.mark.parametrize("form", ["base64", "hex", "raw"])
def test_verifier_reads_public_keys_in_every_documented_form(form: str) -> None:
    raw = chain.public_key_bytes(Ed25519PrivateKey.generate())
    content = {
        "base64": base64.b64encode(raw) + b"\n",
        "hex": raw.hex().encode() + b"\n",
        "raw": raw,
    }[form]
    assert verify.parse_public_key(content) == raw
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        verify.parse_public_key(b"hello")


# --- checkpoints ---------------------------------------------------------------------------


def test_checkpoint_message_is_the_documented_bytes() -> None:
    head, prev = "ab" * 32, "cd" * 32
    expected = f"dueprocess-audit-checkpoint:v2:42:{head}:{AT}:40:{prev}".encode()
    assert chain.checkpoint_message(42, head, AT, 40, prev) == expected
    assert verify.checkpoint_message(42, head, AT, 40, prev) == expected
    v1 = f"dueprocess-audit-checkpoint:v1:42:{head}:{AT}".encode()  # before predecessors
    assert chain.checkpoint_message(42, head, AT) == verify.checkpoint_message(42, head, AT) == v1


def test_sign_checkpoint_signs_seq_head_and_time() -> None:
    key = Ed25519PrivateKey.generate()
    raw = chain.public_key_bytes(key)
    head = chain.make_event(**fields())["hash"]
    when = datetime(2020, 7, 6, 9, 30, tzinfo=UTC)
    cp = chain.sign_checkpoint(key, 1, head, when, prev=(0, chain.GENESIS))
    assert set(cp) == {"seq", "head", "at", "key_id", "signature", "prev_seq", "prev_head"}
    assert (cp["at"], cp["prev_seq"], cp["prev_head"]) == ("2020-07-06T09:30:00Z", 0, chain.GENESIS)
    assert cp["key_id"] == chain.public_key_id(raw)
    signature = base64.b64decode(cp["signature"], validate=True)
    message = chain.checkpoint_message(1, head, cp["at"], 0, chain.GENESIS)
    key.public_key().verify(signature, message)
    assert chain.checkpoint_signature_valid(raw, cp)
    for change in (
        {"seq": 2},
        {"head": "cd" * 32},
        {"at": "2020-07-06T09:31:00Z"},
        {"prev_seq": 1},
        {"prev_head": "cd" * 32},
        {"prev_seq": None, "prev_head": None},  # passed off as v1
    ):
        assert not chain.checkpoint_signature_valid(raw, {**cp, **change})
    other = chain.public_key_bytes(Ed25519PrivateKey.generate())
    assert not chain.checkpoint_signature_valid(other, cp)
    v1 = chain.sign_checkpoint(key, 1, head, when, prev=None)
    assert set(v1) == {"seq", "head", "at", "key_id", "signature"}
    assert chain.checkpoint_signature_valid(raw, v1)
    with pytest.raises(ValueError, match="head"):
        chain.sign_checkpoint(key, 1, "not-a-hash", prev=(0, chain.GENESIS))
    with pytest.raises(ValueError, match="seq"):
        chain.sign_checkpoint(key, -1, head, prev=(0, chain.GENESIS))
    with pytest.raises(ValueError, match="prev"):
        chain.sign_checkpoint(key, 1, head, prev=(2, head))  # a predecessor after it


# --- export --------------------------------------------------------------------------------


def test_export_lines_place_checkpoints_after_their_event_and_end_with_a_trailer() -> None:
    key = Ed25519PrivateKey.generate()
    events: list[dict[str, Any]] = []
    prev = chain.GENESIS
    for seq in range(1, 6):
        event = chain.make_event(**fields(seq=seq, prev=prev))
        events.append(event)
        prev = event["hash"]
    checkpoints = [
        chain.sign_checkpoint(key, 0, chain.GENESIS, prev=(0, chain.GENESIS)),
        chain.sign_checkpoint(key, 2, events[1]["hash"], prev=(0, chain.GENESIS)),
        # beyond the last event: written at the end
        chain.sign_checkpoint(key, 7, "ef" * 32, prev=(2, events[1]["hash"])),
    ]
    when = datetime(2020, 7, 6, tzinfo=UTC)
    lines = list(
        chain.export_lines(
            events, checkpoints, public_keys=[chain.public_key_bytes(key)], exported_at=when
        )
    )
    records = [orjson.loads(line) for line in lines]
    shape = [(r["type"], r.get("seq")) for r in records]
    assert shape == [
        ("header", None),
        ("checkpoint", 0),
        ("event", 1),
        ("event", 2),
        ("checkpoint", 2),
        ("event", 3),
        ("event", 4),
        ("event", 5),
        ("checkpoint", 7),
        ("trailer", None),
    ]
    assert records[0] == {
        "type": "header",
        "format": "dueprocess-audit/2",
        "exported_at": "2020-07-06T00:00:00Z",
        "public_keys": [base64.b64encode(chain.public_key_bytes(key)).decode()],
    }
    assert records[-1] == {"type": "trailer", "events": 5, "checkpoints": 3, "head": prev}
    for line, record in zip(lines, records, strict=True):
        assert line.endswith(b"\n")
        assert line.count(b"\n") == 1
        assert line[:-1] == stdlib_canonical(record)  # every line is itself canonical


def test_write_export_writes_the_lines_and_counts_bytes(tmp_path: Path) -> None:
    event = chain.make_event(**fields())
    target = tmp_path / "export.jsonl"
    with target.open("wb") as out:
        written = chain.write_export(out, [event], [])
    content = target.read_bytes()
    assert written == len(content)
    assert content.count(b"\n") == 3
    result = verify.verify_export(content.splitlines(), public_keys=[], max_unsigned_age=None)
    assert result.ok
    assert result.events == 1
    assert result.checkpoints == 0


@pytest.mark.parametrize("data", TRICKY_DATA)
@pytest.mark.parametrize("subject", [None, "demand:42", '"subject":"x"}'])
def test_canonical_parts_around_the_chain_link_are_the_canonical_bytes(
    data: dict[str, Any], subject: str | None
) -> None:
    # The PostgreSQL trigger hashes head + link + tail: it must be the canonical form exactly.
    event = fields(data=data, subject=subject, seq=7, prev="ab" * 32)
    head, tail = chain.canonical_parts(
        at=event["at"], actor=event["actor"], action=event["action"], subject=subject, data=data
    )
    assert head + chain.chain_link(event["prev"], event["seq"]) + tail == chain.canonical_bytes(
        event
    )


def test_canonical_parts_refuse_what_canonical_bytes_refuses() -> None:
    with pytest.raises(ValueError, match="floating-point"):
        chain.canonical_parts(
            at="2020-07-06T09:00:00Z", actor="a", action="b", subject=None, data={"x": 0.5}
        )
