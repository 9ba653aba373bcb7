from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from contractsync.domain.customer import LegalEntity
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.obligation import Obligation, ObligationKind
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.valuation import contract_value
from contractsync.errors import DataError, DomainError
from contractsync.services.billing import build_billing_schedule
from tests.strategies import contracts

YEAR_2026 = Term(start=date(2026, 1, 1), end=date(2026, 12, 31))
Q1_2026 = Term(start=date(2026, 1, 1), end=date(2026, 3, 31))


def _entity(invoicing_day=1, terms=30, code="US01"):
    return LegalEntity(
        code=code,
        name="Acme Consulting Inc.",
        country="US",
        functional_currency="USD",
        erp_company="1",
        invoicing_day=invoicing_day,
        default_payment_terms_days=terms,
    )


def _line(billing, *, term=None, line_id="L1"):
    return ContractLine(
        id=line_id, description="Service", service_code="SVC", term=term, billing=billing
    )


def _contract(*lines, currency="USD", rate_cards=(), **extra):
    return Contract(
        id="C-1",
        title="Statement of work",
        customer_id="CUST-1",
        legal_entity_code="US01",
        currency=currency,
        term=YEAR_2026,
        lines=lines,
        rate_cards=rate_cards,
        **extra,
    )


def _usd(amount):
    return Money.of(amount, "USD")


def _milestone(milestone_id, amount, due=None, name="Design sign-off"):
    trigger = None if due else "customer acceptance"
    return BillingMilestone(
        id=milestone_id, name=name, amount=_usd(amount), due_date=due, trigger=trigger
    )


def _fixed_fee(*milestones):
    amount = sum((m.amount.amount for m in milestones), Decimal(0))
    return FixedFee(amount=_usd(amount), milestones=milestones)


def _tm_line(term=Q1_2026, line_id="L1"):
    card = RateCard(
        id="RC1",
        currency="USD",
        rates=(Rate(role="engineer", hourly=_usd(100), effective_from=date(2025, 1, 1)),),
    )
    billing = TimeAndMaterials(
        rate_card_id="RC1", estimate=(RoleHours(role="engineer", hours=Decimal(90)),)
    )
    return _line(billing, term=term, line_id=line_id), card


def _schedule(contract, **entity):
    return build_billing_schedule(contract, legal_entity=_entity(**entity))


@pytest.mark.parametrize(
    ("due", "invoiced"),
    [
        (date(2026, 3, 3), date(2026, 3, 5)),
        (date(2026, 3, 5), date(2026, 3, 5)),
        (date(2026, 3, 20), date(2026, 4, 5)),
    ],
)
def test_a_milestone_is_invoiced_on_the_first_invoicing_day_on_or_after_its_date(due, invoiced):
    contract = _contract(_line(_fixed_fee(_milestone("M1", 5000, due))))
    (entry,) = _schedule(contract, invoicing_day=5).entries
    assert entry.invoice_date == invoiced
    assert (entry.period_start, entry.period_end) == (due, due)
    assert entry.milestone_id == "M1"
    assert not entry.in_advance


def test_a_milestone_without_a_date_is_planned_at_the_end_of_its_line_term():
    contract = _contract(_line(_fixed_fee(_milestone("M1", 5000)), term=Q1_2026))
    (entry,) = _schedule(contract).entries
    assert entry.period_start == entry.period_end == date(2026, 3, 31)
    assert entry.invoice_date == date(2026, 4, 1)


def test_a_milestone_entry_is_described_by_the_milestone_name():
    contract = _contract(_line(_fixed_fee(_milestone("M1", 5000, date(2026, 2, 1)))))
    assert _schedule(contract).entries[0].description == "Milestone: Design sign-off"


def test_time_and_materials_is_invoiced_monthly_in_arrears():
    line, card = _tm_line()
    schedule = _schedule(_contract(line, rate_cards=(card,)))
    assert [(e.period_start, e.invoice_date, e.amount) for e in schedule.entries] == [
        (date(2026, 1, 1), date(2026, 2, 1), _usd(3100)),
        (date(2026, 2, 1), date(2026, 3, 1), _usd(2800)),
        (date(2026, 3, 1), date(2026, 4, 1), _usd(3100)),
    ]
    assert not any(e.in_advance for e in schedule.entries)


