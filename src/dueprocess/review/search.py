"""Full-text search over a demand's reference, summary and targets: what is stored for each
demand (:func:`document`, written by :func:`store`), how a search box's text is read
(:func:`parse`), and the rule both databases apply. Pure functions but :func:`store`;
:mod:`dueprocess.review.queues` builds the SQL.

**The rule.** The text searched is the demand's reference, summary and target identifiers,
folded (Unicode NFKC, so full-width ``ＮＳＤ`` is ``NSD``; then case-folded). A search is
split on spaces into terms, folded the same way, and a demand matches when **every term
appears in that text at the start of a word** (in any order): ``prot`` finds
"protesters", ``NSD/2020`` finds "NSD/202007/0042", ``@hk_student`` finds the target
``https://microblog.demo/@hk_student_union/1``; ``test`` does not find "protest".
Chinese and Japanese are written without spaces, so there every character starts a
word: ``香港`` finds 光復香港 and ``港`` finds it too. Traditional and Simplified characters
are different characters to the search (時代 does not find 时代; search both if need be).

**How it is indexed.** Each demand gets a row of :class:`~dueprocess.review.models.
DemandSearch`: ``text``, the folded text, and ``terms``, its words: each run of letters or
digits is a word (lengths over :data:`MAX_WORD` are cut), and each run of Chinese or
Japanese characters gives every pair of neighbours (``光復``, ``復香``, ``香港``) and its
last character (``港``), so that every character begins some term. On PostgreSQL
``terms`` is a ``tsvector`` under a GIN index: a term's words are looked up as prefixes
(``'prot':*``), a Chinese run by its pairs, and the candidates are then checked against
``text`` for the term itself (the pairs of ``光復香港`` can all occur apart). SQLite has no
such index here: it checks the same two things with ``instr`` on every row of the queue
(correct, and fast enough for the thousands of demands an SQLite installation holds).

Why not ``pg_trgm``: its trigrams ignore every Chinese character in a database whose
``LC_CTYPE`` is ``C`` (the default of ``initdb --no-locale``), a two-character word such as
香港 has no trigram to look up, and extracting trigrams cost ~130 µs a demand against
~35 µs for these terms (measured on this machine, 100,000 demands), on intake's hot path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from dueprocess import inserts
from dueprocess.review.models import DemandSearch

#: Scripts written without spaces between words: Hiragana and Katakana, the CJK
#: ideographs (the extensions, and the compatibility block).
_NO_SPACES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_RUNS = re.compile(rf"([{_NO_SPACES}]+)|([^\W_{_NO_SPACES}]+)")

#: Words longer than this are stored and looked up by their first :data:`MAX_WORD`
#: characters (the term itself is still checked against the text in full).
MAX_WORD = 64
#: A demand whose terms take more bytes than this (only one with hundreds of long, distinct
#: targets could) is stored without terms (``terms`` NULL) and is found by its text alone:
#: a ``tsvector`` holds at most 1 MB (each term costs its UTF-8 bytes and 4 more).
MAX_TERM_BYTES = 512 * 1024
#: Limits on what a search box may hold.
MAX_QUERY_CHARS = 200
MAX_QUERY_TERMS = 10


def fold(text: str) -> str:
    """``text`` as search compares it: Unicode NFKC, then case-folded."""
    return unicodedata.normalize("NFKC", text).casefold()


def _words(folded: str) -> Iterable[tuple[str, bool]]:
    """(word, whether a run of Chinese or Japanese characters) for each run of ``folded``."""
    for match in _RUNS.finditer(folded):
        cjk, word = match.groups()
        yield (cjk, True) if cjk else (word, False)


def _terms_of(folded: str) -> set[str]:
    out: set[str] = set()
    for run, cjk in _words(folded):
        if cjk:
            out.update(run[i : i + 2] for i in range(len(run) - 1))
            out.add(run[-1])
        else:
            out.add(run[:MAX_WORD])
    return out


@dataclass(frozen=True, slots=True)
class Document:
    """What is stored to search one demand: its folded text and its terms (``None``: too
    many, see :data:`MAX_TERM_BYTES`), as :func:`terms_literal` writes them."""

    text: str
    terms: str | None


def document(reference: str | None, summary: str, targets: Iterable[str]) -> Document:
    """The search row of a demand with these fields (one line each in ``text``)."""
    folded = fold("\n".join([reference or "", summary, *targets]))
    terms = _terms_of(folded)
    size = sum(len(t.encode()) + 4 for t in terms)
    return Document(folded, terms_literal(terms) if size <= MAX_TERM_BYTES else None)


def terms_literal(terms: Iterable[str]) -> str:
    """Terms in ``tsvector``'s text form (``'a' 'b'``), which SQLite stores as they are.

    Terms hold letters and digits only, never a quote, backslash or space; quoting each
    keeps PostgreSQL from reading anything into them, and lets SQLite find a term's start
    (``'prot``) or the whole term (``'香港'``) with ``instr``."""
    return " ".join(f"'{t}'" for t in sorted(terms))


@dataclass(frozen=True, slots=True)
class Lookup:
    """One stored term a search term needs: exactly, or any term beginning with it."""

    term: str
    prefix: bool


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a search: ``text`` must appear in the demand's folded text, and each of
    ``lookups`` among its terms (which says it appears at the start of a word)."""

    text: str
    lookups: tuple[Lookup, ...]


class BadQuery(ValueError):
    """A search box's text that cannot be searched for (the message says why)."""


def parse(query: str) -> list[Term]:
    """The terms of a search box's text; empty for blank text. :class:`BadQuery` beyond
    :data:`MAX_QUERY_CHARS` characters or :data:`MAX_QUERY_TERMS` terms."""
    if len(query) > MAX_QUERY_CHARS:
        raise BadQuery(f"at most {MAX_QUERY_CHARS} characters")
    if "\x00" in query:
        raise BadQuery("must not contain a NUL character")
    pieces = fold(query).split()
    if len(pieces) > MAX_QUERY_TERMS:
        raise BadQuery(f"at most {MAX_QUERY_TERMS} words")
    out: list[Term] = []
    for piece in dict.fromkeys(pieces):  # in order, each once
        lookups: list[Lookup] = []
        for run, cjk in _words(piece):
            if cjk and len(run) > 1:
                lookups.extend(Lookup(run[i : i + 2], False) for i in range(len(run) - 1))
            else:
                # a word, or a single character, begins some stored term
                lookups.append(Lookup(run[:MAX_WORD], True))
        out.append(Term(piece, tuple(dict.fromkeys(lookups))))
    return out


def tsquery(terms: Iterable[Term]) -> str | None:
    """The PostgreSQL ``tsquery`` (text form) every term's lookups make, ANDed; None when
    no term has a lookup (punctuation only: the text check alone decides)."""
    parts = [
        f"'{lookup.term}'{':*' if lookup.prefix else ''}"
        for term in terms
        for lookup in term.lookups
    ]
    return " & ".join(dict.fromkeys(parts)) or None


def matches(doc: Document, terms: Iterable[Term]) -> bool:
    """The rule, in Python: what both databases' queries select (tests compare them)."""
    stored = None if doc.terms is None else doc.terms.split(" ")
    for term in terms:
        if term.text not in doc.text:
            return False
        if stored is None:
            continue
        for lookup in term.lookups:
            wanted = f"'{lookup.term}" if lookup.prefix else f"'{lookup.term}'"
            if not any(s.startswith(wanted) for s in stored):
                return False
    return True


def store(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write search rows (``demand_id``, and :class:`Document`'s ``text`` and ``terms``) for
    demands being written in this transaction: one INSERT (PostgreSQL: COPY) for all."""
    inserts.insert_rows(session, DemandSearch, rows)
