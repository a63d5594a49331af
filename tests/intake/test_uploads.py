"""Document uploads over real HTTP: stored by hash, owned by the uploader, refused early."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfWriter
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dueprocess.audit import service as audit
from dueprocess.demands.models import Demand, Upload
from dueprocess.errors import InvalidInput
from dueprocess.runtime import Runtime
from tests import factories, pdfs
from tests.conftest import LiveServer
from tests.documents.test_store import png, tiff

MiB = 1024 * 1024


def pdf(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("order.pdf", pdf())
    return out.getvalue()


def _count(session: Session, model: Any) -> int:
    value = session.scalar(select(func.count()).select_from(model))
    session.rollback()
    return int(value or 0)


def _stored_files(runtime: Runtime) -> list[Path]:
    root = runtime.settings.documents_dir
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def officer(live_server: LiveServer, session: Session) -> Iterator[httpx.Client]:
    """A client acting as an officer of the Hong Kong police."""
    factories.authority(session)
    raw = factories.token(session, "officer@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(raw)) as client:
        yield client


def _upload(client: httpx.Client, name: str, content: bytes) -> httpx.Response:
    return client.post("/api/v1/documents", files={"file": (name, content, "application/pdf")})


def test_upload_then_cite_by_hash(officer: httpx.Client, session: Session) -> None:
    content = pdf()
    answer = _upload(officer, "../order.pdf", content)
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["media_type"] == "application/pdf"
    assert stored["size"] == len(content)
    assert stored["filename"] == "order.pdf"
    sha = stored["sha256"]

    upload = session.scalar(select(Upload))
    assert upload is not None
    assert upload.sha256 == sha
    assert upload.account_id is not None
    upload_id = upload.id
    events = [
        (e.subject, e.data["sha256"]) for e in audit.search(session, action="document.uploaded")
    ]
    session.rollback()
    assert events == [(f"upload:{upload_id}", sha)]

    cited = factories.body(documents=[{"filename": "signed order.pdf", "sha256": sha}])
    created = officer.post("/api/v1/demands/batch", json={"demands": [cited]})
    assert created.status_code == 201, created.text
    demand = created.json()["demands"][0]
    assert demand["documents"] == [
        {
            "filename": "signed order.pdf",
            "media_type": "application/pdf",
            "sha256": sha,
            "size": len(content),
        }
    ]
    got = officer.get(f"/api/v1/demands/{demand['id']}/documents/{sha}")
    assert got.status_code == 200
    assert got.content == content


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("order.pdf", zip_archive(), "looks like a ZIP"),
        ("order.pdf", pdf(password="secret"), "the PDF is encrypted"),
        ("empty.txt", b"", "empty"),
        ("order.pdf", pdfs.one_page(*pdfs.ACTIVE[0][1:3], *pdfs.ACTIVE[0][3]), "JavaScript"),
        ("order.pdf", pdfs.html_polyglot(), "web page"),
        ("order.pdf", pdfs.zip_appended(), "ZIP archive"),
        ("scan.tif", tiff((200_000, 200_000)), "200,000 × 200,000 pixels"),
    ],
)
def test_refused_uploads_are_422_naming_file_and_store_nothing(
    officer: httpx.Client, session: Session, runtime: Runtime, name: str, content: bytes, words: str
) -> None:
    answer = _upload(officer, name, content)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    assert problem["loc"] == ["body", "file"]
    assert words.lower() in problem["msg"].lower()
    assert problem["type"].startswith("document.")
    assert _count(session, Upload) == 0
    assert _stored_files(runtime) == []


def test_a_file_keeps_no_name_that_lies_about_its_content(
    officer: httpx.Client, session: Session
) -> None:
    answer = _upload(officer, "report.pdf", png())
    assert answer.status_code == 201, answer.text
    assert (answer.json()["media_type"], answer.json()["filename"]) == ("image/png", "report.png")
    sha = answer.json()["sha256"]
    # Cited under a name that lies again, it is named for its content again.
    cited = factories.body(documents=[{"filename": "report.pdf", "sha256": sha}])
    demand = officer.post("/api/v1/demands", json=cited).json()
    assert demand["documents"][0]["filename"] == "report.png"
    got = officer.get(f"/api/v1/demands/{demand['id']}/documents/{sha}")
    assert got.headers["content-type"] == "image/png"
    assert "report.png" in got.headers["content-disposition"]


def test_upload_without_a_file_field_is_422(officer: httpx.Client) -> None:
    answer = officer.post("/api/v1/documents", data={"other": "x"})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "file"]


def test_citing_someone_elses_upload_is_refused(
    live_server: LiveServer, officer: httpx.Client, session: Session, runtime: Runtime
) -> None:
    sha = _upload(officer, "order.pdf", pdf()).json()["sha256"]
    colleague_token = factories.token(session, "colleague@police.gov.hk", ["officer"], "hkpf-nsd")
    session.commit()
    cited = factories.body(documents=[{"filename": "order.pdf", "sha256": sha}])
    with httpx.Client(base_url=live_server.url, headers=factories.bearer(colleague_token)) as other:
        refused = other.post("/api/v1/demands/batch", json={"demands": [cited]})
        assert refused.status_code == 422
        assert refused.json()["items"][0]["errors"] == [
            {
                "loc": ["documents", 0, "sha256"],
                "msg": "no stored document has this hash",
                "type": "value_error",
            }
        ]
        # once the uploader has attached it to a demand, a colleague still cannot cite it
        assert officer.post("/api/v1/demands/batch", json={"demands": [cited]}).status_code == 201
        again = other.post(
            "/api/v1/demands/batch", json={"demands": [{**cited, "reference": "other"}]}
        )
        assert again.status_code == 422
    assert _count(session, Demand) == 1
    # the uploader may reuse a document of a demand they submitted themselves
    reuse = officer.post(
        "/api/v1/demands/batch", json={"demands": [{**cited, "reference": "reuse"}]}
    )
    assert reuse.status_code == 201, reuse.text

    # staff entry (no uploader) may attach any stored document
    staff = factories.submit(session, runtime, {**cited, "reference": "staff"})
    assert [d.sha256 for d in staff.demand.documents] == [sha]
    session.rollback()
    with pytest.raises(InvalidInput):
        factories.submit(
            session, runtime, factories.body(documents=[{"filename": "x", "sha256": "a" * 64}])
        )
    session.rollback()


def test_oversized_upload_with_content_length_is_refused_before_reading(
    officer: httpx.Client, session: Session, runtime: Runtime
) -> None:
    big = b"%PDF-1.7\n" + b"0" * (30 * MiB)
    answer = _upload(officer, "big.pdf", big)
    assert answer.status_code == 413
    assert "limit" in answer.json()["detail"][0]["msg"]
    assert _count(session, Upload) == 0
    assert _stored_files(runtime) == []


def test_oversized_streamed_upload_is_cut_off_without_reading_the_rest(
    officer: httpx.Client, session: Session, runtime: Runtime
) -> None:
    boundary = "dueprocess-test-boundary"
    sent = 0
    total_chunks = 30

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
            "%PDF-1.7\n"
        ).encode()
        for _ in range(total_chunks):
            sent += 1
            yield b"0" * MiB
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = {"content-type": f"multipart/form-data; boundary={boundary}"}
    try:
        answer = officer.post("/api/v1/documents", content=body(), headers=headers)
    except httpx.TransportError:
        pass  # the server closed the connection while the client was still sending
    else:
        assert answer.status_code == 413
    # The server stopped reading at the 2 MiB limit; what the client managed to send beyond
    # it sat in socket buffers, never in the server's memory as one body.
    assert sent <= 20, f"{sent} of {total_chunks} MiB consumed: the body was not cut off"
    assert _count(session, Upload) == 0
    assert _stored_files(runtime) == []
