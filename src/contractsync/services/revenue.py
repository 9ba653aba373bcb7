"""Revenue: when the value of a contract version is recognised, month by month."""

from __future__ import annotations

from datetime import date

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, TimeAndMaterials
from contractsync.domain.schedules import RecognitionMethod, RevenueEntry, RevenueSchedule
from contractsync.domain.valuation import line_value, priced_periods
from contractsync.services.billing import require_milestones_to_sum

__all__ = ["build_revenue_schedule"]


def build_revenue_schedule(contract: Contract) -> RevenueSchedule:
    """Plan the revenue of ``contract`` by accounting month and line.

    The entries add up to :func:`~contractsync.domain.valuation.contract_value` to the
    minor unit, are all in the contract currency, never fall in a month outside their
    line's term and are ordered by month, then line order in the contract, then
    recognition date. Zero amounts are left out.

    - Fixed fee: POINT_IN_TIME, each milestone in the month of its date (acceptance is
      forecast on the milestone's due date, else the line's term end).
    - Time and materials: AS_INCURRED, each priced month as it is worked.
    - Retainer and subscription: RATABLE, the line value spread over the calendar months
      of the line term by days covered; the split is exact to the minor unit.

    The recognition date is the milestone date, or the last day of the month's slice.

    Raises:
        DataError: if a fixed-fee line's milestones do not add up to its fee.
        DomainError: (from valuation) if a time-and-materials line names a rate card the
            contract lacks.
    """
    require_milestones_to_sum(contract)
    keyed: list[tuple[date, int, date, RevenueEntry]] = []
    for index, line in enumerate(contract.lines):
        for entry in _line_revenue(contract, line):
            keyed.append((entry.month, index, entry.recognition_date, entry))
    keyed.sort(key=lambda item: item[:3])
    return RevenueSchedule(
        contract_id=contract.id,
        contract_version=contract.version,
        currency=contract.currency,
        entries=tuple(entry for *_, entry in keyed),
    )


def _line_revenue(contract: Contract, line: ContractLine) -> list[RevenueEntry]:
    if isinstance(line.billing, FixedFee | TimeAndMaterials):
        method = (
            RecognitionMethod.POINT_IN_TIME
            if isinstance(line.billing, FixedFee)
            else RecognitionMethod.AS_INCURRED
        )
        return [
            RevenueEntry(
                line_id=line.id,
                milestone_id=period.milestone_id,
                month=period.end.replace(day=1),
                recognition_date=period.end,
                method=method,
                amount=period.amount,
            )
            for period in priced_periods(contract, line)
        ]
    # Revenue is earned evenly per day of service, unlike billing, which charges a flat
    # fee per calendar month or period; allocating by days keeps the split exact.
    months = list(contract.line_term(line).months())
    parts = line_value(contract, line).allocate([month.days for month in months])
    return [
        RevenueEntry(
            line_id=line.id,
            month=month.month,
            recognition_date=month.end,
            method=RecognitionMethod.RATABLE,
            amount=part,
        )
        for month, part in zip(months, parts, strict=True)
        if not part.is_zero
    ]
