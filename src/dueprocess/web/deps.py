"""What route handlers share: the runtime, one transaction per request, templates."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from dueprocess.runtime import Runtime

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


_DB_KEY = "dueprocess.db"


def open_request_session(request: Request) -> Session:
    """Begin the request's transaction and keep it for :func:`unit_of_work`.

    The authentication dependency calls this, so checking the token and doing the work share
    one connection checkout and one commit. :class:`CloseRequestSession` rolls back a
    transaction the handler never took over.
    """
    session = runtime_of(request).sessions()
    session.begin()
    request.scope.setdefault("state", {})[_DB_KEY] = session
    return session


@contextmanager
def unit_of_work(request: Request) -> Iterator[Session]:
    """One transaction for the request: committed if the block ends normally, else rolled back.

    Continues the transaction the authentication dependency began, if there is one. Service
    errors propagate to the app's exception handlers (422, 404, 409) after rollback.
    """
    session: Session | None = request.scope.get("state", {}).pop(_DB_KEY, None)
    if session is None:
        with runtime_of(request).sessions() as fresh, fresh.begin():
            yield fresh
        return
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def discard_request_session(scope: MutableMapping[str, Any]) -> None:
    """Roll back and close a request transaction nobody took over (called after the response)."""
    state = scope.get("state")
    if isinstance(state, dict):
        session = state.pop(_DB_KEY, None)
        if isinstance(session, Session):
            session.rollback()
            session.close()


def body_by_ref(model: str, examples: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself: the body documented as
    ``model`` (published by ``web/app.py``'s ``_publish_models``) with ``examples``."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model}"},
                    "examples": examples,
                }
            },
        }
    }
