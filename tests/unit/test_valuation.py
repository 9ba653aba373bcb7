import itertools
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import (
    ContractLine,
    FixedFee,
    Retainer,
    RoleHours,
    Subscription,
    SubscriptionPeriod,
    TimeAndMaterials,
)
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.valuation import (
    contract_value,
    line_value,
    priced_periods,
    subscription_terms,
)
from contractsync.errors import DomainError
from tests.strategies import contracts

YEAR_2026 = Term(start=date(2026, 1, 1), end=date(2026, 12, 31))
Q1_2026 = Term(start=date(2026, 1, 1), end=date(2026, 3, 31))


def _line(billing, *, term=None, line_id="L1"):
    return ContractLine(
        id=line_id, description="Service", service_code="SVC", term=term, billing=billing
    )


def _contract(*lines, currency="USD", term=YEAR_2026, rate_cards=()):
    return Contract(
        id="C-1",
        title="Statement of work",
        customer_id="CUST-1",
        legal_entity_code="US01",
        currency=currency,
        term=term,
        lines=lines,
        rate_cards=rate_cards,
    )


def _card(*rates, currency="USD"):
    return RateCard(id="RC1", currency=currency, rates=rates)


def _rate(hourly, start, end=None, role="engineer", currency="USD"):
    return Rate(
        role=role, hourly=Money.of(hourly, currency), effective_from=start, effective_to=end
    )


def _tm(hours, cap=None, currency="USD"):
    return TimeAndMaterials(
        rate_card_id="RC1",
        estimate=(RoleHours(role="engineer", hours=Decimal(hours)),),
        cap=Money.of(cap, currency) if cap is not None else None,
    )


def _amounts(contract):
    line = contract.lines[0]
    return [(p.start, p.amount.amount) for p in priced_periods(contract, line)]


def test_time_and_materials_spreads_estimated_hours_evenly_by_day():
    contract = _contract(
        _line(_tm(90), term=Q1_2026), rate_cards=(_card(_rate(100, date(2026, 1, 1))),)
    )
    # 90 hours over 90 days: 31, 28 and 31 hours at 100 an hour.
    assert _amounts(contract) == [
        (date(2026, 1, 1), Decimal("3100.00")),
        (date(2026, 2, 1), Decimal("2800.00")),
        (date(2026, 3, 1), Decimal("3100.00")),
    ]


def test_a_rate_change_on_the_first_of_a_month_prices_that_month_at_the_new_rate():
    card = _card(
        _rate(100, date(2025, 1, 1), date(2026, 1, 31)),
        _rate(120, date(2026, 2, 1)),
    )
    contract = _contract(_line(_tm(90), term=Q1_2026), rate_cards=(card,))
    assert [amount for _, amount in _amounts(contract)] == [
        Decimal("3100.00"),
        Decimal("3360.00"),
        Decimal("3720.00"),
    ]


def test_a_rate_change_mid_month_is_priced_from_the_following_month():
    card = _card(
        _rate(100, date(2025, 1, 1), date(2026, 2, 14)),
        _rate(120, date(2026, 2, 15)),
    )
    contract = _contract(_line(_tm(90), term=Q1_2026), rate_cards=(card,))
    # The forecast uses the rate in force on the first day of each month.
    assert [amount for _, amount in _amounts(contract)] == [
        Decimal("3100.00"),
        Decimal("2800.00"),
        Decimal("3720.00"),
    ]


def test_time_and_materials_stops_at_the_not_to_exceed_cap():
    contract = _contract(
        _line(_tm(90, cap="5000"), term=Q1_2026),
        rate_cards=(_card(_rate(100, date(2026, 1, 1))),),
    )
    assert _amounts(contract) == [
        (date(2026, 1, 1), Decimal("3100.00")),
        (date(2026, 2, 1), Decimal("1900.00")),
    ]
    assert line_value(contract, contract.lines[0]) == Money.of(5000, "USD")


def test_a_cap_above_the_estimate_changes_nothing():
    contract = _contract(
        _line(_tm(90, cap="1000000"), term=Q1_2026),
        rate_cards=(_card(_rate(100, date(2026, 1, 1))),),
    )
    assert line_value(contract, contract.lines[0]) == Money.of(9000, "USD")


def test_time_and_materials_without_its_rate_card_is_refused():
    contract = _contract(_line(_tm(90), term=Q1_2026))
    with pytest.raises(DomainError) as info:
        priced_periods(contract, contract.lines[0])
    assert info.value.code == "contract.rate_card_missing"


def test_subscription_bills_full_quarters_and_prorates_the_last_partial_one():
    billing = Subscription(
        period=SubscriptionPeriod.QUARTERLY, price_per_period=Money.of(3000, "USD")
    )
    term = Term(start=date(2026, 1, 1), end=date(2026, 8, 15))
    contract = _contract(_line(billing, term=term))
    periods = priced_periods(contract, contract.lines[0])
    assert [(p.start, p.end, p.amount.amount) for p in periods] == [
        (date(2026, 1, 1), date(2026, 3, 31), Decimal("3000.00")),
        (date(2026, 4, 1), date(2026, 6, 30), Decimal("3000.00")),
        # 46 of the 92 days of July to September.
        (date(2026, 7, 1), date(2026, 8, 15), Decimal("1500.00")),
    ]


