"""The lexicon behind the ``political``, ``journalism`` and ``religion`` flags, and how text
is matched against it.

The entries are data (``lexicon.yaml`` beside this module, documented there and in
docs/review.md): each names what it catches and why, with its forms in Traditional and
Simplified Chinese and in English, the false splits it must not count (``unless``), and
sentences it must and must not flag (tested).

Matching survives the differences real text has:

- Every character is folded the same way in the text and in the forms: Unicode NFKC
  (full-width letters, digits and punctuation become half-width; the ideographic space a
  space), case folding, and Traditional to Simplified with the table the lexicon's own
  twin pairs make (so 光復香港 and 光复香港 and a post mixing both scripts all match).
- Chinese forms are looked for in the text's *skeleton*: its letters and digits only.
  Where a form is written with a break (光復香港，時代革命: a comma), the text may have
  any punctuation, spaces, symbols or emoji there, or nothing (光復香港 時代革命,
  光復香港、時代革命, 光復香港時代革命); elsewhere only invisible characters (zero-width
  spaces, joiners, combining marks) may come between a form's characters, so 道教
  (Taoism) is not found across the colon of 報道：教會. Latin letters and digits at a
  form's ends must not run on into the text's (``721`` is not found in ``17210``).
- English forms are whole words in order: "pray" is not in "spray", "protest" not in
  "Protestant"; a trailing ``*`` opens a word's end. Between a form's words the text may
  have spaces or a hyphen (anti-extradition), and any punctuation where the form has some
  ("five demands, not one less" matches "Five demands. Not one less"), so "free press" is
  not found in "I'm free. Press the button".

A hit keeps the words as the text wrote them and a snippet around them, for the reviewer.
Nothing here touches a database, a clock or a connector.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

import yaml

#: The flag codes the lexicon raises, in the order flags are shown.
CODES = ("political", "journalism", "religion")
#: The scripts an entry may list forms in.
SCRIPTS = ("zh-Hant", "zh-Hans", "en")
#: How many characters of text a snippet shows on each side of the words matched.
SNIPPET_CHARS = 24

_ENTRY_KEYS = frozenset({"id", "code", "group", "what", "why", "unless", "catches", "misses"})
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN = r"0-9a-z\u00df-\u024f"
_WORD = re.compile(rf"[{_LATIN}]+(?:['’][{_LATIN}]+)*")
_FORM_WORD = re.compile(rf"[{_LATIN}]+(?:['’][{_LATIN}]+)*\*?")
_ASCII_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


class LexiconError(ValueError):
    """The lexicon file is not usable; the message names the entry and the field."""


@dataclass(frozen=True, eq=False)
class Entry:
    """One lexicon entry (see ``lexicon.yaml`` for the meaning of each field)."""

    id: str
    code: str
    group: str
    what: str
    why: str
    forms: Mapping[str, tuple[str, ...]]
    unless: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    catches: tuple[str, ...] = ()
    misses: tuple[str, ...] = ()

    def twins(self) -> Iterator[tuple[str, str]]:
        """Each Traditional form with its Simplified twin (forms, then ``unless`` forms)."""
        for group in (self.forms, self.unless):
            yield from zip(group.get("zh-Hant", ()), group.get("zh-Hans", ()), strict=True)


@dataclass(frozen=True)
class Hit:
    """Words of a text that matched an entry: ``matched`` as the text wrote them, at
    ``start:end`` of it, and ``snippet``, the text around them (one line, with ``…`` where
    cut)."""

    entry: Entry
    form: str
    matched: str
    start: int
    end: int
    snippet: str


@dataclass(frozen=True)
class _Form:
    """A compiled form. ``breaks``: the positions (between unit ``i`` and ``i + 1``) where
    the form as written has punctuation or a space, so the text may have any there."""

    entry: Entry
    written: str
    chars: str | None = None  # a Chinese form, folded, as it must appear in the skeleton
    words: tuple[str, ...] | None = None  # an English form, folded, word by word
    breaks: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Text:
    """A text folded for matching, with the way back to the original's positions."""

    original: str
    norm: str
    origin: tuple[int, ...]  # norm index -> original index
    skeleton: str
    bones: tuple[int, ...]  # skeleton index -> norm index
    hard: tuple[bool, ...]  # skeleton index k -> a visible break between bones k and k+1
    words: tuple[tuple[str, int, int], ...]  # word, norm start, norm end
    word_hard: tuple[bool, ...]  # word index i -> more than a space or hyphen before i+1


