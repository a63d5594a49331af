"""Building a production package: only the decision's scope gets in, whatever the connector
returned; the files, manifest and archive are the same bytes for the same inputs."""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from dueprocess.demands.models import DataCategory
from dueprocess.productions.package import (
    MANIFEST,
    SUMMARY,
    DemandFacts,
    build,
    scope_filter,
    scope_of,
    to_csv,
)

AT = datetime(2020, 7, 20, 9, 0, tzinfo=UTC)
FACTS = DemandFacts(
    demand_id=42,
    reference="NSD/2020/0042",
    authority="Hong Kong Police Force, National Security Department",
    jurisdiction="HK",
    kind="user-data",
    legal_process="warrant",
    legal_basis="Implementation Rules for Article 43, Schedule 4",
    received_at=datetime(2020, 7, 7, 1, 30, tzinfo=UTC),
    data_categories=("subscriber", "traffic", "content"),
    period_start=datetime(2020, 6, 1, tzinfo=UTC),
    period_end=datetime(2020, 7, 6, tzinfo=UTC),
    target_id=7,
    target="@lamwing",
)
#: Kept: subscriber (name, email) and content (posts), 30 June to 5 July.
NARROWING = {
    "data_categories": ["content", "subscriber"],
    "fields": ["email", "name", "posts"],
    "period_start": "2020-06-30T00:00:00Z",
    "period_end": "2020-07-05T00:00:00Z",
}


def _exported() -> dict[str, list[dict[str, Any]]]:
    """What a misbehaving connector might answer: everything it has, in no order."""
    return {
        "subscriber": [
            {
                "name": "Lam Wing",
                "email": "lam@example.org",
                "phone": "SENTINEL-CUT-FIELD-phone",
                "signup-ip": "SENTINEL-CUT-FIELD-ip",
                "password-hash": "SENTINEL-UNKNOWN-FIELD",
            }
        ],
        "traffic": [
            {"login-ips": "SENTINEL-CUT-CATEGORY", "at": "2020-07-01T00:00:00Z"},
        ],
        "location": [{"lat": "SENTINEL-UNKNOWN-CATEGORY"}],
        "content": [
            {"posts": "in period, second", "at": "2020-07-03T10:00:00+08:00"},
            {"posts": "SENTINEL-BEFORE", "at": "2020-06-29T23:59:59Z"},
            {"posts": "in period, first", "at": datetime(2020, 6, 30, tzinfo=UTC)},
            {"posts": "SENTINEL-AFTER", "at": "2020-07-05T00:00:01Z"},
            {"posts": "SENTINEL-UNDATED"},
            {"posts": "SENTINEL-NAIVE", "at": "2020-07-02T00:00:00"},
            {"posts": "on the last instant", "at": "2020-07-05T00:00:00Z"},
            {"messages": "SENTINEL-CUT-FIELD-messages", "at": "2020-07-02T00:00:00Z"},
        ],
    }


def test_nothing_outside_the_decision_is_in_any_file_of_the_package() -> None:
    scope = scope_of(FACTS, "comply-narrowed", NARROWING)
    package = build(FACTS, scope, _exported(), at=AT)

    assert set(package.files) == {
        MANIFEST,
        SUMMARY,
        "data/content.csv",
        "data/content.json",
        "data/subscriber.csv",
        "data/subscriber.json",
    }
    for path, body in [*package.files.items(), ("archive", package.archive)]:
        assert b"SENTINEL" not in body, path
        for cut in (b"2020-06-29T23:59:59", b"2020-07-05T00:00:01", b"2020-07-01T00:00:00"):
            assert cut not in body, path
    for path, body in package.files.items():
        if path.startswith("data/"):
            for name in (b"phone", b"signup-ip", b"messages", b"login-ips", b"password"):
                assert name not in body, path

    content = orjson.loads(package.files["data/content.json"])
    assert content == [
        {"posts": "in period, first"},
        {"posts": "in period, second"},
        {"posts": "on the last instant"},
    ]
    assert orjson.loads(package.files["data/subscriber.json"]) == [
        {"email": "lam@example.org", "name": "Lam Wing"}
    ]
    assert package.counts == {"subscriber": 1, "content": 3}
    assert package.dropped == {"categories": ["location", "traffic"], "fields": 4, "records": 5}


def test_the_csv_header_is_exactly_the_fields_in_scope() -> None:
    scope = scope_of(FACTS, "comply-narrowed", NARROWING)
    package = build(FACTS, scope, _exported(), at=AT)
    rows = list(csv.reader(io.StringIO(package.files["data/subscriber.csv"].decode("utf-8"))))
    assert rows == [["name", "email"], ["Lam Wing", "lam@example.org"]]
    rows = list(csv.reader(io.StringIO(package.files["data/content.csv"].decode("utf-8"))))
    assert rows[0] == ["posts"]
    assert len(rows) == 4


