"""The document store's promises, each checked with real bytes (see the module docstring of
:mod:`dueprocess.documents.store`)."""

from __future__ import annotations

import email.message
import hashlib
import io
import struct
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfWriter

from dueprocess.documents import sniff
from dueprocess.documents.store import (
    CHUNK_BYTES,
    DirectoryStore,
    DocumentRefused,
    UploadLimits,
    check_pdf,
    format_size,
    sanitise_filename,
)
from tests import pdfs

MiB = 1024 * 1024


# --- real files ---------------------------------------------------------------------------


def writer_pdf(pages: int = 1, password: str | None = None, owner: str | None = None) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    if password is not None:
        writer.encrypt(password, owner_password=owner, algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def raw_pdf(*bodies: bytes) -> bytes:
    """A PDF with these objects (numbered from 1; object 1 is the catalogue) and a correct
    cross-reference table, for structures pypdf's writer will not make."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(bodies) + 1,
        xref,
    )
    return bytes(out)


def stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), entries, data)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>"


def one_page_pdf(contents: bytes, *more: bytes) -> bytes:
    """A one-page PDF whose page content is object 4; ``more`` become objects 5, 6, ..."""
    return raw_pdf(CATALOG, PAGES, PAGE, contents, *more)


def packed_pdf(padding: bytes = b"") -> bytes:
    """The one-page PDF that Word and Acrobat write: catalogue, page tree and page packed in
    a Flate-compressed object stream (object 5), found through a cross-reference stream
    (object 6). ``padding`` is appended inside the object stream."""
    packed = [CATALOG, PAGES, PAGE]
    header = b""
    body = b""
    for number, obj in enumerate(packed, start=1):
        header += b"%d %d " % (number, len(body))
        body += obj + b"\n"
    objstm = zlib.compress(header + body + padding, 9)
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {4: len(out)}
    out += b"4 0 obj\n%s\nendobj\n" % stream(b"q Q")
    offsets[5] = len(out)
    entries = b"/Type /ObjStm /N 3 /First %d /Filter /FlateDecode" % len(header)
    out += b"5 0 obj\n%s\nendobj\n" % stream(objstm, entries)
    offsets[6] = len(out)
    rows = struct.pack(">BIH", 0, 0, 65535)
    rows += b"".join(struct.pack(">BIH", 2, 5, index) for index in range(3))
    rows += b"".join(struct.pack(">BIH", 1, offsets[n], 0) for n in (4, 5, 6))
    xref = stream(rows, b"/Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R")
    out += b"6 0 obj\n%s\nendobj\nstartxref\n%d\n%%%%EOF\n" % (xref, offsets[6])
    return bytes(out)


@cache
def deflated_zeros(size: int) -> bytes:
    """``size`` zero bytes deflated: about a thousandth of the size, the classic bomb."""
    compressor = zlib.compressobj(9)
    block = bytes(MiB)
    parts = [compressor.compress(block) for _ in range(size // MiB)]
    parts.append(compressor.compress(bytes(size % MiB)))
    parts.append(compressor.flush())
    return b"".join(parts)


def png(width: int = 1, height: int = 1) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + bytes(width)) if width * height <= 64 else b""
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def zip_archive() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("order.docx", "not really a document " * 100)
    return out.getvalue()


def eml() -> bytes:
    message = email.message.EmailMessage()
    message["From"] = "Inspector Chan <chan@police.gov.hk>"
    message["To"] = "lawenforcement@example.com"
    message["Subject"] = "Request under Article 43"
    message["Message-ID"] = "<1@police.gov.hk>"
    message.set_content("Please preserve the account below.\n")
    return message.as_bytes()


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> DirectoryStore:
    return DirectoryStore(tmp_path / "documents")


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def refused(store: DirectoryStore, data: bytes, **kwargs: int) -> DocumentRefused:
    """Put ``data``, expect a refusal, and check that nothing at all was left behind."""
    before = files_under(store.root)
    with pytest.raises(DocumentRefused) as caught:
        store.put(io.BytesIO(data), "upload", **kwargs)
    assert files_under(store.root) == before
    assert str(caught.value) == caught.value.reason
    return caught.value


# --- storing --------------------------------------------------------------------------------


def test_valid_pdf_is_stored_under_its_hash_privately(store: DirectoryStore) -> None:
    data = writer_pdf(pages=3)
    digest = hashlib.sha256(data).hexdigest()

    stored = store.put(io.BytesIO(data), "Order 2020-07.pdf")

    assert (stored.sha256, stored.size, stored.media_type) == (digest, len(data), sniff.PDF)
    assert stored.filename == "Order 2020-07.pdf"
    path = store.root / digest[:2] / digest[2:4] / digest
    assert files_under(store.root) == [path]
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.parent.parent.stat().st_mode & 0o777 == 0o700
    with store.open(digest) as fh:
        assert fh.read() == data
    assert store.exists(digest)
    assert check_pdf(path) == 3


def test_same_bytes_twice_are_stored_once(store: DirectoryStore) -> None:
    data = writer_pdf()
    first = store.put(io.BytesIO(data), "a.pdf")
    second = store.put([data[:100], data[100:]], "b.pdf")
    assert first.sha256 == second.sha256
    assert (first.filename, second.filename) == ("a.pdf", "b.pdf")
    assert len(files_under(store.root)) == 1


def test_a_damaged_copy_is_replaced_by_a_good_one(store: DirectoryStore) -> None:
    data = writer_pdf()
    stored = store.put(data, "a.pdf")
    store.path_for(stored.sha256).write_bytes(b"%PDF-truncated")
    store.put(data, "a.pdf")
    assert store.path_for(stored.sha256).read_bytes() == data


def test_path_traversal_name_is_only_a_display_name(store: DirectoryStore, tmp_path: Path) -> None:
    data = b"Please preserve account 12345.\n"
    stored = store.put(data, "../../etc/passwd")

    assert stored.filename == "passwd.txt"  # text, so the name says so
    assert files_under(tmp_path) == [store.path_for(hashlib.sha256(data).hexdigest())]


@pytest.mark.parametrize(
    "malformed",
    [
        "../../etc/passwd",
        "../secret",
        "A" * 64,
        "a" * 63,
        "a" * 64 + "\n",
        "g" * 64,
        "",
    ],
)
def test_malformed_hash_never_reaches_the_filesystem(
    store: DirectoryStore, tmp_path: Path, malformed: str
) -> None:
    (tmp_path / "secret").write_text("outside the store")
    with pytest.raises(KeyError):
        store.open(malformed)
    with pytest.raises(KeyError):
        store.path_for(malformed)
    with pytest.raises(KeyError):
        store.delete(malformed)
    assert not store.exists(malformed)
    assert (tmp_path / "secret").exists()


def test_unknown_hash_is_a_key_error_and_delete_is_idempotent(store: DirectoryStore) -> None:
    with pytest.raises(KeyError):
        store.open("0" * 64)
    stored = store.put(b"hello\n", "note.txt")
    assert store.delete(stored.sha256) is True
    assert store.delete(stored.sha256) is False
    assert not store.exists(stored.sha256)


def test_oversized_generator_is_refused_without_reading_the_rest(store: DirectoryStore) -> None:
    produced = 0

    def upload() -> Iterator[bytes]:
        nonlocal produced
        for _ in range(1000):
            produced += 1
            yield b"a" * 1024

    with pytest.raises(DocumentRefused) as caught:
        store.put(upload(), "big.txt", max_bytes=10 * 1024)

    assert caught.value.code == "too-large"
    assert caught.value.reason == "file is larger than the limit of 10 KB"
    assert produced == 11
    assert files_under(store.root) == []


def test_oversized_seekable_file_is_refused_before_reading(
    store: DirectoryStore, tmp_path: Path
) -> None:
    big = tmp_path / "big.pdf"
    with big.open("wb") as fh:
        fh.write(b"%PDF-1.7\n")
        fh.truncate(32_715_571)  # sparse: 31.2 MiB without writing it
    with big.open("rb") as fh:
        with pytest.raises(DocumentRefused) as caught:
            store.put(fh, "big.pdf")
        assert fh.tell() == 0
    assert caught.value.reason == "file is 31.2 MB; the limit is 25 MB"
    assert files_under(store.root) == []


def test_file_objects_are_read_in_bounded_chunks(store: DirectoryStore) -> None:
    class Unseekable:
        """A socket-like upload: read() only, and no newlines to split lines on."""

        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)
            self.requests: list[int] = []

        def read(self, size: int = -1) -> bytes:
            self.requests.append(size)
            return self.data.read(size)

    source = Unseekable(b"x" * (3 * CHUNK_BYTES))
    stored = store.put(source, "x.txt")
    assert stored.size == 3 * CHUNK_BYTES
    assert len(source.requests) >= 3
    assert all(0 < n <= CHUNK_BYTES for n in source.requests)


def test_failing_upload_leaves_nothing_behind(store: DirectoryStore) -> None:
    def upload() -> Iterator[bytes]:
        yield b"%PDF-1.7\n" + b"x" * 100_000
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.put(upload(), "x.pdf")
    assert files_under(store.root) == []


def test_empty_upload_is_refused(store: DirectoryStore) -> None:
    assert refused(store, b"").code == "empty"


def test_abandoned_incoming_files_are_discarded(store: DirectoryStore) -> None:
    leftover = store.root / ".incoming-crash.part"
    leftover.write_bytes(b"half")
    assert store.discard_incoming(older_than_seconds=3600) == 0
    assert store.discard_incoming(older_than_seconds=0) == 1
    assert not leftover.exists()


# --- types by content -------------------------------------------------------------------------


def test_zip_is_refused_by_content_whatever_its_name(store: DirectoryStore) -> None:
    error = refused(store, zip_archive())
    assert error.code == "type"
    assert error.reason.startswith("not an allowed type: looks like a ZIP archive")
    assert "send PDF, image" in error.reason


def test_disallowed_type_is_refused_after_the_first_bytes(store: DirectoryStore) -> None:
    produced = 0

    def upload() -> Iterator[bytes]:
        nonlocal produced
        yield zip_archive()
        for _ in range(10_000):
            produced += 1
            yield bytes(1024)

    with pytest.raises(DocumentRefused):
        store.put(upload(), "order.pdf")
    assert produced <= sniff.SNIFF_BYTES // 1024
    assert files_under(store.root) == []


def test_png_is_accepted_whatever_its_name_and_named_for_what_it_is(
    store: DirectoryStore,
) -> None:
    stored = store.put(png(), "scan.pdf")
    assert (stored.media_type, stored.filename) == (sniff.PNG, "scan.png")


def test_image_claiming_too_many_pixels_is_refused(store: DirectoryStore) -> None:
    error = refused(store, png(100_000, 100_000))
    assert error.code == "bomb"
    assert "100,000 × 100,000 pixels" in error.reason


def tiff(
    *sizes: tuple[int, int], little: bool = True, big: bool = False, padding: int = 0
) -> bytes:
    """A TIFF with one directory per size (classic or BigTIFF), the directories after
    ``padding`` bytes of pixel data, as many writers place them (past the sniffed head)."""
    order = "<" if little else ">"
    magic = (b"II" if little else b"MM") + struct.pack(order + "H", 43 if big else 42)
    header = magic + (struct.pack(order + "HHQ", 8, 0, 0) if big else struct.pack(order + "I", 0))
    out = bytearray(header + bytes(padding))
    links: list[int] = [len(magic) + (4 if big else 0)]  # where each "next" offset is written
    for width, height in sizes:
        offset = len(out)
        out[links[-1] : links[-1] + (8 if big else 4)] = struct.pack(
            order + ("Q" if big else "I"), offset
        )
        # Width and height as LONG (LONG8 in a BigTIFF), two SHORT tags besides; a value
        # is left-justified in its field, whatever the byte order.
        entries = [(256, 16 if big else 4, width), (257, 16 if big else 4, height)]
        entries += [(258, 3, 8), (262, 3, 1)]
        formats = {3: "H", 4: "I", 16: "Q"}
        field = 8 if big else 4
        out += struct.pack(order + ("Q" if big else "H"), len(entries))
        for tag, kind, value in entries:
            packed = struct.pack(order + formats[kind], value).ljust(field, b"\x00")
            count = struct.pack(order + ("Q" if big else "I"), 1)
            out += struct.pack(order + "HH", tag, kind) + count + packed
        links.append(len(out))
        out += bytes(8 if big else 4)
    return bytes(out)


@pytest.mark.parametrize("little", [True, False], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("big", [False, True], ids=["classic", "bigtiff"])
def test_tiff_claiming_too_many_pixels_is_refused(
    store: DirectoryStore, little: bool, big: bool
) -> None:
    error = refused(store, tiff((200_000, 200_000), little=little, big=big))
    assert error.code == "bomb"
    assert "200,000 × 200,000 pixels" in error.reason
    # Its directory past the first 64 KiB (a writer that puts it after the pixels).
    far = refused(store, tiff((200_000, 200_000), little=little, big=big, padding=100_000))
    assert far.code == "bomb"
    # Any page of a multi-page TIFF.
    page = refused(store, tiff((100, 100), (200_000, 200_000), little=little, big=big))
    assert "image 2 of the TIFF is 200,000 × 200,000 pixels" in page.reason
    fine = store.put(tiff((2480, 3508), (2480, 3508), little=little, big=big), "scan.pdf")
    assert (fine.media_type, fine.filename) == (sniff.TIFF, "scan.tif")


def test_tiff_whose_size_cannot_be_read_is_refused(store: DirectoryStore) -> None:
    looped = bytearray(tiff((10, 10)))
    looped[-4:] = struct.pack("<I", 8)  # the last directory points back to the first
    assert refused(store, bytes(looped)).code == "malformed"
    assert refused(store, b"II*\x00" + struct.pack("<I", 10**6) + bytes(16)).code == "malformed"


def test_utf8_text_and_email_are_accepted(store: DirectoryStore) -> None:
    text = "要求保存帳戶資料 / Please preserve the account.\n".encode()
    assert store.put(text, "letter.txt").media_type == sniff.TEXT
    assert store.put(eml(), "mail.eml").media_type == sniff.EMAIL


def test_text_that_is_not_utf8_is_refused(store: DirectoryStore) -> None:
    error = refused(store, "Café, Straße\n".encode("latin-1"))
    assert error.code == "type"
    assert "UTF-8" in error.reason


@pytest.mark.parametrize("bad", [b"\x00", b"\x07", b"\xff", b"\xe6\x97"])
def test_text_is_checked_to_the_end_not_just_its_start(store: DirectoryStore, bad: bytes) -> None:
    error = refused(store, b"a" * (sniff.SNIFF_BYTES + 10) + bad)
    assert error.code == "type"
    assert "save it as UTF-8" in error.reason


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.4\n", sniff.PDF),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", sniff.JPEG),
        (b"GIF89a\x01\x00\x01\x00", sniff.GIF),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", sniff.WEBP),
        (b"II*\x00\x08\x00\x00\x00", sniff.TIFF),
        (b"MM\x00*\x00\x00\x00\x08", sniff.TIFF),
        (b"Return-Path: <a@b.hk>\r\nReceived: from x\r\n by y\r\n\r\nbody", sniff.EMAIL),
        (b"Subject: hi\nFrom: a@b.hk\n\nbody", sniff.EMAIL),
        (b"Dear officer: thank you\nRegards: me\n\n", sniff.TEXT),
        (b"MZ Lee's statement, 7 July 2020\n", sniff.TEXT),
        (b"{\\rtf1\\ansi hello}", None),
        (b"PK\x03\x04\x14\x00", None),
        (b"\x7fELF\x02\x01\x01\x00", None),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", None),
        (b"hello\x00world", None),
        (b"PK\x03\x04zip", None),
        (b"tab\there\r\nform\x0cfeed\x1a", sniff.TEXT),
        (b"", None),
    ],
)
def test_sniff_media_type(head: bytes, expected: str | None) -> None:
    assert sniff.sniff_media_type(head) == expected


def test_sniff_tolerates_a_character_cut_at_the_end_of_the_head() -> None:
    assert sniff.sniff_media_type("香港".encode()[:-1]) == sniff.TEXT


@pytest.mark.parametrize(
    ("head", "dimensions"),
    [
        (png(3, 2), (3, 2)),
        (b"GIF89a\x10\x00\x20\x00", (16, 32)),
        (b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x01\x00\x02\x00\x03", (512, 256)),
        (
            b"RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00" + b"\x63\x00\x00"
            b"\xc7\x00\x00",
            (100, 200),
        ),
        (b"%PDF-1.7", None),
    ],
)
def test_image_dimensions(head: bytes, dimensions: tuple[int, int] | None) -> None:
    assert sniff.image_dimensions(head) == dimensions


# --- PDFs ---------------------------------------------------------------------------------


def test_pdf_with_object_streams_is_accepted(store: DirectoryStore, tmp_path: Path) -> None:
    stored = store.put(packed_pdf(), "word-export.pdf")
    assert stored.media_type == sniff.PDF
    assert check_pdf(store.path_for(stored.sha256)) == 1


def test_object_stream_bomb_is_measured_before_pypdf_decodes_it(store: DirectoryStore) -> None:
    error = refused(store, packed_pdf(padding=b" " * (100 * MiB)))
    assert error.code == "bomb"
    assert "holds a stream that expands to more than 64 MB" in error.reason


def test_encrypted_pdf_is_refused(store: DirectoryStore) -> None:
    error = refused(store, writer_pdf(password="secret"))
    assert error.code == "encrypted"
    assert error.reason == "the PDF is encrypted; send it without a password or restrictions"


def test_pdf_encrypted_only_against_printing_is_refused_too(store: DirectoryStore) -> None:
    assert refused(store, writer_pdf(password="", owner="owner")).code == "encrypted"


@pytest.mark.parametrize(
    "data",
    [
        writer_pdf(pages=2)[: len(writer_pdf(pages=2)) // 2],
        b"%PDF-1.7\n" + b"garbage " * 1000,
        b"%PDF-1.4\n",
        raw_pdf(b"<< /Type /Catalog >>"),
    ],
    ids=["truncated", "garbage", "header-only", "no-pages"],
)
def test_malformed_pdf_is_refused(store: DirectoryStore, data: bytes) -> None:
    error = refused(store, data)
    assert error.code == "malformed"
    assert error.reason.startswith("the PDF")


def test_pdf_bomb_is_refused_without_inflating_it_into_memory(store: DirectoryStore) -> None:
    bomb = deflated_zeros(200 * MiB)
    data = one_page_pdf(stream(bomb, b"/Filter /FlateDecode"))
    assert len(data) < MiB

    tracemalloc.start()
    try:
        error = refused(store, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert error.code == "bomb"
    assert "expands to more than 64 MB" in error.reason
    assert peak < 24 * MiB


def test_nested_flate_bomb_is_refused(store: DirectoryStore) -> None:
    twice = zlib.compress(deflated_zeros(200 * MiB), 9)
    data = one_page_pdf(stream(twice, b"/Filter [/FlateDecode /FlateDecode]"))
    assert len(data) < 4096
    assert refused(store, data).code == "bomb"


def test_many_small_streams_adding_up_are_refused(store: DirectoryStore) -> None:
    limits = UploadLimits(pdf_max_stream_bytes=MiB, pdf_max_total_bytes=3 * MiB)
    piece = stream(deflated_zeros(900 * 1024), b"/Filter /FlateDecode")
    data = one_page_pdf(piece, piece, piece, piece)
    small = DirectoryStore(store.root, limits)

    error = refused(small, data)
    assert error.code == "bomb"
    assert "3 MB in all" in error.reason
    assert small.put(one_page_pdf(piece, piece), "ok.pdf").media_type == sniff.PDF


def test_image_inside_pdf_claiming_too_many_pixels_is_refused(store: DirectoryStore) -> None:
    image = stream(
        b"\xff\xd8\xff\xd9",
        b"/Type /XObject /Subtype /Image /Width 100000 /Height 100000 "
        b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode",
    )
    error = refused(store, one_page_pdf(stream(b"q Q"), image))
    assert error.code == "bomb"
    assert "an image in the PDF is 100,000 × 100,000 pixels" in error.reason


def test_pdf_with_a_damaged_stream_is_still_accepted(store: DirectoryStore) -> None:
    damaged = zlib.compress(b"BT /F1 12 Tf (hello) Tj ET" * 50)[:-20] + b"\x00" * 20
    data = one_page_pdf(stream(damaged, b"/Filter /FlateDecode"))
    assert store.put(data, "scan.pdf").media_type == sniff.PDF


def test_too_many_pages_are_refused(store: DirectoryStore, tmp_path: Path) -> None:
    small = DirectoryStore(store.root, UploadLimits(pdf_max_pages=4))
    assert small.put(writer_pdf(pages=4), "four.pdf").media_type == sniff.PDF
    error = refused(small, writer_pdf(pages=5))
    assert error.code == "too-complex"
    assert error.reason == "the PDF has 5 pages; the limit is 4, so send it in parts"


def test_pages_are_counted_by_walking_the_tree_not_by_its_claim(store: DirectoryStore) -> None:
    small = DirectoryStore(store.root, UploadLimits(pdf_max_pages=2))
    understated = b"<< /Type /Pages /Kids [3 0 R 5 0 R 6 0 R] /Count 1 >>"
    data = raw_pdf(CATALOG, understated, PAGE, stream(b"q Q"), PAGE, PAGE)
    error = refused(small, data)
    assert error.reason == "the PDF has more than 2 pages; the limit is 2, so send it in parts"


def test_page_listed_twice_is_refused(store: DirectoryStore) -> None:
    kids = b"<< /Type /Pages /Kids [3 0 R 3 0 R 3 0 R] /Count 3 >>"
    error = refused(store, raw_pdf(CATALOG, kids, PAGE, stream(b"q Q")))
    assert error.code == "malformed"  # shared nodes let a small tree claim exponentially many


def test_page_tree_loop_is_refused(store: DirectoryStore) -> None:
    loop = b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"
    error = refused(store, raw_pdf(CATALOG, loop))
    assert error.code == "malformed"
    assert "page tree" in error.reason


def test_declared_page_count_beyond_the_limit_is_refused(store: DirectoryStore) -> None:
    lying = b"<< /Type /Pages /Kids [3 0 R] /Count 1000000000 >>"
    assert refused(store, raw_pdf(CATALOG, lying, PAGE, stream(b"q Q"))).code == "too-complex"


def test_too_deeply_nested_pdf_is_refused(store: DirectoryStore) -> None:
    deep = b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 80 + b"]" * 80 + b" >>"
    error = refused(store, raw_pdf(deep, PAGES, PAGE, stream(b"q Q")))
    assert error.code == "too-complex"
    assert "nested" in error.reason
    shallow = b"<< /Type /Catalog /Pages 2 0 R /X " + b"[" * 20 + b"]" * 20 + b" >>"
    assert store.put(raw_pdf(shallow, PAGES, PAGE, stream(b"q Q")), "ok.pdf").size > 0


def test_too_many_objects_are_refused(store: DirectoryStore) -> None:
    small = DirectoryStore(store.root, UploadLimits(pdf_max_objects=4))
    error = refused(small, one_page_pdf(stream(b"q Q"), b"null"))
    assert error.code == "too-complex"
    assert error.reason == "the PDF has 5 objects; the limit is 4"


@pytest.mark.parametrize("layout", ["plain", "packed"])
@pytest.mark.parametrize(
    ("catalog", "page", "more", "words"),
    [(c, p, m, n) for n, c, p, m in pdfs.ACTIVE],
    ids=[name for name, *_ in pdfs.ACTIVE],
)
def test_pdf_that_acts_by_itself_is_refused(
    store: DirectoryStore,
    layout: str,
    catalog: bytes,
    page: bytes,
    more: tuple[bytes, ...],
    words: str,
) -> None:
    """JavaScript, automatic actions other than going to a page, programs launched, embedded
    files, XFA forms: in plain objects and packed in object streams, names #xx-escaped too."""
    build = pdfs.one_page if layout == "plain" else pdfs.packed
    error = refused(store, build(catalog, page, *more))
    assert error.code == "active", error.reason
    assert error.reason.startswith("the PDF contains ")


def test_pdf_with_links_and_an_opening_view_is_accepted(store: DirectoryStore) -> None:
    for build in (pdfs.one_page, pdfs.packed):
        stored = store.put(build(pdfs.BENIGN_CATALOG, pdfs.BENIGN_PAGE), "order.pdf")
        assert stored.media_type == sniff.PDF


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (pdfs.html_polyglot(), "also holds a web page"),
        (pdfs.zip_appended(), "ZIP archive attached"),
        (b"%PDF-1.7\n<!DOCTYPE html><html><script>alert(1)</script></html>\n", "web page"),
    ],
    ids=["html-in-a-valid-pdf", "zip-after-a-valid-pdf", "html-after-the-header"],
)
def test_pdf_that_is_also_another_file_is_refused(
    store: DirectoryStore, data: bytes, words: str
) -> None:
    error = refused(store, data)
    assert error.code == "type"
    assert words in error.reason


