"""The lexicon: every entry catches its examples and misses its ordinary sentences, every
Traditional form has its Simplified twin (checked against OpenCC, apart from our table),
and matching survives the differences real text has."""

from __future__ import annotations

import opencc
import pytest

from dueprocess.review import lexicon
from dueprocess.review.lexicon import Lexicon, LexiconError

SHIPPED = lexicon.shipped()
T2S = opencc.OpenCC("t2s")


def _ids(text: str, lex: Lexicon = SHIPPED) -> list[str]:
    return [hit.entry.id for hit in lex.find(text)]


@pytest.mark.parametrize("entry", SHIPPED.entries, ids=lambda e: e.id)
def test_each_entry_catches_its_examples(entry: lexicon.Entry) -> None:
    for sentence in entry.catches:
        assert entry.id in _ids(sentence), f"{entry.id} does not catch {sentence!r}"


@pytest.mark.parametrize("entry", SHIPPED.entries, ids=lambda e: e.id)
def test_each_entry_misses_its_ordinary_sentences(entry: lexicon.Entry) -> None:
    for sentence in entry.misses:
        assert entry.id not in _ids(sentence), f"{entry.id} wrongly catches {sentence!r}"


def test_every_traditional_form_has_its_simplified_twin_by_opencc() -> None:
    checked = 0
    for entry in SHIPPED.entries:
        for hant, hans in entry.twins():
            assert T2S.convert(hant) == hans, f"{entry.id}: {hant} is {T2S.convert(hant)}"
            checked += 1
    assert checked > 150


def test_the_fold_table_turns_each_traditional_form_into_its_twin() -> None:
    for entry in SHIPPED.entries:
        for hant, hans in entry.twins():
            assert SHIPPED.fold(hant) == SHIPPED.fold(hans), entry.id
    assert SHIPPED.fold_table["復"] == "复"
    assert SHIPPED.fold_table["訴"] == "诉"


def test_every_chinese_entry_shows_it_catches_both_scripts() -> None:
    """An entry whose twins differ must have a catches sentence written in each script."""
    for entry in SHIPPED.entries:
        pairs = list(entry.twins())
        if not any(hant != hans for hant, hans in pairs):
            continue
        trad_only = {t for hant, hans in pairs for t, s in zip(hant, hans, strict=True) if t != s}
        simp_only = {s for hant, hans in pairs for t, s in zip(hant, hans, strict=True) if t != s}
        assert any(set(c) & trad_only for c in entry.catches), f"{entry.id}: no Traditional"
        assert any(set(c) & simp_only for c in entry.catches), f"{entry.id}: no Simplified"


def test_every_entry_says_what_it_is_and_why() -> None:
    codes = {e.code for e in SHIPPED.entries}
    assert codes == set(lexicon.CODES)
    for entry in SHIPPED.entries:
        assert entry.what
        assert entry.why
        assert entry.group
        assert entry.forms


@pytest.mark.parametrize(
    "text",
    [
        "光復香港，時代革命",  # full-width comma
        "光復香港,時代革命",  # half-width comma
        "光復香港 時代革命",  # a space
        "光復香港　時代革命",  # an ideographic space
        "光復香港、時代革命",
        "光復香港\n時代革命",
        "光復香港！！時代革命",
        "光\u200b復香港時代革命",  # a zero-width space inside
        "光復香港🇭🇰時代革命",  # emoji between the halves
        "光复香港，时代革命",  # Simplified
        "光复香港，時代革命",  # the two scripts mixed
        "＃光復香港，時代革命＃",  # full-width hash signs
    ],
)
def test_a_slogan_matches_whatever_stands_between_its_halves(text: str) -> None:
    (hit,) = SHIPPED.find(text)
    assert hit.entry.id == "liberate-hong-kong"
    assert hit.matched.startswith("光")
    assert hit.matched[-1] == "命"
    assert hit.matched in text


def test_the_words_matched_are_as_the_text_wrote_them() -> None:
    text = "Tonight: LIBERATE  HONG KONG, Revolution of our Times!!"
    (hit,) = SHIPPED.find(text)
    assert hit.matched == "LIBERATE  HONG KONG, Revolution of our Times"
    assert text[hit.start : hit.end] == hit.matched
    assert hit.snippet == "Tonight: LIBERATE HONG KONG, Revolution of our Times!!"  # one line


def test_full_width_latin_letters_and_digits_match() -> None:
    assert _ids("ＬＩＢＥＲＡＴＥ ＨＯＮＧ ＫＯＮＧ") == ["liberate-hong-kong"]
    assert _ids("７２１事件") == ["yuen-long-721"]


