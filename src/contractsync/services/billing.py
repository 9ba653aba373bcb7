"""Billing: the planned invoices of a contract version, and the pricing of T&M timesheets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    Subscription,
    TimeAndMaterials,
)
from contractsync.domain.customer import LegalEntity
from contractsync.domain.money import Money, total
from contractsync.domain.periods import (
    Term,
    add_months,
    days_in_month,
    next_invoicing_day,
    previous_invoicing_day,
)
from contractsync.domain.rate_card import RateCard
from contractsync.domain.schedules import BillingEntry, BillingSchedule
from contractsync.domain.timesheet import TimeEntry, TimesheetCharge, TimesheetLine
from contractsync.domain.valuation import PricedPeriod, priced_periods
from contractsync.errors import CurrencyMismatchError, DataError, DomainError

__all__ = ["build_billing_schedule", "price_timesheet", "require_milestones_to_sum"]


def build_billing_schedule(contract: Contract, *, legal_entity: LegalEntity) -> BillingSchedule:
    """Plan every invoice line of ``contract`` from its priced periods.

    The entries add up to :func:`~contractsync.domain.valuation.contract_value` to the
    minor unit, are all in the contract currency and are ordered by invoice date, then
    line order in the contract, then period start.

    - Fixed fee: one entry per milestone, invoiced on the first invoicing day on or after
      the milestone date (its due date, else the line's term end).
    - Time and materials: one entry per priced month, in arrears: invoiced on the first
      invoicing day after the month's slice ends.
    - Retainer and subscription: one entry per period, in advance: invoiced on the last
      invoicing day on or before the period start, but never before the line starts.

    Every entry is due ``contract.payment_terms(...)`` days after its invoice date.

    Raises:
        DomainError: if ``legal_entity`` is not the contract's legal entity, or (from
            valuation) a time-and-materials line names a rate card the contract lacks.
        DataError: if a fixed-fee line's milestones do not add up to its fee.
    """
    if legal_entity.code != contract.legal_entity_code:
        raise DomainError(
            f"contract {contract.id} is made by legal entity {contract.legal_entity_code}, "
            f"not {legal_entity.code}",
            code="billing.legal_entity_mismatch",
            detail={"contract": contract.id, "legal_entity": legal_entity.code},
        )
    require_milestones_to_sum(contract)
    terms = timedelta(days=contract.payment_terms(legal_entity.default_payment_terms_days))
    keyed: list[tuple[date, int, date, BillingEntry]] = []
    for index, line in enumerate(contract.lines):
        for period in priced_periods(contract, line):
            invoice_date, in_advance = _invoice_date(
                contract.line_term(line), line, period, legal_entity.invoicing_day
            )
            entry = BillingEntry(
                line_id=line.id,
                milestone_id=period.milestone_id,
                description=_describe(contract, line, period),
                period_start=period.start,
                period_end=period.end,
                invoice_date=invoice_date,
                due_date=invoice_date + terms,
                amount=period.amount,
                in_advance=in_advance,
            )
            keyed.append((invoice_date, index, period.start, entry))
    # sorted() is stable, so milestones sharing a date keep their document order.
    keyed.sort(key=lambda item: item[:3])
    return BillingSchedule(
        contract_id=contract.id,
        contract_version=contract.version,
        currency=contract.currency,
        entries=tuple(entry for *_, entry in keyed),
    )


def require_milestones_to_sum(contract: Contract) -> None:
    """Check that every fixed-fee line's milestones add up to exactly its fee.

    Schedules bill and recognise a fixed fee by its milestones while the contract value
    counts the stated fee, so a gap between the two would go unbilled (or be overbilled).

    Raises:
        DataError: naming the first line whose milestones and fee differ, and by how much.
    """
    for line in contract.lines:
        billing = line.billing
        if not isinstance(billing, FixedFee):
            continue
        planned = total((m.amount for m in billing.milestones), billing.amount.currency)
        if planned != billing.amount:
            raise DataError(
                f"line {line.id} has a fixed fee of {billing.amount} but its milestones "
                f"add up to {planned}",
                code="contract.milestones_do_not_sum",
                remediation="Correct the milestone amounts or the fee in the contract.",
                detail={
                    "contract": contract.id,
                    "line": line.id,
                    "gap": str(billing.amount - planned),
                },
            )


def price_timesheet(
    contract: Contract, line_id: str, entries: Sequence[TimeEntry], *, billed_to_date: Money
) -> TimesheetCharge:
    """Price time entries of a time-and-materials line at the rates in force on their days.

    Entries are grouped per role and hourly rate (first day worked first); each group is
    rounded half-up to minor units. ``billable`` is the priced time capped so that
    ``billed_to_date + billable`` never exceeds the line's not-to-exceed cap; the rest is
    ``over_cap``. A line without a cap is billable in full.

    Raises:
        DataError: if the line is missing or not time and materials, its rate card is
            missing, an entry falls outside the line term, or a role has no rate on the
            day it worked.
        CurrencyMismatchError: if ``billed_to_date`` is not in the contract currency.
    """
    line = contract.line(line_id)
    if line is None:
        raise DataError(
            f"contract {contract.id} has no line {line_id}",
            code="timesheet.line_missing",
            detail={"contract": contract.id, "line": line_id},
        )
    billing = line.billing
    if not isinstance(billing, TimeAndMaterials):
        raise DataError(
            f"line {line_id} of contract {contract.id} is billed as {billing.model}, "
            "not time and materials, so it takes no timesheets",
            code="timesheet.line_not_time_and_materials",
            detail={"contract": contract.id, "line": line_id, "model": str(billing.model)},
        )
    if billed_to_date.currency != contract.currency:
        raise CurrencyMismatchError(
            f"billed_to_date is in {billed_to_date.currency}, contract {contract.id} "
            f"in {contract.currency}"
        )
    card = contract.rate_card(billing.rate_card_id)
    if card is None:
        raise DataError(
            f"line {line_id} uses rate card {billing.rate_card_id}, which contract "
            f"{contract.id} lacks",
            code="timesheet.rate_card_missing",
            detail={"contract": contract.id, "line": line_id, "rate_card": billing.rate_card_id},
        )
    term = contract.line_term(line)
    hours: dict[tuple[str, Money], Decimal] = {}
    first_day: dict[tuple[str, Money], date] = {}
    for entry in entries:
        rate = _rate_on(entry, card=card, contract=contract, line=line, term=term)
        key = (entry.role, rate)
        hours[key] = hours.get(key, Decimal(0)) + entry.hours
        first_day[key] = min(first_day.get(key, entry.day), entry.day)
    priced = tuple(
        TimesheetLine(
            role=role, hourly=rate, hours=hours[role, rate], amount=rate * hours[role, rate]
        )
        for role, rate in sorted(hours, key=lambda key: (key[0], first_day[key]))
    )
    gross = total((p.amount for p in priced), contract.currency)
    billable = gross
    if billing.cap is not None:
        room = max(Money.zero(contract.currency), billing.cap - billed_to_date)
        billable = min(gross, room)
    return TimesheetCharge(
        line_id=line.id,
        currency=contract.currency,
        lines=priced,
        billable=billable,
        over_cap=gross - billable,
    )


def _rate_on(
    entry: TimeEntry, *, card: RateCard, contract: Contract, line: ContractLine, term: Term
) -> Money:
    if not term.contains(entry.day):
        raise DataError(
            f"{entry.role} worked on {entry.day}, outside line {line.id}'s term "
            f"{term.start}..{term.end}",
            code="timesheet.outside_term",
            detail={"contract": contract.id, "line": line.id, "day": entry.day.isoformat()},
        )
    rate = card.rate_for(entry.role, entry.day)
    if rate is None:
        raise DataError(
            f"role {entry.role!r} has no rate on {entry.day} in rate card {card.id} "
            f"of line {line.id}",
            code="timesheet.rate_missing",
            remediation="Add a rate for the role covering that day, then retry.",
            detail={"contract": contract.id, "line": line.id, "role": entry.role},
        )
    return rate


def _invoice_date(
    term: Term, line: ContractLine, period: PricedPeriod, invoicing_day: int
) -> tuple[date, bool]:
    """Return when ``period`` is invoiced and whether that is in advance of the service."""
    if isinstance(line.billing, FixedFee):
        return next_invoicing_day(period.start, invoicing_day), False
    if isinstance(line.billing, TimeAndMaterials):
        return next_invoicing_day(period.end + timedelta(days=1), invoicing_day), False
    # A customer is never invoiced before the service it pays for has been agreed to start.
    return max(previous_invoicing_day(period.start, invoicing_day), term.start), True


def _describe(contract: Contract, line: ContractLine, period: PricedPeriod) -> str:
    """Return the invoice-line text a customer reads for ``period``."""
    billing = line.billing
    if isinstance(billing, FixedFee):
        milestone = billing.milestone(period.milestone_id or "")
        return f"Milestone: {milestone.name if milestone else period.milestone_id}"
    if isinstance(billing, TimeAndMaterials):
        return f"Time & materials, {period.start:%B %Y}"
    if isinstance(billing, Retainer):
        full = days_in_month(period.start)
        covered = (period.end - period.start).days + 1
        text = f"Retainer, {period.start:%B %Y}"
        return text if covered == full else f"{text} (prorated {covered}/{full} days)"
    return _describe_subscription(contract.line_term(line), billing, period)


def _describe_subscription(term: Term, billing: Subscription, period: PricedPeriod) -> str:
    months = billing.period.months
    # Periods run from the line start, so the period's index gives its uncut length.
    index = 0
    while add_months(term.start, months * (index + 1)) <= period.start:
        index += 1
    full_end = add_months(term.start, months * (index + 1)) - timedelta(days=1)
    text = f"Subscription ({billing.period.value}), {_day(period.start)} to {_day(period.end)}"
    if period.end == full_end:
        return text
    full = (full_end - period.start).days + 1
    covered = (period.end - period.start).days + 1
    return f"{text} (prorated {covered}/{full} days)"


def _day(day: date) -> str:
    # Built by hand because strftime's unpadded day (%-d) is not portable.
    return f"{day.day} {day:%b %Y}"
