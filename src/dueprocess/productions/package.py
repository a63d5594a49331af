"""A production as a package of files, built from what a connector exported: pure functions,
no database, no clock (the time is an argument), so the same inputs give the same bytes.

The package holds, for each data category the decision lets out, ``data/<category>.json``
and ``data/<category>.csv``; ``SUMMARY.txt`` for a person (what was asked, what was decided
and cut, what the package holds); and ``manifest.json`` with the SHA-256 and size of every
other file, the demand, the target, the scope and the time. They are packed into one
uncompressed tar whose bytes depend only on the inputs (files in a fixed order, fixed
mtime, owner and mode), so the archive can be checksummed and rebuilt to check it.

Before anything is written, :func:`scope_filter` drops every category, field and record
outside the decision's scope, whatever the connector returned: the connector is asked for
the narrowed scope only, and this is the second guard.

An exported record is a ``dict`` of field names (:data:`dueprocess.review.decisions.FIELDS`
of its category) to JSON values, plus two keys that are not produced: :data:`TIME_KEY`
(when the recorded thing happened, an aware ``datetime`` or ISO 8601 text with an offset;
what the period is checked against) and :data:`REF_KEY` (a content record's reference, what
an ``items`` narrowing is checked against).
"""

from __future__ import annotations

import csv
import hashlib
import io
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from dueprocess.clock import isoformat_z
from dueprocess.demands.models import DataCategory
from dueprocess.review.decisions import FIELDS

#: The key of a record's time: checked against the period, never produced.
TIME_KEY = "at"
#: The key of a content record's reference: checked against ``items``, never produced.
REF_KEY = "ref"
#: Categories whose records are dated; a record of one without a time is outside any
#: bounded period (subscriber records describe the account as it stands, whatever the period).
DATED = frozenset({DataCategory.TRAFFIC, DataCategory.CONTENT})
FORMAT = "dueprocess-production/1"
MANIFEST = "manifest.json"
SUMMARY = "SUMMARY.txt"


@dataclass(frozen=True)
class DemandFacts:
    """What the package says about the demand it answers (read from the demand by the
    service; plain values here)."""

    demand_id: int
    reference: str | None
    authority: str
    jurisdiction: str
    kind: str
    legal_process: str
    legal_basis: str
    received_at: datetime
    data_categories: tuple[str, ...]
    period_start: datetime | None
    period_end: datetime | None
    target_id: int | None = None
    target: str | None = None


@dataclass(frozen=True)
class Scope:
    """What the decision lets out: per category kept, its fields (in :data:`FIELDS` order);
    the period (bounds inclusive, ``None`` open); content items (``None``: all)."""

    outcome: str
    fields: Mapping[DataCategory, tuple[str, ...]]
    period_start: datetime | None = None
    period_end: datetime | None = None
    items: tuple[str, ...] | None = None

    @property
    def categories(self) -> tuple[DataCategory, ...]:
        """The categories kept, in :class:`DataCategory` order."""
        return tuple(c for c in DataCategory if c in self.fields)

    def as_dict(self) -> dict[str, Any]:
        """The scope as the manifest records it."""
        return {
            "outcome": self.outcome,
            "data_categories": [c.value for c in self.categories],
            "fields": {c.value: list(self.fields[c]) for c in self.categories},
            "period_start": isoformat_z(self.period_start) if self.period_start else None,
            "period_end": isoformat_z(self.period_end) if self.period_end else None,
            "items": list(self.items) if self.items is not None else None,
        }


def _instant(value: object) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    return None


def scope_of(facts: DemandFacts, outcome: str, narrowing: Mapping[str, Any] | None) -> Scope:
    """The scope of a decision: what the demand asked, cut by the narrowing the decision
    recorded (:func:`dueprocess.review.decisions.check_narrowing`'s normal form; a key left
    out keeps what was asked). Only ``comply`` and ``comply-narrowed`` produce anything:
    any other outcome is :class:`ValueError`."""
    if outcome not in ("comply", "comply-narrowed"):
        raise ValueError(f"a {outcome} decision produces nothing")
    cut = narrowing or {}
    asked = [DataCategory(c) for c in facts.data_categories]
    kept = set(asked)
    if "data_categories" in cut:
        kept &= {DataCategory(c) for c in cut["data_categories"]}
    fields: dict[DataCategory, tuple[str, ...]] = {}
    for category in DataCategory:
        if category in kept:
            names = FIELDS[category]
            if "fields" in cut:
                names = tuple(f for f in names if f in set(cut["fields"]))
            if names:
                fields[category] = names
    start = _instant(cut.get("period_start")) or facts.period_start
    end = _instant(cut.get("period_end")) or facts.period_end
    items = tuple(sorted(cut["items"])) if "items" in cut else None
    return Scope(outcome, fields, start, end, items)