def _fold_char(char: str, table: Mapping[str, str]) -> str:
    return "".join(table.get(c, c) for c in unicodedata.normalize("NFKC", char).casefold())


def _drop_possessive(word: str) -> str:
    for suffix in ("'s", "’s"):
        if word.endswith(suffix) and len(word) > len(suffix):
            return word[: -len(suffix)]
    return word


def _is_bone(char: str) -> bool:
    # Letters and digits stay; punctuation (P*), separators (Z*), symbols and emoji (S*),
    # control and invisible characters (C*) and combining marks (M*) go.
    return unicodedata.category(char)[0] not in "PZSCM"


def _is_invisible(char: str) -> bool:
    # Zero-width spaces and joiners (Cf), combining marks and variation selectors (M*):
    # nothing a reader sees as a break.
    category = unicodedata.category(char)
    return category == "Cf" or category[0] == "M"


_SOFT = frozenset(" \t\u00a0-\u2010\u2011")


def _is_soft(gap: str) -> bool:
    """Whether ``gap`` between two words is no more than spaces, hyphens, invisibles."""
    return all(c in _SOFT or _is_invisible(c) for c in gap)


def _prepare(text: str, table: Mapping[str, str]) -> _Text:
    norm_chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for folded in _fold_char(char, table):
            norm_chars.append(folded)
            origin.append(index)
    norm = "".join(norm_chars)
    bones = tuple(i for i, c in enumerate(norm) if _is_bone(c))
    hard = tuple(
        not all(_is_invisible(c) for c in norm[a + 1 : b]) for a, b in itertools.pairwise(bones)
    )
    found = list(_WORD.finditer(norm))
    words = tuple((_drop_possessive(m[0]), m.start(), m.end()) for m in found)
    word_hard = tuple(not _is_soft(norm[a.end() : b.start()]) for a, b in itertools.pairwise(found))
    skeleton = "".join(norm[i] for i in bones)
    return _Text(text, norm, tuple(origin), skeleton, bones, hard, words, word_hard)


def _snippet(text: str, start: int, end: int) -> str:
    low = max(0, start - SNIPPET_CHARS)
    high = min(len(text), end + SNIPPET_CHARS)
    shown = " ".join(text[low:high].split())
    return ("…" if low > 0 else "") + shown + ("…" if high < len(text) else "")


def _word_matches(word: str, wanted: str) -> bool:
    if wanted.endswith("*"):
        return word.startswith(wanted[:-1])
    return word == wanted


