"""What a queue page is asked for: its filters (:class:`Filters`, read from a query string
by :func:`read`) and where it starts (:class:`Cursor`). Every bad value is refused with an
:class:`~dueprocess.errors.InvalidInput` naming its parameter (``("query", "kind")``), all
of them at once; the API and the pages read them the same way.

The parameters (docs/review.md, "Queues", has the table):

``jurisdiction``  an ISO code: a country with its subdivisions (``US`` takes ``US-CA``), or
                  one subdivision
``authority``     an authority's slug
``kind``, ``legal_process``, ``stance``, ``verification``  one value of each vocabulary
``flag``          a risk flag's code: demands with that flag
``assignee``      ``me``, ``nobody``, or an account's e-mail
``due``           ``overdue`` or ``soon`` (as the rows' urgency says)
``due_within``    a duration (``90m``, ``48h``, ``3d``): due from now until then
``due_after``, ``due_before``  a date or a time with its offset: due at or after, before
``emergency``     ``true``: emergencies only
``q``             search (:mod:`dueprocess.review.search`)
``after``, ``before``  a cursor from a page's ``next`` or ``prev``
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dueprocess.accounts.models import Account
from dueprocess.authorities.models import Authority
from dueprocess.demands.models import DemandKind, LegalProcess
from dueprocess.errors import FieldError, InvalidInput
from dueprocess.jurisdictions import UnknownJurisdiction, normalise
from dueprocess.policy.vocabulary import Stance
from dueprocess.review import risk, search

#: The requester-verification states a demand can be in.
VERIFICATION_STATES = ("verified", "unverified", "suspicious")
#: The risk flags' codes.
FLAG_CODES = (
    risk.POLITICAL,
    risk.JOURNALISM,
    risk.RELIGION,
    risk.PROTECTED,
    risk.OVER_BROAD,
    risk.LOOKUP_FAILED,
    risk.NOT_FOUND,
)
#: The longest ``due_within`` window (a year): a queue has nothing due later that matters.
MAX_WINDOW = timedelta(days=366)
#: The parameters :func:`read` understands (any other is ignored, as HTTP allows).
PARAMETERS = (
    "jurisdiction",
    "authority",
    "kind",
    "legal_process",
    "stance",
    "verification",
    "flag",
    "assignee",
    "due",
    "due_within",
    "due_after",
    "due_before",
    "emergency",
    "q",
)


@dataclass(frozen=True)
class Filters:
    """A queue page's filters, checked (see the module's docstring). ``assignee_id`` is an
    account's id; ``unassigned`` the ``nobody`` choice."""

    jurisdiction: str | None = None
    authority_id: int | None = None
    kind: DemandKind | None = None
    legal_process: LegalProcess | None = None
    stance: Stance | None = None
    verification: str | None = None
    flag: str | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    due: Literal["overdue", "soon"] | None = None
    due_within: timedelta | None = None
    due_after: datetime | None = None
    due_before: datetime | None = None
    emergency_only: bool = False
    terms: list[search.Term] = field(default_factory=list)
    #: The values as given (normalised), to put back in links and forms.
    given: dict[str, str] = field(default_factory=dict)


_WINDOW = re.compile(r"^(\d{1,6})\s*(m|min|h|d)$")


def _window(raw: str) -> timedelta:
    found = _WINDOW.match(raw.strip().lower())
    if not found:
        raise ValueError("a duration such as 90m, 48h or 3d")
    number, unit = int(found.group(1)), found.group(2)
    window = {"m": timedelta(minutes=number), "min": timedelta(minutes=number),
              "h": timedelta(hours=number), "d": timedelta(days=number)}[unit]  # fmt: skip
    if not timedelta(0) < window <= MAX_WINDOW:
        raise ValueError("between 1 minute and 366 days")
    return window


def _instant(raw: str) -> datetime:
    """A date (its start, in UTC) or a time with an offset."""
    text = raw.strip()
    if len(text) == 10:
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        except ValueError:
            raise ValueError("a date (2020-07-31) or a time with its offset") from None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("a date (2020-07-31) or a time with its offset") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("a time needs its offset (2020-07-31T09:00:00+08:00)")
    return when.astimezone(UTC)


def _choice(raw: str, allowed: tuple[str, ...]) -> str:
    value = raw.strip().lower()
    if value not in allowed:
        raise ValueError(f"one of {', '.join(allowed)}")
    return value


