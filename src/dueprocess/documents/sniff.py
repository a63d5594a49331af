"""Whether an upload is fit to keep, judged by its bytes alone: a requester's file name or
declared type is never trusted, because both are theirs to choose.

Two halves: recognising the type from the first bytes (:func:`sniff_media_type`), and the
checks that need the whole file (:class:`TextCheck`, :func:`image_dimensions`, and the PDF
checks in :mod:`dueprocess.documents.pdfcheck`). Each refusal is a :class:`DocumentRefused`
whose ``reason`` is one sentence a requester can act on. Nothing here touches the store:
:mod:`dueprocess.documents.store` streams, stores and re-exports these.
"""

from __future__ import annotations

import codecs
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
WEBP = "image/webp"
TIFF = "image/tiff"
TEXT = "text/plain"
EMAIL = "message/rfc822"

ALLOWED_MEDIA_TYPES = frozenset({PDF, PNG, JPEG, GIF, WEBP, TIFF, TEXT, EMAIL})
IMAGE_MEDIA_TYPES = frozenset({PNG, JPEG, GIF, WEBP, TIFF})

SNIFF_BYTES = 64 * 1024
"""How much of the start of a file the sniffer needs: enough for a long e-mail header block
and for a JPEG's metadata segments before its frame header, small enough to hold in memory."""

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"II+\x00", TIFF),  # BigTIFF
    (b"MM\x00+", TIFF),
)

# Formats people plausibly send by mistake, so a refusal can say what the file looks like.
_NOT_ALLOWED: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (Word, Excel and OpenDocument files are ZIP archives too)"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "a legacy Microsoft Office file (.doc, .xls or .msg)"),
    (b"{\\rtf", "an RTF document"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a Linux program"),
    (b"\xcf\xfa\xed\xfe", "a macOS program"),
    (b"\xca\xfe\xba\xbe", "a Java class or macOS program"),
    (b"BM", "a BMP image"),
    (b"%!PS", "a PostScript file"),
    (b"\xff\xfe", "UTF-16 text"),
    (b"\xfe\xff", "UTF-16 text"),
    (b"OggS", "an Ogg audio or video file"),
    (b"ID3", "an MP3 audio file"),
)

# Text-based formats that are documents or programs rather than plain text.
_TEXT_FORMATS_REFUSED = (b"{\\rtf", b"%!PS")

_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0e-\x19\x1c-\x1f]")

_HEADER_NAME = re.compile(rb"[!-9;-~]+:")
_EMAIL_HEADERS = frozenset(
    b"from received return-path message-id mime-version date subject to cc reply-to"
    b" delivered-to dkim-signature sender".split()
)

MiB = 1024 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """Bounds on one upload. The defaults suit scanned legal papers and court bundles.

    ``max_image_pixels`` applies to image files and to each image inside a PDF. The PDF
    stream limits count decompressed bytes, which is what a viewer must hold in memory.
    ``pdf_max_seconds`` bounds the checker's own work between steps; a single pypdf parse step
    is bounded by pypdf's limits, which :func:`check_pdf` tightens to these.
    """

    max_bytes: int = 25 * MiB
    max_image_pixels: int = 250_000_000
    pdf_max_pages: int = 2_000
    pdf_max_objects: int = 200_000
    pdf_max_stream_bytes: int = 64 * MiB
    pdf_max_total_bytes: int = 512 * MiB
    pdf_max_depth: int = 64
    pdf_max_seconds: float = 20.0


DEFAULT_LIMITS = UploadLimits()


