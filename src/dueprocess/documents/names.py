"""A requester's file name: made safe to keep and to show, made honest about the content,
and sent back in a ``Content-Disposition`` header that every client can read.

The name is text a requester chose: it may hold path separators (``../../etc/passwd``),
line breaks (which would end an HTTP header early), bidirectional overrides that disguise an
extension (``invoice<U+202E>fdp.exe`` shows as ``invoiceexe.pdf``), characters outside
Latin-1 (``光復香港.pdf``, which an HTTP header cannot carry as they are), or an extension
that lies about the bytes (a PNG named ``report.pdf``). :func:`sanitise_filename` is the one
sanitiser, used when a name is stored (whatever the door: API, batch, portal, staff entry,
import, upload) and again when it is sent (:func:`content_disposition`), since rows stored
before it existed may hold any of the above.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from dueprocess.documents import sniff

MAX_NAME = 255
"""The longest name kept (the column's width)."""

DEFAULT_NAME = "document"

#: The extensions a file of each type may carry; the first is the one given when it lacks one.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    sniff.PDF: ("pdf",),
    sniff.PNG: ("png",),
    sniff.JPEG: ("jpg", "jpeg", "jpe", "jfif"),
    sniff.GIF: ("gif",),
    sniff.WEBP: ("webp",),
    sniff.TIFF: ("tif", "tiff"),
    # Only names a viewer opens as plain text: a text file named .html or .svg would be
    # rendered (scripts and all) by a browser opening the saved file.
    sniff.TEXT: ("txt", "text", "log", "csv", "tsv", "md"),
    sniff.EMAIL: ("eml",),
}

# What counts as an extension to replace: a short run of letters and digits with a letter
# in it after the last dot. "Order 2020.07" has none (so ".pdf" is added, not put in place
# of "07").
_EXTENSION = re.compile(r"[A-Za-z0-9]{0,7}[A-Za-z][A-Za-z0-9]{0,7}")


def sanitise_filename(name: str, media_type: str | None = None) -> str:
    """``name`` made safe to display and to store in a 255-character column.

    Keeps the last path component only (either slash), turns whitespace (line breaks
    included) into single spaces, drops control and format characters (bidirectional
    overrides among them), trims leading and trailing dots and spaces, and shortens to 255
    characters keeping a short extension. Falls back to ``document``.

    With ``media_type`` (the type sniffed from the bytes), the extension is made to match
    it: a PNG named ``report.pdf`` is kept as ``report.png``, and a name without an
    extension gets the type's (``scan`` -> ``scan.pdf``). The result is still text from a
    requester: escape it wherever it is shown. It is never used as a path.
    """
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(
        " " if ch.isspace() else ch
        for ch in name
        if ch.isspace() or not unicodedata.category(ch).startswith("C")
    )
    name = " ".join(name.split()).strip(". ") or DEFAULT_NAME
    allowed = EXTENSIONS.get(media_type or "")
    if allowed:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and _EXTENSION.fullmatch(extension):
            if extension.lower() not in allowed:
                name = f"{stem.rstrip('. ') or DEFAULT_NAME}.{allowed[0]}"
        else:
            name = f"{name}.{allowed[0]}"
    return _shorten(name)


def _shorten(name: str) -> str:
    if len(name) <= MAX_NAME:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and 0 < len(extension) <= 16:
        return stem[: MAX_NAME - len(extension) - 1].rstrip(". ") + "." + extension
    return name[:MAX_NAME].rstrip(". ")


# RFC 5987 attr-char, less the letters and digits quote() never escapes.
_ATTR_CHARS = "!#$&+-.^_`|~"


def content_disposition(name: str, media_type: str | None = None) -> str:
    """The ``Content-Disposition`` value that offers the document as a download named ``name``
    (sanitised again here, with ``media_type``'s extension).

    RFC 6266: ``attachment; filename="..."; filename*=UTF-8''...``. ``filename*`` carries the
    exact name percent-encoded as UTF-8 (every current browser and HTTP library reads it);
    ``filename`` is a plain-ASCII stand-in for clients that do not, with accents stripped,
    other characters turned into ``_``, and quotes and backslashes left out. The value is
    ASCII whatever the name, so it can always be sent.
    """
    name = sanitise_filename(name, media_type)
    return (
        f'attachment; filename="{_ascii_fallback(name)}"; '
        f"filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
    )


def _ascii_fallback(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    if plain != name:
        # Characters with no ASCII form at all (CJK, Arabic...) become "_" one for one.
        plain = "".join(
            ch if ch.isascii() else "_"
            for ch in unicodedata.normalize("NFKD", name)
            if not unicodedata.combining(ch)
        )
    plain = "".join(ch for ch in plain if ch.isprintable() and ch not in '"\\')
    stem, dot, extension = plain.rpartition(".")
    if dot and stem.strip("_ ") == "":
        plain = f"{DEFAULT_NAME}.{extension}"
    return plain.strip() or DEFAULT_NAME
