"""The checklist file: YAML people can read and review, checked with line numbers.

A file is one mapping::

    title: Legal review                      # required: what reviewers see as its name
    kind: legal                              # required: legal or human-rights
    questions:                               # required: at least one
      - id: in-writing                       # required, unique: letters, digits . _ -
        text: Is the demand in writing?      # required: the question, one line
        help: >-                             # optional: what to check, and why
          Yes only if we hold the demand itself as a document ...
        required: true                       # optional, default true: true or false

A question's ``id`` is what an answer refers to: keep it while the question keeps its
meaning. When a new version is activated, answers to a question with the same id and the
same text carry over (``docs/review.md``); change the text and it must be answered again.
``text`` is read as one line (line breaks and runs of spaces count as one space), so
re-wrapping a file changes nothing; ``help`` keeps its paragraphs.

Every scalar is read as the text written (``required`` must be written ``true`` or
``false``), and surrounding whitespace is dropped. Unknown or repeated keys are errors.
:func:`load_checklist` reports every problem at once, each with its line, field path and
question id, in the form policy files use (``docs/checklists.md``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass
from typing import Any

import yaml

from dueprocess.errors import FieldError, InvalidInput
from dueprocess.review.models import ChecklistKind

TOP_KEYS = ("title", "kind", "questions")
QUESTION_KEYS = ("id", "text", "help", "required")
KINDS = tuple(kind.value for kind in ChecklistKind)
MAX_TITLE = 300
MAX_ID = 100
MAX_TEXT = 1000
MAX_HELP = 10_000
MAX_QUESTIONS = 200
#: The largest file accepted (the two default checklists together are under 15,000).
MAX_CHARS = 500_000

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NULL = "tag:yaml.org,2002:null"
_SPACE = re.compile(r"\s+")

Loc = tuple[str | int, ...]


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored as text (a NUL character, or a lone surrogate that is
    not UTF-8), or None."""
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate)"
    return None


