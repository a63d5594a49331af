"""Does a PDF carry a digital signature? Presence only: **nothing here validates one**.

A signed PDF holds a signature dictionary: the value (``/V``) of an AcroForm field of type
``/FT /Sig``, with the ``/ByteRange`` of the file it covers and the signature bytes in
``/Contents``; such dictionaries are usually also marked ``/Type /Sig``. :func:`pdf_is_signed`
reports whether one is present. It does not check the signature's cryptography, its
certificate chain, who signed, or whether the file changed after signing: anyone can put a
signature dictionary into a PDF. That is why requester verification counts a signature as
"signature present, not validated" and gives it little weight
(:mod:`dueprocess.authorities.verification`).

Files reach here only after :func:`dueprocess.documents.sniff.check_pdf` accepted them at
upload (size, encryption, bombs), so this reads them without those limits again; any parse
failure simply means "no signature found" unless the raw bytes show one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Protocol

from pypdf import PdfReader
from pypdf.generic import IndirectObject

from dueprocess.documents.sniff import PDF, MiB
from dueprocess.documents.store import DocumentStore

_TYPE_SIG = re.compile(rb"/Type\s*/Sig(?![A-Za-z0-9_.#-])")
_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[")
_MAX_FIELDS = 10_000
_MAX_DEPTH = 32


def pdf_is_signed(source: Path | BinaryIO) -> bool:
    """Whether the PDF at ``source`` carries a signature dictionary (present, not validated).

    True when an AcroForm signature field (``/FT /Sig``, inherited from a parent field too)
    has a ``/V`` dictionary with a ``/ByteRange``, when the catalogue's ``/Perms`` names one
    (a certification signature), or when the raw file holds a ``/Type /Sig`` dictionary
    together with a ``/ByteRange``. An empty signature field (a place to sign) is not a
    signature. A file object is read from its current position and left open.
    """
    if isinstance(source, Path):
        with source.open("rb") as handle:
            return _signed(handle)
    return _signed(source)


def _signed(handle: BinaryIO) -> bool:
    start = handle.tell()
    if _raw_signature(handle):
        return True
    handle.seek(start)
    try:
        reader = PdfReader(handle, strict=False)
        if reader.is_encrypted:
            return False
        return _acroform_signature(reader)
    except Exception:
        # pypdf parses hostile input; a file it cannot read shows no signature it can find.
        return False


def _raw_signature(handle: BinaryIO) -> bool:
    """``/Type /Sig`` and ``/ByteRange`` both in the bytes (signature dictionaries are never
    inside compressed object streams: ``/ByteRange`` points at their bytes in the file)."""
    typed = ranged = False
    tail = b""
    while block := handle.read(MiB):
        window = tail + block
        typed = typed or _TYPE_SIG.search(window) is not None
        ranged = ranged or _BYTE_RANGE.search(window) is not None
        if typed and ranged:
            return True
        tail = block[-64:]
    return False


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _is_signature_value(value: object) -> bool:
    signature = _resolve(value)
    return isinstance(signature, dict) and "/ByteRange" in signature


def _acroform_signature(reader: PdfReader) -> bool:
    catalog = _resolve(reader.trailer.get("/Root"))
    if not isinstance(catalog, dict):
        return False
    perms = _resolve(catalog.get("/Perms"))
    if isinstance(perms, dict) and any(_is_signature_value(v) for v in perms.values()):
        return True
    form = _resolve(catalog.get("/AcroForm"))
    if not isinstance(form, dict):
        return False
    fields = _resolve(form.get("/Fields"))
    if not isinstance(fields, list):
        return False
    stack: list[tuple[object, object, int]] = [(f, None, 0) for f in _items(fields)]
    seen: set[tuple[int, int]] = set()
    visited = 0
    while stack and visited < _MAX_FIELDS:
        raw, inherited_type, depth = stack.pop()
        if isinstance(raw, IndirectObject):
            key = (raw.idnum, raw.generation)
            if key in seen:
                continue
            seen.add(key)
        node = _resolve(raw)
        visited += 1
        if not isinstance(node, dict) or depth > _MAX_DEPTH:
            continue
        field_type = _resolve(node.get("/FT")) or inherited_type
        if field_type == "/Sig" and _is_signature_value(node.get("/V")):
            return True
        kids = _resolve(node.get("/Kids"))
        if isinstance(kids, list):
            stack.extend((kid, field_type, depth + 1) for kid in _items(kids))
    return False


def _items(values: list[object]) -> Iterable[object]:
    return list.__iter__(values)


class Stored(Protocol):
    """A document as a demand holds it (``demands.models.Document`` is one): its type and
    the hash it is stored under."""

    @property
    def media_type(self) -> str: ...

    @property
    def sha256(self) -> str: ...


def documents_signed(store: DocumentStore, documents: Iterable[Stored]) -> bool | None:
    """For requester verification: ``None`` if none of ``documents`` is a PDF, else whether
    any PDF carries a signature (present, not validated). A PDF missing from the store
    counts as unsigned."""
    pdfs = [d for d in documents if d.media_type == PDF]
    if not pdfs:
        return None
    for document in pdfs:
        try:
            handle = store.open(document.sha256)
        except KeyError:
            continue
        with handle:
            if pdf_is_signed(handle):
                return True
    return False
