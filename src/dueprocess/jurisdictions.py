"""Jurisdiction codes: ISO 3166-1 alpha-2 (``HK``), or an ISO 3166-2 subdivision (``US-CA``)
where a demand comes from a state or province. Checked against pycountry's ISO tables, not a
hand-kept list, so "XX" or "UK" (the ISO code is GB) are refused with a hint.
"""

from __future__ import annotations

from functools import lru_cache

import pycountry

# Codes people commonly type that ISO spells differently; used only to make the error helpful.
_COMMON_MISTAKES = {"UK": "GB", "EL": "GR"}


class UnknownJurisdiction(ValueError):
    """The code is not an ISO 3166-1 alpha-2 country or an ISO 3166-2 subdivision."""


@lru_cache(maxsize=4096)
def normalise(code: str) -> str:
    """The canonical (upper-case) form of ``code``, or :class:`UnknownJurisdiction`."""
    cleaned = code.strip().upper()
    if "-" in cleaned:
        country = cleaned.split("-", 1)[0]
        if pycountry.countries.get(alpha_2=country) is None:
            raise UnknownJurisdiction(f"unknown country {country!r} in {code!r}")
        subdivision = pycountry.subdivisions.get(code=cleaned)  # type: ignore[no-untyped-call]
        if subdivision is None:
            raise UnknownJurisdiction(f"unknown subdivision {code!r} (ISO 3166-2, e.g. US-CA)")
        return cleaned
    if len(cleaned) != 2 or pycountry.countries.get(alpha_2=cleaned) is None:
        hint = _COMMON_MISTAKES.get(cleaned)
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise UnknownJurisdiction(
            f"unknown jurisdiction {code!r}: use an ISO 3166-1 alpha-2 code such as HK{extra}"
        )
    return cleaned


def country_of(code: str) -> str:
    """The country part: ``US-CA`` -> ``US``; ``HK`` -> ``HK``."""
    return normalise(code).split("-", 1)[0]


@lru_cache(maxsize=512)
def name_of(code: str) -> str:
    """A readable name: ``HK`` -> ``Hong Kong``, ``US-CA`` -> ``California``."""
    cleaned = normalise(code)
    if "-" in cleaned:
        sub = pycountry.subdivisions.get(code=cleaned)  # type: ignore[no-untyped-call]
        return str(sub.name)
    country = pycountry.countries.get(alpha_2=cleaned)
    assert country is not None  # normalise() accepted it
    return str(getattr(country, "common_name", None) or country.name)
