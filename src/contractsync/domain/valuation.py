"""What a contract is worth: each line priced period by period, to the minor unit.

The same priced periods feed the contract value, the billing schedule and the revenue
schedule, which is why those three always agree to the cent.

- Fixed fee: the line amount, due at its milestones.
- Time and materials: the estimated hours spread evenly by day over the line term, priced at
  the rate in force on the first day of each month, and cut off once the cap is reached; the
  running total is rounded, so past months keep their amount when later terms change.
- Retainer: the monthly fee, prorated by days for partial months.
- Subscription: the period price on each period from the line start; a partial last period
  is prorated by days.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    Subscription,
    TimeAndMaterials,
)
from contractsync.domain.money import Money, total
from contractsync.domain.periods import Term, add_months
from contractsync.errors import CurrencyMismatchError, DomainError


class PricedPeriod(ValueObject):
    """An amount earned by one line over ``start``..``end`` (one day for a milestone)."""

    line_id: str
    start: date
    end: date
    amount: Money
    milestone_id: str | None = None


def priced_periods(contract: Contract, line: ContractLine) -> list[PricedPeriod]:
    """Price one line of ``contract`` period by period; zero-amount periods are left out.

    Raises:
        DomainError: if a time-and-materials line names a rate card the contract lacks.
        CurrencyMismatchError: if a rate card is not in the contract currency.
    """
    billing = line.billing
    term = contract.line_term(line)
    if isinstance(billing, FixedFee):
        return [
            PricedPeriod(
                line_id=line.id,
                start=m.due_date or term.end,
                end=m.due_date or term.end,
                amount=m.amount,
                milestone_id=m.id,
            )
            for m in billing.milestones
            if not m.amount.is_zero
        ]
    if isinstance(billing, TimeAndMaterials):
        return _time_and_materials(contract, line, billing, term)
    if isinstance(billing, Retainer):
        return [
            PricedPeriod(
                line_id=line.id, start=s.start, end=s.end, amount=billing.monthly_fee * s.fraction
            )
            for s in term.months()
            if not (billing.monthly_fee * s.fraction).is_zero
        ]
    return _subscription(line, billing, term)


def subscription_terms(start: date, end: date, months: int) -> list[tuple[Term, Decimal]]:
    """Split ``start``..``end`` into periods of ``months`` from ``start``, with each one's fraction."""
    periods: list[tuple[Term, Decimal]] = []
    index = 0
    while True:
        period_start = add_months(start, months * index)
        if period_start > end:
            return periods
        full_end = add_months(start, months * (index + 1)) - timedelta(days=1)
        full = Term(start=period_start, end=full_end)
        covered = Term(start=period_start, end=min(full_end, end))
        periods.append((covered, Decimal(covered.days) / Decimal(full.days)))
        index += 1


def _subscription(line: ContractLine, billing: Subscription, term: Term) -> list[PricedPeriod]:
    result = []
    for covered, fraction in subscription_terms(term.start, term.end, billing.period.months):
        amount = billing.price_per_period * fraction
        if not amount.is_zero:
            result.append(
                PricedPeriod(line_id=line.id, start=covered.start, end=covered.end, amount=amount)
            )
    return result


def _time_and_materials(
    contract: Contract, line: ContractLine, billing: TimeAndMaterials, term: Term
) -> list[PricedPeriod]:
    card = contract.rate_card(billing.rate_card_id)
    if card is None:
        raise DomainError(
            f"line {line.id} uses rate card {billing.rate_card_id}, which the contract lacks",
            code="contract.rate_card_missing",
        )
    if card.currency != contract.currency:
        raise CurrencyMismatchError(
            f"rate card {card.id} is in {card.currency}, the contract in {contract.currency}"
        )
    slices = list(term.months())
    uncapped: list[Decimal] = []
    for month in slices:
        share = Decimal(month.days) / Decimal(term.days)
        amount = Decimal(0)
        for item in billing.estimate:
            rate = card.rate_for(item.role, month.start)
            if rate is not None:
                amount += item.hours * share * rate.amount
        uncapped.append(amount)
    capped = uncapped
    if billing.cap is not None:
        room = billing.cap.amount
        capped = []
        for amount in uncapped:
            take = max(Decimal(0), min(amount, room))
            capped.append(take)
            room -= take
    # Round the running total, not each month: a month's amount is then fixed by the months up
    # to it, so raising the cap or changing a later rate never moves a cent into a past month.
    periods = []
    running = Decimal(0)
    billed = Money.zero(contract.currency)
    for month, amount in zip(slices, capped, strict=True):
        running += amount
        part = Money.of(running, contract.currency) - billed
        billed = billed + part
        if not part.is_zero:
            periods.append(
                PricedPeriod(line_id=line.id, start=month.start, end=month.end, amount=part)
            )
    return periods


def line_value(contract: Contract, line: ContractLine) -> Money:
    """The value of one line in the contract currency (a fixed fee is its stated amount)."""
    if isinstance(line.billing, FixedFee):
        return line.billing.amount
    return total((p.amount for p in priced_periods(contract, line)), contract.currency)


def contract_value(contract: Contract) -> Money:
    """The total value of a contract: the sum of its line values."""
    return total((line_value(contract, line) for line in contract.lines), contract.currency)
