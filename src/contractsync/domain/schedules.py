"""Billing and revenue schedules: generated from a contract version, never typed in by hand."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Self

from pydantic import Field, model_validator

from contractsync.domain.base import Document, ValueObject
from contractsync.domain.codes import CurrencyCode, Identifier
from contractsync.domain.money import Money, total


class BillingEntry(ValueObject):
    """One planned invoice line: what is billed, for which period, when and when it is due."""

    line_id: Identifier
    milestone_id: Identifier | None = None
    description: str
    period_start: date
    period_end: date
    invoice_date: date
    due_date: date
    amount: Money
    in_advance: bool = False


class BillingSchedule(Document):
    """Every planned invoice line of one contract version, in invoice-date order."""

    schema_name: ClassVar[str] = "billing_schedule"

    contract_id: Identifier
    contract_version: int = Field(ge=1)
    currency: CurrencyCode
    entries: tuple[BillingEntry, ...] = ()

    @model_validator(mode="after")
    def _one_currency(self) -> Self:
        for entry in self.entries:
            if entry.amount.currency != self.currency:
                raise ValueError(f"entry for {entry.line_id} is not in {self.currency}")
        return self

    @property
    def total(self) -> Money:
        """Sum of all entries."""
        return total((e.amount for e in self.entries), self.currency)


class RecognitionMethod(StrEnum):
    """How revenue of a line is recognised."""

    POINT_IN_TIME = "point_in_time"
    """All at once when a milestone is accepted."""
    RATABLE = "ratable"
    """Evenly over the service term, by day."""
    AS_INCURRED = "as_incurred"
    """As hours are worked (time and materials)."""


class RevenueEntry(ValueObject):
    """Revenue of one line recognised in one month."""

    line_id: Identifier
    milestone_id: Identifier | None = None
    month: date = Field(description="First day of the accounting month.")
    recognition_date: date
    method: RecognitionMethod
    amount: Money


class RevenueSchedule(Document):
    """Planned revenue of one contract version by month and line."""

    schema_name: ClassVar[str] = "revenue_schedule"

    contract_id: Identifier
    contract_version: int = Field(ge=1)
    currency: CurrencyCode
    entries: tuple[RevenueEntry, ...] = ()

    @model_validator(mode="after")
    def _one_currency(self) -> Self:
        for entry in self.entries:
            if entry.amount.currency != self.currency:
                raise ValueError(f"entry for {entry.line_id} is not in {self.currency}")
        return self

    @property
    def total(self) -> Money:
        """Sum of all entries."""
        return total((e.amount for e in self.entries), self.currency)

    def by_month(self) -> dict[date, Money]:
        """Revenue per accounting month, months in order."""
        months: dict[date, Money] = {}
        for entry in sorted(self.entries, key=lambda e: e.month):
            months[entry.month] = months.get(entry.month, Money.zero(self.currency)) + entry.amount
        return months
