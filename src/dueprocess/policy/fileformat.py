"""The policy file: YAML people can read and review, checked with line numbers.

A file is one mapping::

    policy: July 2020 — Facebook/WhatsApp        # name, required
    description: one paragraph for the console  # optional
    default: process                            # required: a stance, or a mapping
    #   default: {stance: refuse, condition: "...", reply: "..."}
    rules:                                      # required, may be []
      - id: hk-pause-hrdd                       # required, unique: letters, digits . _ -
        jurisdiction: HK                        # required: ISO 3166-1 alpha-2 or 3166-2
        authority: hkpf-nsd                     # optional: one authority's slug
        kinds: [user-data, removal]             # optional: any kind if absent
        legal_processes: [court-order]          # optional: any process if absent
        from: 2020-07-06                        # optional: a date (00:00 UTC) or an
        until: 2021-01-01                       #   ISO 8601 time with its zone; until is
                                                #   the first instant the rule stops
        stance: pause                           # required
        condition: pending human-rights due diligence  # required unless process/no-service
        lift_on: due-diligence report signed off       # optional, for people
        reply: We have paused ...                      # optional, sent to the requester

Every scalar is read as the text written (so ``NO``, Norway, stays ``NO``), and surrounding
whitespace is dropped. Unknown or repeated keys are errors. :func:`load_policy` reports every
problem at once, each with its line, field path and rule id; it also refuses rules that tie
(see :mod:`dueprocess.policy.rules` for the precedence).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import yaml

from dueprocess.clock import as_utc
from dueprocess.errors import FieldError, InvalidInput
from dueprocess.policy.rules import (
    KINDS,
    LEGAL_PROCESSES,
    PolicyDocument,
    Rule,
    Stance,
    authority_problem,
    condition_problem,
    find_conflicts,
    jurisdiction_problem,
    kind_problem,
    process_problem,
    rule_problems,
)

TOP_KEYS = ("policy", "description", "default", "rules")
DEFAULT_KEYS = ("stance", "condition", "reply")
RULE_KEYS = (
    "id",
    "jurisdiction",
    "authority",
    "kinds",
    "legal_processes",
    "from",
    "until",
    "stance",
    "condition",
    "lift_on",
    "reply",
)
_REQUIRED_RULE_KEYS = ("id", "jurisdiction", "stance")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class PolicyProblem(FieldError):
    """One problem in a policy file: where (1-based line and column, field path, rule id)."""

    line: int = 1
    column: int = 1
    rule_id: str | None = None

    @property
    def field(self) -> str:
        """The field path, e.g. ``rules[2].jurisdiction``; empty for the file as a whole."""
        return self.where() if self.loc else ""

    def format(self, source: str) -> str:
        """``hk.yaml:14: rules[2].jurisdiction (rule "hk-pause"): unknown ...``"""
        where = self.field
        rule = f' (rule "{self.rule_id}")' if self.rule_id else ""
        head = f"{where}{rule}: " if where else ""
        return f"{source}:{self.line}: {head}{self.msg}"


class PolicyFileError(InvalidInput):
    """The file is not a usable policy; ``errors`` holds every problem, in line order."""

    def __init__(self, errors: list[PolicyProblem], source: str = "<policy>") -> None:
        self.problems = sorted(errors, key=lambda p: (p.line, p.column))
        self.source = source
        super().__init__(self.problems)

    def __str__(self) -> str:
        return "\n".join(problem.format(self.source) for problem in self.problems)


Loc = tuple[str | int, ...]


class _Reader:
    """Walks the composed node tree, converting values and collecting every problem."""

    def __init__(self) -> None:
        self.problems: list[PolicyProblem] = []

    def add(self, node: yaml.Node, loc: Loc, msg: str, rule_id: str | None = None) -> None:
        mark = node.start_mark
        self.problems.append(
            PolicyProblem(loc, msg, line=mark.line + 1, column=mark.column + 1, rule_id=rule_id)
        )

    def mapping(
        self, node: yaml.Node, loc: Loc, allowed: tuple[str, ...], what: str
    ) -> tuple[dict[str, tuple[yaml.Node, yaml.Node]], list[tuple[yaml.Node, str]]] | None:
        """The mapping's keys -> (key node, value node), and its unknown or repeated keys."""
        if not isinstance(node, yaml.MappingNode):
            self.add(node, loc, f"{what} must be a mapping of keys ({', '.join(allowed)})")
            return None
        found: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        bad: list[tuple[yaml.Node, str]] = []
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                bad.append((key_node, "a key must be a plain word"))
                continue
            key = str(key_node.value)
            if key in found:
                bad.append((key_node, f"key {key!r} appears twice"))
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; use {', '.join(allowed)}"
                bad.append((key_node, f"unknown key {key!r}{hint}"))
            else:
                found[key] = (key_node, value_node)
        return found, bad

    def text(self, node: yaml.Node, loc: Loc, rule_id: str | None = None) -> str | None:
        """A scalar's written text, stripped; None (and a problem) if it is not usable text."""
        if not isinstance(node, yaml.ScalarNode):
            self.add(node, loc, "must be text, not a list or mapping", rule_id)
            return None
        value = str(node.value).strip()
        if (node.tag == _NULL and node.style is None) or not value:
            self.add(node, loc, "has no text", rule_id)
            return None
        return value

    def words(
        self, node: yaml.Node, loc: Loc, rule_id: str | None
    ) -> list[tuple[str, Loc, yaml.Node]]:
        """A non-empty list of scalars, each with its own location and node."""
        if not isinstance(node, yaml.SequenceNode):
            self.add(node, loc, "must be a list, e.g. [user-data, removal]", rule_id)
            return []
        if not node.value:
            self.add(
                node, loc, "an empty list matches nothing: leave the key out to match any", rule_id
            )
            return []
        out: list[tuple[str, Loc, yaml.Node]] = []
        for i, item in enumerate(node.value):
            value = self.text(item, (*loc, i), rule_id)
            if value is not None:
                out.append((value, (*loc, i), item))
        return out

    def when(self, node: yaml.Node, loc: Loc, rule_id: str | None) -> datetime | None:
        """A plain date (00:00 UTC that day) or an ISO 8601 time with its zone, in UTC."""
        value = self.text(node, loc, rule_id)
        if value is None:
            return None
        try:
            if _DATE.match(value):
                return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.add(node, loc, f"{value!r} is not a date like 2020-07-06", rule_id)
            return None
        if parsed.tzinfo is None:
            self.add(node, loc, f"{value!r} has no timezone: add one (e.g. Z or +08:00)", rule_id)
            return None
        try:
            return as_utc(parsed)
        except ValueError as exc:  # its UTC instant is past the year 9999 (or before 1)
            self.add(node, loc, str(exc), rule_id)
            return None

    def stance(self, node: yaml.Node, loc: Loc, rule_id: str | None) -> Stance | None:
        value = self.text(node, loc, rule_id)
        if value is None:
            return None
        try:
            return Stance(value)
        except ValueError:
            self.add(
                node, loc, f"unknown stance {value!r}: use one of {', '.join(Stance)}", rule_id
            )
            return None


