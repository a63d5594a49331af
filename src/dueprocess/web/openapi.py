"""The error answers every API operation can give, documented once for all of them.

A route declares its own successes and the refusals particular to it (409 on a state
conflict, a batch's ``BatchRefused``); what the app answers for every route alike is added
here, from what the operation is: an operation behind a bearer token can answer 401 (no
token, or an unknown, revoked or disabled one) and 403 (the token lacks the permission);
one with a path parameter 404 (not found or not yours); one with a body 413 (over the size
limit) and 422; one with parameters 422. Each answer is described with the shape the app
sends (``web/app.py``'s handlers): ``Problem`` (``{"detail": "..."}``) or ``Refused``
(``{"detail": [{"loc", "msg", "type"}, ...]}``), so a client, and schemathesis in
``tests/web/test_schemathesis.py``, can check every answer against the schema.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Problem(BaseModel):
    """A refusal that is about the request as a whole (401, 403, 404, 409)."""

    detail: str


class FieldProblem(BaseModel):
    """One problem with one part of the request; ``loc`` is the path to it, starting with
    where it was (``body``, ``path``, ``query``, ``header``). Some routes add fields (a
    policy file's problems carry ``line``, ``column`` and ``rule``)."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class Refused(BaseModel):
    """Bad input (422) or a body over the size limit (413): every problem found, each named;
    nothing was written."""

    detail: list[FieldProblem]


_REF = "#/components/schemas/{model}"
_METHODS = frozenset({"get", "put", "post", "delete", "patch"})

#: status -> (description, model), in the order they are listed.
_ANSWERS: dict[str, tuple[str, type[BaseModel]]] = {
    "401": ("No API token, or an unknown, revoked or disabled one", Problem),
    "403": ("The token's account or scopes lack this route's permission", Problem),
    "404": ("Not found, or not yours (the two look the same)", Problem),
    "413": ("The body is over the size limit; refused while it arrived", Refused),
    "422": ("Bad input: every problem is listed, each named; nothing was written", Refused),
}


def document_errors(spec: dict[str, Any]) -> dict[str, Any]:
    """Add the common error answers to every operation of ``spec`` (an OpenAPI document as
    FastAPI builds it), and their shapes to its components. Answers a route documents
    itself keep their description; one given without a body shape gets the common one."""
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    for model in (Problem, FieldProblem, Refused):
        schema = model.model_json_schema(ref_template=_REF)
        for name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[model.__name__] = schema
    # FastAPI's own 422 shape is replaced by Refused, which is what the app sends.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    for item in spec.get("paths", {}).values():
        for method, operation in item.items():
            if method in _METHODS:
                _document(operation)
    return spec


def _document(operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    wanted: list[str] = []
    if operation.get("security"):
        wanted += ["401", "403"]
    if any(p.get("in") == "path" for p in parameters):
        wanted.append("404")
    if has_body:
        wanted.append("413")
    if has_body or parameters:
        wanted.append("422")
    for status in wanted:
        description, model = _ANSWERS[status]
        answer = responses.setdefault(status, {"description": description})
        content = answer.setdefault("content", {}).setdefault("application/json", {})
        schema = content.get("schema")
        if schema is None or schema.get("$ref", "").endswith("/HTTPValidationError"):
            content["schema"] = {"$ref": _REF.format(model=model.__name__)}
    conflict = responses.get("409")
    if conflict is not None and "content" not in conflict:
        conflict["content"] = {
            "application/json": {"schema": {"$ref": _REF.format(model="Problem")}}
        }
    # A replay (200) answers what a creation (201) does.
    created = responses.get("201", {}).get("content")
    replay = responses.get("200")
    if created and replay is not None and "content" not in replay:
        replay["content"] = created
