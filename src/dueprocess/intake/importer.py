"""Reading demands exported from another system: JSON lines or CSV, streamed row by row.

Pure parsing, no database: each row becomes a :class:`DemandIn` or the list of what is wrong
with it, each problem named by its field (for CSV, by its column). The importer
(``dueprocess demand import``) then submits the good rows through the intake flow.

What this module promises (``tests/demands/test_importer.py`` checks each):

- A file is never loaded whole. It is read one line at a time from a binary stream, and a
  line longer than ``max_line_bytes`` is skipped without being held in memory (the row is
  refused, naming the limit), so a hostile file costs at most one line's worth of memory.
- Every row is judged on its own: a malformed JSON line, a CSV record with the wrong number
  of values, bad UTF-8 or a bad value refuses that row and the next one is read as usual.
- A CSV header with an unknown, missing or repeated column refuses the whole file at line 1,
  naming the columns, before any row is read (rows of a misread layout would be wrong).
- Rows are yielded as ``(line, DemandIn | list[FieldError])``; ``line`` is the 1-based line
  of the file where the row starts (the header is line 1 of a CSV file).

JSON lines: one object per line in the shape of ``POST /api/v1/demands`` (or of
``demand show --json``); blank lines are skipped.

CSV (UTF-8, a byte-order mark is allowed; first line a header naming columns in any order):
see :data:`CSV_COLUMNS`. Empty cells are absent values. ``data_categories`` and ``targets``
hold several values separated by ``;``; a target's type is inferred: ``https://...`` and
``post:ID`` are content, anything else (``@handle``) an account. Documents and target notes
cannot be given in CSV; use JSON lines for them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import ValidationError

from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import FieldError, from_validation

Format = Literal["jsonl", "csv"]
Parsed = DemandIn | list[FieldError]
Row = tuple[int, Parsed]

#: Every CSV column, in the order a template lists them. Required ones are in
#: :data:`REQUIRED_COLUMNS`; any other column name refuses the file.
CSV_COLUMNS: tuple[str, ...] = (
    "authority",
    "jurisdiction",
    "reference",
    "kind",
    "legal_process",
    "legal_basis_instrument",
    "legal_basis_article",
    "summary",
    "data_categories",
    "period_start",
    "period_end",
    "received_at",
    "deadline",
    "penalty",
    "gag_order_basis",
    "gag_order_until",
    "emergency_justification",
    "targets",
    "channel",
    "sender",
    "idempotency_key",
    "confirmed_new",
)
REQUIRED_COLUMNS: frozenset[str] = frozenset(
    {
        "authority",
        "jurisdiction",
        "kind",
        "legal_process",
        "legal_basis_instrument",
        "legal_basis_article",
        "targets",
    }
)
LIST_SEPARATOR = ";"

#: Longest line accepted by default (the API's default body limit: a JSON line is one body).
DEFAULT_MAX_LINE_BYTES = 25 * 1024 * 1024

_EXTENSIONS: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
}
_SKIP_CHUNK = 1 << 20
_CONTENT_PREFIXES = ("http://", "https://", "post:")
_BOM = "\ufeff"


def format_of(path: Path) -> Format | None:
    """The format a file's extension implies (``.jsonl``, ``.ndjson``, ``.json``, ``.csv``)."""
    return _EXTENSIONS.get(path.suffix.lower())


class CountingReader:
    """A binary stream wrapper counting the bytes read through it (for a progress bar)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.count = 0

    def readline(self, size: int = -1, /) -> bytes:
        """One line, at most ``size`` bytes of it (``-1``: all of it)."""
        line = self.stream.readline(size)
        self.count += len(line)
        return line

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes."""
        block = self.stream.read(size)
        self.count += len(block)
        return block


# --- validation shared by both formats ----------------------------------------------------


def validate(raw: Any) -> Parsed:
    """``raw`` (decoded JSON, or a CSV row turned into that shape) as a :class:`DemandIn`, or
    every problem with it: field by field, then across fields (``consistency_errors``).

    Checks that need the database (the authority exists, the idempotency key is free, the
    row repeats no earlier demand, the documents are acceptable) are the intake service's,
    made when the row is submitted.
    """
    try:
        data = DemandIn.model_validate(raw)
    except ValidationError as exc:
        return from_validation(exc.errors()).errors
    problems = data.consistency_errors()
    return problems if problems else data


def _too_long(limit: int) -> FieldError:
    return FieldError((), f"the line is longer than the limit of {limit:,} bytes", "too_long")


