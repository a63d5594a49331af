"""The DSA Transparency Database's vocabulary and its validation rules for one statement of
reasons, as the Commission's own code applies them.

Sources, read in the public repository ``digital-services-act/transparency-database``:

- Enumerations: ``dsa_enums.json`` here, a copy of the project's shared
  ``data/dsa/statement-enums.json`` (read from ``app/Models/Statement.php`` and
  ``app/Services/EuropeanCountriesService.php`` / ``EuropeanLanguagesService.php`` at commit
  69e80a0bc8eb3cbfbe8246e898194c3bdf490a4b; its ``source`` line says so).
- Rules: ``app/Http/Requests/StatementStoreRequest.php`` (the single-statement endpoint,
  ``POST /api/v1/statement``) and ``app/Services/GroupedSubmissionsService.php`` at commit
  242ba47f396a3ddf103034103d262148ea6e6d51, ``multi_rules()`` (every statement of the batch
  endpoint, ``POST /api/v1/statements``, which is what ``dueprocess sor export`` writes for).
  The two lists agree field by field in the versions read, except that the batch rules add
  ``puid`` ``regex:/^[a-zA-Z0-9-_]+$/D``; we apply the stricter batch list.
- The batch itself: ``app/Http/Controllers/Api/v1/StatementMultipleAPIController.php``
  (``'statements' => 'required|array|between:1,100'``; puids unique within the call and
  never reused by the platform, ``PlatformUniqueIdService``).

The rules, in Laravel's words (``required_if:a,X`` = required when ``a`` is ``X``;
``exclude_unless:a,X`` = dropped, unchecked, unless ``a`` is ``X``; ``required_without_all``
= required when every named field is empty):

=============================== =============================================================
decision_visibility             array, each in DECISION_VISIBILITIES, nullable;
                                required_without_all decision_monetary, decision_provision,
                                decision_account (at least one of the four decisions)
decision_visibility_other       max 500; required if decision_visibility holds
                                DECISION_VISIBILITY_OTHER, excluded otherwise
decision_monetary               in DECISION_MONETARIES, nullable; required_without_all ...
decision_monetary_other         required_if / exclude_unless decision_monetary is
                                DECISION_MONETARY_OTHER; max 500
decision_provision              in DECISION_PROVISIONS, nullable; required_without_all ...
decision_account                in DECISION_ACCOUNTS, nullable; required_without_all ...
account_type                    in ACCOUNT_TYPES, nullable
category_specification          array, each in KEYWORDS, nullable
category_specification_other    max 500
decision_ground                 required, in DECISION_GROUNDS
decision_ground_reference_url   url, nullable, max 500
illegal_content_legal_ground    required_if / exclude_unless decision_ground is
                                DECISION_GROUND_ILLEGAL_CONTENT; max 500
illegal_content_explanation     the same condition; max 2000
incompatible_content_ground     required_if / exclude_unless DECISION_GROUND_INCOMPATIBLE_CONTENT;
                                max 500
incompatible_content_explanation  the same condition; max 2000
incompatible_content_illegal    in Yes/No; exclude_unless the same condition
content_type                    required array, each in CONTENT_TYPES
content_type_other              max 500; required if content_type holds CONTENT_TYPE_OTHER,
                                excluded otherwise
category                        required, in STATEMENT_CATEGORIES
category_addition               array, each in STATEMENT_CATEGORIES
territorial_scope               array, nullable, each in EUROPEAN_COUNTRY_CODES (the 30 EEA)
content_language                in ALL_LANGUAGES, nullable
content_date                    required, Y-m-d, from 2000-01-01 to 2038-01-01
application_date                required, Y-m-d, from 2020-01-01 to 2038-01-01
end_date_{account,monetary,service,visibility}_restriction
                                Y-m-d, nullable, at most 2038-01-01
decision_facts                  required, max 5000
source_type                     required, in SOURCE_TYPES
source_identity                 max 500, nullable
automated_detection             required, Yes or No
automated_decision              required, in AUTOMATED_DECISIONS
puid                            required, max 500, letters, digits, ``-`` and ``_`` only
=============================== =============================================================

Where we are stricter than the API, on purpose, so that what we export is what we meant:
a field the API does not know is refused (the API would silently drop a misspelt
``territorial_scopes``); free-text fields must be strings (Laravel's ``max`` would also take a
number); and an excluded field (e.g. ``illegal_content_legal_ground`` on a statement whose
ground is incompatible content) is accepted, as the API accepts it, but :func:`validate` never
needs it because the builder in :mod:`dueprocess.restrictions.sor` never writes one.
Where Laravel treats ``null`` as present (a non-nullable ``category_addition: null`` fails its
``array`` rule), so do we. Lengths are counted in characters (PHP ``mb_strlen``), and a
string of only whitespace is empty for ``required`` (Laravel trims).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from functools import cache
from importlib.resources import files
from typing import Any
from urllib.parse import urlsplit

from dueprocess.errors import FieldError

#: The batch endpoint takes between 1 and 100 statements a call.
MAX_BATCH = 100

_PUID = re.compile(r"[a-zA-Z0-9_-]+")
_YMD = re.compile(r"\d{4}-\d{2}-\d{2}")
_URL_SCHEMES = frozenset({"http", "https", "ftp", "ftps"})


@cache
def enums() -> dict[str, Any]:
    """Every enumeration of the API, by the constant's name in ``Statement.php``."""
    raw = files("dueprocess.restrictions").joinpath("dsa_enums.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(raw)["enums"]
    return loaded


def allowed(name: str) -> tuple[str, ...]:
    """The API values of enumeration ``name``: the keys of a labelled one, else its items."""
    values = enums()[name]
    return tuple(values) if isinstance(values, dict | list) else ()


def eea_countries() -> frozenset[str]:
    """The 30 codes ``territorial_scope`` accepts (EU 27, Iceland, Liechtenstein, Norway)."""
    return frozenset(allowed("EUROPEAN_COUNTRY_CODES"))


#: field -> (enumeration, is an array, nullable)
_CHOICES: dict[str, tuple[str, bool, bool]] = {
    "decision_visibility": ("DECISION_VISIBILITIES", True, True),
    "decision_monetary": ("DECISION_MONETARIES", False, True),
    "decision_provision": ("DECISION_PROVISIONS", False, True),
    "decision_account": ("DECISION_ACCOUNTS", False, True),
    "account_type": ("ACCOUNT_TYPES", False, True),
    "category_specification": ("KEYWORDS", True, True),
    "decision_ground": ("DECISION_GROUNDS", False, False),
    "incompatible_content_illegal": ("INCOMPATIBLE_CONTENT_ILLEGALS", False, False),
    "content_type": ("CONTENT_TYPES", True, False),
    "category": ("STATEMENT_CATEGORIES", False, False),
    "category_addition": ("STATEMENT_CATEGORIES", True, False),
    "territorial_scope": ("EUROPEAN_COUNTRY_CODES", True, True),
    "content_language": ("ALL_LANGUAGES", False, True),
    "source_type": ("SOURCE_TYPES", False, False),
    "automated_detection": ("AUTOMATED_DETECTIONS", False, False),
    "automated_decision": ("AUTOMATED_DECISIONS", False, False),
}

#: free-text field -> (maximum characters, nullable)
_TEXTS: dict[str, tuple[int, bool]] = {
    "decision_visibility_other": (500, False),
    "decision_monetary_other": (500, False),
    "category_specification_other": (500, False),
    "decision_ground_reference_url": (500, True),
    "illegal_content_legal_ground": (500, False),
    "illegal_content_explanation": (2000, False),
    "incompatible_content_ground": (500, False),
    "incompatible_content_explanation": (2000, False),
    "content_type_other": (500, False),
    "decision_facts": (5000, False),
    "source_identity": (500, True),
    "puid": (500, False),
}

#: date field -> (earliest, latest, nullable)
_DATES: dict[str, tuple[date | None, date, bool]] = {
    "content_date": (date(2000, 1, 1), date(2038, 1, 1), False),
    "application_date": (date(2020, 1, 1), date(2038, 1, 1), False),
    "end_date_account_restriction": (None, date(2038, 1, 1), True),
    "end_date_monetary_restriction": (None, date(2038, 1, 1), True),
    "end_date_service_restriction": (None, date(2038, 1, 1), True),
    "end_date_visibility_restriction": (None, date(2038, 1, 1), True),
}

ALWAYS_REQUIRED = (
    "decision_ground",
    "content_type",
    "category",
    "content_date",
    "application_date",
    "decision_facts",
    "source_type",
    "automated_detection",
    "automated_decision",
    "puid",
)
DECISIONS = ("decision_visibility", "decision_monetary", "decision_provision", "decision_account")

#: field -> (the field deciding, the value that makes it required; excluded otherwise)
_REQUIRED_IF: dict[str, tuple[str, str]] = {
    "decision_visibility_other": ("decision_visibility", "DECISION_VISIBILITY_OTHER"),
    "decision_monetary_other": ("decision_monetary", "DECISION_MONETARY_OTHER"),
    "content_type_other": ("content_type", "CONTENT_TYPE_OTHER"),
    "illegal_content_legal_ground": ("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
    "illegal_content_explanation": ("decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
    "incompatible_content_ground": ("decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
    "incompatible_content_explanation": (
        "decision_ground",
        "DECISION_GROUND_INCOMPATIBLE_CONTENT",
    ),
}
#: fields excluded (not checked, dropped by the API) unless the condition holds, but never
#: required by it
_EXCLUDED_UNLESS: dict[str, tuple[str, str]] = {
    **_REQUIRED_IF,
    "incompatible_content_illegal": ("decision_ground", "DECISION_GROUND_INCOMPATIBLE_CONTENT"),
}

FIELDS = frozenset(_CHOICES) | frozenset(_TEXTS) | frozenset(_DATES)


def _empty(value: object) -> bool:
    """Laravel's ``required`` failure: absent, null, blank string or empty array."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return isinstance(value, list | tuple | dict) and len(value) == 0


def _holds(statement: Mapping[str, Any], field: str, value: str) -> bool:
    """Whether ``field`` is ``value``, or (an array) contains it."""
    current = statement.get(field)
    if isinstance(current, list):
        return value in current
    return current == value


def validate(statement: Mapping[str, Any]) -> list[FieldError]:
    """Every way ``statement`` breaks the API's rules for one statement (module docstring),
    each naming its field; an empty list means the API's validation would accept it.

    ``loc`` is the field's name alone; callers prefix it (e.g. with the restriction's id).
    """
    if not isinstance(statement, Mapping):
        return [FieldError((), "a statement must be a JSON object")]
    errors: list[FieldError] = []
    for field in sorted(set(statement) - FIELDS):
        errors.append(
            FieldError((str(field),), "is not a field of the DSA statement API", "extra_forbidden")
        )
    for field in ALWAYS_REQUIRED:
        if _empty(statement.get(field)):
            errors.append(FieldError((field,), f"{field} is required", "missing"))
    if all(_empty(statement.get(f)) for f in DECISIONS):
        errors.append(
            FieldError(
                ("decision_visibility",),
                "at least one of decision_visibility, decision_monetary, decision_provision "
                "and decision_account is required",
                "missing",
            )
        )
    for field, (source, value) in _REQUIRED_IF.items():
        if _holds(statement, source, value) and _empty(statement.get(field)):
            errors.append(FieldError((field,), f"{field} is required when {source} is {value}"))
    excluded = {
        field
        for field, (source, value) in _EXCLUDED_UNLESS.items()
        if not _holds(statement, source, value)
    }
    for field in sorted((set(statement) & FIELDS) - excluded):
        value = statement[field]
        if field in _CHOICES:
            errors.extend(_check_choice(field, value))
        elif field in _TEXTS:
            errors.extend(_check_text(field, value))
        else:
            errors.extend(_check_date(field, value))
    return _first_per_field(errors)


def _first_per_field(errors: list[FieldError]) -> list[FieldError]:
    """One message per field (the first, which is the most basic), in a stable order."""
    seen: set[tuple[str | int, ...]] = set()
    out = []
    for error in errors:
        if error.loc not in seen:
            seen.add(error.loc)
            out.append(error)
    return out


def _check_choice(field: str, value: object) -> list[FieldError]:
    name, is_array, nullable = _CHOICES[field]
    if value is None:
        return [] if nullable else [FieldError((field,), f"{field} may not be null")]
    options = allowed(name)
    if is_array:
        if not isinstance(value, list):
            return [FieldError((field,), f"{field} must be an array", "list_type")]
        bad = [v for v in value if not isinstance(v, str) or v not in options]
        if bad:
            return [
                FieldError(
                    (field,), f"{field} has {', '.join(map(repr, bad))}, not one of {name}", "enum"
                )
            ]
        return []
    if not isinstance(value, str) or value not in options:
        return [FieldError((field,), f"{field} is {value!r}, not one of {name}", "enum")]
    return []


def _check_text(field: str, value: object) -> list[FieldError]:
    limit, nullable = _TEXTS[field]
    if value is None:
        return [] if nullable else [FieldError((field,), f"{field} may not be null")]
    if not isinstance(value, str):
        return [FieldError((field,), f"{field} must be a string", "string_type")]
    if len(value) > limit:
        return [
            FieldError(
                (field,),
                f"{field} is {len(value)} characters; the API takes at most {limit}",
                "string_too_long",
            )
        ]
    if field == "puid" and not _PUID.fullmatch(value):
        return [
            FieldError(
                (field,),
                "puid may hold only letters A-Z and a-z, digits, '-' and '_'",
                "string_pattern_mismatch",
            )
        ]
    if field == "decision_ground_reference_url" and not _is_url(value):
        return [FieldError((field,), f"{field} must be a URL such as https://...", "url")]
    return []


def _is_url(value: str) -> bool:
    """Close to Laravel's ``url`` rule: a known scheme, a host, no spaces."""
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in _URL_SCHEMES and bool(parts.hostname)


def _check_date(field: str, value: object) -> list[FieldError]:
    earliest, latest, nullable = _DATES[field]
    if value is None:
        return [] if nullable else [FieldError((field,), f"{field} may not be null")]
    parsed = parse_ymd(value)
    if parsed is None:
        return [
            FieldError(
                (field,), f"{field} must be a date written YYYY-MM-DD, e.g. 2024-02-17", "date"
            )
        ]
    if earliest is not None and parsed < earliest:
        return [FieldError((field,), f"{field} must be on or after {earliest.isoformat()}")]
    if parsed > latest:
        return [FieldError((field,), f"{field} must be on or before {latest.isoformat()}")]
    return []


def parse_ymd(value: object) -> date | None:
    """``value`` as a date if it is exactly ``YYYY-MM-DD`` (PHP's ``date_format:Y-m-d``)."""
    if not isinstance(value, str) or not _YMD.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None
