"""Field-level validation of demand input."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from dueprocess.demands.schemas import READ_ONLY_FIELDS, DemandIn
from dueprocess.errors import from_validation
from dueprocess.intake.record import request_hash
from tests import factories


def _bad_fields(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        DemandIn.model_validate(data)
    return [e.where() for e in from_validation(exc.value.errors()).errors]


def test_valid_body_parses_and_normalises() -> None:
    parsed = DemandIn.model_validate(factories.body(jurisdiction="hk", authority="HKPF-NSD"))
    assert (parsed.jurisdiction, parsed.authority) == ("HK", "hkpf-nsd")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"jurisdiction": "XX"}, "jurisdiction"),
        ({"jurisdiction": "UK"}, "jurisdiction"),
        ({"kind": "mind-reading"}, "kind"),
        ({"legal_process": "hunch"}, "legal_process"),
        ({"legal_basis": {"instrument": "", "article": "Schedule 4"}}, "legal_basis.instrument"),
        ({"legal_basis": None}, "legal_basis"),
        ({"targets": []}, "targets"),
        ({"targets": [{"type": "account", "id": "not a handle!"}]}, "targets[0]"),
        ({"targets": [{"type": "content", "id": "ftp://x"}]}, "targets[0]"),
        ({"targets": [{"type": "planet", "id": "@x"}]}, "targets[0].type"),
        ({"received_at": "2020-07-07T09:30:00"}, "received_at"),
        ({"deadlne": "2020-07-08T00:00:00Z"}, "deadlne"),
    ],
)
def test_bad_field_is_named(changes: dict[str, Any], field: str) -> None:
    assert _bad_fields(factories.body(**changes)) == [field]


def test_missing_legal_basis_is_named() -> None:
    data = factories.body()
    del data["legal_basis"]
    assert _bad_fields(data) == ["legal_basis"]


def test_read_only_fields_of_output_are_ignored() -> None:
    output_only = {"id": 7, "status": "paused", "created_at": "x", "authority_name": "y"}
    parsed = DemandIn.model_validate(factories.body(officer_id=3, **output_only))
    plain = DemandIn.model_validate(factories.body())
    assert parsed.model_dump() == plain.model_dump()
    assert request_hash(parsed) == request_hash(plain)
    from_json = DemandIn.model_validate_json(orjson.dumps(factories.body(**output_only)))
    assert from_json.model_dump() == plain.model_dump()
    assert not READ_ONLY_FIELDS & DemandIn.model_json_schema()["properties"].keys()
    assert {n for n, f in DemandIn.model_fields.items() if f.exclude} == READ_ONLY_FIELDS
