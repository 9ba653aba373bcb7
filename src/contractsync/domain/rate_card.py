"""Rate cards: hourly rates per role with effective date ranges."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from typing import ClassVar, Self

from pydantic import Field, model_validator

from contractsync.domain.base import Document, ValueObject
from contractsync.domain.codes import CurrencyCode, Identifier
from contractsync.domain.money import Money


class Rate(ValueObject):
    """The hourly rate of one role from ``effective_from`` to ``effective_to`` (inclusive, open if None)."""

    role: str = Field(min_length=1, max_length=64)
    hourly: Money
    effective_from: date
    effective_to: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.effective_to is not None and self.effective_to < self.effective_from:
            raise ValueError(f"rate for {self.role}: effective_to is before effective_from")
        if self.hourly.is_negative:
            raise ValueError(f"rate for {self.role} is negative")
        return self

    def applies_on(self, day: date) -> bool:
        """True when this rate is in force on ``day``."""
        return self.effective_from <= day and (
            self.effective_to is None or day <= self.effective_to
        )


class RateCard(Document):
    """Role rates in one currency; for each role the effective ranges never overlap."""

    schema_name: ClassVar[str] = "rate_card"

    id: Identifier
    currency: CurrencyCode
    rates: tuple[Rate, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for rate in self.rates:
            if rate.hourly.currency != self.currency:
                raise ValueError(
                    f"rate for {rate.role} is in {rate.hourly.currency}, the card is in {self.currency}"
                )
        by_role: dict[str, list[Rate]] = {}
        for rate in self.rates:
            by_role.setdefault(rate.role, []).append(rate)
        for role, rates in by_role.items():
            ordered = sorted(rates, key=lambda r: r.effective_from)
            for earlier, later in itertools.pairwise(ordered):
                if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                    raise ValueError(
                        f"rates for role {role!r} overlap from {later.effective_from}; "
                        "close the earlier range first"
                    )
        return self

    @property
    def roles(self) -> frozenset[str]:
        """Every role that has at least one rate."""
        return frozenset(r.role for r in self.rates)

    def rate_for(self, role: str, on: date) -> Money | None:
        """Return the hourly rate of ``role`` in force on ``on``, or None if there is none."""
        for rate in self.rates:
            if rate.role == role and rate.applies_on(on):
                return rate.hourly
        return None

    def covers(self, role: str, start: date, end: date) -> bool:
        """True when ``role`` has a rate on every day from ``start`` to ``end``."""
        day = start
        for rate in sorted(
            (r for r in self.rates if r.role == role), key=lambda r: r.effective_from
        ):
            if rate.effective_from > day:
                return False
            if rate.effective_to is None or rate.effective_to >= end:
                return True
            day = max(day, rate.effective_to + timedelta(days=1))
        return False

    def with_rate(self, role: str, hourly: Money, effective_from: date) -> RateCard:
        """Return a copy where ``role`` costs ``hourly`` from ``effective_from`` on.

        The range in force that day is closed the day before; later ranges of the role are
        replaced, because the new rate applies until further notice.
        """
        kept: list[Rate] = []
        for rate in self.rates:
            if rate.role != role or (
                rate.effective_to is not None and rate.effective_to < effective_from
            ):
                kept.append(rate)
            elif rate.effective_from < effective_from:
                closed = effective_from - timedelta(days=1)
                kept.append(rate.model_copy(update={"effective_to": closed}))
        kept.append(Rate(role=role, hourly=hourly, effective_from=effective_from))
        ordered = tuple(sorted(kept, key=lambda r: (r.role, r.effective_from)))
        return RateCard(id=self.id, currency=self.currency, rates=ordered)