def _lines(
    stream: BinaryIO | CountingReader, max_line_bytes: int
) -> Iterator[tuple[int, bytes | None]]:
    """``(number, line)`` for each line of ``stream``; ``None`` for one over the limit.

    An over-long line is consumed in bounded chunks up to its newline, never held whole.
    """
    number = 0
    cap = max_line_bytes + 2  # the content, and room for "\r\n"
    while True:
        line = stream.readline(cap)
        if not line:
            return
        number += 1
        if len(line) == cap and not line.endswith(b"\n"):
            while (rest := stream.readline(_SKIP_CHUNK)) and not rest.endswith(b"\n"):
                pass
            yield number, None
        elif len(line.rstrip(b"\r\n")) > max_line_bytes:
            yield number, None
        else:
            yield number, line


# --- JSON lines -----------------------------------------------------------------------------


def parse_json_line(line: str | bytes) -> Parsed | None:
    """One JSON line as a demand or its problems; ``None`` for a blank line."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return [FieldError((), f"not valid UTF-8 (byte {exc.start + 1})", "encoding")]
    line = line.strip().removeprefix(_BOM)
    if not line:
        return None
    try:
        raw = json.loads(line)
    except json.JSONDecodeError as exc:
        return [FieldError((), f"not valid JSON: {exc.msg} at column {exc.colno}", "json_invalid")]
    if not isinstance(raw, dict):
        return [FieldError((), "must be a JSON object (one demand per line)", "model_type")]
    return validate(raw)


def read_jsonl(
    stream: BinaryIO | CountingReader, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[Row]:
    """Stream ``(line, demand or problems)`` from JSON lines; blank lines are skipped."""
    for number, line in _lines(stream, max_line_bytes):
        if line is None:
            yield number, [_too_long(max_line_bytes)]
            continue
        parsed = parse_json_line(line)
        if parsed is not None:
            yield number, parsed


# --- CSV --------------------------------------------------------------------------------------


def check_header(header: Sequence[str]) -> list[FieldError]:
    """Problems with a CSV header: unknown, repeated or missing columns, each named."""
    problems: list[FieldError] = []
    seen: set[str] = set()
    known = set(CSV_COLUMNS)
    for name in header:
        if name in seen:
            problems.append(FieldError((name,), "column appears twice in the header", "header"))
        elif name not in known:
            problems.append(
                FieldError(
                    (name or "(empty)",),
                    "unknown column; known columns: " + ", ".join(CSV_COLUMNS),
                    "header",
                )
            )
        seen.add(name)
    for name in CSV_COLUMNS:
        if name in REQUIRED_COLUMNS and name not in seen:
            problems.append(FieldError((name,), "required column is missing", "header"))
    return problems


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


def _target(value: str) -> dict[str, str]:
    kind = "content" if value.lower().startswith(_CONTENT_PREFIXES) else "account"
    return {"type": kind, "id": value}


def csv_row_to_json(values: Mapping[str, str]) -> dict[str, Any]:
    """A CSV record (column -> cell) in the JSON shape of :class:`DemandIn`.

    Empty cells are left out, so the schema's defaults and "required" messages apply.
    """
    cell = {k: v.strip() for k, v in values.items() if v is not None and v.strip()}
    out: dict[str, Any] = {}
    for name in (
        "authority",
        "jurisdiction",
        "reference",
        "kind",
        "legal_process",
        "summary",
        "period_start",
        "period_end",
        "received_at",
        "deadline",
        "penalty",
        "emergency_justification",
        "channel",
        "sender",
        "idempotency_key",
    ):
        if name in cell:
            out[name] = cell[name]
    if "confirmed_new" in cell:
        # true or false; anything else is left for the schema to refuse, naming the column.
        flag = cell["confirmed_new"]
        out["confirmed_new"] = {"true": True, "false": False}.get(flag.lower(), flag)
    basis = {
        key: cell[column]
        for key, column in (
            ("instrument", "legal_basis_instrument"),
            ("article", "legal_basis_article"),
        )
        if column in cell
    }
    out["legal_basis"] = basis
    if "data_categories" in cell:
        out["data_categories"] = _split(cell["data_categories"])
    out["targets"] = [_target(t) for t in _split(cell.get("targets", ""))]
    if "gag_order_basis" in cell or "gag_order_until" in cell:
        gag: dict[str, str] = {}
        if "gag_order_basis" in cell:
            gag["basis"] = cell["gag_order_basis"]
        if "gag_order_until" in cell:
            gag["until"] = cell["gag_order_until"]
        out["gag_order"] = gag
    return out


_NESTED_COLUMNS: dict[tuple[str, str], str] = {
    ("legal_basis", "instrument"): "legal_basis_instrument",
    ("legal_basis", "article"): "legal_basis_article",
    ("gag_order", "basis"): "gag_order_basis",
    ("gag_order", "until"): "gag_order_until",
}


def csv_loc(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """A :class:`DemandIn` field path as the CSV column it came from.

    ``legal_basis.instrument`` -> ``legal_basis_instrument``, ``gag_order.until`` ->
    ``gag_order_until``, ``targets[2].id`` -> ``targets[2]`` (the third ``;``-separated
    value); other paths are already column names.
    """
    if len(loc) >= 2 and (str(loc[0]), str(loc[1])) in _NESTED_COLUMNS:
        return (_NESTED_COLUMNS[(str(loc[0]), str(loc[1]))], *loc[2:])
    if loc[:1] == ("legal_basis",):
        return ("legal_basis_instrument",)
    if loc[:1] == ("gag_order",):
        return ("gag_order_basis",)
    if loc[:1] == ("targets",) and len(loc) > 2:
        return loc[:2]
    return loc


def as_csv_error(error: FieldError) -> FieldError:
    """``error`` with its location named by CSV column (see :func:`csv_loc`)."""
    return FieldError(csv_loc(error.loc), error.msg, error.type)


def parse_csv_record(values: Mapping[str, str]) -> Parsed:
    """One CSV record (column -> cell) as a demand or its problems, named by column."""
    parsed = validate(csv_row_to_json(values))
    if isinstance(parsed, list):
        return [as_csv_error(e) for e in parsed]
    return parsed


class _CsvLines:
    """Decoded lines for :mod:`csv`, remembering which physical lines were unusable."""

    def __init__(self, stream: BinaryIO | CountingReader, max_line_bytes: int) -> None:
        self.lines = _lines(stream, max_line_bytes)
        self.max_line_bytes = max_line_bytes
        self.bad: dict[int, FieldError] = {}

    def __iter__(self) -> Iterator[str]:
        for number, line in self.lines:
            if line is None:
                self.bad[number] = _too_long(self.max_line_bytes)
                yield "\n"
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.bad[number] = FieldError(
                    (), f"not valid UTF-8 (byte {exc.start + 1} of the line)", "encoding"
                )
                text = line.decode("utf-8", errors="replace")
            yield text.removeprefix(_BOM) if number == 1 else text

    def problems(self, first: int, last: int) -> list[FieldError]:
        """Problems recorded for physical lines ``first..last`` (and forgets them)."""
        found = [self.bad.pop(n) for n in range(first, last + 1) if n in self.bad]
        return found


def read_csv(
    stream: BinaryIO | CountingReader, *, max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
) -> Iterator[Row]:
    """Stream ``(line, demand or problems)`` from CSV with a header (see :data:`CSV_COLUMNS`).

    A bad header yields one refusal at line 1 and nothing else.
    """
    lines = _CsvLines(stream, max_line_bytes)
    reader = csv.reader(lines, strict=True)
    header: list[str] | None = None
    last = 0
    while True:
        first = last + 1
        record: list[str] | None
        try:
            record = next(reader)
            broken = None
        except StopIteration:
            return
        except csv.Error as exc:
            record, broken = None, FieldError((), f"not readable as CSV: {exc}", "csv")
        last = reader.line_num
        problems = lines.problems(first, last)
        if broken is not None and not problems:
            problems = [broken]
        if header is None:
            if record:
                header = [name.strip().lower() for name in record]
                problems += check_header(header)
            elif not problems:
                problems = [FieldError((), "the first line must be a header", "header")]
            if problems:
                yield first, problems
                return
            continue
        if problems:
            yield first, problems
        elif record is None or not any(v.strip() for v in record):
            continue  # a blank line
        elif len(record) != len(header):
            message = f"has {len(record)} values; the header has {len(header)} columns"
            yield first, [FieldError((), message, "csv")]
        else:
            yield first, parse_csv_record(dict(zip(header, record, strict=True)))


def read(
    stream: BinaryIO | CountingReader,
    fmt: Format,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[Row]:
    """Stream the rows of ``stream`` in format ``fmt``."""
    if fmt == "csv":
        return read_csv(stream, max_line_bytes=max_line_bytes)
    return read_jsonl(stream, max_line_bytes=max_line_bytes)


def name_error(error: FieldError, fmt: Format) -> FieldError:
    """A service's error about a row, named the way the file names the field."""
    return as_csv_error(error) if fmt == "csv" else error


def read_text(text: str, fmt: Format) -> list[Row]:
    """Every row of a small in-memory file (tests, previews); streams like :func:`read`."""
    return list(read(io.BytesIO(text.encode("utf-8")), fmt))


def chunked(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    """Rows in lists of at most ``size`` (one transaction each in the importer)."""
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
