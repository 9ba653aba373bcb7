"""Calendar arithmetic for billing and revenue: terms, months, proration and invoicing days."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Self

from pydantic import model_validator

from contractsync.domain.base import ValueObject


class Term(ValueObject):
    """An inclusive date range ``start``..``end`` (both days are covered)."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end < self.start:
            raise ValueError(f"term end {self.end} is before its start {self.start}")
        return self

    @property
    def days(self) -> int:
        """Number of days covered, both ends included."""
        return (self.end - self.start).days + 1

    def contains(self, day: date) -> bool:
        """True when ``day`` falls inside the term."""
        return self.start <= day <= self.end

    def months(self) -> Iterator[MonthSlice]:
        """Yield the calendar months the term touches, each clipped to the term."""
        cursor = self.start
        while cursor <= self.end:
            last = month_end(cursor)
            yield MonthSlice(start=cursor, end=min(last, self.end))
            cursor = last + timedelta(days=1)


class MonthSlice(Term):
    """The part of one calendar month inside a term."""

    @property
    def month(self) -> date:
        """First day of the calendar month this slice belongs to."""
        return self.start.replace(day=1)

    @property
    def fraction(self) -> Decimal:
        """Share of the calendar month covered, by days (a full month is exactly 1)."""
        return Decimal(self.days) / Decimal(days_in_month(self.start))


def days_in_month(day: date) -> int:
    """Number of days in the month of ``day``."""
    return calendar.monthrange(day.year, day.month)[1]


def month_end(day: date) -> date:
    """Last day of the month of ``day``."""
    return day.replace(day=days_in_month(day))


def add_months(day: date, months: int) -> date:
    """Move ``day`` by whole months, clamping to the month's last day (Jan 31 + 1 = Feb 28/29)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    first = date(year, month + 1, 1)
    return first.replace(day=min(day.day, days_in_month(first)))


def on_invoicing_day(year: int, month: int, invoicing_day: int) -> date:
    """Return the invoicing day of a month (the day is clamped to the month's length)."""
    first = date(year, month, 1)
    return first.replace(day=min(invoicing_day, days_in_month(first)))


def next_invoicing_day(day: date, invoicing_day: int) -> date:
    """First invoicing day on or after ``day``."""
    candidate = on_invoicing_day(day.year, day.month, invoicing_day)
    if candidate >= day:
        return candidate
    following = add_months(day.replace(day=1), 1)
    return on_invoicing_day(following.year, following.month, invoicing_day)


def previous_invoicing_day(day: date, invoicing_day: int) -> date:
    """Last invoicing day on or before ``day``."""
    candidate = on_invoicing_day(day.year, day.month, invoicing_day)
    if candidate <= day:
        return candidate
    previous = add_months(day.replace(day=1), -1)
    return on_invoicing_day(previous.year, previous.month, invoicing_day)