def test_arrears_are_never_invoiced_on_the_day_the_month_ends():
    # The line ends on the 16th, which is also the invoicing day: the work of that day
    # is not finished when the invoice would run, so it waits a month.
    line, card = _tm_line(term=Term(start=date(2026, 1, 1), end=date(2026, 1, 16)))
    (entry,) = _schedule(_contract(line, rate_cards=(card,)), invoicing_day=16).entries
    assert entry.invoice_date == date(2026, 2, 16)


def test_a_time_and_materials_entry_names_its_month():
    line, card = _tm_line()
    schedule = _schedule(_contract(line, rate_cards=(card,)))
    assert schedule.entries[2].description == "Time & materials, March 2026"


def test_a_retainer_is_invoiced_in_advance_on_the_invoicing_day_before_each_month():
    term = Term(start=date(2026, 4, 1), end=date(2026, 6, 30))
    contract = _contract(_line(Retainer(monthly_fee=_usd(3000)), term=term))
    schedule = _schedule(contract, invoicing_day=25)
    assert [(e.invoice_date, e.description) for e in schedule.entries] == [
        (date(2026, 4, 1), "Retainer, April 2026"),
        (date(2026, 4, 25), "Retainer, May 2026"),
        (date(2026, 5, 25), "Retainer, June 2026"),
    ]
    assert all(e.in_advance for e in schedule.entries)


def test_a_retainer_is_never_invoiced_before_its_line_starts():
    term = Term(start=date(2026, 4, 15), end=date(2026, 5, 31))
    contract = _contract(_line(Retainer(monthly_fee=_usd(3000)), term=term))
    first, second = _schedule(contract).entries
    assert first.invoice_date == date(2026, 4, 15)
    assert second.invoice_date == date(2026, 5, 1)


def test_a_partial_retainer_month_says_how_it_was_prorated():
    term = Term(start=date(2026, 4, 15), end=date(2026, 5, 31))
    contract = _contract(_line(Retainer(monthly_fee=_usd(3000)), term=term))
    first = _schedule(contract).entries[0]
    assert first.description == "Retainer, April 2026 (prorated 16/30 days)"
    assert first.amount == _usd(1600)


def test_a_subscription_is_invoiced_per_period_in_advance_with_a_prorated_last_period():
    billing = Subscription(period=SubscriptionPeriod.QUARTERLY, price_per_period=_usd(3000))
    term = Term(start=date(2026, 1, 1), end=date(2026, 8, 15))
    schedule = _schedule(_contract(_line(billing, term=term)), invoicing_day=10)
    assert [(e.invoice_date, e.amount, e.description) for e in schedule.entries] == [
        (date(2026, 1, 1), _usd(3000), "Subscription (quarterly), 1 Jan 2026 to 31 Mar 2026"),
        (date(2026, 3, 10), _usd(3000), "Subscription (quarterly), 1 Apr 2026 to 30 Jun 2026"),
        (
            date(2026, 6, 10),
            _usd(1500),
            "Subscription (quarterly), 1 Jul 2026 to 15 Aug 2026 (prorated 46/92 days)",
        ),
    ]
    assert all(e.in_advance for e in schedule.entries)


def test_entries_are_due_after_the_legal_entity_default_payment_terms():
    contract = _contract(_line(Retainer(monthly_fee=_usd(1000)), term=Q1_2026))
    for entry in _schedule(contract, terms=45).entries:
        assert entry.due_date == entry.invoice_date + timedelta(days=45)


def test_the_contract_payment_terms_override_the_legal_entity_default():
    contract = _contract(
        _line(Retainer(monthly_fee=_usd(1000)), term=Q1_2026), payment_terms_days=14
    )
    entry = _schedule(contract, terms=45).entries[0]
    assert entry.due_date == entry.invoice_date + timedelta(days=14)


def test_a_payment_terms_clause_wins_over_every_other_setting():
    clause = Obligation(id="O1", kind=ObligationKind.PAYMENT_TERMS, days=60)
    contract = _contract(
        _line(Retainer(monthly_fee=_usd(1000)), term=Q1_2026),
        payment_terms_days=14,
        obligations=(clause,),
    )
    entry = _schedule(contract, terms=45).entries[0]
    assert entry.due_date == entry.invoice_date + timedelta(days=60)