class DocumentRefused(ValueError):
    """An upload that is not accepted; nothing was stored.

    ``reason`` is one sentence for the requester, shown next to the upload field. ``code`` is
    for programs: ``empty``, ``too-large``, ``type`` (not an allowed type, or a file that is
    two types at once), ``encrypted``, ``malformed``, ``too-complex``, ``bomb`` or ``active``
    (a PDF with scripts, actions that act by themselves, or embedded files).
    """

    def __init__(self, reason: str, *, code: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


def refuse(reason: str, code: str) -> NoReturn:
    """Raise :class:`DocumentRefused`; typed so the checks read as plain statements."""
    raise DocumentRefused(reason, code=code)


def format_size(size: int) -> str:
    """A byte count as people read it: ``31.2 MB``, ``900 KB``, ``12 bytes`` (binary units)."""
    for unit, scale in (("MB", MiB), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size:,} byte" + ("" if size == 1 else "s")


def read_chunks(path: Path) -> Iterator[bytes]:
    """The bytes of a file in 1 MiB chunks, for checks that must see all of it."""
    with path.open("rb") as stream:
        while block := stream.read(MiB):
            yield block


def check_pixels(what: str, width: int, height: int, limits: UploadLimits) -> None:
    """Refuse an image that declares more pixels than any viewer should allocate."""
    if width * height > limits.max_image_pixels:
        refuse(
            f"{what} is {width:,} × {height:,} pixels; the limit is "
            f"{limits.max_image_pixels / 1e6:g} megapixels",
            code="bomb",
        )


def sniff_media_type(head: bytes) -> str | None:
    """The allowed media type the start of a file shows, or ``None`` if it is not one.

    ``head`` should be the first :data:`SNIFF_BYTES` of the file (or all of it, if shorter).
    Binary formats are recognised by their signatures. Text is recognised only if ``head``
    is plain UTF-8 (see :class:`TextCheck`; a character cut off at the very end is
    tolerated); an e-mail is a file whose first lines are RFC 5322 header fields. The text
    verdict covers only ``head``: the rest must be checked with :class:`TextCheck`.
    """
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if not head or head.startswith(_TEXT_FORMATS_REFUSED):
        return None
    if _looks_like_email(head):
        return EMAIL
    check = TextCheck()
    if check.feed(head) is None:
        return TEXT
    return None


def describe_content(head: bytes) -> str | None:
    """A plain-words name for a recognised format that is *not* allowed (for refusals).

    Only meaningful once :func:`sniff_media_type` has said ``None``: some signatures are two
    bytes long and would also match the first letters of an ordinary text file.
    """
    for magic, description in _NOT_ALLOWED:
        if head.startswith(magic):
            return description
    if head[:4] == b"RIFF":
        return "a RIFF audio or video file"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            return "a HEIC or AVIF image (export it as JPEG or PNG)"
        return "an MP4 or QuickTime video"
    return None


def looks_binary(head: bytes) -> bool:
    """Whether ``head`` holds control bytes that plain text never does (see :class:`TextCheck`)."""
    return _CONTROL_BYTES.search(head) is not None


class TextCheck:
    """Incremental check that a byte stream is plain UTF-8 text.

    Plain means no control characters other than tab, line and page breaks, and the two that
    old text files and terminal logs carry (SUB, ESC): anything else, NUL above all, means
    binary data that happens to decode. Feed the chunks in order, then call :meth:`close`.
    Each returns ``None`` while all is well, or a sentence saying what is wrong (with the
    byte offset) for the refusal.
    """

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
        self._offset = 0

    def feed(self, data: bytes) -> str | None:
        """Check the next chunk; a character split across chunks is fine."""
        # Bytes below 0x20 never occur inside a UTF-8 sequence, so a byte search is exact.
        control = _CONTROL_BYTES.search(data)
        if control is not None:
            what = "a NUL byte" if control.group() == b"\x00" else "a control character"
            return f"the text contains {what} (at byte {self._offset + control.start():,})"
        try:
            self._decoder.decode(data, final=False)
        except UnicodeDecodeError as exc:
            return f"the text is not valid UTF-8 (at byte {self._offset + exc.start:,})"
        self._offset += len(data)
        return None

    def close(self) -> str | None:
        """Check that the stream did not end in the middle of a character."""
        try:
            self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "the text is not valid UTF-8 (it ends in the middle of a character)"
        return None


def check_text(chunks: Iterable[bytes]) -> str | None:
    """Run :class:`TextCheck` over a whole stream; the first problem, or ``None``."""
    check = TextCheck()
    for chunk in chunks:
        problem = check.feed(chunk)
        if problem is not None:
            return problem
    return check.close()


def _looks_like_email(head: bytes) -> bool:
    """Whether ``head`` opens with an RFC 5322 header block.

    Every line up to the first blank line must be a header field (``Name: value``) or the
    folded continuation of one; at least two fields, one of them a common e-mail header. A
    last line cut off by the end of ``head`` is ignored, since the header block may be longer
    than the sniffed prefix.
    """
    if b"\x00" in head:
        return False
    lines = head.split(b"\n")
    if not head.endswith(b"\n"):
        lines = lines[:-1]
    fields = 0
    known = False
    for raw in lines:
        line = raw.removesuffix(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if fields == 0:
                return False
            continue
        match = _HEADER_NAME.match(line)
        if match is None:
            return False
        fields += 1
        known = known or match.group()[:-1].lower() in _EMAIL_HEADERS
    return fields >= 2 and known


def image_dimensions(head: bytes) -> tuple[int, int] | None:
    """Width and height an image declares, if ``head`` shows them (PNG, GIF, WebP, JPEG;
    a TIFF's are read from the whole file by :func:`tiff_dimensions`).

    Used to refuse decompression bombs: a small file that claims billions of pixels makes
    every viewer and thumbnailer allocate gigabytes. ``None`` means not found, not "fine".
    """
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return int(width), int(height)
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        width, height = struct.unpack("<HH", head[6:10])
        return int(width), int(height)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_dimensions(head)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_dimensions(head)
    return None


def _webp_dimensions(head: bytes) -> tuple[int, int] | None:
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L" and len(head) >= 25 and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(head) >= 30 and head[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", head[26:30])
        return int(width) & 0x3FFF, int(height) & 0x3FFF
    return None


_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _jpeg_dimensions(head: bytes) -> tuple[int, int] | None:
    """Walk the marker segments to the first start-of-frame, within ``head`` only."""
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:
            return None
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            pos += 2
            continue
        (length,) = struct.unpack(">H", head[pos + 2 : pos + 4])
        if marker in _JPEG_FRAMES:
            if pos + 9 > len(head):
                return None
            height, width = struct.unpack(">HH", head[pos + 5 : pos + 9])
            return int(width), int(height)
        if length < 2:
            return None
        pos += 2 + length
    return None


MAX_TIFF_IMAGES = 1024
"""Most images (pages) a TIFF may hold; each one's declared size is checked."""

_TIFF_WIDTH, _TIFF_LENGTH = 256, 257
_TIFF_MAX_ENTRIES = 4096


def tiff_dimensions(stream: BinaryIO) -> list[tuple[int, int]] | None:
    """Width and height of every image a TIFF declares (one per IFD, in order), read by
    seeking through ``stream``: a TIFF's directory may sit anywhere in the file, often at
    its end, so the first bytes alone do not show it.

    Classic and BigTIFF, either byte order. ``None`` when the structure cannot be read (a
    directory out of the file, one without a width or height, a loop); at most
    ``MAX_TIFF_IMAGES + 1`` directories are read, so the caller can refuse more.
    """
    stream.seek(0)
    header = stream.read(16)
    order = "<" if header[:2] == b"II" else ">" if header[:2] == b"MM" else None
    if order is None or len(header) < 8:
        return None
    (magic,) = struct.unpack(order + "H", header[2:4])
    if magic == 42:
        big = False
        (offset,) = struct.unpack(order + "I", header[4:8])
    elif magic == 43 and len(header) == 16:
        big = True
        (offset,) = struct.unpack(order + "Q", header[8:16])
    else:
        return None
    count_format, count_size = ("Q", 8) if big else ("H", 2)
    entry_size = 20 if big else 12
    found: list[tuple[int, int]] = []
    seen: set[int] = set()
    while offset and len(found) <= MAX_TIFF_IMAGES:
        if offset in seen:
            return None
        seen.add(offset)
        stream.seek(offset)
        raw = stream.read(count_size)
        if len(raw) < count_size:
            return None
        (entries,) = struct.unpack(order + count_format, raw)
        if entries > _TIFF_MAX_ENTRIES:
            return None
        next_size = 8 if big else 4
        table = stream.read(entries * entry_size + next_size)
        if len(table) < entries * entry_size:
            return None
        size: dict[int, int] = {}
        for index in range(entries):
            entry = table[index * entry_size : (index + 1) * entry_size]
            tag, kind = struct.unpack(order + "HH", entry[:4])
            if tag not in (_TIFF_WIDTH, _TIFF_LENGTH):
                continue
            value = entry[12:] if big else entry[8:]
            if kind == 3:  # SHORT
                size[tag] = int(struct.unpack(order + "H", value[:2])[0])
            elif kind == 4:  # LONG
                size[tag] = int(struct.unpack(order + "I", value[:4])[0])
            elif kind == 16 and big:  # LONG8
                size[tag] = int(struct.unpack(order + "Q", value[:8])[0])
        if _TIFF_WIDTH not in size or _TIFF_LENGTH not in size:
            return None
        found.append((size[_TIFF_WIDTH], size[_TIFF_LENGTH]))
        after = table[entries * entry_size :]
        # A last directory cut off before its next-offset field ends the chain.
        offset = (
            int.from_bytes(after, "little" if order == "<" else "big")
            if len(after) == next_size
            else 0
        )
    return found


# --- PDF ------------------------------------------------------------------------------------
