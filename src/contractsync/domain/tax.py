"""Tax identifiers, validated with python-stdnum, and the tax treatments a contract can carry."""

from __future__ import annotations

import importlib
from enum import StrEnum
from types import ModuleType
from typing import Self

from pydantic import model_validator

from contractsync.domain.base import ValueObject

# scheme -> (python-stdnum module, country the identifier belongs to or None for "prefix decides")
_SCHEMES: dict[str, tuple[str, str | None]] = {
    "eu_vat": ("stdnum.eu.vat", None),
    "gb_vat": ("stdnum.gb.vat", "GB"),
    "us_ein": ("stdnum.us.ein", "US"),
    "au_abn": ("stdnum.au.abn", "AU"),
    "in_gstin": ("stdnum.in_.gstin", "IN"),
    "ch_vat": ("stdnum.ch.vat", "CH"),
    "no_mva": ("stdnum.no.mva", "NO"),
    "ca_bn": ("stdnum.ca.bn", "CA"),
    "nz_ird": ("stdnum.nz.ird", "NZ"),
    "sg_uen": ("stdnum.sg.uen", "SG"),
    "jp_cn": ("stdnum.jp.cn", "JP"),
    "br_cnpj": ("stdnum.br.cnpj", "BR"),
    "mx_rfc": ("stdnum.mx.rfc", "MX"),
}

TAX_ID_SCHEMES = tuple(sorted(_SCHEMES))
"""Every tax identifier scheme contractsync validates."""

VAT_SCHEMES = frozenset({"eu_vat", "gb_vat", "ch_vat", "no_mva", "in_gstin", "au_abn", "nz_ird"})
"""Schemes that prove a VAT/GST registration (a business customer for reverse charge)."""


def _module(scheme: str) -> ModuleType:
    return importlib.import_module(_SCHEMES[scheme][0])


def scheme_for_country(country: str) -> str | None:
    """The tax identifier scheme a business billed in ``country`` is expected to hold.

    EU member states (and Northern Ireland's ``XI`` numbers) use ``eu_vat``; other countries
    use their national scheme; None where contractsync knows no scheme.
    """
    if country in EU_COUNTRIES:
        return "eu_vat"
    return next((scheme for scheme, (_, fixed) in _SCHEMES.items() if fixed == country), None)


EU_COUNTRIES = frozenset(
    {"EL": "GR"}.get(code.upper(), code.upper())
    for code in importlib.import_module("stdnum.eu.vat").MEMBER_STATES
    if code.upper() != "XI"
)
"""ISO codes of the EU member states (python-stdnum's list, with EL as GR, without XI)."""


class TaxIdentifier(ValueObject):
    """A tax registration number under a named scheme, stored in its compact form.

    Validation uses python-stdnum's check-digit and format rules for the scheme; an
    ``eu_vat`` number keeps its two-letter country prefix (``DE``, ``FR``, ``XI`` ...).
    """

    scheme: str
    value: str

    @model_validator(mode="after")
    def _valid_for_scheme(self) -> Self:
        if self.scheme not in _SCHEMES:
            raise ValueError(
                f"unknown tax identifier scheme {self.scheme!r}; use one of {', '.join(TAX_ID_SCHEMES)}"
            )
        module = _module(self.scheme)
        if not module.is_valid(self.value):
            try:
                module.validate(self.value)
            except Exception as exc:  # noqa: BLE001 - stdnum raises ValidationError subclasses
                reason = str(exc) or type(exc).__name__
            else:  # pragma: no cover - is_valid and validate disagree only on stdnum bugs
                reason = "rejected"
            raise ValueError(f"{self.value!r} is not a valid {self.scheme} number: {reason}")
        object.__setattr__(self, "value", module.compact(self.value))
        return self

    @property
    def country(self) -> str:
        """ISO country the number belongs to (``GR`` for an ``EL`` VAT prefix)."""
        fixed = _SCHEMES[self.scheme][1]
        if fixed is not None:
            return fixed
        prefix = self.value[:2].upper()
        return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)

    @property
    def proves_vat_registration(self) -> bool:
        """True when the number is a VAT/GST registration (needed for B2B reverse charge)."""
        return self.scheme in VAT_SCHEMES


class TaxTreatment(StrEnum):
    """How the invoices of a contract are taxed, from the seller's point of view."""

    DOMESTIC_VAT = "domestic_vat"
    """Seller and buyer in the same VAT/GST country: charge local VAT/GST."""
    EU_REVERSE_CHARGE = "eu_reverse_charge"
    """EU seller, business buyer in another EU state with a VAT number: buyer self-assesses."""
    EU_B2C_DESTINATION_VAT = "eu_b2c_destination_vat"
    """EU seller, consumer in another EU state: VAT of the buyer's state (OSS)."""
    EXPORT_OUTSIDE_SCOPE = "export_outside_scope"
    """Services supplied to a buyer outside the seller's VAT area: outside the scope of VAT."""
    US_SALES_TAX_EXEMPT_SERVICES = "us_sales_tax_exempt_services"
    """US seller, US buyer: professional services exempt from state sales tax."""
    US_SALES_TAX = "us_sales_tax"
    """US seller, US buyer in a state that taxes these services."""