def test_entries_are_ordered_by_invoice_date_then_line_order_then_period():
    tm, card = _tm_line(line_id="L1")
    retainer = _line(Retainer(monthly_fee=_usd(1000)), term=Q1_2026, line_id="L2")
    milestones = _line(
        _fixed_fee(
            _milestone("M2", 200, date(2026, 2, 1), name="Second"),
            _milestone("M1", 100, date(2026, 2, 1), name="First"),
        ),
        line_id="L3",
    )
    schedule = _schedule(_contract(tm, retainer, milestones, rate_cards=(card,)))
    assert [(e.invoice_date, e.line_id, e.milestone_id) for e in schedule.entries] == [
        (date(2026, 1, 1), "L2", None),
        (date(2026, 2, 1), "L1", None),
        (date(2026, 2, 1), "L2", None),
        (date(2026, 2, 1), "L3", "M2"),
        (date(2026, 2, 1), "L3", "M1"),
        (date(2026, 3, 1), "L1", None),
        (date(2026, 3, 1), "L2", None),
        (date(2026, 4, 1), "L1", None),
    ]


def test_the_schedule_carries_the_contract_version_and_currency():
    contract = _contract(
        _line(Retainer(monthly_fee=Money.of(50_000, "JPY")), term=Q1_2026),
        currency="JPY",
        version=3,
    )
    schedule = _schedule(contract)
    assert (schedule.contract_id, schedule.contract_version, schedule.currency) == (
        "C-1",
        3,
        "JPY",
    )
    assert schedule.total == Money.of(150_000, "JPY")


def test_a_contract_without_lines_has_an_empty_schedule():
    schedule = _schedule(_contract())
    assert schedule.entries == ()
    assert schedule.total == _usd(0)


def test_scheduling_for_another_legal_entity_is_refused():
    contract = _contract(_line(Retainer(monthly_fee=_usd(1000))))
    with pytest.raises(DomainError) as info:
        build_billing_schedule(contract, legal_entity=_entity(code="DE01"))
    assert info.value.code == "billing.legal_entity_mismatch"


def test_milestones_that_do_not_add_up_to_the_fixed_fee_are_refused():
    billing = FixedFee(amount=_usd(10_000), milestones=(_milestone("M1", 4000, date(2026, 2, 1)),))
    with pytest.raises(DataError, match=r"fixed fee of 10000.00 USD .* add up to 4000.00 USD"):
        _schedule(_contract(_line(billing)))


@settings(max_examples=150, deadline=None)
@given(contracts(), st.integers(1, 28), st.integers(0, 120))
def test_billing_adds_up_to_the_contract_value_in_its_currency(contract, invoicing_day, terms):
    schedule = _schedule(contract, invoicing_day=invoicing_day, terms=terms)
    assert schedule.total == contract_value(contract)
    assert all(e.amount.currency == contract.currency for e in schedule.entries)
    assert all(e.due_date - e.invoice_date == timedelta(days=terms) for e in schedule.entries)


@settings(max_examples=150, deadline=None)
@given(contracts(), st.integers(1, 28))
def test_invoices_respect_arrears_and_advance_timing(contract, invoicing_day):
    schedule = _schedule(contract, invoicing_day=invoicing_day)
    for entry in schedule.entries:
        line = contract.line(entry.line_id)
        assert line is not None
        if entry.in_advance:
            assert entry.invoice_date >= contract.line_term(line).start
            assert entry.invoice_date <= entry.period_start
        elif isinstance(line.billing, TimeAndMaterials):
            assert entry.invoice_date > entry.period_end
        else:
            assert entry.invoice_date >= entry.period_end
        assert entry.invoice_date - entry.period_end < timedelta(days=32)


@settings(max_examples=150, deadline=None)
@given(contracts(), st.integers(1, 28))
def test_entries_are_in_invoice_date_order(contract, invoicing_day):
    dates = [e.invoice_date for e in _schedule(contract, invoicing_day=invoicing_day).entries]
    assert dates == sorted(dates)
