"""Documents that come with a demand: checked by content, stored by SHA-256 outside the database.

What this module promises (tests in ``tests/documents/test_store.py`` check each):

- An upload never exhausts memory or disk. It is read in chunks, hashed while it is written to
  a temporary file inside the store, and refused as soon as it passes the byte limit, without
  reading the rest.
- Nothing half-written is ever visible. A file appears under its hash only after every check
  has passed (an atomic rename); on a refusal or any error the temporary file is deleted.
- A requester's file name never becomes a path. Files are named by their hash; the name is
  kept only as a sanitised display name whose extension matches the content
  (:mod:`dueprocess.documents.names`), and a malformed hash never reaches the filesystem.
- The type is judged by the bytes, never by the name. The checks themselves live in
  :mod:`dueprocess.documents.sniff`; this module re-exports the ones callers need.
- A PDF a reviewer's viewer could not open safely (encrypted, malformed, a decompression bomb,
  absurdly many pages or objects, nested too deeply), one that would act by itself (scripts,
  automatic actions, embedded files) and one that is also HTML or a ZIP archive is refused
  with one sentence saying why, fit to show next to the upload field; so is an image that
  declares more pixels than the limit (a TIFF in any of its images).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from dueprocess.documents import sniff
from dueprocess.documents.names import sanitise_filename
from dueprocess.documents.pdfcheck import check_pdf
from dueprocess.documents.sniff import (
    DEFAULT_LIMITS,
    DocumentRefused,
    MiB,
    UploadLimits,
    check_pixels,
    format_size,
    read_chunks,
    refuse,
    sniff_media_type,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DirectoryStore",
    "DocumentNotFound",
    "DocumentRefused",
    "DocumentStore",
    "Readable",
    "Received",
    "Source",
    "StoredDocument",
    "UploadLimits",
    "check_content",
    "check_pdf",
    "format_size",
    "is_sha256",
    "receive",
    "sanitise_filename",
    "sniff_media_type",
]

CHUNK_BYTES = MiB
"""How much is read from a file-like upload at a time."""


class Readable(Protocol):
    """Anything with ``read(size) -> bytes``: a file, a spooled upload, a socket wrapper."""

    def read(self, size: int = -1, /) -> bytes: ...


Source = Iterable[bytes] | Readable | bytes
"""An upload: a binary file object (read in chunks), an iterable of byte chunks, or bytes."""


class DocumentNotFound(KeyError):
    """No document is stored under this hash, or the string is not a SHA-256 at all."""


@dataclass(frozen=True)
class StoredDocument:
    """What the database keeps about a stored upload; the bytes stay in the store."""

    sha256: str
    size: int
    media_type: str
    filename: str


class DocumentStore(Protocol):
    """Where uploads live, addressed by the SHA-256 of their bytes.

    ``put`` checks the upload and either stores all of it or raises :class:`DocumentRefused`
    having stored nothing; putting the same bytes twice stores them once. ``max_bytes``
    overrides the store's own limit (``None`` keeps it). ``open`` raises
    :class:`DocumentNotFound` (a ``KeyError``) for an unknown or malformed hash.
    """

    def put(
        self, chunks: Source, filename: str, *, max_bytes: int | None = None
    ) -> StoredDocument: ...

    def open(self, sha256: str) -> BinaryIO: ...

    def exists(self, sha256: str) -> bool: ...

    def delete(self, sha256: str) -> bool: ...


@dataclass(frozen=True)
class Received:
    """An upload copied to a sink: its hash, size, sniffed type, and first bytes."""

    sha256: str
    size: int
    media_type: str
    head: bytes


# --- the directory store ------------------------------------------------------------------

_SHA256 = re.compile(r"[0-9a-f]{64}")
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_INCOMING_PREFIX = ".incoming-"


def is_sha256(value: object) -> bool:
    """Whether ``value`` is a SHA-256 as the store writes it: 64 lowercase hex digits."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


