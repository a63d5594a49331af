"""The Transparency Database's rules for one statement (dsa_api's docstring cites them): every
enumeration value accepted and refused, every conditional rule both ways, every limit."""

from __future__ import annotations

from typing import Any

import pytest

from dueprocess.restrictions.dsa_api import allowed, enums, validate


def valid() -> dict[str, Any]:
    """The smallest statement the database accepts."""
    return {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "illegal_content_legal_ground": "StGB § 130",
        "illegal_content_explanation": "Incitement to hatred.",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "content_date": "2024-01-02",
        "application_date": "2024-02-17",
        "decision_facts": "Removed on a demand of the Bundeskriminalamt.",
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
        "puid": "post-123_a",
    }


def fields(statement: dict[str, Any]) -> list[str]:
    return [".".join(map(str, e.loc)) for e in validate(statement)]


def test_the_minimal_statement_is_valid() -> None:
    assert validate(valid()) == []


#: field -> (enumeration, is an array)
ENUM_FIELDS = {
    "decision_visibility": ("DECISION_VISIBILITIES", True),
    "decision_monetary": ("DECISION_MONETARIES", False),
    "decision_provision": ("DECISION_PROVISIONS", False),
    "decision_account": ("DECISION_ACCOUNTS", False),
    "account_type": ("ACCOUNT_TYPES", False),
    "category_specification": ("KEYWORDS", True),
    "decision_ground": ("DECISION_GROUNDS", False),
    "content_type": ("CONTENT_TYPES", True),
    "category": ("STATEMENT_CATEGORIES", False),
    "category_addition": ("STATEMENT_CATEGORIES", True),
    "territorial_scope": ("EUROPEAN_COUNTRY_CODES", True),
    "content_language": ("ALL_LANGUAGES", False),
    "source_type": ("SOURCE_TYPES", False),
    "automated_detection": ("AUTOMATED_DETECTIONS", False),
    "automated_decision": ("AUTOMATED_DECISIONS", False),
}

#: what a value needs beside it to be valid (its conditional partner)
PARTNERS = {
    "DECISION_VISIBILITY_OTHER": {"decision_visibility_other": "Shadow-limited."},
    "DECISION_MONETARY_OTHER": {"decision_monetary_other": "Payouts held."},
    "CONTENT_TYPE_OTHER": {"content_type_other": "A livestream."},
    "DECISION_GROUND_INCOMPATIBLE_CONTENT": {
        "incompatible_content_ground": "Terms § 4",
        "incompatible_content_explanation": "Spam.",
    },
}

CASES = [
    (field, value, is_array)
    for field, (name, is_array) in ENUM_FIELDS.items()
    for value in allowed(name)
]


def test_every_enumeration_of_the_shared_file_is_checked() -> None:
    checked = {name for name, _ in ENUM_FIELDS.values()}
    # METHODS is set by the server; the *_FIELDS lists are labels, not values.
    assert set(enums()) - checked == {
        "METHODS",
        "ILLEGAL_CONTENT_FIELDS",
        "INCOMPATIBLE_CONTENT_FIELDS",
        "INCOMPATIBLE_CONTENT_ILLEGALS",
    }
    assert len(CASES) > 300  # 184 languages, 69 keywords, 30 countries, ...


@pytest.mark.parametrize(("field", "value", "is_array"), CASES)
def test_every_enumeration_value_is_accepted(field: str, value: str, is_array: bool) -> None:
    statement = {**valid(), field: [value] if is_array else value, **PARTNERS.get(value, {})}
    assert validate(statement) == []


@pytest.mark.parametrize(("field", "value", "is_array"), CASES)
def test_every_enumeration_value_altered_is_refused(field: str, value: str, is_array: bool) -> None:
    bad = value.lower() if value != value.lower() else value.upper() + "X"
    statement = {**valid(), field: [value, bad] if is_array else bad, **PARTNERS.get(value, {})}
    errors = validate(statement)
    assert [e.loc for e in errors] == [(field,)]
    assert repr(bad) in errors[0].msg


