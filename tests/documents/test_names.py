"""File names: one sanitiser for every door, extensions that match the content, and a
``Content-Disposition`` header any name can be sent in."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from dueprocess.documents import sniff
from dueprocess.documents.names import content_disposition, sanitise_filename


@pytest.mark.parametrize(
    ("given", "media_type", "kept"),
    [
        ("report.pdf", sniff.PNG, "report.png"),
        ("report.PDF", sniff.PDF, "report.PDF"),
        ("photo.jpeg", sniff.JPEG, "photo.jpeg"),
        ("scan", sniff.TIFF, "scan.tif"),
        ("Order 2020.07", sniff.PDF, "Order 2020.07.pdf"),
        ("invoice.pdf.exe", sniff.PDF, "invoice.pdf.pdf"),
        ("invoice\u202efdp.exe", sniff.PDF, "invoicefdp.pdf"),
        ("page.html", sniff.TEXT, "page.txt"),
        ("notes.csv", sniff.TEXT, "notes.csv"),
        ("message.msg", sniff.EMAIL, "message.eml"),
        ("../../etc/passwd", sniff.TEXT, "passwd.txt"),
        ("", sniff.PDF, "document.pdf"),
        (".pdf", sniff.PNG, "pdf.png"),
        ("x" * 300 + ".pdf", sniff.PNG, "x" * 251 + ".png"),
        ("report.pdf", None, "report.pdf"),
    ],
)
def test_the_extension_matches_the_content(given: str, media_type: str | None, kept: str) -> None:
    assert sanitise_filename(given, media_type) == kept


def _read(value: str) -> tuple[str, str]:
    """What a client reading ``filename*`` (RFC 6266: every browser) and one reading only
    ``filename`` see."""
    exact = re.search(r"filename\*=UTF-8''([^;\s]+)", value)
    fallback = re.search(r'filename="([^"]*)"', value)
    assert exact is not None
    assert fallback is not None
    return unquote(exact.group(1), errors="strict"), fallback.group(1)


@pytest.mark.parametrize(
    ("name", "exact", "fallback"),
    [
        ("order.pdf", "order.pdf", "order.pdf"),
        ("光復香港.pdf", "光復香港.pdf", "document.pdf"),
        ("香港 order.pdf", "香港 order.pdf", "__ order.pdf"),
        ("Straße №5.pdf", "Straße №5.pdf", "Stra_e No5.pdf"),
        ('a "quoted" name.pdf', 'a "quoted" name.pdf', "a quoted name.pdf"),
        ("C:\\Users\\chan\\order.pdf", "order.pdf", "order.pdf"),
        ("a\r\nb.pdf", "a b.pdf", "a b.pdf"),
        ("100% legal;x=1.pdf", "100% legal;x=1.pdf", "100% legal;x=1.pdf"),
    ],
)
def test_content_disposition_carries_any_name_in_ascii(
    name: str, exact: str, fallback: str
) -> None:
    value = content_disposition(name, sniff.PDF)
    assert value.isascii()
    assert value.startswith("attachment; ")
    assert "\r" not in value
    assert "\n" not in value
    assert _read(value) == (exact, fallback)