@dataclass
class _ParsedRule:
    """A rule as read; ``clean`` if every field is usable (only then is it checked for ties)."""

    rule: Rule
    index: int
    node: yaml.Node
    fields: dict[str, tuple[yaml.Node, yaml.Node]]
    failed: set[str]
    clean: bool


def _value(reader: _Reader, key: str, node: yaml.Node, here: Loc, rule_id: str | None) -> Any:
    """One rule field converted to its model value; None (with problems added) if unusable."""
    if key == "jurisdiction":
        code = reader.text(node, here, rule_id)
        if code is None:
            return None
        problem = jurisdiction_problem(code.upper())
        if problem:
            reader.add(node, here, problem, rule_id)
            return None
        return code.upper()
    if key == "authority":
        slug = reader.text(node, here, rule_id)
        if slug is None:
            return None
        problem = authority_problem(slug.lower())
        if problem:
            reader.add(node, here, problem, rule_id)
            return None
        return slug.lower()
    if key in ("kinds", "legal_processes"):
        check = kind_problem if key == "kinds" else process_problem
        words = reader.words(node, here, rule_id)
        problems = [(check(w), w_loc, w_node) for w, w_loc, w_node in words]
        for problem, w_loc, w_node in problems:
            if problem:
                reader.add(w_node, w_loc, problem, rule_id)
        if not words or any(problem for problem, _, _ in problems):
            return None
        return frozenset(word for word, _, _ in words)
    if key in ("from", "until"):
        return reader.when(node, here, rule_id)
    if key == "stance":
        return reader.stance(node, here, rule_id)
    return reader.text(node, here, rule_id)