class Lexicon:
    """Compiled entries: :meth:`find` the words of a text that match any of them."""

    def __init__(self, entries: list[Entry]) -> None:
        self.entries = tuple(entries)
        self.fold_table = _fold_table(self.entries)
        self._forms = [f for e in self.entries for f in self._compile(e, e.forms, "forms")]
        self._unless = {e.id: self._compile(e, e.unless, "unless") for e in self.entries}

    def fold(self, text: str) -> str:
        """``text`` folded as matching sees it (NFKC, case, Traditional to Simplified)."""
        return "".join(_fold_char(c, self.fold_table) for c in text)

    def _compile(self, entry: Entry, forms: Mapping[str, tuple[str, ...]], key: str) -> list[_Form]:
        out = []
        for script, written_forms in forms.items():
            for written in written_forms:
                form = self._form(entry, written, script == "en")
                if form is None:
                    raise LexiconError(
                        f"lexicon entry {entry.id}: {key}.{script}: {written!r} is not a "
                        + ("form of whole words" if script == "en" else "Chinese form")
                    )
                out.append(form)
        return out

    def _form(self, entry: Entry, written: str, english: bool) -> _Form | None:
        folded = self.fold(written)
        if english:
            found = list(_FORM_WORD.finditer(folded))
            words = tuple(_drop_possessive(m[0]) for m in found)
            if _CJK.search(folded) or not words or any(w == "*" for w in words):
                return None
            breaks = frozenset(
                i
                for i, (a, b) in enumerate(itertools.pairwise(found))
                if folded[a.end() : b.start()].strip()
            )
            return _Form(entry, written, words=words, breaks=breaks)
        if not _CJK.search(folded):
            return None
        chars = ""
        breaks_at: set[int] = set()
        for char in folded:
            if _is_bone(char):
                chars += char
            elif chars and not _is_invisible(char):
                breaks_at.add(len(chars) - 1)
        return _Form(entry, written, chars=chars, breaks=frozenset(breaks_at))

    def find(self, text: str) -> list[Hit]:
        """Every entry's words in ``text``, in the order they appear. Where hits of one code
        overlap, the longest is kept (the whole slogan, not its halves again)."""
        prepared = _prepare(text, self.fold_table)
        spans: list[tuple[_Form, int, int]] = []
        for form in self._forms:
            for start, end in _spans(prepared, form):
                if not self._excluded(prepared, form.entry, start, end):
                    spans.append((form, start, end))
        spans.sort(key=lambda s: (s[1], s[1] - s[2], s[0].entry.id))
        kept: list[tuple[_Form, int, int]] = []
        for form, start, end in spans:
            code = form.entry.code
            if any(k[0].entry.code == code and k[1] < end and start < k[2] for k in kept):
                continue
            kept.append((form, start, end))
        return [
            Hit(form.entry, form.written, text[start:end], start, end, _snippet(text, start, end))
            for form, start, end in kept
        ]

    def _excluded(self, prepared: _Text, entry: Entry, start: int, end: int) -> bool:
        return any(
            low <= start and end <= high
            for form in self._unless[entry.id]
            for low, high in _spans(prepared, form)
        )


def _spans(text: _Text, form: _Form) -> Iterator[tuple[int, int]]:
    """Where ``form`` occurs in ``text``, as (start, end) positions of the original."""
    if form.chars is not None:
        yield from _chars_spans(text, form.chars, form.breaks)
    elif form.words is not None:
        yield from _words_spans(text, form.words, form.breaks)


def _chars_spans(text: _Text, chars: str, breaks: frozenset[int]) -> Iterator[tuple[int, int]]:
    at = text.skeleton.find(chars)
    while at >= 0:
        low = text.bones[at]
        high = text.bones[at + len(chars) - 1] + 1
        runs_on = (chars[0] in _ASCII_ALNUM and low > 0 and text.norm[low - 1] in _ASCII_ALNUM) or (
            chars[-1] in _ASCII_ALNUM and high < len(text.norm) and text.norm[high] in _ASCII_ALNUM
        )
        broken = any(text.hard[at + j] for j in range(len(chars) - 1) if j not in breaks)
        if not (runs_on or broken):
            yield text.origin[low], text.origin[high - 1] + 1
        at = text.skeleton.find(chars, at + 1)


def _words_spans(
    text: _Text, words: tuple[str, ...], breaks: frozenset[int]
) -> Iterator[tuple[int, int]]:
    count = len(words)
    for i in range(len(text.words) - count + 1):
        if all(_word_matches(text.words[i + j][0], words[j]) for j in range(count)) and not any(
            text.word_hard[i + j] for j in range(count - 1) if j not in breaks
        ):
            low, high = text.words[i][1], text.words[i + count - 1][2]
            yield text.origin[low], text.origin[high - 1] + 1


def _fold_table(entries: tuple[Entry, ...]) -> dict[str, str]:
    """Traditional -> Simplified for every character where a twin pair differs."""
    table: dict[str, str] = {}
    for entry in entries:
        for hant, hans in entry.twins():
            if len(hant) != len(hans):
                raise LexiconError(
                    f"lexicon entry {entry.id}: {hant!r} and its twin {hans!r} differ in length"
                )
            for t, s in zip(hant, hans, strict=True):
                if t == s:
                    continue
                if table.setdefault(t, s) != s:
                    raise LexiconError(
                        f"lexicon entry {entry.id}: {t!r} is folded to {table[t]!r} elsewhere, "
                        f"to {s!r} in {hans!r}"
                    )
    return table


