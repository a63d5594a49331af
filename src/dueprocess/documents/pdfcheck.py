"""The PDF checks of an upload: encrypted, malformed, built to expand beyond the limits (a
decompression bomb, a page tree that loops or multiplies), active (scripts, actions that
launch, fetch or submit, embedded files), or a polyglot (also HTML, or a ZIP archive).
Bounded in memory and time; see :class:`~dueprocess.documents.sniff.UploadLimits`.

Active content is looked for in every object the cross-reference lists, those packed in
object streams included, after pypdf has decoded them (so ``/J#53`` is read as ``/JS``).
Objects the cross-reference does not list are not examined, beyond those pypdf's own
recovery finds in a damaged file.
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import NoReturn

from pypdf import PdfReader, apply_configuration
from pypdf.errors import LimitReachedError
from pypdf.filters import decode_stream_data
from pypdf.generic import IndirectObject, StreamObject

from dueprocess.documents.sniff import (
    DEFAULT_LIMITS,
    DocumentRefused,
    MiB,
    UploadLimits,
    check_pixels,
    format_size,
    read_chunks,
    refuse,
)

_IMAGE_CODECS = frozenset(
    {"/DCTDecode", "/DCT", "/JPXDecode", "/JBIG2Decode", "/CCITTFaxDecode", "/CCF"}
)
_FLATE = frozenset({"/FlateDecode", "/Fl"})


def check_pdf(path: Path, limits: UploadLimits = DEFAULT_LIMITS) -> int:
    """Refuse a PDF that is encrypted, unreadable or beyond ``limits``; else its page count.

    Every stream's decompressed size is measured: plain Flate streams (nearly all of them)
    by inflating in 1 MiB steps and counting, so nothing large is held in memory; other
    filter chains through pypdf with its output limits set to ``pdf_max_stream_bytes``.
    Image codecs (JPEG, JPEG 2000, JBIG2, CCITT) are not decoded; their declared pixel
    count is checked instead. The page tree is walked without recursion, and a node that
    appears twice (a loop, or a tree built to multiply) is refused.
    """
    deadline = time.monotonic() + limits.pdf_max_seconds
    _check_polyglot(path)
    try:
        with apply_configuration(
            zlib_maximum_output_length=limits.pdf_max_stream_bytes,
            lzw_maximum_output_length=limits.pdf_max_stream_bytes,
            run_length_maximum_output_length=limits.pdf_max_stream_bytes,
        ):
            reader = PdfReader(path, strict=False)
            if reader.is_encrypted:
                _refuse_encrypted()
            return _PdfCheck(reader, limits, deadline).run()
    except DocumentRefused:
        raise
    except LimitReachedError:
        raise DocumentRefused(
            "the PDF expands beyond the limits for a safe upload when decompressed "
            "(a possible PDF bomb)",
            code="bomb",
        ) from None
    except RecursionError:
        raise DocumentRefused(
            "the PDF is nested too deeply to read safely", code="too-complex"
        ) from None
    except Exception as exc:
        # pypdf parses hostile input; whatever it raises means the file cannot be read.
        if _mentions_encryption(path):
            _refuse_encrypted()
        raise DocumentRefused(
            "the PDF is malformed and cannot be read; export or scan it again and resend it",
            code="malformed",
        ) from exc


def _refuse_encrypted() -> NoReturn:
    raise DocumentRefused(
        "the PDF is encrypted; send it without a password or restrictions", code="encrypted"
    )


def _mentions_encryption(path: Path) -> bool:
    """Whether the raw bytes name an encryption dictionary (when pypdf could not say)."""
    tail = b""
    for chunk in read_chunks(path):
        if b"/Encrypt" in tail + chunk:
            return True
        tail = chunk[-16:]
    return False


class _PdfCheck:
    """One walk over a parsed PDF: objects, streams, then the page tree."""

    def __init__(self, reader: PdfReader, limits: UploadLimits, deadline: float) -> None:
        self.reader = reader
        self.limits = limits
        self.deadline = deadline
        self.total = 0

    def run(self) -> int:
        # pypdf caches every object it resolves; a file dense with small objects would then
        # hold hundreds of megabytes of them. Each object is forgotten once checked, except
        # that objects packed in one object stream are forgotten together, because pypdf
        # parses such a stream whole and would otherwise parse it again for each of them.
        group: list[tuple[int, int]] = []
        group_stream: int | None = None
        for number, generation, container in self._object_numbers():
            if container != group_stream:
                self._forget(group)
                group, group_stream = [], container
            self._tick()
            obj = self.reader.get_object(IndirectObject(number, generation, self.reader))
            if obj is not None:
                self._check_object(obj)
                if isinstance(obj, StreamObject):
                    self._check_stream(obj)
            if container is None:
                self._forget([(number, generation)])
            else:
                group.append((number, generation))
        self._forget(group)
        return self._count_pages()

    def _forget(self, objects: list[tuple[int, int]]) -> None:
        cache = getattr(self.reader, "resolved_objects", None)
        if isinstance(cache, dict):
            for number, generation in objects:
                cache.pop((generation, number), None)

    def _tick(self) -> None:
        if time.monotonic() > self.deadline:
            refuse(
                f"the PDF took longer than {self.limits.pdf_max_seconds:g} seconds to check; "
                "it is too complex or damaged",
                code="too-complex",
            )

    def _object_numbers(self) -> list[tuple[int, int, int | None]]:
        """Every object the cross-reference lists, with the object stream holding it (if any).

        Objects stored plainly come first, object-stream containers among them, so each
        container is measured before pypdf decodes it to reach what it holds; packed objects
        follow, grouped by container.
        """
        plain = [(num, gen, None) for gen, table in self.reader.xref.items() for num in table]
        seen = {(num, gen) for num, gen, _ in plain}
        packed = sorted(
            (int(container), int(index), num)
            for num, (container, index) in self.reader.xref_objStm.items()
            if (num, 0) not in seen
        )
        count = len(plain) + len(packed)
        if count > self.limits.pdf_max_objects:
            refuse(
                f"the PDF has {count:,} objects; the limit is {self.limits.pdf_max_objects:,}",
                code="too-complex",
            )
        return [*plain, *((num, 0, container) for container, _, num in packed)]

    def _check_object(self, obj: object) -> None:
        """Nesting of arrays and dictionaries within one object, and active content in any of
        its dictionaries (:func:`_active_content`), without recursion."""
        stack: list[tuple[object, int]] = [(obj, 0)]
        while stack:
            item, depth = stack.pop()
            if isinstance(item, dict):
                found = _active_content(item)
                if found is not None:
                    refuse(
                        f"the PDF contains {found}, which this service does not accept in a "
                        "document; send a copy without it (print it to a new PDF, or scan "
                        "the paper)",
                        code="active",
                    )
                children: Iterable[object] = dict.values(item)
            elif isinstance(item, list):
                children = list.__iter__(item)
            else:
                continue
            if depth >= self.limits.pdf_max_depth:
                refuse(
                    f"the PDF is nested more than {self.limits.pdf_max_depth} levels deep",
                    code="too-complex",
                )
            stack.extend((child, depth + 1) for child in children)

    def _check_stream(self, stream: StreamObject) -> None:
        if _resolve(stream.get("/Subtype")) == "/Image":
            width, height = _resolve(stream.get("/Width")), _resolve(stream.get("/Height"))
            if isinstance(width, int) and isinstance(height, int):
                check_pixels("an image in the PDF", width, height, self.limits)
        filters = _filter_names(stream)
        stream_limit = self.limits.pdf_max_stream_bytes
        cap = min(stream_limit, self.limits.pdf_max_total_bytes - self.total) + 1
        raw: bytes = stream._data  # pypdf keeps the encoded bytes here; there is no accessor
        if not filters or _IMAGE_CODECS.intersection(filters):
            size = len(raw)
        elif len(filters) == 1 and filters[0] in _FLATE:
            size = _inflated_size(raw, cap)
        else:
            size = self._decoded_size(stream, filters)
        if size > stream_limit:
            refuse(
                f"the PDF holds a stream that expands to more than {format_size(stream_limit)} "
                "when decompressed (a possible PDF bomb)",
                code="bomb",
            )
        self.total += size
        if self.total > self.limits.pdf_max_total_bytes:
            refuse(
                "the PDF expands to more than "
                f"{format_size(self.limits.pdf_max_total_bytes)} in all when decompressed "
                "(a possible PDF bomb)",
                code="bomb",
            )

    def _decoded_size(self, stream: StreamObject, filters: list[str]) -> int:
        """Size of a filter chain pypdf decodes under its (tightened) output limits."""
        try:
            return len(decode_stream_data(stream))
        except (LimitReachedError, MemoryError):
            raise
        except NotImplementedError:
            names = ", ".join(filters)
            refuse(f"the PDF uses a compression this service cannot check ({names})", "malformed")
        except Exception:
            # A stream that cannot be decoded cannot expand either; viewers skip it.
            return len(stream._data)

    def _count_pages(self) -> int:
        catalog = _resolve(dict.get(self.reader.trailer, "/Root"))
        if not isinstance(catalog, dict):
            refuse("the PDF has no document catalogue", code="malformed")
        root = dict.get(catalog, "/Pages")
        top = _resolve(root)
        declared = _resolve(dict.get(top, "/Count")) if isinstance(top, dict) else None
        if isinstance(declared, int) and declared > self.limits.pdf_max_pages:
            self._too_many_pages(declared)
        stack: list[tuple[object, int]] = [(root, 0)]
        seen: set[object] = set()
        pages = 0
        while stack:
            self._tick()
            raw, depth = stack.pop()
            key = (raw.idnum, raw.generation) if isinstance(raw, IndirectObject) else id(raw)
            if key in seen:
                refuse("the PDF's page tree is malformed (a node appears twice)", "malformed")
            seen.add(key)
            if depth >= self.limits.pdf_max_depth:
                refuse("the PDF's page tree is nested too deeply", code="too-complex")
            node = _resolve(raw)
            if not isinstance(node, dict):
                continue
            kids = _resolve(dict.get(node, "/Kids"))
            if _resolve(dict.get(node, "/Type")) != "/Page" and isinstance(kids, list):
                stack.extend((kid, depth + 1) for kid in list.__iter__(kids))
                continue
            pages += 1
            if pages > self.limits.pdf_max_pages:
                self._too_many_pages(pages, at_least=True)
        if pages == 0:
            refuse("the PDF has no pages", code="malformed")
        return pages

    def _too_many_pages(self, count: int, *, at_least: bool = False) -> NoReturn:
        limit = self.limits.pdf_max_pages
        has = f"more than {limit:,}" if at_least else f"{count:,}"
        refuse(
            f"the PDF has {has} pages; the limit is {limit:,}, so send it in parts",
            code="too-complex",
        )


# --- active content and polyglots -------------------------------------------------------------

#: Keys whose presence alone makes a dictionary active, with what to call them.
_ACTIVE_KEYS = {
    "/JS": "JavaScript",
    "/JavaScript": "JavaScript",
    "/EmbeddedFiles": "embedded files",
    "/EF": "embedded files",
    "/XFA": "an XFA form (which can run scripts)",
    "/RichMediaContent": "rich media (Flash or video that can run scripts)",
}

#: Actions refused wherever they are (a link, a form field, a page event): each runs code,
#: starts a program, opens another file (a remote one leaks the reader's credentials on some
#: systems), or sends data out.
_ACTIVE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "an action that starts a program",
    "/GoToR": "an action that opens another file",
    "/GoToE": "an action that opens an embedded file",
    "/SubmitForm": "an action that sends form data out",
    "/ImportData": "an action that imports data from a file",
    "/Rendition": "a media action (which can run scripts)",
    "/RichMediaExecute": "a rich media action (which can run scripts)",
}

#: The only action a PDF may run by itself (on opening, or on a page or field event): going
#: to a place in the document. Anything else (a web address above all: it would tell the
#: sender when a reviewer opened the file) is refused.
_AUTOMATIC_ALLOWED = frozenset({"/GoTo"})


def _active_content(item: dict[object, object]) -> str | None:
    """What makes this dictionary active, in words, or ``None``."""
    for key, what in _ACTIVE_KEYS.items():
        if dict.__contains__(item, key):
            return what
    if _resolve(dict.get(item, "/Type")) == "/EmbeddedFile":
        return "embedded files"
    if _resolve(dict.get(item, "/Subtype")) == "/RichMedia":
        return _ACTIVE_KEYS["/RichMediaContent"]
    action = _resolve(dict.get(item, "/S"))
    if isinstance(action, str) and action in _ACTIVE_ACTIONS:
        return _ACTIVE_ACTIONS[action]
    automatic: list[object] = []
    if dict.__contains__(item, "/OpenAction"):
        automatic.append(_resolve(dict.get(item, "/OpenAction")))
    events = _resolve(dict.get(item, "/AA"))
    if isinstance(events, dict):
        automatic.extend(_resolve(value) for value in dict.values(events))
    for action_dict in automatic:
        # A destination array (go to a page) is not an action; an action dictionary is.
        if isinstance(action_dict, dict):
            kind = _resolve(dict.get(action_dict, "/S"))
            if isinstance(kind, str) and kind in _ACTIVE_ACTIONS:
                return _ACTIVE_ACTIONS[kind]
            if kind == "/URI":
                return "an action that visits a web address by itself when it is opened"
            if kind not in _AUTOMATIC_ALLOWED:
                return f"an action that runs by itself when it is opened or used ({kind})"
    return None


#: Tags an HTML sniffer keys on; each has a letter no PDF hex string can hold, so ``<ab 12>``
#: is never mistaken for one.
_HTML = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta|img|style|link|title)"
    rb"[\s>/]",
    re.IGNORECASE,
)
_SNIFFED_BYTES = 1024
_ZIP_END = b"PK\x05\x06"
_ZIP_TAIL_BYTES = 22 + 65_535  # the end record and the longest comment a ZIP reader skips


def _check_polyglot(path: Path) -> None:
    """Refuse a PDF that is also another kind of file: HTML in its first kilobyte (where
    browsers and mail filters sniff a type), or a ZIP archive's end record within the last
    64 KiB (where ZIP readers look for one, so the file also opens as an archive)."""
    size = path.stat().st_size
    with path.open("rb") as stream:
        head = stream.read(_SNIFFED_BYTES)
        stream.seek(max(0, size - _ZIP_TAIL_BYTES))
        tail = stream.read(_ZIP_TAIL_BYTES)
    if _HTML.search(head):
        refuse(
            "the file starts as a PDF but also holds a web page (HTML), so it could be read "
            "as either; export or scan the document again and send the PDF alone",
            code="type",
        )
    if _ZIP_END in tail:
        refuse(
            "the file is a PDF with a ZIP archive attached to it, so it also opens as an "
            "archive; send the PDF alone",
            code="type",
        )


def _resolve(value: object) -> object:
    return value.get_object() if isinstance(value, IndirectObject) else value


def _filter_names(stream: StreamObject) -> list[str]:
    filters = _resolve(stream.get("/Filter"))
    if filters is None:
        return []
    items = list.__iter__(filters) if isinstance(filters, list) else iter((filters,))
    return [str(_resolve(item)) for item in items]


def _inflated_size(data: bytes, cap: int) -> int:
    """How many bytes zlib data inflates to, counted in 1 MiB steps and stopped past ``cap``.

    A stream that turns out corrupt counts what inflated before the damage: that is all any
    viewer can get out of it.
    """
    inflater = zlib.decompressobj()
    size = 0
    pending = data
    while not inflater.eof:
        try:
            out = inflater.decompress(pending, MiB)
        except zlib.error:
            break
        size += len(out)
        if size > cap:
            break
        pending = inflater.unconsumed_tail
        if not pending and len(out) < MiB:
            break
    return size