@dataclass(frozen=True)
class Question:
    """One question: its stable ``id``, the ``text`` asked, ``help`` for the reviewer, and
    whether it must be answered before a demand leaves review."""

    id: str
    text: str
    help: str = ""
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The stored form (``ChecklistVersion.questions`` holds a list of these)."""
        return {"id": self.id, "text": self.text, "help": self.help, "required": self.required}

    @classmethod
    def of(cls, stored: dict[str, Any]) -> Question:
        """A question from its stored form."""
        return cls(
            id=str(stored["id"]),
            text=str(stored["text"]),
            help=str(stored.get("help") or ""),
            required=bool(stored.get("required", True)),
        )


@dataclass(frozen=True)
class ChecklistDocument:
    """A checked checklist file."""

    title: str
    kind: ChecklistKind
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        """The question with this id, or None."""
        return next((q for q in self.questions if q.id == question_id), None)

    def stored_questions(self) -> list[dict[str, Any]]:
        """The questions as ``ChecklistVersion.questions`` keeps them."""
        return [q.as_dict() for q in self.questions]

    def digest(self) -> str:
        """SHA-256 of the content's canonical JSON (title, kind, questions in order): the
        same checklist gives the same digest however its file was written."""
        return content_digest(self.title, self.kind, self.stored_questions())


def content_digest(title: str, kind: ChecklistKind | str, questions: list[dict[str, Any]]) -> str:
    """SHA-256 of ``{"title", "kind", "questions"}`` as JSON with sorted keys and no spaces:
    what the audit events of a version record, so a stored version can be checked."""
    canonical = json.dumps(
        {"title": title, "kind": str(kind), "questions": questions},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChecklistProblem(FieldError):
    """One problem in a checklist file: where (1-based line and column, field path, and the
    question's id when there is one)."""

    line: int = 1
    column: int = 1
    question_id: str | None = None

    @property
    def field(self) -> str:
        """The field path, e.g. ``questions[2].text``; empty for the file as a whole."""
        return self.where() if self.loc else ""

    def format(self, source: str) -> str:
        """``legal.yaml:14: questions[2].text (question "in-writing"): has no text``"""
        where = self.field
        question = f' (question "{self.question_id}")' if self.question_id else ""
        head = f"{where}{question}: " if where else ""
        return f"{source}:{self.line}: {head}{self.msg}"


class ChecklistFileError(InvalidInput):
    """The file is not a usable checklist; ``problems`` holds every problem, in line order."""

    def __init__(self, problems: list[ChecklistProblem], source: str = "<checklist>") -> None:
        self.problems = sorted(problems, key=lambda p: (p.line, p.column))
        self.source = source
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(p.format(self.source) for p in self.problems)


class _Reader:
    """Collects problems while reading YAML nodes (which carry their line and column)."""

    def __init__(self) -> None:
        self.problems: list[ChecklistProblem] = []

    def add(self, node: yaml.Node, loc: Loc, msg: str, question_id: str | None = None) -> None:
        mark = node.start_mark
        self.problems.append(
            ChecklistProblem(
                loc, msg, line=mark.line + 1, column=mark.column + 1, question_id=question_id
            )
        )

    def mapping(
        self, node: yaml.Node, loc: Loc, allowed: tuple[str, ...], what: str, qid: str | None
    ) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        """The mapping's keys -> (key node, value node); unknown and repeated keys are
        reported. None (and a problem) if ``node`` is not a mapping."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, loc, f"{what} must be a mapping of keys ({', '.join(allowed)})", qid)
            return None
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self.add(key_node, loc, "a key must be a plain word", qid)
                continue
            key = str(key_node.value)
            if key in found:
                line = found[key][0].start_mark.line + 1
                self.add(
                    key_node, (*loc, key), f"key {key!r} appears twice (first on line {line})", qid
                )
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; use {', '.join(allowed)}"
                self.add(key_node, (*loc, key), f"unknown key {key!r}{hint}", qid)
            else:
                found[key] = (key_node, value_node)
        return found

    def text(
        self, node: yaml.Node, loc: Loc, limit: int, qid: str | None = None, *, empty: bool = False
    ) -> str | None:
        """A scalar's written text, stripped; None (and a problem) if it is not usable."""
        if not isinstance(node, yaml.ScalarNode):
            self.add(node, loc, "must be text, not a list or mapping", qid)
            return None
        is_null = node.tag == _NULL and node.style is None
        value = "" if is_null else str(node.value).strip()
        if not value and not empty:
            self.add(node, loc, "has no text", qid)
            return None
        if len(value) > limit:
            self.add(node, loc, f"is {len(value)} characters long; at most {limit}", qid)
            return None
        return value


@dataclass(frozen=True)
class _Read:
    """A question as read: its id and text when each was usable (checked across questions
    even if another field failed), and the question when everything was."""

    id: str | None
    text: str | None
    question: Question | None


def _question(reader: _Reader, node: yaml.Node, index: int) -> _Read:
    loc: Loc = ("questions", index)
    qid: str | None = None
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == "id" and isinstance(value_node, yaml.ScalarNode):
                qid = str(value_node.value).strip() or None
    fields = reader.mapping(node, loc, QUESTION_KEYS, "a question", qid)
    if fields is None:
        return _Read(None, None, None)
    before = len(reader.problems)
    for key in ("id", "text"):
        if key not in fields:
            reader.add(node, (*loc, key), f"missing key {key!r}", qid)
    question_id = None
    if "id" in fields:
        value_node = fields["id"][1]
        question_id = reader.text(value_node, (*loc, "id"), MAX_ID, qid)
        if question_id is not None and not _ID.match(question_id):
            reader.add(
                value_node,
                (*loc, "id"),
                f"{question_id!r} is not a usable id: use letters, digits, '.', '_' and '-', "
                "starting with a letter or digit (e.g. in-writing)",
                qid,
            )
            question_id = None
    text = None
    if "text" in fields:
        text = reader.text(fields["text"][1], (*loc, "text"), MAX_TEXT, qid)
        text = _SPACE.sub(" ", text) if text is not None else None
    help_text = ""
    if "help" in fields:
        help_text = reader.text(fields["help"][1], (*loc, "help"), MAX_HELP, qid, empty=True) or ""
    required = True
    if "required" in fields:
        value_node = fields["required"][1]
        written = reader.text(value_node, (*loc, "required"), 10, qid)
        if written is not None:
            if written.lower() not in ("true", "false"):
                reader.add(
                    value_node, (*loc, "required"), f"write true or false, not {written!r}", qid
                )
            required = written.lower() == "true"
    if len(reader.problems) > before or question_id is None or text is None:
        return _Read(question_id, text, None)
    question = Question(id=question_id, text=text, help=help_text, required=required)
    return _Read(question_id, text, question)


def _check_together(reader: _Reader, nodes: list[yaml.Node], read: list[_Read]) -> None:
    """Repeated ids, and two questions asking the same thing (a reviewer could not tell
    their answers apart)."""
    for key in ("id", "text"):
        seen: dict[str, int] = {}
        for index, each in enumerate(read):
            value = each.id if key == "id" else each.text
            if value is None:
                continue
            first = seen.setdefault(value.lower() if key == "text" else value, index)
            if first != index:
                what = f'id "{value}" is' if key == "id" else "the same text is"
                line = nodes[first].start_mark.line + 1
                reader.add(
                    _value_node(nodes[index], key),
                    ("questions", index, key),
                    f"{what} already used by questions[{first}] (line {line})",
                    each.id,
                )


def _value_node(node: yaml.Node, key: str) -> yaml.Node:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == key:
                return value_node  # type: ignore[no-any-return]
    return node


def load_checklist(text: str, source: str = "<checklist>") -> ChecklistDocument:
    """Parse and check a checklist file; :class:`ChecklistFileError` lists every problem."""
    if len(text) > MAX_CHARS:
        message = f"the file is {len(text)} characters long; at most {MAX_CHARS}"
        raise ChecklistFileError([ChecklistProblem((), message)], source)
    unusable = text_problem(text)
    if unusable is not None:
        raise ChecklistFileError([ChecklistProblem((), f"the file {unusable}")], source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        column = mark.column + 1 if mark is not None else 1
        problem = ChecklistProblem(
            (), f"not valid YAML: {exc.problem or exc.context}", line=line, column=column
        )
        raise ChecklistFileError([problem], source) from exc
    except yaml.YAMLError as exc:
        raise ChecklistFileError([ChecklistProblem((), f"not valid YAML: {exc}")], source) from exc
    if root is None:
        raise ChecklistFileError([ChecklistProblem((), "the file is empty")], source)
    reader = _Reader()
    fields = reader.mapping(root, (), TOP_KEYS, "a checklist file", None)
    if fields is None:
        raise ChecklistFileError(reader.problems, source)
    for key in TOP_KEYS:
        if key not in fields:
            reader.add(root, (key,), f"missing key {key!r}")
    title = reader.text(fields["title"][1], ("title",), MAX_TITLE) if "title" in fields else None
    kind = None
    if "kind" in fields:
        written = reader.text(fields["kind"][1], ("kind",), 50)
        if written is not None:
            try:
                kind = ChecklistKind(written)
            except ValueError:
                reader.add(
                    fields["kind"][1],
                    ("kind",),
                    f"unknown kind {written!r}: use {' or '.join(KINDS)}",
                )
    questions: list[_Read] = []
    if "questions" in fields:
        node = fields["questions"][1]
        if not isinstance(node, yaml.SequenceNode):
            reader.add(node, ("questions",), "must be a list of questions")
        elif not node.value:
            reader.add(node, ("questions",), "a checklist needs at least one question")
        elif len(node.value) > MAX_QUESTIONS:
            reader.add(
                node, ("questions",), f"{len(node.value)} questions; at most {MAX_QUESTIONS}"
            )
        else:
            questions = [_question(reader, item, i) for i, item in enumerate(node.value)]
            _check_together(reader, list(node.value), questions)
    if reader.problems or title is None or kind is None:
        raise ChecklistFileError(reader.problems, source)
    return ChecklistDocument(
        title=title,
        kind=kind,
        questions=tuple(each.question for each in questions if each.question is not None),
    )


def dump_checklist(document: ChecklistDocument) -> str:
    """The file for ``document``: ``load_checklist(dump_checklist(d)) == d`` for any loaded
    ``d``. Help is written as a folded block so the file stays readable."""
    lines = [f"title: {_scalar(document.title)}", f"kind: {document.kind.value}", "questions:"]
    for question in document.questions:
        lines.append(f"  - id: {_scalar(question.id)}")
        lines.append(f"    text: {_scalar(question.text)}")
        if question.help:
            lines.extend(_help_block(question.help))
        lines.append(f"    required: {'true' if question.required else 'false'}")
    return "\n".join(lines) + "\n"


def _help_block(text: str) -> list[str]:
    """Help as a folded block wrapped at 88 columns when that reads back as the same text
    (one paragraph, single spaces), else as a literal block kept line for line."""
    wrapped = textwrap.wrap(text, width=82, break_long_words=False, break_on_hyphens=False)
    if "\n" not in text and " ".join(wrapped) == text:
        return ["    help: >-", *(f"      {line}" for line in wrapped)]
    return ["    help: |2-", *(f"      {line}" if line else "" for line in text.split("\n"))]


def _scalar(value: str) -> str:
    """``value`` as a one-line YAML scalar that reads back as the same text."""
    dumped = yaml.safe_dump(value, allow_unicode=True, width=10_000, default_style=None)
    return dumped.removesuffix("\n...\n").removesuffix("\n")
