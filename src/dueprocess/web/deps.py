"""What route handlers share: the runtime, one transaction per request, templates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from dueprocess.runtime import Runtime

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was built with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


@contextmanager
def unit_of_work(request: Request) -> Iterator[Session]:
    """One transaction for the request: committed if the block ends normally, else rolled back.

    Service errors propagate to the app's exception handlers (422, 404, 409) after rollback.
    """
    with runtime_of(request).sessions() as session, session.begin():
        yield session