def test_incompatible_content_illegal_takes_yes_or_no_under_its_ground() -> None:
    incompatible = {
        **valid(),
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        **PARTNERS["DECISION_GROUND_INCOMPATIBLE_CONTENT"],
    }
    for value in allowed("INCOMPATIBLE_CONTENT_ILLEGALS"):
        assert validate({**incompatible, "incompatible_content_illegal": value}) == []
    assert fields({**incompatible, "incompatible_content_illegal": "yes"}) == [
        "incompatible_content_illegal"
    ]
    # Under another ground the field is excluded (dropped unchecked), as exclude_unless does.
    assert validate({**valid(), "incompatible_content_illegal": "maybe"}) == []


def test_an_array_field_given_a_string_is_refused() -> None:
    assert fields({**valid(), "content_type": "CONTENT_TYPE_TEXT"}) == ["content_type"]
    assert fields({**valid(), "territorial_scope": "DE"}) == ["territorial_scope"]


@pytest.mark.parametrize(
    "field",
    [
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
    ],
)
@pytest.mark.parametrize("missing", ["absent", None, "", "   ", []])
def test_each_required_field_absent_or_empty_is_named(field: str, missing: object) -> None:
    statement = valid()
    if missing == "absent":
        del statement[field]
    else:
        statement[field] = missing
    errors = validate(statement)
    assert (field,) in [e.loc for e in errors]
    assert any(f"{field} is required" in e.msg for e in errors)


def test_at_least_one_decision_is_required_and_any_one_suffices() -> None:
    none = {k: v for k, v in valid().items() if k != "decision_visibility"}
    errors = validate(none)
    assert [e.loc for e in errors] == [("decision_visibility",)]
    assert "decision_account" in errors[0].msg
    assert fields({**none, "decision_visibility": []}) == ["decision_visibility"]
    for field, value in [
        ("decision_monetary", "DECISION_MONETARY_SUSPENSION"),
        ("decision_provision", "DECISION_PROVISION_PARTIAL_SUSPENSION"),
        ("decision_account", "DECISION_ACCOUNT_SUSPENDED"),
    ]:
        assert validate({**none, field: value}) == []
    # The nullable ones take null when another decision is there.
    assert validate({**valid(), "decision_monetary": None, "account_type": None}) == []


