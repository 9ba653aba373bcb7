"""ISO reference codes (currencies, countries, subdivisions) as validated string types."""

from __future__ import annotations

from functools import cache
from typing import Annotated

import pycountry
from babel.numbers import get_currency_precision
from pydantic import AfterValidator, StringConstraints

# Codes that ISO 4217 lists but that are not money a contract is priced in
# (precious metals, testing and fund codes).
_NON_TRADING = {"XAU", "XAG", "XPT", "XPD", "XTS", "XXX", "XDR", "XBA", "XBB", "XBC", "XBD"}


@cache
def _currency_codes() -> frozenset[str]:
    return frozenset(c.alpha_3 for c in pycountry.currencies) - _NON_TRADING


@cache
def minor_units(currency: str) -> int:
    """Return the number of decimal places a currency uses (USD 2, JPY 0, KWD 3)."""
    return int(get_currency_precision(currency))


def _check_currency(code: str) -> str:
    if code not in _currency_codes():
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (for example USD, EUR, JPY)")
    return code


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(c.alpha_2 for c in pycountry.countries)


def _check_country(code: str) -> str:
    if code not in _country_codes():
        raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code (for example DE, US)")
    return code


def _check_subdivision(code: str) -> str:
    if pycountry.subdivisions.get(code=code) is None:  # type: ignore[no-untyped-call]
        raise ValueError(f"{code!r} is not an ISO 3166-2 subdivision code (for example US-CA)")
    return code


CurrencyCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    AfterValidator(_check_currency),
]
"""An ISO 4217 alphabetic currency code in upper case."""

CountryCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}$"),
    AfterValidator(_check_country),
]
"""An ISO 3166-1 alpha-2 country code in upper case."""

SubdivisionCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$"),
    AfterValidator(_check_subdivision),
]
"""An ISO 3166-2 subdivision code such as ``US-CA`` or ``DE-BY``."""

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"),
]
"""A stable identifier: letters, digits and ``. _ : -``, at most 64 characters."""


def country_of_subdivision(code: str) -> str:
    """Return the country part of an ISO 3166-2 code (``US-CA`` -> ``US``)."""
    return code.split("-", 1)[0]
