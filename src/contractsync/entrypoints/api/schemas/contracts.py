"""DTOs of contracts, their lines, rate cards and versions; prices are masked fields."""

from __future__ import annotations

import datetime as dt

from pydantic import AwareDatetime, Field

from contractsync.entrypoints.api.masking import priced
from contractsync.entrypoints.api.schemas.common import Dto, MaskedResponse, MoneyView, RefView


class TermView(Dto):
    """An inclusive date range."""

    start: dt.date
    end: dt.date


class MilestoneView(Dto):
    """A fixed-fee payment point."""

    id: str
    name: str
    amount: MoneyView | None = priced("The milestone amount.")
    due_date: dt.date | None = None
    trigger: str | None = None
    acceptance_required: bool = False
    status: str = Field(description="planned, ready or invoiced.")


class RoleHoursView(Dto):
    """Estimated hours of one role."""

    role: str
    hours: str = Field(pattern=r"^\d+(\.\d+)?$")


class BillingView(Dto):
    """How a line is billed; which fields are set depends on ``model``."""

    model: str = Field(description="fixed_fee, time_and_materials, retainer or subscription.")
    amount: MoneyView | None = priced("Fixed fee: the price of the line.")
    milestones: list[MilestoneView] = Field(default_factory=list)
    rate_card_id: str | None = None
    estimate: list[RoleHoursView] = Field(default_factory=list)
    cap: MoneyView | None = priced("Time and materials: the not-to-exceed amount.")
    monthly_fee: MoneyView | None = priced("Retainer: the monthly fee.")
    period: str | None = None
    price_per_period: MoneyView | None = priced("Subscription: the price per period.")


class LineView(Dto):
    """One service line."""

    id: str
    description: str
    service_code: str
    term: TermView | None = None
    billing: BillingView


class RateView(Dto):
    """The hourly rate of one role over a date range."""

    role: str
    hourly: MoneyView | None = priced("The hourly rate.")
    effective_from: dt.date
    effective_to: dt.date | None = None


class RateCardView(Dto):
    """Role rates in one currency."""

    id: str
    currency: str
    rates: list[RateView] = Field(default_factory=list)


class ObligationView(Dto):
    """A clause-derived duty."""

    id: str
    kind: str
    clause: str = ""
    description: str = ""
    days: int | None = None
    percent: str | None = priced("SLA credit: the share of the period fee credited.")


class ContractView(Dto):
    """One version of a contract."""

    id: str = Field(description="Canonical contract id; also the lineage (correlation) id.")
    kind: str
    title: str
    parent_id: str | None = None
    customer_id: str
    legal_entity_code: str
    currency: str
    term: TermView
    status: str
    version: int = Field(ge=1)
    tax_treatment: str | None = None
    payment_terms_days: int | None = None
    lines: list[LineView] = Field(default_factory=list)
    rate_cards: list[RateCardView] = Field(default_factory=list)
    obligations: list[ObligationView] = Field(default_factory=list)
    refs: list[RefView] = Field(default_factory=list)


class ContractResponse(ContractView, MaskedResponse):
    """The current version of one contract."""

    updated_at: AwareDatetime = Field(description="When the hub stored this version.")


class ContractVersionView(Dto):
    """One stored version of a contract and what caused it."""

    version: int = Field(ge=1)
    recorded_at: AwareDatetime
    cause: str = Field(description="inbox:<message id>, a workflow id, or an operator.")
    contract: ContractView


class RateCardEntry(Dto):
    """A rate card with the contract that carries it."""

    contract_id: str
    contract_version: int = Field(ge=1)
    rate_card: RateCardView


__all__ = [
    "BillingView",
    "ContractResponse",
    "ContractVersionView",
    "ContractView",
    "LineView",
    "MilestoneView",
    "ObligationView",
    "RateCardEntry",
    "RateCardView",
    "RateView",
    "TermView",
]
