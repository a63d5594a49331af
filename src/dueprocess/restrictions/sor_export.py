"""Statements of reasons written as the DSA Transparency Database's batch payloads.

The batch endpoint (``POST /api/v1/statements``) takes ``{"statements": [...]}`` with 1 to 100
statements, each valid on its own, and no ``puid`` twice in a call or ever again for the
platform (``StatementMultipleAPIController.php``; ``dsa_api`` cites the files). An export is
therefore checked whole before anything is written: every statement against
:func:`~dueprocess.restrictions.dsa_api.validate`, and every ``puid`` against the others. One
bad statement refuses the export, naming its restriction and field, and nothing is written.

The files go to a directory that must not exist yet or be empty. They are written into a
temporary sibling directory that is then renamed into place, so a reader (or a later
submission job) never sees half an export:

- ``json`` (default): ``batch-000001.json``, ``batch-000002.json``, ...: each file one request
  body, ready to POST.
- ``jsonl``: one file, ``batches.jsonl``, with one request body a line.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from dueprocess.errors import FieldError, InvalidInput
from dueprocess.restrictions.dsa_api import MAX_BATCH, validate

Progress = Callable[[int, int], None]
"""Called after each batch is written with (statements written so far, statements in all)."""


class Format(StrEnum):
    JSON = "json"
    JSONL = "jsonl"


@dataclass(frozen=True)
class PendingStatement:
    """One statement to export and the restriction it is about (named in every error)."""

    restriction_id: str
    statement: Mapping[str, Any]


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    files: tuple[Path, ...]
    statements: int
    batches: int


def problems(items: Sequence[PendingStatement], *, noun: str = "restriction") -> list[FieldError]:
    """Every reason the database would refuse these statements, located at
    ``("restriction <id>", field)``: each statement's own rules, then ``puid`` repeated.
    ``noun`` names what the ids are (``dueprocess sor validate`` says ``line``)."""
    errors: list[FieldError] = []
    first_with: dict[str, str] = {}
    for item in items:
        where = f"{noun} {item.restriction_id}"
        errors.extend(FieldError((where, *e.loc), e.msg, e.type) for e in validate(item.statement))
        puid = item.statement.get("puid") if isinstance(item.statement, Mapping) else None
        if not isinstance(puid, str):
            continue
        if puid in first_with:
            errors.append(
                FieldError(
                    (where, "puid"),
                    f"puid {puid!r} is also the puid of {noun} {first_with[puid]}; the "
                    "database takes each puid once",
                    "duplicate",
                )
            )
        else:
            first_with[puid] = item.restriction_id
    return errors


def batches(
    statements: Sequence[Mapping[str, Any]], size: int = MAX_BATCH
) -> list[dict[str, list[Mapping[str, Any]]]]:
    """The batch payloads, ``{"statements": [...]}`` of at most ``size`` (<= 100) each."""
    if not 1 <= size <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} statements, not {size}")
    return [{"statements": list(statements[i : i + size])} for i in range(0, len(statements), size)]


def export(
    items: Sequence[PendingStatement],
    out_dir: Path,
    *,
    format: Format = Format.JSON,
    size: int = MAX_BATCH,
    progress: Progress | None = None,
) -> ExportResult:
    """Write ``items`` as batch payloads into ``out_dir`` (module docstring), all or nothing.

    Raises :class:`InvalidInput` naming each bad statement's restriction and field, or
    ``out_dir`` if it is a file or a directory with something in it; nothing is written then.
    With no items, nothing is written and no directory is made.
    """
    errors = problems(items)
    if errors:
        raise InvalidInput(errors)
    _check_target(out_dir)
    payloads = batches([item.statement for item in items], size)
    total = len(items)
    if not payloads:
        return ExportResult(out_dir, (), 0, 0)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        names = _write(staging, payloads, format, total, progress)
        if out_dir.exists():
            out_dir.rmdir()  # empty, checked above
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out_dir, tuple(out_dir / n for n in names), total, len(payloads))


def _check_target(out_dir: Path) -> None:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidInput.one(
            ("out",),
            f"{out_dir} must be a new or empty directory, so that an export is never mixed "
            "with an earlier one",
        )


def _write(
    staging: Path,
    payloads: list[dict[str, list[Mapping[str, Any]]]],
    format: Format,
    total: int,
    progress: Progress | None,
) -> list[str]:
    done = 0
    if format is Format.JSONL:
        with (staging / "batches.jsonl").open("w", encoding="utf-8") as stream:
            for payload in payloads:
                stream.write(json.dumps(payload, ensure_ascii=False) + "\n")
                done += len(payload["statements"])
                if progress:
                    progress(done, total)
            stream.flush()
            os.fsync(stream.fileno())
        return ["batches.jsonl"]
    names = []
    for number, payload in enumerate(payloads, start=1):
        name = f"batch-{number:06d}.json"
        with (staging / name).open("w", encoding="utf-8") as stream:
            json.dump(payload, stream, ensure_ascii=False, indent=1)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        names.append(name)
        done += len(payload["statements"])
        if progress:
            progress(done, total)
    return names
