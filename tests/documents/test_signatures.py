"""Detecting (never validating) a digital signature in a PDF."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dueprocess.demands.models import Document
from dueprocess.documents.signatures import documents_signed, pdf_is_signed
from dueprocess.documents.store import StoredDocument
from dueprocess.runtime import Runtime
from tests import pdfs


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (pdfs.unsigned(), False),
        (pdfs.with_signature_field(signed=False), False),  # a place to sign is no signature
        (pdfs.with_signature_field(signed=False, nested=True), False),
        (pdfs.with_signature_field(signed=True), True),
        (pdfs.with_signature_field(signed=True, typed=False), True),  # /V with /ByteRange
        (pdfs.with_signature_field(signed=True, typed=False, nested=True), True),  # /FT inherited
    ],
)
def test_signature_presence(data: bytes, expected: bool, tmp_path: Path) -> None:
    assert pdf_is_signed(io.BytesIO(data)) is expected
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    assert pdf_is_signed(path) is expected


def test_raw_signature_dictionary_counts_when_the_file_cannot_be_parsed() -> None:
    signed = pdfs.with_signature_field(signed=True)
    damaged = signed[: signed.rindex(b"xref")]  # no cross-reference table, no trailer
    assert pdf_is_signed(io.BytesIO(damaged))
    unsigned = pdfs.unsigned()
    assert not pdf_is_signed(io.BytesIO(unsigned[: unsigned.rindex(b"xref")]))


def test_other_sig_names_are_not_signatures() -> None:
    data = pdfs.unsigned().replace(b"%%EOF", b"% /Type /SigRef /ByteRangeX\n%%EOF")
    assert not pdf_is_signed(io.BytesIO(data))


def test_not_a_pdf_is_not_signed() -> None:
    assert not pdf_is_signed(io.BytesIO(b"hello, this is plain text\n"))


def test_documents_signed_over_the_store(runtime: Runtime) -> None:
    store = runtime.store
    signed = store.put(io.BytesIO(pdfs.with_signature_field(signed=True)), "order.pdf")
    plain = store.put(io.BytesIO(pdfs.unsigned()), "letter.pdf")
    text = store.put(io.BytesIO(b"a note\n"), "note.txt")

    def doc(stored: StoredDocument) -> Document:
        return Document(
            sha256=stored.sha256,
            size=stored.size,
            media_type=stored.media_type,
            filename=stored.filename,
        )

    assert documents_signed(store, []) is None
    assert documents_signed(store, [doc(text)]) is None
    assert documents_signed(store, [doc(text), doc(plain)]) is False
    assert documents_signed(store, [doc(plain), doc(signed)]) is True
    missing = Document(sha256="0" * 64, size=1, media_type="application/pdf", filename="x.pdf")
    assert documents_signed(store, [missing]) is False
