"""The API against its own schema: schemathesis (every check) sends generated and mutated
requests to the real app over real HTTP, once with an officer's token and once with a staff
token, and fails on any answer the schema does not document, any body not in the documented
shape, any 500, any schema-violating request accepted.

In the suite it runs with a fixed seed and a small budget (``DUEPROCESS_FUZZ_EXAMPLES``,
default 5 cases per operation and phase); ``scripts/fuzz-api`` runs this same test with a
large one and prints schemathesis's report. Settings that are not options (what counts as
accepting) are in ``schemathesis.toml`` beside this file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.orm import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from dueprocess.policy import service as policy
from dueprocess.policy.templates import template_text
from dueprocess.runtime import Runtime
from tests import factories
from tests.conftest import LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = int(os.environ.get("DUEPROCESS_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("DUEPROCESS_FUZZ_SEED", "19"))


class Counting:
    """ASGI wrapper counting the HTTP requests the app answers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


@pytest.fixture
def counted(runtime: Runtime) -> Iterator[tuple[LiveServer, Counting]]:
    server = LiveServer(runtime)
    app = server.server.config.app
    assert callable(app)
    counter = Counting(cast(ASGIApp, app))
    server.server.config.app = counter
    with server:
        yield server, counter


def _tokens(session: Session, runtime: Runtime) -> dict[str, str]:
    """An officer's and a staff member's tokens, and something for them to find: a demand
    with a document, and a proposed policy version."""
    factories.authority(session)
    officer = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    staff = factories.token(
        session,
        "staff@example.org",
        ["intake", "legal-reviewer", "policy-owner", "approver", "auditor"],
    )
    factories.submit(
        session,
        runtime,
        factories.body(documents=[{"filename": "order.txt", "content_base64": "T3JkZXIK"}]),
    )
    policy.propose(
        session,
        template_text("facebook-whatsapp-2020"),
        "policy.yaml",
        "July 2020",
        actor="account:2",
    )
    session.commit()
    return {"officer": officer, "staff": staff}


def run_schemathesis(url: str, token: str, *, examples: int, seed: int) -> tuple[int, str]:
    """One schemathesis run against ``url`` with ``token``: its exit code and its report."""
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--seed",
        str(seed),
        "--max-examples",
        str(examples),
        "--header",
        f"Authorization: Bearer {token}",
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--no-color",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return done.returncode, done.stdout + done.stderr


def test_every_answer_matches_the_schema(
    counted: tuple[LiveServer, Counting], session: Session, runtime: Runtime
) -> None:
    server, counter = counted
    reports = []
    codes = {}
    for who, token in _tokens(session, runtime).items():
        code, report = run_schemathesis(server.url, token, examples=EXAMPLES, seed=SEED)
        codes[who] = code
        reports.append(f"===== schemathesis with the {who}'s token: exit {code}\n{report}")
    summary = f"{counter.requests} requests answered; seed {SEED}, {EXAMPLES} examples"
    print("\n".join(reports) + "\n" + summary)  # shown by scripts/fuzz-api (pytest -s)
    assert codes == {"officer": 0, "staff": 0}, "\n".join(reports)