@dataclass(frozen=True)
class Filtered:
    """The records left inside the scope, per category kept (every one, ``[]`` when none),
    with only the fields in scope; and how much was dropped, for the audit log: categories
    outside the scope, field values, and records out of the period or items."""

    records: dict[DataCategory, list[dict[str, Any]]]
    dropped_categories: tuple[str, ...] = ()
    dropped_fields: int = 0
    dropped_records: int = 0

    @property
    def dropped(self) -> dict[str, Any]:
        """What the guard cut, as the audit event records it."""
        return {
            "categories": list(self.dropped_categories),
            "fields": self.dropped_fields,
            "records": self.dropped_records,
        }


def _in_period(category: DataCategory, record: Mapping[str, Any], scope: Scope) -> bool:
    if scope.period_start is None and scope.period_end is None:
        return True
    stated = record.get(TIME_KEY)
    at = _instant(stated)
    if at is None:
        # An undated subscriber record describes the account as it stands; anything else
        # without a readable time cannot be shown to lie in the period, so it is left out.
        return category not in DATED and stated is None
    if scope.period_start is not None and at < scope.period_start:
        return False
    return scope.period_end is None or at <= scope.period_end


def _in_items(category: DataCategory, record: Mapping[str, Any], scope: Scope) -> bool:
    if scope.items is None or category is not DataCategory.CONTENT:
        return True
    return record.get(REF_KEY) in scope.items


def scope_filter(exported: Mapping[str, Sequence[Mapping[str, Any]]], scope: Scope) -> Filtered:
    """``exported`` (category -> records) cut to ``scope``: categories outside it dropped;
    in each record only the fields in scope (the time and reference keys dropped too);
    records dated outside the period (or undated in a dated category while the period is
    bounded), and content records not among ``items``, dropped. A record left with no field
    in scope is dropped. Records are sorted by time, then content, so the order the
    connector answered in does not change the package."""
    out: dict[DataCategory, list[dict[str, Any]]] = {c: [] for c in scope.categories}
    dropped_categories = sorted(name for name in exported if _category(name) not in out)
    dropped_fields = dropped_records = 0
    for name, records in exported.items():
        category = _category(name)
        if category is None or category not in out:
            continue
        allowed = scope.fields[category]
        kept: list[tuple[str, bytes, dict[str, Any]]] = []
        for record in records:
            if not _in_period(category, record, scope) or not _in_items(category, record, scope):
                dropped_records += 1
                continue
            values = {k: v for k, v in record.items() if k in allowed}
            dropped_fields += sum(1 for k in record if k not in allowed and k not in _META)
            if not values:
                dropped_records += 1
                continue
            at = _instant(record.get(TIME_KEY))
            kept.append((isoformat_z(at) if at else "", _json(values), values))
        kept.sort(key=lambda row: (row[0], row[1]))
        out[category] = [values for _, _, values in kept]
    return Filtered(out, tuple(dropped_categories), dropped_fields, dropped_records)


_META = frozenset({TIME_KEY, REF_KEY})


def _category(name: str) -> DataCategory | None:
    try:
        return DataCategory(name)
    except ValueError:
        return None


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)


def _pretty(value: Any) -> bytes:
    return (
        orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z)
        + b"\n"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value[:1] in _FORMULA else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return isoformat_z(value)
    return _json(value).decode()  # numbers as JSON writes them; lists and objects as JSON


def to_csv(fields: Sequence[str], records: Sequence[Mapping[str, Any]]) -> bytes:
    """UTF-8 CSV (RFC 4180, CRLF) with a header of exactly ``fields``; a field a record does
    not hold is an empty cell, a list or object is its JSON. A cell a spreadsheet would run
    as a formula (text starting ``=``, ``+``, ``-``, ``@``, tab or CR) is prefixed with
    ``'``: the data comes from users and the file is opened by officers. The JSON file holds
    every value exactly; the summary says so."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(fields)
    for record in records:
        writer.writerow([_cell(record.get(f)) for f in fields])
    return buffer.getvalue().encode("utf-8")


#: What a spreadsheet may take as the start of a formula (OWASP, "CSV injection").
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Package:
    """A production, built: its files (path -> bytes, in archive order), the manifest's and
    the archive's SHA-256, the archive (a tar, ``name/`` at its root) and what the scope
    guard dropped."""

    name: str
    files: dict[str, bytes]
    manifest_sha256: str
    archive: bytes
    archive_sha256: str
    counts: dict[str, int]
    dropped: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest(self) -> dict[str, Any]:
        """The manifest, parsed."""
        parsed: dict[str, Any] = orjson.loads(self.files[MANIFEST])
        return parsed


def build(
    facts: DemandFacts,
    scope: Scope,
    exported: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    at: datetime,
) -> Package:
    """The package for ``facts``'s demand (and target) under ``scope``, from ``exported``
    (category -> records), cut by :func:`scope_filter` first, created at ``at``. The same
    arguments give the same bytes."""
    filtered = scope_filter(exported, scope)
    data: dict[str, bytes] = {}
    counts: dict[str, int] = {}
    for category in scope.categories:
        records = filtered.records[category]
        counts[category.value] = len(records)
        data[f"data/{category.value}.json"] = _pretty(records)
        data[f"data/{category.value}.csv"] = to_csv(scope.fields[category], records)
    data[SUMMARY] = summary(facts, scope, counts, at=at).encode("utf-8")
    listed = [
        {"path": path, "sha256": hashlib.sha256(body).hexdigest(), "size": len(body)}
        for path, body in sorted(data.items())
    ]
    manifest = _pretty(
        {
            "format": FORMAT,
            "created_at": isoformat_z(at),
            "demand": {
                "id": facts.demand_id,
                "reference": facts.reference,
                "authority": facts.authority,
                "jurisdiction": facts.jurisdiction,
            },
            "target": (
                {"id": facts.target_id, "identifier": facts.target}
                if facts.target_id is not None or facts.target is not None
                else None
            ),
            "scope": scope.as_dict(),
            "records": counts,
            "files": listed,
        }
    )
    files = {MANIFEST: manifest, SUMMARY: data.pop(SUMMARY), **dict(sorted(data.items()))}
    name = package_name(facts)
    archive = _tar(name, files, at)
    return Package(
        name=name,
        files=files,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        archive=archive,
        archive_sha256=hashlib.sha256(archive).hexdigest(),
        counts=counts,
        dropped=filtered.dropped,
    )


def package_name(facts: DemandFacts) -> str:
    """The archive's root directory (and file name, with ``.tar``)."""
    target = f"-target-{facts.target_id}" if facts.target_id is not None else ""
    return f"production-demand-{facts.demand_id}{target}"