def test_the_manifest_lists_every_file_with_its_hash_and_size() -> None:
    scope = scope_of(FACTS, "comply-narrowed", NARROWING)
    package = build(FACTS, scope, _exported(), at=AT)
    manifest = package.manifest
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(package.files) - {MANIFEST}
    for path, entry in listed.items():
        assert entry["sha256"] == hashlib.sha256(package.files[path]).hexdigest()
        assert entry["size"] == len(package.files[path])
    assert manifest["demand"] == {
        "id": 42,
        "reference": "NSD/2020/0042",
        "authority": FACTS.authority,
        "jurisdiction": "HK",
    }
    assert manifest["target"] == {"id": 7, "identifier": "@lamwing"}
    assert manifest["created_at"] == "2020-07-20T09:00:00Z"
    assert manifest["scope"] == {
        "outcome": "comply-narrowed",
        "data_categories": ["subscriber", "content"],
        "fields": {"subscriber": ["name", "email"], "content": ["posts"]},
        "period_start": "2020-06-30T00:00:00Z",
        "period_end": "2020-07-05T00:00:00Z",
        "items": None,
    }
    assert package.manifest_sha256 == hashlib.sha256(package.files[MANIFEST]).hexdigest()


def test_the_archive_holds_the_files_and_is_the_same_bytes_for_the_same_inputs() -> None:
    scope = scope_of(FACTS, "comply-narrowed", NARROWING)
    first = build(FACTS, scope, _exported(), at=AT)
    shuffled = {k: list(reversed(v)) for k, v in reversed(list(_exported().items()))}
    second = build(FACTS, scope, shuffled, at=AT)
    assert second.archive == first.archive
    assert first.archive_sha256 == hashlib.sha256(first.archive).hexdigest()

    with tarfile.open(fileobj=io.BytesIO(first.archive)) as tar:
        members = tar.getmembers()
        files = {m.name: tar.extractfile(m).read() for m in members if m.isfile()}  # type: ignore[union-attr]
    assert files == {f"production-demand-42-target-7/{p}": b for p, b in first.files.items()}
    assert {m.mtime for m in members} == {int(AT.timestamp())}
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}

    later = build(FACTS, scope, _exported(), at=datetime(2020, 7, 21, tzinfo=UTC))
    assert later.archive != first.archive


def test_the_summary_says_what_was_asked_decided_and_produced() -> None:
    scope = scope_of(FACTS, "comply-narrowed", NARROWING)
    text = build(FACTS, scope, _exported(), at=AT).files[SUMMARY].decode("utf-8")
    assert "Demand 42 (your reference NSD/2020/0042)" in text
    assert "Data categories: subscriber, traffic, content" in text
    assert "Period: 2020-06-01T00:00:00Z to 2020-07-06T00:00:00Z" in text
    assert "Outcome: comply-narrowed" in text
    assert "Categories not produced: traffic" in text
    assert "subscriber fields produced: name, email (not produced: phone, signup-ip" in text
    assert "Period produced: 2020-06-30T00:00:00Z to 2020-07-05T00:00:00Z" in text
    assert "data/content.json and data/content.csv: 3 records" in text
    assert "data/subscriber.json and data/subscriber.csv: 1 record\n" in text


def test_a_full_compliance_keeps_what_was_asked_and_every_field() -> None:
    scope = scope_of(FACTS, "comply", None)
    assert scope.categories == (DataCategory.SUBSCRIBER, DataCategory.TRAFFIC, DataCategory.CONTENT)
    assert scope.fields[DataCategory.TRAFFIC] == ("login-ips", "login-times", "devices")
    assert (scope.period_start, scope.period_end) == (FACTS.period_start, FACTS.period_end)
    package = build(FACTS, scope, {}, at=AT)
    assert package.counts == {"subscriber": 0, "traffic": 0, "content": 0}
    assert package.files["data/traffic.csv"] == b"login-ips,login-times,devices\r\n"
    assert package.files["data/traffic.json"] == b"[]\n"


def test_an_items_narrowing_keeps_only_those_content_items() -> None:
    scope = scope_of(FACTS, "comply-narrowed", {"items": ["post:2"]})
    filtered = scope_filter(
        {
            "content": [
                {"posts": "kept", "ref": "post:2", "at": "2020-06-10T00:00:00Z"},
                {"posts": "not named", "ref": "post:3", "at": "2020-06-10T00:00:00Z"},
                {"posts": "no reference", "at": "2020-06-10T00:00:00Z"},
            ]
        },
        scope,
    )
    assert filtered.records[DataCategory.CONTENT] == [{"posts": "kept"}]


def test_an_undated_subscriber_record_is_kept_and_a_dated_one_is_checked() -> None:
    scope = scope_of(FACTS, "comply", None)
    filtered = scope_filter(
        {
            "subscriber": [
                {"name": "now", "at": None},
                {"name": "inside", "at": "2020-06-15T00:00:00Z"},
                {"name": "SENTINEL", "at": "2019-01-01T00:00:00Z"},
            ]
        },
        scope,
    )
    assert filtered.records[DataCategory.SUBSCRIBER] == [{"name": "now"}, {"name": "inside"}]


@pytest.mark.parametrize("outcome", ["refuse", "no-data"])
def test_an_outcome_that_produces_nothing_has_no_scope(outcome: str) -> None:
    with pytest.raises(ValueError, match="produces nothing"):
        scope_of(FACTS, outcome, None)


def test_a_csv_cell_a_spreadsheet_would_run_is_defused_and_others_are_kept() -> None:
    body = to_csv(
        ["a", "b", "c", "d"],
        [{"a": '=HYPERLINK("http://x")', "b": -5, "c": ["x", 1], "d": True}, {"a": "plain"}],
    )
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"))))
    assert rows == [
        ["a", "b", "c", "d"],
        ['\'=HYPERLINK("http://x")', "-5", '["x",1]', "true"],
        ["plain", "", "", ""],
    ]
