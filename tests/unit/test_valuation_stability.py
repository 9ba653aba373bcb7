from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import TimeAndMaterials
from contractsync.domain.money import Money
from contractsync.domain.valuation import priced_periods
from tests.strategies import contracts


def _raise_caps(contract: Contract, extra_units: int) -> Contract:
    lines = []
    for line in contract.lines:
        billing = line.billing
        if isinstance(billing, TimeAndMaterials) and billing.cap is not None:
            cap = Money.of(billing.cap.amount + Decimal(extra_units), contract.currency)
            line = line.model_copy(update={"billing": billing.model_copy(update={"cap": cap})})
        lines.append(line)
    return contract.model_copy(update={"lines": tuple(lines)})


@settings(max_examples=150, deadline=None)
@given(contracts(), st.integers(1, 100_000))
def test_raising_a_cap_never_moves_money_into_months_before_the_cap_bit(
    contract: Contract, extra: int
) -> None:
    raised = _raise_caps(contract, extra)
    for before_line, after_line in zip(contract.lines, raised.lines, strict=True):
        if not isinstance(before_line.billing, TimeAndMaterials):
            continue
        before = priced_periods(contract, before_line)
        after = {p.start: p.amount for p in priced_periods(raised, after_line)}
        # Every month except the last billed one (where the old cap bit) keeps its amount.
        for period in before[:-1]:
            assert after[period.start] == period.amount
