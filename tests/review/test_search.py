"""The search rule as pure functions: what a demand stores, how a search box is read, and
what matches (the queues' SQL is checked against :func:`search.matches` in test_queues)."""

from __future__ import annotations

import pytest

from dueprocess.review import search

TARGETS = ["https://microblog.demo/@hk_student_union/1", "@Reporter_Lee"]
DOC = search.document(
    "NSD/202007/0042",
    "Identify the organisers of the protest: 光復香港，時代革命 on ＦＵＬＬ-width",
    TARGETS,
)


def _finds(query: str, doc: search.Document = DOC) -> bool:
    return search.matches(doc, search.parse(query))


@pytest.mark.parametrize(
    "query",
    [
        "protest",
        "PROTEST",
        "prot",  # the start of a word
        "organisers protest",  # every word, in any order
        "protest organisers",
        "NSD/202007/0042",
        "nsd/2020",
        "0042",
        "@hk_student",  # a target, by its handle
        "hk_student_union/1",
        "reporter_lee",
        "full-width",  # full-width letters are folded to ASCII
        "ｆｕｌｌ",
        "光復香港",
        "香港",  # a two-character word: every character starts a word
        "港",
        "革命",
        "時代革命",
        "光復香港，時代革命",
    ],
)
def test_found(query: str) -> None:
    assert _finds(query)


@pytest.mark.parametrize(
    "query",
    [
        "test",  # inside "protest", not at the start of a word
        "rotest",
        "protests",
        "protest police",  # every word must be there
        "時代香港",  # the pairs are all there, apart; the term is not
        "光复香港",  # Simplified is not folded to Traditional
        "NSD/202008",
        "student_union/2",
    ],
)
def test_not_found(query: str) -> None:
    assert not _finds(query)


def test_stored_terms_are_words_and_pairs_of_chinese_characters() -> None:
    terms = set(DOC.terms.replace("'", "").split(" ")) if DOC.terms else set()
    assert {"nsd", "202007", "0042", "protest", "hk", "student", "union", "reporter"} <= terms
    assert {"光復", "復香", "香港", "港", "時代", "代革", "革命", "命"} <= terms
    assert "香" not in terms  # 香 starts 香港, which a prefix lookup finds


def test_queries_look_up_words_by_prefix_and_chinese_by_pairs() -> None:
    (hk,) = search.parse("光復香港")
    assert [(lk.term, lk.prefix) for lk in hk.lookups] == [
        ("光復", False),
        ("復香", False),
        ("香港", False),
    ]
    assert search.tsquery(search.parse("prot 港")) == "'prot':* & '港':*"
    assert search.tsquery(search.parse("- /")) is None  # punctuation: the text alone decides


def test_a_blank_query_is_no_search_and_limits_are_refused() -> None:
    assert search.parse("   ") == []
    with pytest.raises(search.BadQuery, match="200 characters"):
        search.parse("x" * 201)
    with pytest.raises(search.BadQuery, match="10 words"):
        search.parse(" ".join(f"w{i}" for i in range(11)))
    with pytest.raises(search.BadQuery, match="NUL"):
        search.parse("a\x00b")


def test_a_demand_with_too_many_terms_is_found_by_its_text() -> None:
    # 1,000 targets (the most a demand may name) of 10 long, distinct words each
    many = [" ".join(f"w{i:04d}{j}{'x' * 60}" for j in range(10)) for i in range(1000)]
    doc = search.document("R-1", "a sweep", many)
    assert doc.terms is None
    assert search.matches(doc, search.parse("w09999"))
    assert search.matches(doc, search.parse("sweep"))
    assert search.matches(doc, search.parse("eep"))  # no terms: the text alone decides
    assert not search.matches(doc, search.parse("w10000"))
