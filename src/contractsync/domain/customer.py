"""The customer (counterparty) and our own contracting legal entity."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, model_validator

from contractsync.domain.base import Document
from contractsync.domain.codes import (
    CountryCode,
    CurrencyCode,
    Identifier,
    SubdivisionCode,
    country_of_subdivision,
)
from contractsync.domain.identity import ExternalRef
from contractsync.domain.tax import TaxIdentifier


class Customer(Document):
    """A counterparty we invoice, with its validated tax identifiers and system refs."""

    schema_name: ClassVar[str] = "customer"

    id: Identifier = Field(description="Canonical customer id, stable across systems.")
    legal_name: str = Field(min_length=1, max_length=255)
    billing_country: CountryCode
    billing_region: SubdivisionCode | None = Field(
        default=None, description="ISO 3166-2 subdivision, required for US sales-tax decisions."
    )
    is_business: bool = Field(default=True, description="False for a consumer (B2C) customer.")
    tax_ids: tuple[TaxIdentifier, ...] = ()
    refs: tuple[ExternalRef, ...] = ()

    @model_validator(mode="after")
    def _region_in_country(self) -> Self:
        if (
            self.billing_region
            and country_of_subdivision(self.billing_region) != self.billing_country
        ):
            raise ValueError(
                f"billing_region {self.billing_region} is not in billing_country {self.billing_country}"
            )
        # A multinational may hold VAT numbers in several EU states: one per scheme and country.
        keys = [(t.scheme, t.country) for t in self.tax_ids]
        if len(keys) != len(set(keys)):
            raise ValueError("tax_ids holds two numbers of the same scheme for the same country")
        return self

    def vat_registration_in(self, country: str) -> TaxIdentifier | None:
        """Return the VAT/GST number registered in ``country``, if the customer has one."""
        for tax_id in self.tax_ids:
            if tax_id.proves_vat_registration and tax_id.country == country:
                return tax_id
        return None

    def ref_in(self, system: str) -> ExternalRef | None:
        """Return how this customer is known in ``system``, if it is known there."""
        return next((r for r in self.refs if r.system == system), None)


class LegalEntity(Document):
    """One of our own contracting entities and its ERP company."""

    schema_name: ClassVar[str] = "legal_entity"

    code: Identifier
    name: str = Field(min_length=1, max_length=255)
    country: CountryCode
    region: SubdivisionCode | None = None
    functional_currency: CurrencyCode
    erp_company: str = Field(min_length=1, description="Company or subsidiary key in the ERP.")
    invoicing_day: int = Field(
        default=1, ge=1, le=28, description="Day of the month on which invoices are issued."
    )
    default_payment_terms_days: int = Field(default=30, ge=0, le=365)
    tax_ids: tuple[TaxIdentifier, ...] = ()