def _rule(reader: _Reader, node: yaml.Node, index: int) -> _ParsedRule | None:
    loc: Loc = ("rules", index)
    parsed = reader.mapping(node, loc, RULE_KEYS, "a rule")
    if parsed is None:
        return None
    fields, bad = parsed
    rule_id: str | None = None
    if "id" in fields and isinstance(fields["id"][1], yaml.ScalarNode):
        rule_id = str(fields["id"][1].value).strip() or None
    before = len(reader.problems)
    for key_node, message in bad:
        reader.add(key_node, (*loc, str(key_node.value)), message, rule_id)
    failed: set[str] = set()
    for key in _REQUIRED_RULE_KEYS:
        if key not in fields:
            reader.add(node, (*loc, key), f"missing key {key!r}", rule_id)
            failed.add(key)
    values: dict[str, Any] = {}
    for key, (_, value_node) in fields.items():
        value = _value(reader, key, value_node, (*loc, key), rule_id)
        if value is None:
            failed.add(key)
        else:
            values[key] = value
    # Fields that failed get harmless stand-ins so the checks across fields still run on the
    # rest; their own problems are already reported, so problems about them are dropped.
    rule = Rule(
        id=values.get("id", "-"),
        jurisdiction=values.get("jurisdiction", "HK"),
        stance=values.get("stance", Stance.PROCESS),
        condition=values.get("condition"),
        authority=values.get("authority"),
        kinds=values.get("kinds"),
        legal_processes=values.get("legal_processes"),
        starts=values.get("from"),
        ends=values.get("until"),
        lift_on=values.get("lift_on"),
        reply=values.get("reply"),
    )
    for name, message in rule_problems(rule):
        if name in failed or (name == "condition" and "stance" in failed):
            continue
        reader.add(_field_node(node, fields, name), (*loc, name), message, rule_id)
    clean = not failed and len(reader.problems) == before
    return _ParsedRule(rule, index, node, fields, failed, clean)


def _field_node(
    rule_node: yaml.Node, fields: dict[str, tuple[yaml.Node, yaml.Node]], name: str
) -> yaml.Node:
    """Where to point for a problem with ``name``: its value, or the stance, or the rule."""
    for key in (name, "stance"):
        if key in fields:
            return fields[key][1]
    return rule_node


def _default(reader: _Reader, node: yaml.Node) -> tuple[Stance | None, str | None, str | None]:
    if isinstance(node, yaml.ScalarNode):
        stance = reader.stance(node, ("default",), None)
        if stance is not None:
            problem = condition_problem(stance, None)
            if problem:
                reader.add(
                    node,
                    ("default",),
                    f"{problem}; write default: {{stance: {stance}, condition: ...}}",
                )
        return stance, None, None
    parsed = reader.mapping(node, ("default",), DEFAULT_KEYS, "default")
    if parsed is None:
        return None, None, None
    fields, bad = parsed
    for key_node, message in bad:
        reader.add(key_node, ("default", str(key_node.value)), message)
    if "stance" not in fields:
        reader.add(node, ("default", "stance"), "missing key 'stance'")
        return None, None, None
    stance = reader.stance(fields["stance"][1], ("default", "stance"), None)
    texts: dict[str, str | None] = {}
    for key in ("condition", "reply"):
        texts[key] = reader.text(fields[key][1], ("default", key)) if key in fields else None
    if stance is not None and "condition" not in fields:
        problem = condition_problem(stance, None)
        if problem:
            reader.add(fields["stance"][1], ("default", "condition"), problem)
    return stance, texts["condition"], texts["reply"]