def test_subscription_periods_run_from_the_line_start_and_clamp_short_months():
    periods = subscription_terms(date(2026, 1, 31), date(2026, 4, 29), 1)
    assert [(t.start, t.end, fraction) for t, fraction in periods] == [
        (date(2026, 1, 31), date(2026, 2, 27), Decimal(1)),
        (date(2026, 2, 28), date(2026, 3, 30), Decimal(1)),
        (date(2026, 3, 31), date(2026, 4, 29), Decimal(1)),
    ]


def test_retainer_prorates_a_partial_first_month_by_days():
    billing = Retainer(monthly_fee=Money.of(3000, "USD"))
    contract = _contract(_line(billing, term=Term(start=date(2026, 4, 15), end=date(2026, 6, 30))))
    assert _amounts(contract) == [
        (date(2026, 4, 15), Decimal("1600.00")),
        (date(2026, 5, 1), Decimal("3000.00")),
        (date(2026, 6, 1), Decimal("3000.00")),
    ]


def test_yen_amounts_round_to_whole_yen():
    billing = Retainer(monthly_fee=Money.of(100_000, "JPY"))
    term = Term(start=date(2026, 1, 10), end=date(2026, 2, 28))
    contract = _contract(_line(billing, term=term), currency="JPY")
    # 22/31 of 100,000 is 70,967.74...
    assert _amounts(contract) == [
        (date(2026, 1, 10), Decimal(70968)),
        (date(2026, 2, 1), Decimal(100000)),
    ]
    assert contract_value(contract) == Money.of(170_968, "JPY")


def test_kuwaiti_dinar_amounts_keep_three_decimals():
    card = _card(_rate("12.345", date(2026, 1, 1), currency="KWD"), currency="KWD")
    term = Term(start=date(2026, 2, 10), end=date(2026, 3, 31))
    contract = _contract(
        _line(_tm(7, currency="KWD"), term=term), currency="KWD", rate_cards=(card,)
    )
    periods = priced_periods(contract, contract.lines[0])
    # 7 hours over 50 days: 2.66 in February (32.8377) and 4.34 in March (53.5773).
    assert [p.amount.amount for p in periods] == [Decimal("32.838"), Decimal("53.577")]
    assert line_value(contract, contract.lines[0]) == Money.of("86.415", "KWD")


def test_fixed_fee_is_priced_at_its_milestone_dates_or_the_line_end():
    billing = FixedFee(
        amount=Money.of(10_000, "USD"),
        milestones=(
            BillingMilestone(
                id="M1", name="Design", amount=Money.of(4000, "USD"), due_date=date(2026, 3, 15)
            ),
            BillingMilestone(
                id="M2", name="Go-live", amount=Money.of(6000, "USD"), trigger="acceptance"
            ),
        ),
    )
    contract = _contract(_line(billing, term=Q1_2026))
    periods = priced_periods(contract, contract.lines[0])
    assert [(p.milestone_id, p.start, p.end) for p in periods] == [
        ("M1", date(2026, 3, 15), date(2026, 3, 15)),
        ("M2", date(2026, 3, 31), date(2026, 3, 31)),
    ]
    assert line_value(contract, contract.lines[0]) == Money.of(10_000, "USD")


def test_zero_amount_milestones_are_left_out_of_the_priced_periods():
    billing = FixedFee(
        amount=Money.of(500, "USD"),
        milestones=(
            BillingMilestone(id="M1", name="Kick-off", amount=Money.zero("USD"), trigger="start"),
            BillingMilestone(
                id="M2", name="Report", amount=Money.of(500, "USD"), trigger="acceptance"
            ),
        ),
    )
    contract = _contract(_line(billing))
    assert [p.milestone_id for p in priced_periods(contract, contract.lines[0])] == ["M2"]


def test_contract_value_is_the_sum_of_its_line_values():
    retainer = _line(Retainer(monthly_fee=Money.of(1000, "USD")), term=Q1_2026, line_id="L1")
    subscription = _line(
        Subscription(period=SubscriptionPeriod.ANNUAL, price_per_period=Money.of(12_000, "USD")),
        line_id="L2",
    )
    assert contract_value(_contract(retainer, subscription)) == Money.of(15_000, "USD")


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_time_and_materials_never_values_a_line_above_its_cap(contract):
    for line in contract.lines:
        if isinstance(line.billing, TimeAndMaterials) and line.billing.cap is not None:
            assert line_value(contract, line).amount <= line.billing.cap.amount


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_priced_periods_stay_inside_the_line_term_and_never_overlap(contract):
    for line in contract.lines:
        term = contract.line_term(line)
        periods = priced_periods(contract, line)
        for period in periods:
            assert term.contains(period.start)
            assert term.contains(period.end)
            assert period.amount.currency == contract.currency
        if not isinstance(line.billing, FixedFee):
            for earlier, later in itertools.pairwise(periods):
                assert earlier.end < later.start
