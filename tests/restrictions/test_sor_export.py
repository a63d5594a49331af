"""Batch payloads of at most 100, written whole or not at all."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from dueprocess.errors import InvalidInput
from dueprocess.restrictions.sor import statement
from dueprocess.restrictions.sor_export import (
    ExportResult,
    Format,
    PendingStatement,
    batches,
    export,
)
from tests.restrictions.test_sor import GERMAN_REMOVAL


def pending(count: int) -> list[PendingStatement]:
    return [
        PendingStatement(str(n), statement(replace(GERMAN_REMOVAL, puid=f"post-{n}")))
        for n in range(1, count + 1)
    ]


def test_250_statements_are_three_batch_files_of_100_100_and_50(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    out = tmp_path / "sor"
    result = export(pending(250), out, progress=lambda done, total: calls.append((done, total)))
    assert result == ExportResult(
        out, tuple(out / f"batch-00000{n}.json" for n in (1, 2, 3)), 250, 3
    )
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in result.files]
    bodies = [json.loads(p.read_text(encoding="utf-8")) for p in result.files]
    assert [list(b) for b in bodies] == [["statements"]] * 3
    assert [len(b["statements"]) for b in bodies] == [100, 100, 50]
    puids = [s["puid"] for b in bodies for s in b["statements"]]
    assert puids == [f"post-{n}" for n in range(1, 251)]
    assert calls == [(100, 250), (200, 250), (250, 250)]
    assert [p.name for p in tmp_path.iterdir()] == ["sor"]  # no staging left behind


def test_json_lines_hold_one_request_body_a_line(tmp_path: Path) -> None:
    result = export(pending(101), tmp_path / "sor", format=Format.JSONL)
    lines = result.files[0].read_text(encoding="utf-8").splitlines()
    assert [len(json.loads(line)["statements"]) for line in lines] == [100, 1]
    assert "§ 3" in lines[0]  # written as itself, not escaped


def test_one_bad_statement_refuses_the_export_naming_it_and_writes_nothing(
    tmp_path: Path,
) -> None:
    items = pending(150)
    bad = dict(items[120].statement, decision_facts="")
    items[120] = PendingStatement("121", bad)
    items[7] = PendingStatement("8", dict(items[7].statement, puid="post-3"))
    with pytest.raises(InvalidInput) as caught:
        export(items, tmp_path / "sor")
    assert [(e.loc, e.msg) for e in caught.value.errors] == [
        (
            ("restriction 8", "puid"),
            "puid 'post-3' is also the puid of restriction 3; the database takes each puid once",
        ),
        (("restriction 121", "decision_facts"), "decision_facts is required"),
    ]
    assert list(tmp_path.iterdir()) == []


def test_an_export_never_mixes_with_an_earlier_one(tmp_path: Path) -> None:
    out = tmp_path / "sor"
    export(pending(2), out)
    with pytest.raises(InvalidInput, match="new or empty directory"):
        export(pending(2), out)
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput, match="new or empty directory"):
        export(pending(2), tmp_path / "file")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(pending(1), empty).statements == 1


def test_nothing_due_writes_nothing(tmp_path: Path) -> None:
    assert export([], tmp_path / "sor") == ExportResult(tmp_path / "sor", (), 0, 0)
    assert not (tmp_path / "sor").exists()


def test_batch_size_is_1_to_100() -> None:
    assert [len(b["statements"]) for b in batches([{}] * 5, 2)] == [2, 2, 1]
    for size in (0, 101):
        with pytest.raises(ValueError, match="1 to 100"):
            batches([{}], size)
