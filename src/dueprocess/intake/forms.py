"""Form posts of the officers' portal and of staff entry, turned into :class:`DemandIn`, and
every refusal turned back into a message for one field of the form.

Pure functions: no database, no HTTP, no files. The routes (``portal.py``, ``entry.py``) read
the post into a :class:`DemandForm`, call :func:`validate`, and, when the service refuses,
:func:`errors_to_fields`; the templates show each message next to its field.

Decisions the form makes for the person filling it in:

- **Times carry a zone.** One select, ``tz``, gives the UTC offset of every date and time on
  the form; a time typed with its own offset (``2020-07-08T09:30+08:00``) keeps that offset.
  A time without either is refused (naming ``tz``), never guessed.
- **The period is in whole days**, both inclusive: from 00:00:00 of the first day to 23:59:59
  of the last, in the form's zone.
- **Targets are one per line**: a line starting ``http://``, ``https://`` or ``post:`` names a
  content item, anything else an account (``@handle``). A message about a target names its line.
- **Blank means absent**: an empty optional field is left out rather than sent as ``""``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from typing import Any

from pydantic import ValidationError

from dueprocess.demands.models import Channel, DataCategory, DemandKind, LegalProcess
from dueprocess.demands.schemas import DemandIn
from dueprocess.errors import FieldError, from_validation
from dueprocess.intake.record import CONFIRM_NEW, REPEAT

#: Where a problem that belongs to no single field is shown (top of the form).
FORM = "form"
#: The file input's name.
DOCUMENT = "document"

#: The text inputs a demand form may carry (``data_categories`` is a list, read separately).
TEXT_FIELDS = (
    "form_key",
    "authority",
    "channel",
    "sender",
    "reference",
    "jurisdiction",
    "kind",
    "legal_process",
    "legal_basis_instrument",
    "legal_basis_article",
    "summary",
    "period_start",
    "period_end",
    "received_at",
    "deadline",
    "tz",
    "penalty",
    "gag_order_basis",
    "gag_order_until",
    "emergency_justification",
    "targets",
    "confirmed_new",
)

#: Channels staff may record for a demand they enter by hand.
ENTRY_CHANNELS = (Channel.EMAIL, Channel.POST, Channel.FAX)

#: UTC offsets in use somewhere in the world, as ``(value, label)`` for the ``tz`` select.
OFFSETS: tuple[tuple[str, str], ...] = tuple(
    (value, "UTC" if value == "+00:00" else f"UTC{value}")
    for value in (
        "-12:00", "-11:00", "-10:00", "-09:30", "-09:00", "-08:00", "-07:00", "-06:00",
        "-05:00", "-04:00", "-03:30", "-03:00", "-02:00", "-01:00", "+00:00", "+01:00",
        "+02:00", "+03:00", "+03:30", "+04:00", "+04:30", "+05:00", "+05:30", "+05:45",
        "+06:00", "+06:30", "+07:00", "+08:00", "+08:45", "+09:00", "+09:30", "+10:00",
        "+10:30", "+11:00", "+12:00", "+12:45", "+13:00", "+14:00",
    )
)  # fmt: skip

#: How the form names each field (the error summary at the top of a refused form uses these).
LABELS: dict[str, str] = {
    FORM: "The form",
    "authority": "Issuing authority",
    "channel": "Came by",
    "sender": "Sender",
    "received_at": "Received",
    "reference": "Your reference",
    "jurisdiction": "Jurisdiction",
    "kind": "Kind of demand",
    "legal_process": "Legal process",
    "legal_basis_instrument": "Legal basis: instrument",
    "legal_basis_article": "Legal basis: article",
    "summary": "Summary",
    "data_categories": "Data asked for",
    "targets": "Targets",
    "tz": "Time zone",
    "period_start": "Data from",
    "period_end": "Data to",
    "deadline": "Deadline",
    "penalty": "Penalty for missing the deadline",
    "gag_order_basis": "Gag order: basis",
    "gag_order_until": "Gag order: until",
    "emergency_justification": "Emergency",
    DOCUMENT: "Signed document",
    "confirmed_new": "A new demand",
}

#: Said next to the checkbox that confirms a repeat is a new demand (shown with the warning).
CONFIRM_ON_FORM = "if it is a new demand all the same, tick this box and send the form again"

KIND_HINTS: dict[DemandKind, str] = {
    DemandKind.USER_DATA: "hand over data about a user",
    DemandKind.PRESERVATION: "keep data until a further order",
    DemandKind.EMERGENCY_DISCLOSURE: "disclose at once: danger of death or serious injury",
    DemandKind.REMOVAL: "remove content",
    DemandKind.GEO_RESTRICTION: "withhold content in one jurisdiction",
    DemandKind.ACCOUNT_RESTRICTION: "suspend or restrict an account",
    DemandKind.DECRYPTION: "decrypt communications",
    DemandKind.INTERCEPTION: "intercept communications",
}
KINDS = tuple((k.value, f"{k.value}: {KIND_HINTS[k]}") for k in DemandKind)
PROCESSES = tuple((p.value, p.value.replace("-", " ")) for p in LegalProcess)
CATEGORIES = tuple((c.value, c.value) for c in DataCategory)

# Field names in service messages, as the form calls them.
_WORDS = {
    "received_at": "the time it was received",
    "period_start": "the first day",
}
_CONTENT_PREFIXES = ("http://", "https://", "post:")
_OFFSET_RE = re.compile(r"^[+-](0\d|1[0-4]):[0-5]\d$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MAX_TARGET_LINES = 1000


@dataclass
class DemandForm:
    """What was typed into a demand form, kept as text so a refused form shows it again."""

    values: dict[str, str] = field(default_factory=dict)
    data_categories: list[str] = field(default_factory=list)

    @classmethod
    def from_items(cls, items: Iterable[tuple[str, object]]) -> DemandForm:
        """From a form post's ``(name, value)`` pairs; files and unknown names are ignored.

        A repeated text field keeps its first value; ``data_categories`` keeps every value.
        """
        values: dict[str, str] = {}
        categories: list[str] = []
        for name, value in items:
            if not isinstance(value, str):
                continue
            if name == "data_categories":
                categories.append(value.strip())
            elif name in TEXT_FIELDS and name not in values:
                values[name] = value
        return cls(values, categories)

    def get(self, name: str) -> str:
        """The field's text, stripped; ``""`` when absent."""
        return self.values.get(name, "").strip()


