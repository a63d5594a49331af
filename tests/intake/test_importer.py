"""Import parsing: JSON lines and CSV to DemandIn, row by row, without loading the file."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from dueprocess.demands.models import TargetType
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import FieldError
from dueprocess.intake import importer
from tests import factories

HEADER = (
    "authority,jurisdiction,reference,kind,legal_process,legal_basis_instrument,"
    "legal_basis_article,summary,data_categories,received_at,deadline,penalty,"
    "gag_order_basis,gag_order_until,emergency_justification,targets,channel,sender,"
    "idempotency_key"
)


def _csv_row(**cells: str) -> str:
    values = {
        "authority": "hkpf-nsd",
        "jurisdiction": "HK",
        "kind": "removal",
        "legal_process": "administrative-order",
        "legal_basis_instrument": "Implementation Rules for Article 43",
        "legal_basis_article": "Schedule 4",
        "received_at": "2020-07-07T09:30:00+08:00",
        "deadline": "2020-07-08T09:30:00+08:00",
        "targets": "https://microblog.demo/@hk_student_union/1",
    }
    values.update(cells)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values.get(c, "") for c in HEADER.split(","))
    return out.getvalue()


def _where(parsed: importer.Parsed) -> list[str]:
    assert isinstance(parsed, list), parsed
    return [e.where() for e in parsed]


def _line(data: Any) -> str:
    return json.dumps(data) + "\n"


# --- JSON lines -------------------------------------------------------------------------------


def test_jsonl_good_bad_and_blank_lines() -> None:
    text = (
        _line(factories.body(idempotency_key="k-1"))
        + "\n"  # blank: skipped, still counted
        + "{not json\n"
        + "[1, 2]\n"
        + _line(factories.body(kind="unknown", deadlne="2020-07-08T00:00:00Z"))
        + _line(factories.body(deadline="2020-07-01T00:00:00Z"))
        + "   \n"
        + _line(factories.body(reference="last"))
    )
    rows = importer.read_text(text, "jsonl")
    assert [line for line, _ in rows] == [1, 3, 4, 5, 6, 8]
    first = rows[0][1]
    assert isinstance(first, DemandIn)
    assert first.idempotency_key == "k-1"
    assert rows[1][1] == [
        FieldError(
            (),
            "not valid JSON: Expecting property name enclosed in double quotes at column 2",
            "json_invalid",
        )
    ]
    assert _where(rows[2][1]) == ["body"]
    assert _where(rows[3][1]) == ["kind", "deadlne"]
    assert _where(rows[4][1]) == ["deadline"], "checks across fields too"
    assert isinstance(rows[5][1], DemandIn)


def test_jsonl_accepts_what_demand_show_prints() -> None:
    shown = {**factories.body(), "id": 7, "status": "received", "authority_name": "HKPF"}
    ((_, parsed),) = importer.read_text(_line(shown), "jsonl")
    assert isinstance(parsed, DemandIn)


def test_jsonl_bad_utf8_and_overlong_lines_are_refused_alone() -> None:
    good = _line(factories.body()).encode()
    limit = len(good) + 10
    data = b'{"authority": "\xff"}\n' + b"x" * (limit * 5) + b"\n" + good
    rows = list(importer.read_jsonl(io.BytesIO(data), max_line_bytes=limit))
    assert [line for line, _ in rows] == [1, 2, 3]
    assert isinstance(rows[0][1], list)
    assert rows[0][1][0].type == "encoding"
    assert isinstance(rows[1][1], list)
    assert rows[1][1][0].type == "too_long"
    assert isinstance(rows[2][1], DemandIn)


class _Spy(io.BytesIO):
    """A stream that records the largest single read asked of it."""

    largest = 0

    def readline(self, size: int | None = -1, /) -> bytes:
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line

    def read(self, size: int | None = -1, /) -> bytes:
        block = super().read(size)
        self.largest = max(self.largest, len(block))
        return block


def test_reading_is_lazy_and_bounded() -> None:
    """The first row comes before the rest of the file is read, and an over-long line is
    never read whole (only in chunks up to the limit)."""
    line = _line(factories.body()).encode()
    stream = _Spy(line * 5000 + b"y" * (8 * 1024 * 1024) + b"\n" + line)
    counting = importer.CountingReader(stream)
    rows = importer.read_jsonl(counting, max_line_bytes=4096)
    assert next(rows)[0] == 1
    assert counting.count < 10 * len(line), "read far ahead of the first row"
    rest = list(rows)
    assert len(rest) == 5001
    assert isinstance(rest[-2][1], list)
    assert rest[-2][1][0].type == "too_long"
    assert stream.largest <= 1024 * 1024, "an over-long line was read in one piece"


# --- CSV --------------------------------------------------------------------------------------


def test_csv_row_becomes_a_demand() -> None:
    row = _csv_row(
        kind="user-data",
        data_categories="subscriber; traffic",
        targets="@hk_student_union; post:12 ;https://microblog.demo/p/3",
        gag_order_basis="Court order 12",
        gag_order_until="2021-01-01T00:00:00Z",
        penalty="HK$100,000, and six months",
        channel="email",
        idempotency_key="row-1",
        summary='He said "remove it"\nand more',
    )
    ((line, parsed),) = importer.read_text(HEADER + "\n" + row, "csv")
    assert line == 2
    assert isinstance(parsed, DemandIn), parsed
    assert [(t.type, t.id) for t in parsed.targets] == [
        (TargetType.ACCOUNT, "@hk_student_union"),
        (TargetType.CONTENT, "post:12"),
        (TargetType.CONTENT, "https://microblog.demo/p/3"),
    ]
    assert [c.value for c in parsed.data_categories] == ["subscriber", "traffic"]
    assert parsed.gag_order is not None
    assert parsed.gag_order.basis == "Court order 12"
    assert parsed.legal_basis.article == "Schedule 4"
    assert parsed.summary == 'He said "remove it"\nand more'
    assert parsed.channel is not None
    assert parsed.channel.value == "email"
    assert parsed.reference is None, "empty cells are absent values"


def test_csv_errors_are_named_by_column_and_rows_are_independent() -> None:
    rows = [
        _csv_row(),
        _csv_row(
            jurisdiction="XX",
            legal_basis_instrument="",
            data_categories="subscriber;bogus",
            gag_order_until="2021-01-01T00:00:00Z",
            targets="@ok;not a handle!",
        ),
        _csv_row(deadline="2020-07-01T00:00:00Z"),
        _csv_row(targets=""),
        _csv_row(reference="fine"),
    ]
    parsed = importer.read_text(HEADER + "\n" + "".join(rows), "csv")
    assert [line for line, _ in parsed] == [2, 3, 4, 5, 6]
    assert isinstance(parsed[0][1], DemandIn)
    assert sorted(_where(parsed[1][1])) == [
        "data_categories[1]",
        "gag_order_basis",
        "jurisdiction",
        "legal_basis_instrument",
        "targets[1]",
    ]
    assert _where(parsed[2][1]) == ["deadline"]
    assert _where(parsed[3][1]) == ["targets"]
    assert isinstance(parsed[4][1], DemandIn)


def test_csv_header_problems_refuse_the_file_at_line_1() -> None:
    header = "Authority,jurisdiction,kind,legal_process,legal_basis_article,targets,colour,kind"
    rows = importer.read_text(header + "\n" + _csv_row(), "csv")
    assert len(rows) == 1
    line, problems = rows[0]
    assert line == 1
    assert isinstance(problems, list)
    by_field = {e.where(): e.msg for e in problems}
    assert set(by_field) == {"colour", "kind", "legal_basis_instrument"}
    assert by_field["colour"].startswith("unknown column")
    assert by_field["kind"] == "column appears twice in the header"
    assert by_field["legal_basis_instrument"] == "required column is missing"
    assert importer.read_text("", "csv") == []


def test_csv_wrong_value_count_bad_quoting_and_bom() -> None:
    text = (
        "\ufeff" + HEADER + "\n" + "hkpf-nsd,HK\n" + _csv_row(summary="spans\ntwo lines") + 'a,"b\n'
    )
    rows = importer.read_text(text, "csv")
    assert [line for line, _ in rows] == [2, 3, 5]
    assert isinstance(rows[0][1], list)
    assert "has 2 values" in rows[0][1][0].msg
    assert isinstance(rows[1][1], DemandIn), "the BOM did not hide the first column"
    assert isinstance(rows[2][1], list)
    assert rows[2][1][0].type == "csv"


def test_csv_bad_utf8_refuses_only_its_row() -> None:
    data = (HEADER + "\n").encode() + _csv_row(summary="caf\xe9").encode("latin-1")
    data += _csv_row(reference="ok").encode()
    rows = list(importer.read_csv(io.BytesIO(data)))
    assert [line for line, _ in rows] == [2, 3]
    assert isinstance(rows[0][1], list)
    assert rows[0][1][0].type == "encoding"
    assert isinstance(rows[1][1], DemandIn)


def test_csv_loc_maps_service_errors_to_columns() -> None:
    assert importer.csv_loc(("gag_order", "until")) == ("gag_order_until",)
    assert importer.csv_loc(("legal_basis", "article")) == ("legal_basis_article",)
    assert importer.csv_loc(("targets", 2, "id")) == ("targets", 2)
    assert importer.csv_loc(("deadline",)) == ("deadline",)
    error = FieldError(("gag_order", "until"), "has already passed")
    assert importer.name_error(error, "csv").where() == "gag_order_until"
    assert importer.name_error(error, "jsonl").where() == "gag_order.until"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a.jsonl", "jsonl"),
        ("a.NDJSON", "jsonl"),
        ("a.json", "jsonl"),
        ("a.csv", "csv"),
        ("a.txt", None),
    ],
)
def test_format_of(name: str, expected: str | None) -> None:
    assert importer.format_of(Path(name)) == expected


def test_every_csv_column_is_documented_in_the_api_guide() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    for column in importer.CSV_COLUMNS:
        assert f"`{column}`" in guide, column
