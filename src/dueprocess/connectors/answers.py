"""Checks of what a connector answered, against the contracts in :mod:`.spec` (pure).

A connector is someone else's code talking to someone else's systems: whatever it hands
back is checked before dueprocess records it, and a malformed answer is refused naming the
hook and the field, so its author can find the fault. Above all an export is checked to
hold nothing that was not asked: no category, no field, no record outside the period.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import datetime

from dueprocess.clock import isoformat_z
from dueprocess.connectors.spec import DATED, FIELDS, Applied, Export, Record
from dueprocess.errors import DueprocessError


class ConnectorAnswerInvalid(DueprocessError):
    """A connector answered ``hook`` with something its contract does not allow; ``field``
    is the path to the fault (``records.traffic[2].at``), ``problem`` what is wrong."""

    def __init__(self, hook: str, field: str, problem: str) -> None:
        self.hook, self.field, self.problem = hook, field, problem
        super().__init__(f"connector answer to {hook} is invalid: {field}: {problem}")


def _aware(hook: str, field: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise ConnectorAnswerInvalid(hook, field, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ConnectorAnswerInvalid(hook, field, "is a naive datetime: it must carry a zone")
    return value


def applied(hook: str, answer: object) -> Applied:
    """``answer`` if it is a well-formed :class:`Applied`."""
    if not isinstance(answer, Applied):
        raise ConnectorAnswerInvalid(
            hook, "answer", f"must be an Applied or None, not {type(answer).__name__}"
        )
    if not isinstance(answer.reference, str) or not answer.reference.strip():
        raise ConnectorAnswerInvalid(hook, "reference", "must be a non-empty string")
    _aware(hook, "applied_at", answer.applied_at)
    return answer


def _json(hook: str, field: str, value: object, depth: int = 0) -> None:
    if depth > 32:
        raise ConnectorAnswerInvalid(hook, field, "is nested more than 32 levels deep")
    if value is None or isinstance(value, (str, bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConnectorAnswerInvalid(hook, field, f"{value} is not a JSON number")
        return
    if isinstance(value, list):
        for n, item in enumerate(value):
            _json(hook, f"{field}[{n}]", item, depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConnectorAnswerInvalid(hook, field, f"has a key {key!r} that is not a string")
            _json(hook, f"{field}.{key}", item, depth + 1)
        return
    raise ConnectorAnswerInvalid(hook, field, f"a {type(value).__name__} is not a JSON value")


def export(
    hook: str,
    answer: object,
    *,
    categories: Collection[str],
    fields: Collection[str],
    period_start: datetime | None,
    period_end: datetime | None,
) -> Export:
    """``answer`` if it is an :class:`Export` of exactly what was asked."""
    if not isinstance(answer, Export):
        raise ConnectorAnswerInvalid(
            hook, "answer", f"must be an Export or None, not {type(answer).__name__}"
        )
    if not isinstance(answer.handle, str) or not answer.handle.strip():
        raise ConnectorAnswerInvalid(hook, "handle", "must be a non-empty string")
    if not isinstance(answer.records, dict):
        raise ConnectorAnswerInvalid(hook, "records", "must be a dict of category -> records")
    for category in answer.records:
        if category not in categories:
            raise ConnectorAnswerInvalid(
                hook, f"records.{category}", "this category was not asked for"
            )
    for category in categories:
        if category not in answer.records:
            raise ConnectorAnswerInvalid(
                hook, f"records.{category}", "missing: answer every category asked ([] for none)"
            )
        records = answer.records[category]
        if not isinstance(records, list):
            raise ConnectorAnswerInvalid(hook, f"records.{category}", "must be a list of Record")
        allowed = set(FIELDS[category]) & set(fields)
        for n, record in enumerate(records):
            _record(hook, f"records.{category}[{n}]", record, category, allowed,
                    period_start, period_end)  # fmt: skip
    return answer


def _record(
    hook: str,
    where: str,
    record: object,
    category: str,
    allowed: set[str],
    start: datetime | None,
    end: datetime | None,
) -> None:
    if not isinstance(record, Record):
        raise ConnectorAnswerInvalid(hook, where, f"must be a Record, not {type(record).__name__}")
    if not isinstance(record.data, dict) or not record.data:
        raise ConnectorAnswerInvalid(hook, f"{where}.data", "must be a non-empty dict of fields")
    for name, value in record.data.items():
        if name not in allowed:
            raise ConnectorAnswerInvalid(
                hook,
                f"{where}.data.{name}",
                f"this field was not asked for (asked of {category}: "
                f"{', '.join(sorted(allowed)) or 'none'})",
            )
        _json(hook, f"{where}.data.{name}", value)
    if category not in DATED:
        if record.at is not None:
            raise ConnectorAnswerInvalid(
                hook, f"{where}.at", f"{category} records are not dated: must be None"
            )
        return
    at = _aware(hook, f"{where}.at", record.at)
    if (start is not None and at < start) or (end is not None and at > end):
        period = f"{isoformat_z(start) if start else '…'} to {isoformat_z(end) if end else '…'}"
        raise ConnectorAnswerInvalid(
            hook, f"{where}.at", f"{isoformat_z(at)} is outside the period asked ({period})"
        )
