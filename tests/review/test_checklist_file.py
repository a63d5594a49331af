"""The checklist file: what it accepts, how it names each mistake, the shipped defaults, and
that it round-trips."""

from __future__ import annotations

import re
import textwrap

import pytest

from dueprocess.errors import InvalidInput
from dueprocess.review.checklist_file import (
    ChecklistDocument,
    ChecklistFileError,
    Question,
    dump_checklist,
    load_checklist,
)
from dueprocess.review.checklists import default_document, default_text
from dueprocess.review.models import ChecklistKind


def load(text: str) -> ChecklistDocument:
    return load_checklist(textwrap.dedent(text), source="legal.yaml")


def errors(text: str) -> list[str]:
    """The problem lines ``load_checklist`` reports for ``text``; fails if it loads."""
    with pytest.raises(ChecklistFileError) as caught:
        load(text)
    return str(caught.value).splitlines()


GOOD = """\
    title: Legal review
    kind: legal
    questions:
      - id: in-writing
        text: >-
          Is the demand
          in   writing?
        help: |
          First paragraph.

          Second paragraph.
      - id: signed.by_official-1
        text: "Signed: by whom?"
        required: false
"""


def test_a_good_file_loads_every_field() -> None:
    doc = load(GOOD)
    assert (doc.title, doc.kind) == ("Legal review", ChecklistKind.LEGAL)
    first, second = doc.questions
    # Text is one line (re-wrapping a file changes nothing); help keeps its paragraphs.
    assert first == Question(
        "in-writing", "Is the demand in writing?", "First paragraph.\n\nSecond paragraph.", True
    )
    assert second == Question("signed.by_official-1", "Signed: by whom?", "", False)
    assert doc.question("in-writing") is first
    assert doc.question("nope") is None


def test_every_problem_is_named_with_its_line_and_question() -> None:
    found = errors("""\
        title: Legal review
        kind: legal
        questions:
          - id: in-writing
            text: Is it in writing?
            requried: true
          - id: in-writing
            text: ""
          - id: Bad Id!
            text: Is it signed?
            required: yes
          - text: Is the basis valid?
          - id: scope
            text: Is it in writing?
        extra: 1
        """)
    assert found == [
        'legal.yaml:6: questions[0].requried (question "in-writing"): unknown key '
        "'requried'; did you mean 'required'?",
        'legal.yaml:7: questions[1].id (question "in-writing"): id "in-writing" is already used '
        "by questions[0] (line 4)",
        'legal.yaml:8: questions[1].text (question "in-writing"): has no text',
        "legal.yaml:9: questions[2].id (question \"Bad Id!\"): 'Bad Id!' is not a usable id: use "
        "letters, digits, '.', '_' and '-', starting with a letter or digit (e.g. in-writing)",
        'legal.yaml:11: questions[2].required (question "Bad Id!"): write true or false, '
        "not 'yes'",
        "legal.yaml:12: questions[3].id: missing key 'id'",
        'legal.yaml:14: questions[4].text (question "scope"): the same text is already used by '
        "questions[0] (line 4)",
        "legal.yaml:15: extra: unknown key 'extra'; use title, kind, questions",
    ]


def test_the_file_as_a_whole() -> None:
    assert errors("") == ["legal.yaml:1: the file is empty"]
    assert errors("- a list\n") == [
        "legal.yaml:1: a checklist file must be a mapping of keys (title, kind, questions)"
    ]
    (bad_yaml,) = errors("title: [unclosed\n")
    assert bad_yaml.startswith("legal.yaml:2: not valid YAML:")
    assert errors("title: T\n") == [
        "legal.yaml:1: kind: missing key 'kind'",
        "legal.yaml:1: questions: missing key 'questions'",
    ]
    assert errors("title: T\nkind: legal\nkind: legal\nquestions: []\n") == [
        "legal.yaml:3: kind: key 'kind' appears twice (first on line 2)",
        "legal.yaml:4: questions: a checklist needs at least one question",
    ]
    assert errors("title: T\nkind: human_rights\nquestions: {}\n") == [
        "legal.yaml:2: kind: unknown kind 'human_rights': use legal or human-rights",
        "legal.yaml:3: questions: must be a list of questions",
    ]
    assert errors("title: ~\nkind: legal\nquestions:\n  - just text\n") == [
        "legal.yaml:1: title: has no text",
        "legal.yaml:4: questions[0]: a question must be a mapping of keys (id, text, help, "
        "required)",
    ]


def test_limits_are_named() -> None:
    long_text = "x" * 1001
    (problem,) = errors(f"title: T\nkind: legal\nquestions:\n  - id: a\n    text: {long_text}\n")
    assert (
        problem
        == 'legal.yaml:5: questions[0].text (question "a"): is 1001 characters long; at most 1000'
    )
    with pytest.raises(ChecklistFileError, match="at most 500000"):
        load_checklist("#" * 500_001)


def test_a_file_error_is_invalid_input_naming_each_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        load("title: T\nkind: legal\nquestions:\n  - id: a\n    text: ''\n")
    (error,) = caught.value.errors
    assert error.loc == ("questions", 0, "text")


@pytest.mark.parametrize("kind", list(ChecklistKind))
def test_the_shipped_defaults_are_valid_and_round_trip(kind: ChecklistKind) -> None:
    doc = default_document(kind)
    assert doc.kind is kind
    assert load_checklist(dump_checklist(doc)) == doc
    assert all(q.help for q in doc.questions), "every default question helps the reviewer"
    assert any(q.required for q in doc.questions)
    text = default_text(kind)
    assert not re.search(r"/work|/home|\.\./|shared/", text), "no local file names"


def test_the_defaults_ask_what_the_issue_asks() -> None:
    legal = {q.id for q in default_document(ChecklistKind.LEGAL).questions}
    assert {
        "in-writing",
        "signed-by-competent-official",
        "legal-basis",
        "jurisdiction",
        "scope-narrow",
        "dates-bounded",
        "process-sufficient",
    } <= legal
    rights = {q.id for q in default_document(ChecklistKind.HUMAN_RIGHTS).questions}
    assert {
        "legitimate-aim",
        "necessary-proportionate",
        "targets-protected-expression",
        "risk-to-user",
        "jurisdiction-record",
    } <= rights
    everything = default_text(ChecklistKind.LEGAL) + default_text(ChecklistKind.HUMAN_RIGHTS)
    for standard in (
        "Santa Clara Principles",
        "Guiding Principles",
        "Global Network Initiative",
        "article 17",
        "19(3)",
    ):
        assert standard in everything, standard


def test_dump_quotes_what_yaml_would_misread() -> None:
    doc = ChecklistDocument(
        "Legal: review",
        ChecklistKind.LEGAL,
        (
            Question("null", "yes", "  spaced  help \n\n# not a comment", True),
            Question("b", "Is it #1? - or: not", "", False),
        ),
    )
    again = load_checklist(dump_checklist(doc))
    assert again.title == "Legal: review"
    assert again.questions[0] == Question("null", "yes", "spaced  help \n\n# not a comment", True)
    assert again.questions[1] == doc.questions[1]
