"""Downloading a demand's documents over real HTTP: whatever name a requester gave, the
answer is a download named safely (RFC 6266), and it is audited once it is sent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands.models import Document
from dueprocess.runtime import Runtime
from tests import factories, pdfs
from tests.conftest import LiveServer


@pytest.fixture
def officer(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    factories.authority(session)
    raw = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


def _uploaded_pdf(client: httpx.Client) -> str:
    answer = client.post(
        "/api/v1/documents", files={"file": ("order.pdf", pdfs.unsigned(), "application/pdf")}
    )
    assert answer.status_code == 201, answer.text
    sha: str = answer.json()["sha256"]
    return sha


def _download_name(response: httpx.Response) -> tuple[str, str]:
    """The name a client that reads ``filename*`` sees, and the ASCII ``filename`` fallback."""
    value = response.headers["content-disposition"]
    assert value.isascii()
    exact = re.search(r"filename\*=UTF-8''([^;\s]+)", value)
    fallback = re.search(r'filename="([^"]*)"', value)
    assert exact is not None
    assert fallback is not None
    return unquote(exact.group(1), errors="strict"), fallback.group(1)


def _downloads(session: Session) -> int:
    found = len(audit.search(session, action="document.downloaded"))
    session.rollback()
    return found


HOSTILE = [
    # (name given when citing, name stored and offered, ASCII fallback)
    ("order\r\nX-Injected: yes.pdf", "order X-Injected: yes.pdf", "order X-Injected: yes.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.pdf", "invoicefdp.pdf"),
    ("../../etc/passwd", "passwd.pdf", "passwd.pdf"),
    ("光復香港.pdf", "光復香港.pdf", "document.pdf"),
    ("Bürgerrechte.pdf", "Bürgerrechte.pdf", "Burgerrechte.pdf"),
    ('say "no".pdf', 'say "no".pdf', "say no.pdf"),
]


@pytest.mark.parametrize("door", ["single", "batch"])
@pytest.mark.parametrize(("given", "kept", "fallback"), HOSTILE)
def test_a_name_given_when_citing_by_hash_is_stored_sanitised_and_sent_safely(
    officer: httpx.Client, session: Session, door: str, given: str, kept: str, fallback: str
) -> None:
    sha = _uploaded_pdf(officer)
    body = factories.body(documents=[{"filename": given, "sha256": sha}])
    if door == "single":
        created = officer.post("/api/v1/demands", json=body)
        demand = created.json()
    else:
        created = officer.post("/api/v1/demands/batch", json={"demands": [body]})
        demand = created.json()["demands"][0]
    assert created.status_code == 201, created.text
    assert demand["documents"][0]["filename"] == kept

    got = officer.get(f"/api/v1/demands/{demand['id']}/documents/{sha}")
    assert got.status_code == 200, got.text
    assert got.content == pdfs.unsigned()
    assert "x-injected" not in got.headers
    assert _download_name(got) == (kept, fallback)
    assert _downloads(session) == 1


def test_a_bad_name_stored_before_the_sanitiser_is_still_sent_safely(
    officer: httpx.Client, session: Session
) -> None:
    sha = _uploaded_pdf(officer)
    body = factories.body(documents=[{"filename": "order.pdf", "sha256": sha}])
    demand = officer.post("/api/v1/demands", json=body).json()
    # A row written by an earlier version, which kept the cited name as given.
    session.execute(update(Document).values(filename="光復\r\n香港\u202e../x.exe"))
    session.commit()

    got = officer.get(f"/api/v1/demands/{demand['id']}/documents/{sha}")
    assert got.status_code == 200, got.text
    assert _download_name(got) == ("x.pdf", "x.pdf")
    assert _downloads(session) == 1


def test_a_download_that_cannot_be_sent_is_not_audited(
    officer: httpx.Client, session: Session, runtime: Runtime
) -> None:
    sha = _uploaded_pdf(officer)
    body = factories.body(documents=[{"filename": "光復香港.pdf", "sha256": sha}])
    demand = officer.post("/api/v1/demands", json=body).json()
    assert officer.get(f"/api/v1/demands/{demand['id']}/documents/{sha}").status_code == 200
    assert _downloads(session) == 1

    # Another authority's document, or one that is not this demand's: 404, nothing recorded.
    assert officer.get(f"/api/v1/demands/{demand['id']}/documents/{'a' * 64}").status_code == 404
    # The bytes gone from the store (a broken disk): an error, and still nothing recorded.
    runtime.store.delete(sha)
    assert officer.get(f"/api/v1/demands/{demand['id']}/documents/{sha}").status_code >= 400
    assert _downloads(session) == 1


def test_staff_entry_and_import_cite_by_hash_through_the_same_sanitiser(
    officer: httpx.Client, session: Session, runtime: Runtime
) -> None:
    sha = _uploaded_pdf(officer)
    body = factories.body(documents=[{"filename": "a/b\\c\u202e\n.exe", "sha256": sha}])
    submitted = factories.submit(session, runtime, body)
    assert [d.filename for d in submitted.demand.documents] == ["c.pdf"]
    session.rollback()
