"""Money: a Decimal amount in one ISO 4217 currency, never a float.

Rounding rule: amounts are rounded half-up to the currency's minor units (USD 2, JPY 0,
KWD 3), the commercial rounding invoices use. When one amount is split into parts (a fee
over months, a value over milestones) the parts are found with the largest-remainder method
so they always add up to the whole, to the last minor unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Self

from pydantic import field_validator, model_validator

from contractsync.domain.base import ValueObject
from contractsync.domain.codes import CurrencyCode, minor_units
from contractsync.errors import CurrencyMismatchError, DomainError


def quantum(currency: str) -> Decimal:
    """Return the smallest unit of a currency as a Decimal exponent (``0.01`` for USD)."""
    return Decimal(1).scaleb(-minor_units(currency))


class Money(ValueObject):
    """An exact amount of one currency, already rounded to that currency's minor units.

    Construct rounded amounts with :meth:`of`; the plain constructor refuses an amount with
    more decimals than the currency has, so no stored amount hides sub-cent precision.
    """

    amount: Decimal
    currency: CurrencyCode

    @field_validator("amount", mode="before")
    @classmethod
    def _no_float(cls, value: object) -> object:
        if isinstance(value, float):
            raise ValueError("amounts must be given as strings or Decimals, never floats")
        return value

    @field_validator("amount")
    @classmethod
    def _finite(cls, value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("amount must be a finite number")
        return value

    @model_validator(mode="after")
    def _within_minor_units(self) -> Self:
        step = quantum(self.currency)
        if self.amount != self.amount.quantize(step, rounding=ROUND_HALF_UP):
            raise ValueError(
                f"amount {self.amount} has more decimals than {self.currency} allows "
                f"({minor_units(self.currency)}); round it first"
            )
        # Normalise the exponent so that 10, 10.0 and 10.00 USD are the same value and text.
        object.__setattr__(self, "amount", self.amount.quantize(step))
        return self

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Round ``amount`` half-up to the minor units of ``currency`` and wrap it."""
        value = Decimal(amount)
        return cls(
            amount=value.quantize(quantum(currency), rounding=ROUND_HALF_UP), currency=currency
        )

    @classmethod
    def zero(cls, currency: str) -> Money:
        """Return zero in ``currency``."""
        return cls.of(0, currency)

    def _same_currency(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot combine {self.currency} and {other.currency} amounts",
                detail={"left": str(self), "right": str(other)},
            )

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, float | Money):
            raise TypeError("multiply Money by a Decimal or an int only")
        return Money.of(self.amount * Decimal(factor), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount <= other.amount

    def __gt__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount > other.amount

    def __ge__(self, other: Money) -> bool:
        self._same_currency(other)
        return self.amount >= other.amount

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    @property
    def is_zero(self) -> bool:
        """True when the amount is exactly zero."""
        return self.amount == 0

    @property
    def is_negative(self) -> bool:
        """True when the amount is below zero."""
        return self.amount < 0

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Split this amount in proportion to ``weights``; the parts sum exactly to the whole.

        Uses the largest-remainder method: every part is first rounded down to minor
        units, then the leftover units go one by one to the parts with the largest
        remainders (earliest first on ties), so the split is deterministic.

        Raises:
            DomainError: if there are no weights, a weight is negative or all are zero.
        """
        if not weights:
            raise DomainError("cannot allocate over no parts", code="money.allocate_empty")
        ws = [Decimal(w) for w in weights]
        if any(w < 0 for w in ws):
            raise DomainError("allocation weights must not be negative", code="money.allocate")
        total_weight = sum(ws, Decimal(0))
        if total_weight == 0:
            raise DomainError("allocation weights must not all be zero", code="money.allocate")
        step = quantum(self.currency)
        units = int((self.amount / step).to_integral_value())
        exact = [Decimal(units) * w / total_weight for w in ws]
        floors = [int(e.to_integral_value(rounding=ROUND_DOWN)) for e in exact]
        if units < 0:
            # Work on the magnitude so that negative amounts split symmetrically.
            parts = Money(amount=-self.amount, currency=self.currency).allocate(ws)
            return [-p for p in parts]
        leftover = units - sum(floors)
        order = sorted(range(len(ws)), key=lambda i: (-(exact[i] - floors[i]), i))
        for i in order[:leftover]:
            floors[i] += 1
        return [Money(amount=Decimal(u) * step, currency=self.currency) for u in floors]


def total(amounts: Iterable[Money], currency: str) -> Money:
    """Sum ``amounts`` starting from zero in ``currency``; mixed currencies raise."""
    result = Money.zero(currency)
    for amount in amounts:
        result = result + amount
    return result