class DirectoryStore:
    """Uploads as files ``root/ab/cd/<sha256>``, readable by this user only (0600 / 0700).

    Uploads are received into ``root/.incoming-*.part`` (same filesystem, so the final rename
    is atomic). A crash mid-upload can leave such a file behind; it is never served, and
    :meth:`discard_incoming` clears old ones.
    """

    def __init__(self, root: str | os.PathLike[str], limits: UploadLimits = DEFAULT_LIMITS):
        self.root = Path(root)
        self.limits = limits
        _make_private_dir(self.root)

    def path_for(self, sha256: str) -> Path:
        """Where the document with this hash lives; a malformed hash raises before any I/O."""
        if not is_sha256(sha256):
            raise DocumentNotFound(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, chunks: Source, filename: str, *, max_bytes: int | None = None) -> StoredDocument:
        """Receive, check and store an upload; see :class:`DocumentStore`."""
        limit = self.limits.max_bytes if max_bytes is None else max_bytes
        fd, tmp_name = tempfile.mkstemp(dir=self.root, prefix=_INCOMING_PREFIX, suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as sink:
                received = receive(chunks, sink, max_bytes=limit)
                sink.flush()
                os.fsync(sink.fileno())
            check_content(tmp, received, self.limits)
            self._install(tmp, received)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        display_name = sanitise_filename(filename, received.media_type)
        return StoredDocument(received.sha256, received.size, received.media_type, display_name)

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes, for reading. The caller closes the file."""
        path = self.path_for(sha256)
        try:
            fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
        except FileNotFoundError:
            raise DocumentNotFound(sha256) from None
        return os.fdopen(fd, "rb")

    def exists(self, sha256: str) -> bool:
        """Whether a document with this hash is stored; ``False`` for a malformed hash."""
        return is_sha256(sha256) and self.path_for(sha256).is_file()

    def delete(self, sha256: str) -> bool:
        """Remove a stored document; ``False`` if there was none. Malformed hash: KeyError."""
        try:
            self.path_for(sha256).unlink()
        except FileNotFoundError:
            return False
        return True

    def discard_incoming(self, older_than_seconds: float = 24 * 3600) -> int:
        """Delete uploads abandoned mid-way (by a crash) at least this old; how many."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self.root.glob(f"{_INCOMING_PREFIX}*.part"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime <= cutoff:
                    path.unlink()
                    removed += 1
        return removed

    def _install(self, tmp: Path, received: Received) -> None:
        final = self.path_for(received.sha256)
        _make_private_dir(final.parent.parent)
        _make_private_dir(final.parent)
        try:
            existing = final.stat()
        except FileNotFoundError:
            existing = None
        if existing is not None and existing.st_size == received.size:
            tmp.unlink()  # same bytes already stored: storing twice stores once
            return
        tmp.chmod(0o600)
        os.replace(tmp, final)
        _fsync_dir(final.parent)


def _make_private_dir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        return
    path.chmod(0o700)  # mkdir's mode is narrowed by the umask, not widened; make it exact


def _fsync_dir(path: Path) -> None:
    """Make a rename durable; not every platform can open a directory, so best effort."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- receiving: stream, hash, bound, sniff ---------------------------------------------------


def receive(source: Source, sink: BinaryIO, *, max_bytes: int) -> Received:
    """Copy ``source`` into ``sink`` chunk by chunk, hashing it and sniffing its type.

    Refuses (:class:`DocumentRefused`) before writing the chunk that would pass ``max_bytes``,
    and as soon as the first :data:`sniff.SNIFF_BYTES` show a type that is not allowed, in
    both cases without reading further. A seekable source that is too large is refused
    before anything is read. The sink may hold a partial copy after a refusal; deleting it
    is the caller's job. Any store can use this with its own sink.
    """
    declared = _remaining_size(source)
    if declared is not None and declared > max_bytes:
        raise _too_large(declared, max_bytes)
    digest = hashlib.sha256()
    size = 0
    head = bytearray()
    media_type: str | None = None
    for chunk in _chunks(source):
        size += len(chunk)
        if size > max_bytes:
            raise DocumentRefused(
                f"file is larger than the limit of {format_size(max_bytes)}", code="too-large"
            )
        digest.update(chunk)
        sink.write(chunk)
        if media_type is None:
            head += chunk[: sniff.SNIFF_BYTES - len(head)]
            if len(head) >= sniff.SNIFF_BYTES:
                media_type = _sniff_orrefuse(bytes(head))
    if size == 0:
        raise DocumentRefused("the file is empty", code="empty")
    if media_type is None:
        media_type = _sniff_orrefuse(bytes(head))
    return Received(digest.hexdigest(), size, media_type, bytes(head))


def _chunks(source: Source) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        if source:
            yield bytes(source)
        return
    if hasattr(source, "read"):
        # Never iterate a file object: that yields lines, and one line may be the whole file.
        stream = cast(Readable, source)
        while block := stream.read(CHUNK_BYTES):
            yield block
        return
    for chunk in source:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"upload chunks must be bytes, not {type(chunk).__name__}")
        if chunk:
            yield bytes(chunk)


def _remaining_size(source: Source) -> int | None:
    """Bytes left in a seekable file object, without reading them; else ``None``."""
    if not hasattr(source, "seekable"):
        return None
    stream = cast(BinaryIO, source)
    try:
        if not stream.seekable():
            return None
        position = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(position)
    except (OSError, ValueError):
        return None
    return end - position


def _sniff_orrefuse(head: bytes) -> str:
    media_type = sniff.sniff_media_type(head)
    if media_type is not None:
        return media_type
    allowed = "send PDF, image (PNG, JPEG, GIF, WebP, TIFF), UTF-8 text or e-mail (.eml)"
    looks_like = sniff.describe_content(head)
    if looks_like is not None:
        reason = f"not an allowed type: looks like {looks_like}; {allowed}"
    elif sniff.looks_binary(head):
        reason = f"not an allowed type: unrecognised binary data; {allowed}"
    else:
        problem = sniff.TextCheck().feed(head) or "the text is not valid UTF-8"
        reason = f"not an allowed type: {problem}; save it as UTF-8 text, or {allowed}"
    refuse(reason, code="type")


def _too_large(size: int, limit: int) -> DocumentRefused:
    shown, shown_limit = format_size(size), format_size(limit)
    if shown == shown_limit:
        shown, shown_limit = f"{size:,} bytes", f"{limit:,} bytes"
    return DocumentRefused(f"file is {shown}; the limit is {shown_limit}", code="too-large")


# --- checks that need the whole file ------------------------------------------------------


def check_content(path: Path, received: Received, limits: UploadLimits = DEFAULT_LIMITS) -> None:
    """Check a received file beyond its first bytes; raise :class:`DocumentRefused` if unfit.

    Text must be UTF-8 without NULs to the end; an e-mail must hold no NUL; an image must
    not declare more than ``limits.max_image_pixels`` (a TIFF, in each of its images, and
    its size must be readable); a PDF must pass :func:`check_pdf`.
    """
    if received.media_type == sniff.TEXT:
        problem = sniff.check_text(read_chunks(path))
        if problem is not None:
            refuse(f"{problem}; save it as UTF-8 text and send it again", code="type")
    elif received.media_type == sniff.EMAIL:
        if any(b"\x00" in chunk for chunk in read_chunks(path)):
            refuse("the e-mail contains NUL bytes, which e-mail never does", code="malformed")
    elif received.media_type == sniff.TIFF:
        _check_tiff(path, limits)
    elif received.media_type in sniff.IMAGE_MEDIA_TYPES:
        dimensions = sniff.image_dimensions(received.head)
        if dimensions is not None:
            check_pixels("the image", *dimensions, limits)
    elif received.media_type == sniff.PDF:
        check_pdf(path, limits)


def _check_tiff(path: Path, limits: UploadLimits) -> None:
    with path.open("rb") as stream:
        images = sniff.tiff_dimensions(stream)
    if not images:
        refuse("the TIFF image is damaged: its size cannot be read", code="malformed")
    if len(images) > sniff.MAX_TIFF_IMAGES:
        refuse(
            f"the TIFF holds more than {sniff.MAX_TIFF_IMAGES:,} images; send it in parts",
            code="too-complex",
        )
    for number, (width, height) in enumerate(images, start=1):
        what = "the image" if len(images) == 1 else f"image {number} of the TIFF"
        check_pixels(what, width, height, limits)
