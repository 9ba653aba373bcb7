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
from contractsync.domain.schedules import RecognitionMethod
from contractsync.domain.valuation import contract_value, line_value
from contractsync.errors import DataError
from contractsync.services.revenue import build_revenue_schedule
from tests.strategies import contracts

YEAR_2026 = Term(start=date(2026, 1, 1), end=date(2026, 12, 31))
Q1_2026 = Term(start=date(2026, 1, 1), end=date(2026, 3, 31))


def _line(billing, *, term=None, line_id="L1"):
    return ContractLine(
        id=line_id, description="Service", service_code="SVC", term=term, billing=billing
    )


def _contract(*lines, currency="USD", rate_cards=(), version=1):
    return Contract(
        id="C-1",
        title="Statement of work",
        customer_id="CUST-1",
        legal_entity_code="US01",
        currency=currency,
        term=YEAR_2026,
        version=version,
        lines=lines,
        rate_cards=rate_cards,
    )


def _usd(amount):
    return Money.of(amount, "USD")


def _rows(schedule):
    return [(e.month, e.recognition_date, e.method, e.amount) for e in schedule.entries]


def test_a_fixed_fee_milestone_is_recognised_at_a_point_in_time_in_its_month():
    billing = FixedFee(
        amount=_usd(5000),
        milestones=(
            BillingMilestone(id="M1", name="Design", amount=_usd(5000), due_date=date(2026, 3, 17)),
        ),
    )
    (entry,) = build_revenue_schedule(_contract(_line(billing))).entries
    assert (entry.month, entry.recognition_date, entry.method, entry.milestone_id) == (
        date(2026, 3, 1),
        date(2026, 3, 17),
        RecognitionMethod.POINT_IN_TIME,
        "M1",
    )


def test_a_triggered_milestone_is_forecast_at_the_end_of_its_line_term():
    billing = FixedFee(
        amount=_usd(5000),
        milestones=(
            BillingMilestone(id="M1", name="Go-live", amount=_usd(5000), trigger="acceptance"),
        ),
    )
    (entry,) = build_revenue_schedule(_contract(_line(billing, term=Q1_2026))).entries
    assert (entry.month, entry.recognition_date) == (date(2026, 3, 1), date(2026, 3, 31))


def test_time_and_materials_is_recognised_as_incurred_each_priced_month():
    card = RateCard(
        id="RC1",
        currency="USD",
        rates=(Rate(role="engineer", hourly=_usd(100), effective_from=date(2025, 1, 1)),),
    )
    billing = TimeAndMaterials(
        rate_card_id="RC1",
        estimate=(RoleHours(role="engineer", hours=Decimal(90)),),
        cap=_usd(5000),
    )
    schedule = build_revenue_schedule(_contract(_line(billing, term=Q1_2026), rate_cards=(card,)))
    assert _rows(schedule) == [
        (date(2026, 1, 1), date(2026, 1, 31), RecognitionMethod.AS_INCURRED, _usd(3100)),
        (date(2026, 2, 1), date(2026, 2, 28), RecognitionMethod.AS_INCURRED, _usd(1900)),
    ]


def test_a_retainer_is_recognised_ratably_by_days_not_by_its_flat_monthly_fee():
    term = Term(start=date(2026, 1, 1), end=date(2026, 2, 28))
    schedule = build_revenue_schedule(_contract(_line(Retainer(monthly_fee=_usd(5900)), term=term)))
    # Billed 5,900 a month, but earned 200 a day over 31 and 28 days.
    assert _rows(schedule) == [
        (date(2026, 1, 1), date(2026, 1, 31), RecognitionMethod.RATABLE, _usd(6200)),
        (date(2026, 2, 1), date(2026, 2, 28), RecognitionMethod.RATABLE, _usd(5600)),
    ]


def test_a_quarterly_subscription_is_recognised_over_calendar_months():
    billing = Subscription(period=SubscriptionPeriod.QUARTERLY, price_per_period=_usd(9100))
    term = Term(start=date(2026, 4, 1), end=date(2026, 6, 30))
    schedule = build_revenue_schedule(_contract(_line(billing, term=term)))
    # 9,100 over 91 days is 100 a day.
    assert [(e.month, e.amount) for e in schedule.entries] == [
        (date(2026, 4, 1), _usd(3000)),
        (date(2026, 5, 1), _usd(3100)),
        (date(2026, 6, 1), _usd(3000)),
    ]