def read(session: Session, values: Mapping[str, str], *, me: int) -> Filters:
    """:class:`Filters` from a query string's values (blank ones ignored); ``me`` is the
    reader's account id (``assignee=me``). :class:`InvalidInput` names every bad one."""
    errors: list[FieldError] = []
    given: dict[str, str] = {}
    out: dict[str, object] = {}

    def take(name: str) -> str | None:
        raw = values.get(name)
        if raw is None or not raw.strip():
            return None
        if len(raw) > 400:
            errors.append(FieldError(("query", name), "at most 400 characters"))
            return None
        if "\x00" in raw:
            errors.append(FieldError(("query", name), "must not contain a NUL character"))
            return None
        return raw.strip()

    def check(name: str, parse: Callable[[str], tuple[object, str]]) -> None:
        raw = take(name)
        if raw is None:
            return
        try:
            value, shown = parse(raw)
        except ValueError as exc:
            errors.append(FieldError(("query", name), str(exc)))
            return
        out[name] = value
        given[name] = shown

    def jurisdiction(raw: str) -> tuple[str, str]:
        try:
            code = normalise(raw)
        except UnknownJurisdiction as exc:
            raise ValueError(str(exc)) from None
        return code, code

    def authority(raw: str) -> tuple[int, str]:
        found = session.scalar(select(Authority.id).where(Authority.slug == raw.lower()))
        if found is None:
            raise ValueError(f"there is no authority {raw!r}")
        return found, raw.lower()

    def enum(
        kind: type[DemandKind] | type[LegalProcess] | type[Stance],
    ) -> Callable[[str], tuple[object, str]]:
        def parse(raw: str) -> tuple[object, str]:
            value = _choice(raw, tuple(m.value for m in kind))
            return kind(value), value

        return parse

    def assignee(raw: str) -> tuple[tuple[int | None, bool], str]:
        value = raw.lower()
        if value == "me":
            return (me, False), value
        if value == "nobody":
            return (None, True), value
        found = session.scalar(select(Account.id).where(Account.email == value))
        if found is None:
            raise ValueError(f"me, nobody, or an account's e-mail; there is no account {raw!r}")
        return (found, False), value

    def terms(raw: str) -> tuple[list[search.Term], str]:
        try:
            return search.parse(raw), raw
        except search.BadQuery as exc:
            raise ValueError(str(exc)) from None

    def flag(raw: str) -> tuple[str, str]:
        value = _choice(raw, FLAG_CODES)
        return value, value

    def verification(raw: str) -> tuple[str, str]:
        value = _choice(raw, VERIFICATION_STATES)
        return value, value

    def due(raw: str) -> tuple[str, str]:
        value = _choice(raw, ("overdue", "soon"))
        return value, value

    def window(raw: str) -> tuple[timedelta, str]:
        return _window(raw), raw.strip().lower()

    def instant(raw: str) -> tuple[datetime, str]:
        return _instant(raw), raw

    def yes(raw: str) -> tuple[bool, str]:
        value = raw.lower()
        if value not in ("true", "false", "1", "0", "yes", "no", "on"):
            raise ValueError("true or false")
        on = value in ("true", "1", "yes", "on")
        return on, "true" if on else "false"

    check("jurisdiction", jurisdiction)
    check("authority", authority)
    check("kind", enum(DemandKind))
    check("legal_process", enum(LegalProcess))
    check("stance", enum(Stance))
    check("verification", verification)
    check("flag", flag)
    check("assignee", assignee)
    check("due", due)
    check("due_within", window)
    check("due_after", instant)
    check("due_before", instant)
    check("emergency", yes)
    check("q", terms)
    after, before = out.get("due_after"), out.get("due_before")
    if isinstance(after, datetime) and isinstance(before, datetime) and after >= before:
        errors.append(FieldError(("query", "due_before"), "must be later than due_after"))
    if errors:
        raise InvalidInput(errors)
    who = out.pop("assignee", (None, False))
    assert isinstance(who, tuple)
    if given.get("emergency") == "false":
        given.pop("emergency")
    return Filters(
        jurisdiction=out.get("jurisdiction"),  # type: ignore[arg-type]
        authority_id=out.get("authority"),  # type: ignore[arg-type]
        kind=out.get("kind"),  # type: ignore[arg-type]
        legal_process=out.get("legal_process"),  # type: ignore[arg-type]
        stance=out.get("stance"),  # type: ignore[arg-type]
        verification=out.get("verification"),  # type: ignore[arg-type]
        flag=out.get("flag"),  # type: ignore[arg-type]
        assignee_id=who[0],
        unassigned=who[1],
        due=out.get("due"),  # type: ignore[arg-type]
        due_within=out.get("due_within"),  # type: ignore[arg-type]
        due_after=after,  # type: ignore[arg-type]
        due_before=before,  # type: ignore[arg-type]
        emergency_only=bool(out.get("emergency", False)),
        terms=out.get("q", []),  # type: ignore[arg-type]
        given=given,
    )


# --- cursors ---------------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"^([01])\.(-?\d{1,18})\.(\d{1,10})$")
MAX_ID = 2**31 - 1


@dataclass(frozen=True, slots=True)
class Cursor:
    """A place in a queue's order: between the demand (``emergency``, ``due_at``, ``id``)
    and the next. Opaque to clients: base64url of ``emergency.microseconds.id``."""

    emergency: bool
    due_at: datetime
    id: int

    def encode(self) -> str:
        micros = (self.due_at - _EPOCH) // timedelta(microseconds=1)
        raw = f"{int(self.emergency)}.{micros}.{self.id}"
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, name: str) -> Cursor:
        """The cursor ``token`` holds; :class:`InvalidInput` on parameter ``name`` if it is not
        one a queue page gave."""
        problem = InvalidInput.one(("query", name), "not a cursor from a queue page's links")
        if len(token) > 64:
            raise problem
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise problem from None
        found = _CURSOR.match(raw)
        if not found:
            raise problem
        try:
            due = _EPOCH + timedelta(microseconds=int(found.group(2)))
        except OverflowError:
            raise problem from None
        demand_id = int(found.group(3))
        if not 1 <= demand_id <= MAX_ID or not 1 <= due.year <= 9999:
            raise problem
        return cls(found.group(1) == "1", due, demand_id)
