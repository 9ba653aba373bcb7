"""DTOs of customers and projects, as the hub stores them in its canonical records."""

from __future__ import annotations

from pydantic import AwareDatetime, Field

from contractsync.entrypoints.api.schemas.common import Dto, MaskedResponse, RefView


class TaxIdView(Dto):
    """A validated tax registration number."""

    scheme: str
    value: str


class CustomerView(Dto):
    """A customer (counterparty) and its refs in the external systems."""

    id: str
    legal_name: str
    billing_country: str
    billing_region: str | None = None
    is_business: bool = True
    tax_ids: list[TaxIdView] = Field(default_factory=list)
    refs: list[RefView] = Field(default_factory=list)
    version: int = Field(ge=1, description="The hub record's version.")
    updated_at: AwareDatetime = Field(description="When the hub stored this version.")


class CustomerResponse(CustomerView, MaskedResponse):
    """One customer."""


class ProjectView(Dto):
    """The hub's view of the ERP and PSA projects delivering one contract."""

    id: str
    contract_id: str
    customer_id: str
    name: str
    status: str = Field(description="staged, active or closed.")
    refs: list[RefView] = Field(default_factory=list)
    version: int = Field(ge=1)
    updated_at: AwareDatetime


__all__ = ["CustomerResponse", "CustomerView", "ProjectView", "TaxIdView"]
