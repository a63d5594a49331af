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
