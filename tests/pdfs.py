"""Small PDFs built with pypdf for the signature tests: signed, unsigned, a signing field."""

from __future__ import annotations

import io

from pypdf import PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)


def _writer() -> PdfWriter:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    return writer


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def unsigned() -> bytes:
    """A one-page PDF with no form at all."""
    return _bytes(_writer())


def with_signature_field(*, signed: bool, typed: bool = True, nested: bool = False) -> bytes:
    """A one-page PDF with an AcroForm signature field; ``signed`` gives it a ``/V``
    signature dictionary (with ``/ByteRange``, bogus bytes: nothing validates them).
    ``typed=False`` leaves ``/Type /Sig`` out of that dictionary; ``nested`` puts the
    field under a parent that carries ``/FT /Sig`` (inherited)."""
    writer = _writer()
    field = DictionaryObject(
        {
            NameObject("/T"): TextStringObject("Signature1"),
            NameObject("/Subtype"): NameObject("/Widget"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
        }
    )
    if signed:
        value = DictionaryObject(
            {
                NameObject("/Filter"): NameObject("/Adobe.PPKLite"),
                NameObject("/SubFilter"): NameObject("/adbe.pkcs7.detached"),
                NameObject("/ByteRange"): ArrayObject([NumberObject(n) for n in (0, 10, 20, 30)]),
                NameObject("/Contents"): ByteStringObject(b"\x00" * 16),
            }
        )
        if typed:
            value[NameObject("/Type")] = NameObject("/Sig")
        field[NameObject("/V")] = writer._add_object(value)
    if nested:
        parent = DictionaryObject(
            {
                NameObject("/T"): TextStringObject("Signatures"),
                NameObject("/FT"): NameObject("/Sig"),
            }
        )
        parent_ref = writer._add_object(parent)
        field[NameObject("/Parent")] = parent_ref
        field_ref = writer._add_object(field)
        parent[NameObject("/Kids")] = ArrayObject([field_ref])
        top = parent_ref
    else:
        field[NameObject("/FT")] = NameObject("/Sig")
        top = writer._add_object(field)
    writer._root_object[NameObject("/AcroForm")] = DictionaryObject(
        {NameObject("/Fields"): ArrayObject([top]), NameObject("/SigFlags"): NumberObject(3)}
    )
    return _bytes(writer)


# --- hostile PDFs, written byte by byte (pypdf's writer normalises what these need raw) -------

CATALOG = b"<< /Type /Catalog /Pages 2 0 R %s >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] %s >>"


def raw(*bodies: bytes, header: bytes = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n") -> bytes:
    """A PDF with these objects (numbered from 1; object 1 is the catalogue) and a correct
    cross-reference table."""
    out = bytearray(header)
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out)


def one_page(catalog: bytes = b"", page: bytes = b"", *more: bytes, header: bytes = b"") -> bytes:
    """A valid one-page PDF with ``catalog`` and ``page`` added to those dictionaries; ``more``
    are objects 4, 5, ..."""
    bodies = (CATALOG % catalog, PAGES, PAGE % page, *more)
    return raw(*bodies, header=b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + header)


def packed(catalog: bytes = b"", page: bytes = b"", *more: bytes) -> bytes:
    """:func:`one_page`, with every object packed in a compressed object stream found through
    a cross-reference stream, as Word and Acrobat write them."""
    import struct
    import zlib

    objects = [CATALOG % catalog, PAGES, PAGE % page, *more]
    index = b""
    body = b""
    for number, obj in enumerate(objects, start=1):
        index += b"%d %d " % (number, len(body))
        body += obj + b"\n"
    data = zlib.compress(index + body, 9)
    container = len(objects) + 1
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {container: len(out)}
    out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\n" % (
        container,
        len(objects),
        len(index),
        len(data),
    )
    out += b"stream\n" + data + b"\nendstream\nendobj\n"
    xref_number = container + 1
    offsets[xref_number] = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535)
    rows += b"".join(struct.pack(">BIH", 2, container, i) for i in range(len(objects)))
    rows += b"".join(struct.pack(">BIH", 1, offsets[n], 0) for n in (container, xref_number))
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\n" % (
        xref_number,
        xref_number + 1,
        len(rows),
    )
    out += (
        b"stream\n" + rows + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % offsets[xref_number]
    )
    return bytes(out)


#: (name, catalog additions, page additions, more objects): PDFs that act by themselves.
ACTIVE: list[tuple[str, bytes, bytes, tuple[bytes, ...]]] = [
    ("open-action-js", b"/OpenAction 4 0 R", b"", (b"<< /S /JavaScript /JS (app.alert(1)) >>",)),
    (
        "document-javascript",
        b"/Names << /JavaScript 4 0 R >>",
        b"",
        (b"<< /Names [(x) << /S /JavaScript /JS (app.alert(1)) >>] >>",),
    ),
    ("page-aa-js", b"", b"/AA << /O << /S /JavaScript /JS 4 0 R >> >>", (b"(app.alert(1))",)),
    ("open-action-uri", b"/OpenAction << /S /URI /URI (https://tracker.example/o) >>", b"", ()),
    (
        "launch-link",
        b"",
        b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 10 10]"
        b" /A << /S /Launch /F (cmd.exe) >> >>]",
        (),
    ),
    (
        "embedded-file",
        b"/Names << /EmbeddedFiles << /Names [(a.exe) 4 0 R] >> >>",
        b"",
        (
            b"<< /Type /Filespec /F (a.exe) /EF << /F 5 0 R >> >>",
            b"<< /Length 2 >>\nstream\nMZ\nendstream",
        ),
    ),
    (
        "escaped-names",
        b"/Open#41ction 4 0 R",
        b"",
        (b"<< /S /Java#53cript /J#53 (app.alert(1)) >>",),
    ),
    (
        "xfa-form",
        b"/AcroForm << /Fields [] /XFA 4 0 R >>",
        b"",
        (b"<< /Length 0 >>\nstream\n\nendstream",),
    ),
]

#: Automatic actions that are fine: going to a page.
BENIGN_CATALOG = b"/OpenAction [3 0 R /Fit]"
BENIGN_PAGE = (
    b"/Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 10 10]"
    b" /A << /S /URI /URI (https://www.police.gov.hk/) >> >>]"
)


def html_polyglot() -> bytes:
    """A valid PDF whose first kilobyte is also a web page a browser would run."""
    return one_page(header=b"%<html><body><script>alert(document.cookie)</script></body></html>\n")


def zip_appended() -> bytes:
    """A valid PDF with a ZIP archive after its end: it opens as a PDF and as an archive."""
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("invoice.exe", b"MZ" + bytes(200))
    return one_page() + archive.getvalue()
