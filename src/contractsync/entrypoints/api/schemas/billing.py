"""DTOs of billing schedules and invoices as the hub knows them."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from contractsync.entrypoints.api.masking import free_form, priced
from contractsync.entrypoints.api.schemas.common import Dto, MaskedResponse, MoneyView, RefView


class BillingEntryView(Dto):
    """One planned invoice line."""

    line_id: str
    milestone_id: str | None = None
    description: str
    period_start: dt.date
    period_end: dt.date
    invoice_date: dt.date
    due_date: dt.date
    amount: MoneyView | None = priced("The amount to invoice.")
    in_advance: bool = False


class BillingScheduleResponse(MaskedResponse):
    """Every planned invoice line of a contract version."""

    contract_id: str
    contract_version: int = Field(ge=1)
    currency: str
    source: Literal["stored", "generated"] = Field(
        description="stored: the schedule the hub pushed to the ERP; generated: computed now "
        "from the current contract version (none was stored yet)."
    )
    entries: list[BillingEntryView] = Field(default_factory=list)
    total: MoneyView | None = priced("The sum of the entries.")


class InvoiceEventView(Dto):
    """An event the hub published about an invoice."""

    id: str
    type: str
    occurred_at: AwareDatetime
    data: dict[str, Any] | None = free_form("The event data.")


class InvoiceView(Dto):
    """An invoice the hub knows of: an ERP record linked to a canonical invoice id."""

    id: str = Field(description="The hub's invoice id.")
    contract_id: str | None = Field(
        default=None, description="The contract (lineage id) of its events, when known."
    )
    refs: list[RefView] = Field(description="Where the invoice lives (ERP id and kind).")
    linked_at: AwareDatetime = Field(description="When the hub first linked it.")
    milestone_id: str | None = Field(default=None, description="The milestone it bills.")
    issued_on: dt.date | None = None
    due_on: dt.date | None = None
    amount: MoneyView | None = priced("The invoiced amount, as the hub recorded it.")
    events: list[InvoiceEventView] = Field(default_factory=list)


__all__ = ["BillingEntryView", "BillingScheduleResponse", "InvoiceEventView", "InvoiceView"]
