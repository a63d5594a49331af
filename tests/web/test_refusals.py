"""Every refusal in its documented shape, over real HTTP: a body that is not JSON is 422 like
any other bad input (never a bare 400), a batch's refusals are always ``BatchRefused``, a 405
names every method its path serves, and the schema documents the errors each operation can
answer (``web/openapi.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

NOT_JSON = [
    b"{not json",  # malformed JSON
    b'{"reason": "\xff"}',  # not UTF-8: FastAPI answered a bare 400
    b"",  # nothing
]


@pytest.fixture
def http(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.authority(session)
    raw = factories.token(session, "staff@example.org", ["intake", "policy-owner"])
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


def _is_refused(answer: httpx.Response) -> list[dict[str, object]]:
    """The answer is 422 ``{"detail": [{"loc", "msg", "type"}, ...]}``; its problems."""
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, list)
    assert detail
    for problem in detail:
        assert {"loc", "msg", "type"} <= set(problem)
        assert problem["loc"][0] == "body"
    return detail


@pytest.mark.parametrize("body", NOT_JSON)
@pytest.mark.parametrize(
    "path",
    ["/api/v1/demands", "/api/v1/demands/1/withdraw", "/api/v1/policy/versions"],
)
def test_a_body_that_is_not_json_is_422_like_any_bad_input(
    http: httpx.Client, session: Session, runtime: Runtime, path: str, body: bytes
) -> None:
    if "withdraw" in path:
        factories.submit(session, runtime, factories.body())
        session.commit()
    answer = http.post(path, content=body, headers={"content-type": "application/json"})
    _is_refused(answer)


@pytest.mark.parametrize(
    "body",
    [*NOT_JSON, b"[]", b'{"demands": []}', b'{"demands": "x"}', b'{"other": 1}'],
)
def test_every_batch_refusal_is_a_batch_refused(http: httpx.Client, body: bytes) -> None:
    answer = http.post(
        "/api/v1/demands/batch", content=body, headers={"content-type": "application/json"}
    )
    _is_refused(answer)
    assert answer.json()["items"] == []


def test_a_batch_refusal_of_items_keeps_its_items(http: httpx.Client) -> None:
    bad = factories.body(jurisdiction="NL")
    answer = http.post("/api/v1/demands/batch", json={"demands": [factories.body(), bad]})
    _is_refused(answer)
    assert [item["index"] for item in answer.json()["items"]] == [1]


def test_the_schema_documents_every_error_answer(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url) as client:
        spec = client.get("/openapi.json").json()
    problem = {"$ref": "#/components/schemas/Problem"}
    refused = {"$ref": "#/components/schemas/Refused"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            if operation.get("security"):
                for status in ("401", "403"):
                    shape = responses[status]["content"]["application/json"]["schema"]
                    assert shape == problem, where
            if "{" in path:
                assert responses["404"]["content"]["application/json"]["schema"] == problem
            if "requestBody" in operation:
                assert responses["413"]["content"]["application/json"]["schema"] == refused
            if "requestBody" in operation or operation.get("parameters"):
                shape = responses["422"]["content"]["application/json"]["schema"]
                expected = "BatchRefused" if path.endswith("/batch") else "Refused"
                assert shape == {"$ref": f"#/components/schemas/{expected}"}, where
    assert "HTTPValidationError" not in spec["components"]["schemas"]