def _tar(name: str, files: Mapping[str, bytes], at: datetime) -> bytes:
    buffer = io.BytesIO()
    mtime = int(at.timestamp())
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directories = sorted({p.rpartition("/")[0] for p in files if "/" in p})
        for directory in ["", *directories]:
            info = tarfile.TarInfo(f"{name}/{directory}".rstrip("/"))
            info.type = tarfile.DIRTYPE
            _fix(info, mtime, 0o755)
            tar.addfile(info)
        for path, body in files.items():
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(body)
            _fix(info, mtime, 0o644)
            tar.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def _fix(info: tarfile.TarInfo, mtime: int, mode: int) -> None:
    info.mtime = mtime
    info.mode = mode
    info.uid = info.gid = 0
    info.uname = info.gname = ""


def _when(value: datetime | None, open_end: str) -> str:
    return isoformat_z(value) if value is not None else open_end


def summary(facts: DemandFacts, scope: Scope, counts: Mapping[str, int], *, at: datetime) -> str:
    """The package's ``SUMMARY.txt``: what was asked, what was decided and cut, what the
    package holds, for the officer who opens it."""
    asked = ", ".join(facts.data_categories) or "none stated"
    kept = {c.value for c in scope.categories}
    cut = [c for c in facts.data_categories if c not in kept]
    lines = [
        "Data production",
        "===============",
        "",
        f"Demand {facts.demand_id}"
        + (f" (your reference {facts.reference})" if facts.reference else ""),
        f"From: {facts.authority} ({facts.jurisdiction})",
        f"Received: {isoformat_z(facts.received_at)}",
        f"Kind: {facts.kind}, by {facts.legal_process}",
        f"Legal basis: {facts.legal_basis}",
    ]
    if facts.target is not None:
        lines.append(f"Target: {facts.target}")
    lines += [
        "",
        "What was asked",
        f"  Data categories: {asked}",
        f"  Period: {_when(facts.period_start, 'any time')} to "
        f"{_when(facts.period_end, 'any time')}",
        "",
        "What was decided",
        f"  Outcome: {scope.outcome}",
        f"  Categories produced: {', '.join(c.value for c in scope.categories) or 'none'}",
    ]
    if cut:
        lines.append(f"  Categories not produced: {', '.join(cut)}")
    for category in scope.categories:
        produced = scope.fields[category]
        left = [f for f in FIELDS[category] if f not in produced]
        line = f"  {category.value} fields produced: {', '.join(produced)}"
        lines.append(line + (f" (not produced: {', '.join(left)})" if left else ""))
    lines.append(
        f"  Period produced: {_when(scope.period_start, 'any time')} to "
        f"{_when(scope.period_end, 'any time')}"
    )
    if scope.items is not None:
        lines.append(f"  Content items produced: {', '.join(scope.items)}")
    lines += ["", "What this package holds"]
    for category in scope.categories:
        n = counts.get(category.value, 0)
        noun = "record" if n == 1 else "records"
        lines.append(f"  data/{category.value}.json and data/{category.value}.csv: {n} {noun}")
    lines += [
        f"  {MANIFEST}: the SHA-256 and size of every other file, the demand and the scope",
        "",
        "The JSON files hold every value exactly. In the CSV files, text that a spreadsheet",
        "would run as a formula (starting with =, +, -, @) begins with an added ' .",
        "",
        f"Produced: {isoformat_z(at)}",
        "",
    ]
    return "\n".join(lines)