@pytest.mark.parametrize(
    ("partner", "trigger_field", "trigger"),
    [
        ("decision_visibility_other", "decision_visibility", ["DECISION_VISIBILITY_OTHER"]),
        ("decision_monetary_other", "decision_monetary", "DECISION_MONETARY_OTHER"),
        ("content_type_other", "content_type", ["CONTENT_TYPE_TEXT", "CONTENT_TYPE_OTHER"]),
        ("illegal_content_legal_ground", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
        ("illegal_content_explanation", "decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"),
        (
            "incompatible_content_ground",
            "decision_ground",
            "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        ),
        (
            "incompatible_content_explanation",
            "decision_ground",
            "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        ),
    ],
)
def test_each_conditional_field_is_required_when_and_only_when_its_condition_holds(
    partner: str, trigger_field: str, trigger: object
) -> None:
    base = {**valid(), **PARTNERS["DECISION_GROUND_INCOMPATIBLE_CONTENT"]}
    base.pop(partner, None)
    base[trigger_field] = trigger
    errors = validate(base)
    assert [e.loc for e in errors] == [(partner,)]
    assert "is required when" in errors[0].msg
    assert validate({**base, partner: "Given."}) == []
    # Condition not holding: not required, and (exclude_unless) not even checked.
    other = {
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DEMOTED"],
        "decision_monetary": "DECISION_MONETARY_TERMINATION",
        "content_type": ["CONTENT_TYPE_VIDEO"],
        "decision_ground": (
            "DECISION_GROUND_INCOMPATIBLE_CONTENT"
            if trigger == "DECISION_GROUND_ILLEGAL_CONTENT"
            else "DECISION_GROUND_ILLEGAL_CONTENT"
        ),
    }[trigger_field]
    unmet = {**valid(), **PARTNERS["DECISION_GROUND_INCOMPATIBLE_CONTENT"], trigger_field: other}
    unmet.pop(partner, None)
    assert validate(unmet) == []
    assert validate({**unmet, partner: "x" * 3000}) == []


@pytest.mark.parametrize(
    ("field", "limit", "extra"),
    [
        ("decision_facts", 5000, {}),
        ("puid", 500, {}),
        ("illegal_content_legal_ground", 500, {}),
        ("illegal_content_explanation", 2000, {}),
        ("source_identity", 500, {}),
        ("category_specification_other", 500, {}),
        ("decision_visibility_other", 500, {"decision_visibility": ["DECISION_VISIBILITY_OTHER"]}),
        ("content_type_other", 500, {"content_type": ["CONTENT_TYPE_OTHER"]}),
        ("decision_monetary_other", 500, {"decision_monetary": "DECISION_MONETARY_OTHER"}),
    ],
)
def test_text_limits_are_characters_not_bytes(
    field: str, limit: int, extra: dict[str, Any]
) -> None:
    fill = "a" if field == "puid" else "ü"
    assert validate({**valid(), **extra, field: fill * limit}) == []
    errors = validate({**valid(), **extra, field: fill * (limit + 1)})
    assert [e.loc for e in errors] == [(field,)]
    assert f"at most {limit}" in errors[0].msg


@pytest.mark.parametrize("puid", ["@hassprediger_x", "post 1", "post/1", "pöst", "a.b"])
def test_puid_holds_letters_digits_hyphen_and_underscore_only(puid: str) -> None:
    errors = validate({**valid(), "puid": puid})
    assert [e.loc for e in errors] == [("puid",)]
    assert "letters" in errors[0].msg


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [
        ("content_date", ["2000-01-01", "2038-01-01"], ["1999-12-31", "2038-01-02"]),
        ("application_date", ["2020-01-01", "2038-01-01"], ["2019-12-31", "2038-01-02"]),
        ("end_date_visibility_restriction", ["1990-01-01", "2038-01-01", None], ["2038-01-02"]),
        ("end_date_account_restriction", ["2025-06-30", None], ["2038-01-02"]),
        ("end_date_monetary_restriction", ["2025-06-30", None], ["2038-01-02"]),
        ("end_date_service_restriction", ["2025-06-30", None], ["2038-01-02"]),
    ],
)
def test_dates_bounds(field: str, good: list[str | None], bad: list[str]) -> None:
    for value in good:
        assert validate({**valid(), field: value}) == [], value
    for value in bad:
        assert fields({**valid(), field: value}) == [field], value


@pytest.mark.parametrize(
    "value", ["2024-2-17", "2024-02-17T00:00:00", "2024-02-17-10", "17/02/2024", "2024-02-30", 20]
)
def test_dates_must_be_written_yyyy_mm_dd(value: object) -> None:
    errors = validate({**valid(), "application_date": value})
    assert [e.loc for e in errors] == [("application_date",)]


def test_reference_url_must_be_a_url() -> None:
    good = "https://www.gesetze-im-internet.de/stgb/__130.html"
    assert validate({**valid(), "decision_ground_reference_url": good}) == []
    assert validate({**valid(), "decision_ground_reference_url": None}) == []
    for bad in ["gesetze-im-internet.de/stgb", "https://", "https://a b.de", "javascript:x"]:
        assert fields({**valid(), "decision_ground_reference_url": bad}) == [
            "decision_ground_reference_url"
        ]


def test_null_where_the_api_has_no_nullable_is_refused() -> None:
    assert fields({**valid(), "category_addition": None}) == ["category_addition"]
    assert fields(
        {
            **valid(),
            "decision_visibility_other": None,
            "decision_visibility": ["DECISION_VISIBILITY_OTHER"],
        }
    ) == ["decision_visibility_other"]


def test_unknown_fields_and_non_strings_are_refused_naming_them() -> None:
    errors = validate({**valid(), "territorial_scopes": ["DE"], "decision_facts": 5})
    assert {e.loc: e.type for e in errors} == {
        ("territorial_scopes",): "extra_forbidden",
        ("decision_facts",): "string_type",
    }


def test_a_statement_that_is_not_an_object_is_refused() -> None:
    assert [e.msg for e in validate([1, 2])] == ["a statement must be a JSON object"]  # type: ignore[arg-type]
