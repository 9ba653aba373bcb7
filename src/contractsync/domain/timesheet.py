"""Time worked against a time-and-materials line, and what that time is charged."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Self

from pydantic import Field, model_validator

from contractsync.domain.base import ValueObject
from contractsync.domain.codes import CurrencyCode, Identifier
from contractsync.domain.money import Money, total


class TimeEntry(ValueObject):
    """Hours one role worked on one day; one person's day is at most 24 hours."""

    role: str = Field(min_length=1, max_length=64)
    day: date
    hours: Decimal = Field(gt=0, le=24)


class TimesheetLine(ValueObject):
    """Hours of one role at one hourly rate; ``amount`` is ``hours * hourly`` rounded half-up."""

    role: str = Field(min_length=1, max_length=64)
    hourly: Money
    hours: Decimal = Field(gt=0)
    amount: Money

    @model_validator(mode="after")
    def _priced(self) -> Self:
        if self.amount != self.hourly * self.hours:
            raise ValueError(
                f"{self.role}: {self.hours} h at {self.hourly} is {self.hourly * self.hours}, "
                f"not {self.amount}"
            )
        return self


class TimesheetCharge(ValueObject):
    """What a batch of time entries adds to a line's invoices.

    ``billable`` is what may be invoiced now without passing the line's not-to-exceed cap;
    ``over_cap`` is the rest of the priced time, which is worked but not billable.
    Both are in ``currency`` and they always add up to :attr:`gross`.
    """

    line_id: Identifier
    currency: CurrencyCode
    lines: tuple[TimesheetLine, ...] = ()
    billable: Money
    over_cap: Money

    @model_validator(mode="after")
    def _adds_up(self) -> Self:
        amounts = [self.billable, self.over_cap, *(line.amount for line in self.lines)]
        if any(amount.currency != self.currency for amount in amounts):
            raise ValueError(f"every amount of the charge must be in {self.currency}")
        if self.billable.is_negative or self.over_cap.is_negative:
            raise ValueError("billable and over_cap must not be negative")
        if self.billable + self.over_cap != self.gross:
            raise ValueError(
                f"billable {self.billable} and over_cap {self.over_cap} "
                f"do not add up to the priced time {self.gross}"
            )
        return self

    @property
    def gross(self) -> Money:
        """All priced time, billable or not."""
        return total((line.amount for line in self.lines), self.currency)