def test_a_ratable_split_that_does_not_divide_evenly_still_adds_up_to_the_cent():
    billing = Subscription(period=SubscriptionPeriod.QUARTERLY, price_per_period=_usd(100))
    schedule = build_revenue_schedule(_contract(_line(billing, term=Q1_2026)))
    # 100 over 31, 28 and 31 days: the spare cent goes to the largest remainder, first on ties.
    assert [e.amount for e in schedule.entries] == [_usd("34.45"), _usd("31.11"), _usd("34.44")]
    assert schedule.total == _usd(100)


def test_a_partial_first_month_is_recognised_up_to_its_slice_end():
    term = Term(start=date(2026, 4, 15), end=date(2026, 5, 10))
    schedule = build_revenue_schedule(_contract(_line(Retainer(monthly_fee=_usd(3000)), term=term)))
    assert [(e.month, e.recognition_date) for e in schedule.entries] == [
        (date(2026, 4, 1), date(2026, 4, 30)),
        (date(2026, 5, 1), date(2026, 5, 10)),
    ]
    # Valued 16/30 of April and 10/31 of May, as billed, then spread by day.
    assert schedule.total == _usd("2567.74")


def test_yen_revenue_is_split_in_whole_yen():
    term = Term(start=date(2026, 1, 1), end=date(2026, 3, 31))
    billing = Subscription(
        period=SubscriptionPeriod.QUARTERLY, price_per_period=Money.of(100, "JPY")
    )
    schedule = build_revenue_schedule(_contract(_line(billing, term=term), currency="JPY"))
    assert [e.amount.amount for e in schedule.entries] == [Decimal(35), Decimal(31), Decimal(34)]
    assert schedule.currency == "JPY"


def test_entries_are_ordered_by_month_then_line_order():
    retainer = _line(Retainer(monthly_fee=_usd(1000)), term=Q1_2026, line_id="L1")
    fee = FixedFee(
        amount=_usd(500),
        milestones=(
            BillingMilestone(id="M1", name="Report", amount=_usd(500), due_date=date(2026, 1, 5)),
        ),
    )
    schedule = build_revenue_schedule(_contract(retainer, _line(fee, line_id="L2")))
    assert [(e.month, e.line_id) for e in schedule.entries] == [
        (date(2026, 1, 1), "L1"),
        (date(2026, 1, 1), "L2"),
        (date(2026, 2, 1), "L1"),
        (date(2026, 3, 1), "L1"),
    ]
    assert schedule.by_month()[date(2026, 1, 1)] == _usd(500) + schedule.entries[0].amount


def test_the_schedule_carries_the_contract_version():
    schedule = build_revenue_schedule(
        _contract(_line(Retainer(monthly_fee=_usd(1000)), term=Q1_2026), version=4)
    )
    assert (schedule.contract_id, schedule.contract_version) == ("C-1", 4)


def test_milestones_that_do_not_add_up_to_the_fixed_fee_are_refused():
    billing = FixedFee(amount=_usd(1000), milestones=())
    with pytest.raises(DataError) as info:
        build_revenue_schedule(_contract(_line(billing)))
    assert info.value.code == "contract.milestones_do_not_sum"


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_revenue_adds_up_to_the_contract_value_in_its_currency(contract):
    schedule = build_revenue_schedule(contract)
    assert schedule.total == contract_value(contract)
    assert all(e.amount.currency == contract.currency for e in schedule.entries)


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_revenue_falls_only_in_months_of_the_line_term(contract):
    for entry in build_revenue_schedule(contract).entries:
        line = contract.line(entry.line_id)
        assert line is not None
        term = contract.line_term(line)
        assert term.start.replace(day=1) <= entry.month <= term.end.replace(day=1)
        assert term.contains(entry.recognition_date)
        assert entry.recognition_date.replace(day=1) == entry.month
        assert not entry.amount.is_zero


@settings(max_examples=150, deadline=None)
@given(contracts())
def test_each_line_is_recognised_in_full_by_its_method(contract):
    schedule = build_revenue_schedule(contract)
    for line in contract.lines:
        entries = [e for e in schedule.entries if e.line_id == line.id]
        assert (
            sum((e.amount.amount for e in entries), Decimal(0)) == line_value(contract, line).amount
        )
        expected = {
            FixedFee: RecognitionMethod.POINT_IN_TIME,
            TimeAndMaterials: RecognitionMethod.AS_INCURRED,
        }.get(type(line.billing), RecognitionMethod.RATABLE)
        assert all(e.method is expected for e in entries)