def test_a_long_text_is_shown_as_a_snippet_around_the_words() -> None:
    text = "今日天氣好好，" * 10 + "五大訴求，缺一不可" + "，我哋去飲茶" * 10
    (hit,) = SHIPPED.find(text)
    assert hit.snippet.startswith("…")
    assert hit.snippet.endswith("…")
    assert "五大訴求，缺一不可" in hit.snippet
    assert len(hit.snippet) == len(hit.matched) + 2 * lexicon.SNIPPET_CHARS + 2


def test_overlapping_hits_of_one_code_keep_the_longest() -> None:
    # The whole slogan, not its halves again; 反對國安法, not 國安法 inside it.
    assert _ids("光復香港，時代革命") == ["liberate-hong-kong"]
    assert _ids("反對國安法") == ["against-national-security-law"]


def test_hits_of_different_codes_are_all_kept() -> None:
    found = _ids("記者報道：教會為香港禱告")
    assert found == ["journalists", "news-reporting", "christianity", "christianity"]


def test_a_form_written_without_a_break_is_not_found_across_one() -> None:
    # 道教 (Taoism) would be read across the colon of 報道：教會 (reporting: the church).
    assert "taoism-and-folk-religion" not in _ids("報道：教會")
    assert _ids("道教") == ["taoism-and-folk-religion"]
    assert "press-freedom" not in _ids("I'm free. Press the button.")
    assert _ids("Free press!") == ["press-freedom"]
    assert _ids("Anti-extradition") == ["anti-extradition"]
    # Where the form has a break, the text may have any: 五大訴求，缺一不可.
    assert _ids("Five demands. Not one less!") == ["five-demands"]


def _tiny(*entries: dict[str, object]) -> Lexicon:
    return Lexicon([lexicon.parse_entry(e, i) for i, e in enumerate(entries)])


def _entry(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "x",
        "code": "religion",
        "group": "test",
        "what": "test",
        "why": "test",
        "catches": ["test"],
    }
    base.update(fields)
    return base


def test_english_words_match_whole_and_in_any_case() -> None:
    tiny = _tiny(_entry(id="art", en=["art"]), _entry(id="pray", en=["pray"]))
    assert _ids("The party was great.", tiny) == []
    assert _ids("Spray paint sale.", tiny) == []
    assert _ids("Art and prayer.", tiny) == ["art"]
    assert _ids("ART. PRAY!", tiny) == ["art", "pray"]
    assert _ids("Let's pray, it's art's day", tiny) == ["pray", "art"]  # possessive


def test_an_open_ended_english_form() -> None:
    tiny = _tiny(_entry(en=["journalis*"]))
    assert _ids("Journalists and journalism.", tiny) == ["x", "x"]
    assert _ids("A photojournalist.", tiny) == []


def test_digits_do_not_run_on_into_the_text() -> None:
    assert _ids("721事件") == ["yuen-long-721"]
    assert _ids("17210事件") == []
    assert _ids("元朗7210") == []


def test_an_unless_form_stops_a_false_split_only_where_it_stands() -> None:
    assert _ids("旅遊行程") == []
    assert _ids("旅遊行程之後去遊行") == ["assembly-and-protest"]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (_entry(id="Bad Id", en=["x"]), "id: required, kebab-case"),
        (_entry(code="sports", en=["x"]), "code: one of political, journalism, religion"),
        (_entry(), "no forms"),
        (_entry(**{"zh-Hant": ["光復"], "zh-Hans": []}), "zh-Hans twin"),
        (_entry(**{"zh-Hant": ["光復香港"], "zh-Hans": ["光复"]}), "differ in length"),
        (_entry(en=["光復"]), "is not a form of whole words"),
        (_entry(**{"zh-Hant": ["abc"], "zh-Hans": ["abc"]}), "is not a Chinese form"),
        (_entry(en=["x"], why=""), "why: required"),
        (_entry(en=["x"], catches=[]), "catches: at least one"),
        (_entry(en=["x"], unles={"en": ["y"]}), "unknown keys ['unles']"),
        (_entry(en=["x"], unless={"fr": ["y"]}), "unknown scripts ['fr']"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_problem(entry: dict[str, object], problem: str) -> None:
    with pytest.raises(LexiconError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        _tiny(entry)


def test_a_character_folded_two_ways_is_refused() -> None:
    with pytest.raises(LexiconError, match="is folded to"):
        _tiny(
            _entry(id="a", **{"zh-Hant": ["遊行"], "zh-Hans": ["游行"]}),
            _entry(id="b", **{"zh-Hant": ["遊覽"], "zh-Hans": ["遨览"]}),
        )


def test_a_bad_file_is_refused() -> None:
    with pytest.raises(LexiconError, match="not valid YAML"):
        lexicon.load("entries: [")
    with pytest.raises(LexiconError, match="list of `entries`"):
        lexicon.load("- a\n")
    with pytest.raises(LexiconError, match="id used twice"):
        lexicon.load(
            "entries:\n"
            + "  - {id: a, code: religion, group: g, what: w, why: y, en: [x], catches: [x]}\n" * 2
        )