@dataclass
class Checked:
    """The outcome of :func:`validate`: a demand, or the message for each bad field.

    ``lines`` maps each target's position to its line in the ``targets`` box (1-based), so a
    later refusal from the service can name the line too.
    """

    demand: DemandIn | None
    errors: dict[str, str]
    lines: list[int]


def validate(
    form: DemandForm,
    *,
    authority: str,
    staff: bool,
) -> Checked:
    """Check a form and build the :class:`DemandIn` it describes.

    ``authority`` is the slug the demand is for: the officer's own (portal) or the one picked
    (staff entry). ``staff`` adds the entry fields: channel and sender required, received-at
    optional. Every problem found is returned, named by field; cross-field rules of
    :meth:`DemandIn.consistency_errors` are applied too, so the service's later checks only
    concern the registry and the clock.
    """
    errors: dict[str, str] = {}
    body: dict[str, Any] = {"authority": authority, "data_categories": form.data_categories}

    for name in ("jurisdiction", "reference", "kind", "legal_process", "summary", "penalty"):
        if form.get(name):
            body[name] = form.get(name)
    if form.get("emergency_justification"):
        body["emergency_justification"] = form.get("emergency_justification")
    body["legal_basis"] = {
        key: form.get(f"legal_basis_{key}")
        for key in ("instrument", "article")
        if form.get(f"legal_basis_{key}")
    }

    times = _times(form, staff, errors)
    body.update({k: v for k, v in times.items() if k != "gag_order_until"})
    basis = form.get("gag_order_basis")
    if basis:
        body["gag_order"] = {"basis": basis, "until": times.get("gag_order_until")}
    elif form.get("gag_order_until"):
        errors["gag_order_basis"] = (
            "give the order or law that forbids telling the user, or leave the end empty"
        )

    targets, lines = parse_targets(form.get("targets"))
    if len(targets) > _MAX_TARGET_LINES:
        errors["targets"] = f"at most {_MAX_TARGET_LINES} targets, one per line"
    body["targets"] = targets

    if staff:
        _entry_fields(form, body, errors)
    if form.get("form_key"):
        body["idempotency_key"] = form.get("form_key")
    if form.get("confirmed_new"):
        body["confirmed_new"] = True

    demand: DemandIn | None = None
    try:
        demand = DemandIn.model_validate(body)
    except ValidationError as exc:
        _merge(errors, errors_to_fields(from_validation(exc.errors()).errors, lines))
    if demand is not None:
        _merge(errors, errors_to_fields(demand.consistency_errors(), lines))
    return Checked(demand if not errors else None, errors, lines)


def _entry_fields(form: DemandForm, body: dict[str, Any], errors: dict[str, str]) -> None:
    channel = form.get("channel")
    if not channel:
        errors["channel"] = "required: say whether it came by e-mail, post or fax"
    elif channel not in {c.value for c in ENTRY_CHANNELS}:
        errors["channel"] = "choose e-mail, post or fax"
    sender = form.get("sender")
    if not sender:
        errors["sender"] = (
            "required: the sender's e-mail address, the postal address or the fax number"
        )
    elif channel == Channel.EMAIL.value and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", sender):
        errors["sender"] = "for a demand sent by e-mail, give the sender's e-mail address"
    else:
        body["sender"] = sender