def load_policy(text: str, source: str = "<policy>") -> PolicyDocument:
    """Parse and check a policy file; :class:`PolicyFileError` lists every problem found."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        column = mark.column + 1 if mark is not None else 1
        message = f"not valid YAML: {exc.problem or exc.context}"
        problem = PolicyProblem((), message, line=line, column=column)
        raise PolicyFileError([problem], source) from exc
    except yaml.YAMLError as exc:
        raise PolicyFileError([PolicyProblem((), f"not valid YAML: {exc}")], source) from exc
    if root is None:
        raise PolicyFileError([PolicyProblem((), "the file is empty")], source)
    reader = _Reader()
    parsed = reader.mapping(root, (), TOP_KEYS, "a policy file")
    if parsed is None:
        raise PolicyFileError(reader.problems, source)
    fields, bad = parsed
    for key_node, message in bad:
        reader.add(key_node, (str(key_node.value),), message)
    for key in ("policy", "default", "rules"):
        if key not in fields:
            reader.add(root, (key,), f"missing key {key!r}")
    name = reader.text(fields["policy"][1], ("policy",)) if "policy" in fields else None
    description = None
    if "description" in fields:
        description = reader.text(fields["description"][1], ("description",))
    default: tuple[Stance | None, str | None, str | None] = (None, None, None)
    if "default" in fields:
        default = _default(reader, fields["default"][1])
    rules: list[_ParsedRule | None] = []
    if "rules" in fields:
        rules_node = fields["rules"][1]
        if isinstance(rules_node, yaml.SequenceNode):
            rules = [_rule(reader, node, i) for i, node in enumerate(rules_node.value)]
        elif not (isinstance(rules_node, yaml.ScalarNode) and rules_node.tag == _NULL):
            reader.add(rules_node, ("rules",), "must be a list of rules (or [])")
    read = [parsed_rule for parsed_rule in rules if parsed_rule is not None]
    _check_together(reader, read)
    stance, condition, reply = default
    if reader.problems or name is None or stance is None:
        raise PolicyFileError(reader.problems, source)
    return PolicyDocument(
        name=name,
        default=stance,
        rules=tuple(parsed_rule.rule for parsed_rule in read),
        default_condition=condition,
        default_reply=reply,
        description=description,
    )


def _check_together(reader: _Reader, read: list[_ParsedRule]) -> None:
    """Repeated ids, and ties between rules that are each fine alone."""
    seen: dict[str, _ParsedRule] = {}
    for parsed in read:
        if "id" in parsed.failed:
            continue
        first = seen.setdefault(parsed.rule.id, parsed)
        if first is not parsed:
            reader.add(
                parsed.fields["id"][1],
                ("rules", parsed.index, "id"),
                f'rule id "{parsed.rule.id}" is already used by rules[{first.index}] '
                f"(line {first.node.start_mark.line + 1})",
                parsed.rule.id,
            )
    good = [parsed for parsed in read if parsed.clean]
    for conflict in find_conflicts([parsed.rule for parsed in good]):
        first, second = good[conflict.first], good[conflict.second]
        reader.add(
            second.node,
            ("rules", second.index),
            f'{conflict.message} (rule "{first.rule.id}" is rules[{first.index}], '
            f"line {first.node.start_mark.line + 1})",
            second.rule.id,
        )


def _when_out(value: datetime) -> date | datetime:
    utc = as_utc(value)
    return utc.date() if utc.time() == time() else utc


def dump_policy(doc: PolicyDocument) -> str:
    """The file for ``doc``; ``load_policy(dump_policy(doc)) == doc`` for any valid ``doc``
    whose text fields carry no surrounding whitespace (as every loaded document)."""
    data: dict[str, Any] = {"policy": doc.name}
    if doc.description is not None:
        data["description"] = doc.description
    if doc.default_condition is None and doc.default_reply is None:
        data["default"] = str(doc.default)
    else:
        default: dict[str, str] = {"stance": str(doc.default)}
        if doc.default_condition is not None:
            default["condition"] = doc.default_condition
        if doc.default_reply is not None:
            default["reply"] = doc.default_reply
        data["default"] = default
    rules: list[dict[str, Any]] = []
    for rule in doc.rules:
        out: dict[str, Any] = {"id": rule.id, "jurisdiction": rule.jurisdiction}
        if rule.authority is not None:
            out["authority"] = rule.authority
        if rule.kinds is not None:
            out["kinds"] = [kind for kind in KINDS if kind in rule.kinds]
        if rule.legal_processes is not None:
            out["legal_processes"] = [p for p in LEGAL_PROCESSES if p in rule.legal_processes]
        if rule.starts is not None:
            out["from"] = _when_out(rule.starts)
        if rule.ends is not None:
            out["until"] = _when_out(rule.ends)
        out["stance"] = str(rule.stance)
        for key, value in (
            ("condition", rule.condition),
            ("lift_on", rule.lift_on),
            ("reply", rule.reply),
        ):
            if value is not None:
                out[key] = value
        rules.append(out)
    data["rules"] = rules
    return yaml.safe_dump(
        data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=96
    )