# --- loading ---------------------------------------------------------------------------------


def _text(entry_id: str, raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise LexiconError(f"lexicon entry {entry_id}: {key}: required, a non-empty text")
    return " ".join(value.split())


def _strings(entry_id: str, value: Any, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise LexiconError(f"lexicon entry {entry_id}: {key}: a list of non-empty texts")
    return tuple(value)


def _forms(entry_id: str, raw: Mapping[str, Any], key: str) -> dict[str, tuple[str, ...]]:
    unknown = set(raw) - set(SCRIPTS)
    if unknown:
        raise LexiconError(
            f"lexicon entry {entry_id}: {key}: unknown scripts {sorted(unknown)}; "
            f"use {', '.join(SCRIPTS)}"
        )
    forms = {s: _strings(entry_id, raw.get(s), f"{key}.{s}") for s in SCRIPTS if raw.get(s)}
    if len(forms.get("zh-Hant", ())) != len(forms.get("zh-Hans", ())):
        raise LexiconError(
            f"lexicon entry {entry_id}: {key}: every zh-Hant form needs its zh-Hans twin at "
            "the same position"
        )
    return forms


def parse_entry(raw: Any, position: int) -> Entry:
    """One entry of the file, checked; :class:`LexiconError` names what is wrong."""
    if not isinstance(raw, dict):
        raise LexiconError(f"lexicon entry {position}: not a mapping")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise LexiconError(f"lexicon entry {position}: id: required, kebab-case (a-z, 0-9, -)")
    unknown = set(raw) - _ENTRY_KEYS - set(SCRIPTS)
    if unknown:
        raise LexiconError(f"lexicon entry {entry_id}: unknown keys {sorted(unknown)}")
    code = raw.get("code")
    if code not in CODES:
        raise LexiconError(f"lexicon entry {entry_id}: code: one of {', '.join(CODES)}")
    forms = _forms(entry_id, {s: raw[s] for s in SCRIPTS if s in raw}, "forms")
    if not forms:
        raise LexiconError(f"lexicon entry {entry_id}: no forms in {', '.join(SCRIPTS)}")
    unless_raw = raw.get("unless") or {}
    if not isinstance(unless_raw, dict):
        raise LexiconError(f"lexicon entry {entry_id}: unless: a mapping of script to forms")
    catches = _strings(entry_id, raw.get("catches"), "catches")
    if not catches:
        raise LexiconError(f"lexicon entry {entry_id}: catches: at least one example sentence")
    return Entry(
        id=entry_id,
        code=code,
        group=_text(entry_id, raw, "group"),
        what=_text(entry_id, raw, "what"),
        why=_text(entry_id, raw, "why"),
        forms=forms,
        unless=_forms(entry_id, unless_raw, "unless"),
        catches=catches,
        misses=_strings(entry_id, raw.get("misses"), "misses"),
    )


def load(text: str) -> Lexicon:
    """A lexicon from the text of a lexicon file; :class:`LexiconError` if it is unusable."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise LexiconError(f"lexicon: not valid YAML ({exc})") from None
    if not isinstance(document, dict) or not isinstance(document.get("entries"), list):
        raise LexiconError("lexicon: expected a mapping with a list of `entries`")
    entries = [parse_entry(raw, i) for i, raw in enumerate(document["entries"])]
    seen: set[str] = set()
    for entry in entries:
        if entry.id in seen:
            raise LexiconError(f"lexicon entry {entry.id}: id used twice")
        seen.add(entry.id)
    return Lexicon(entries)


def shipped_text() -> str:
    """The text of the lexicon shipped with dueprocess (``review/lexicon.yaml``)."""
    return files("dueprocess.review").joinpath("lexicon.yaml").read_text(encoding="utf-8")


@cache
def shipped() -> Lexicon:
    """The shipped lexicon, compiled once per process."""
    return load(shipped_text())