def _times(form: DemandForm, staff: bool, errors: dict[str, str]) -> dict[str, datetime]:
    """Read the form's dates and times in its zone. A field that cannot be read is left out of
    the result and gets its own message; a missing zone gets one message, on ``tz``."""
    zone: timezone | None = None
    offset = form.get("tz")
    if offset:
        if _OFFSET_RE.match(offset):
            sign = -1 if offset[0] == "-" else 1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        else:
            errors["tz"] = "choose a UTC offset from the list"
    names = ["period_start", "period_end", "deadline", "gag_order_until"]
    if staff:
        names.append("received_at")
    out: dict[str, datetime] = {}
    needs_zone = False
    for name in names:
        text = form.get(name)
        if not text:
            continue
        whole_days = name in {"period_start", "period_end"}
        try:
            if whole_days and _DATE_RE.match(text):
                value = _read_day(text, end_of_day=name == "period_end")
            else:
                value = datetime.fromisoformat(text.replace(" ", "T", 1))
        except ValueError:
            errors[name] = (
                "not a date: use the form 2020-07-01"
                if whole_days
                else "not a date and time: use the form 2020-07-08T09:30"
            )
            continue
        if value.tzinfo is None:
            if zone is None:
                needs_zone = True
                continue
            value = value.replace(tzinfo=zone)
        out[name] = value
    if needs_zone and "tz" not in errors:
        errors["tz"] = "choose the time zone of the dates and times you entered"
    return out


def _read_day(text: str, *, end_of_day: bool) -> datetime:
    day = datetime.strptime(text, "%Y-%m-%d")  # noqa: DTZ007 - the zone is added by the caller
    return datetime.combine(day.date(), time(23, 59, 59) if end_of_day else time(0, 0))


def parse_targets(text: str) -> tuple[list[dict[str, str]], list[int]]:
    """The ``targets`` box as target dicts, and the line each came from (1-based).

    Blank lines are skipped. Whether a line is an account or a content item is decided by its
    form alone (see the module docstring); whether it is well formed is left to
    :class:`~dueprocess.demands.schemas.TargetIn`, so the API and the form agree.
    """
    targets: list[dict[str, str]] = []
    lines: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        item = line.strip()
        if not item:
            continue
        kind = "content" if item.lower().startswith(_CONTENT_PREFIXES) else "account"
        targets.append({"type": kind, "id": item})
        lines.append(number)
    return targets, lines


def field_of(loc: tuple[str | int, ...]) -> str:
    """The form field a problem's ``loc`` (from pydantic or the service) belongs to."""
    if not loc:
        return FORM
    head = loc[0]
    if head == "body" and len(loc) > 1:
        return field_of(loc[1:])
    if head in {"legal_basis", "gag_order"}:
        sub = loc[1] if len(loc) > 1 and isinstance(loc[1], str) else None
        default = "legal_basis_instrument" if head == "legal_basis" else "gag_order_basis"
        return f"{head}_{sub}" if sub in {"instrument", "article", "basis", "until"} else default
    if head == "documents":
        return DOCUMENT
    if head == "authority":
        return "authority"
    if isinstance(head, str) and (head in TEXT_FIELDS or head == "data_categories"):
        return str(head)
    return FORM


def errors_to_fields(errors: Iterable[FieldError], lines: list[int]) -> dict[str, str]:
    """``{field: message}`` for a form, from errors located as the API locates them.

    Several problems with one field are joined with ``; ``. A target's problem names its line
    in the box; messages about missing or empty values are said plainly ("required").
    """
    out: dict[str, str] = {}
    for error in errors:
        name = field_of(error.loc)
        message = _plain(error, name)
        if name == "targets" and len(error.loc) > 1 and isinstance(error.loc[1], int):
            index = error.loc[1]
            line = lines[index] if 0 <= index < len(lines) else index + 1
            message = f"line {line}: {message}"
        elif name == FORM and error.loc and error.loc[0] == "idempotency_key":
            message = (
                "this form was already used to submit a different demand; "
                "open a new form to submit another"
            )
        elif error.type == REPEAT:
            message = error.msg.removesuffix(f"; {CONFIRM_NEW}")
        _merge(out, {name: message})
        if error.type == REPEAT:
            # The form confirms with its checkbox, shown with this message.
            _merge(out, {"confirmed_new": CONFIRM_ON_FORM})
    return out


def _plain(error: FieldError, name: str) -> str:
    if error.type in {"missing", "enum"} and name in {"kind", "legal_process"}:
        return "required: choose one from the list"
    if error.type in {"missing", "string_too_short"}:
        return "required"
    if error.type == "too_short" and name == "targets":
        return "name at least one account or content item, one per line"
    if error.type == "enum" and name == "data_categories":
        return "choose from subscriber, traffic and content"
    message = error.msg
    for word, said in _WORDS.items():
        message = message.replace(word, said)
    return message


def _merge(into: dict[str, str], more: Mapping[str, str]) -> None:
    for name, message in more.items():
        if name not in into:
            into[name] = message
        elif message not in into[name].split("; "):
            into[name] = f"{into[name]}; {message}"