def test_pdf_check_is_bounded_in_time(store: DirectoryStore) -> None:
    hurried = DirectoryStore(store.root, UploadLimits(pdf_max_seconds=-1))
    error = refused(hurried, writer_pdf())
    assert error.code == "too-complex"
    assert "took longer than" in error.reason


# --- names and sizes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\chan\\Desktop\\order.pdf", "order.pdf"),
        ("..", "document"),
        ("", "document"),
        ("   ", "document"),
        ("a\x00b\x1bc\n\td.pdf", "abc d.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        (".hidden.pdf", "hidden.pdf"),
        ("香港 警察.pdf", "香港 警察.pdf"),
        ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
        ("y" * 300, "y" * 255),
    ],
)
def test_sanitise_filename(given: str, shown: str) -> None:
    assert sanitise_filename(given) == shown


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (1, "1 byte"),
        (900, "900 bytes"),
        (10 * 1024, "10 KB"),
        (25 * MiB, "25 MB"),
        (32_715_571, "31.2 MB"),
    ],
)
def test_format_size(size: int, shown: str) -> None:
    assert format_size(size) == shown


def test_unrecognised_binary_is_refused_as_such(store: DirectoryStore) -> None:
    error = refused(store, b"\x01\x02\x03 proprietary format \x04\x05")
    assert error.reason.startswith("not an allowed type: unrecognised binary data;")
