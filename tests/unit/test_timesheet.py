from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import (
    ContractLine,
    Retainer,
    RoleHours,
    TimeAndMaterials,
)
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.timesheet import TimeEntry, TimesheetCharge, TimesheetLine
from contractsync.errors import CurrencyMismatchError, DataError
from contractsync.services.billing import price_timesheet

YEAR_2026 = Term(start=date(2026, 1, 1), end=date(2026, 12, 31))


def _usd(amount):
    return Money.of(amount, "USD")


def _card(currency="USD"):
    return RateCard(
        id="RC1",
        currency=currency,
        rates=(
            Rate(
                role="engineer",
                hourly=Money.of("100", currency),
                effective_from=date(2026, 1, 1),
                effective_to=date(2026, 3, 14),
            ),
            Rate(
                role="engineer", hourly=Money.of("120", currency), effective_from=date(2026, 3, 15)
            ),
            Rate(
                role="architect",
                hourly=Money.of("150.55", currency),
                effective_from=date(2026, 1, 1),
            ),
        ),
    )


def _contract(cap=None, currency="USD", term=None):
    billing = TimeAndMaterials(
        rate_card_id="RC1",
        estimate=(RoleHours(role="engineer", hours=Decimal(100)),),
        cap=Money.of(cap, currency) if cap is not None else None,
    )
    lines = (
        ContractLine(id="TM", description="Build", service_code="SVC", term=term, billing=billing),
        ContractLine(
            id="RET",
            description="Support",
            service_code="SVC",
            billing=Retainer(monthly_fee=Money.of(1000, currency)),
        ),
    )
    return Contract(
        id="C-1",
        title="Statement of work",
        customer_id="CUST-1",
        legal_entity_code="US01",
        currency=currency,
        term=YEAR_2026,
        lines=lines,
        rate_cards=(_card(currency),),
    )


def _entry(day, hours, role="engineer"):
    return TimeEntry(role=role, day=day, hours=Decimal(hours))


def _price(entries, cap=None, billed="0", **contract):
    return price_timesheet(_contract(cap, **contract), "TM", entries, billed_to_date=_usd(billed))


def test_hours_are_priced_at_the_rate_in_force_on_the_day_worked():
    charge = _price([_entry(date(2026, 3, 14), 8), _entry(date(2026, 3, 15), 8)])
    assert [(line.role, line.hourly, line.hours, line.amount) for line in charge.lines] == [
        ("engineer", _usd(100), Decimal(8), _usd(800)),
        ("engineer", _usd(120), Decimal(8), _usd(960)),
    ]
    assert charge.gross == _usd(1760)


def test_entries_of_one_role_at_one_rate_are_priced_as_one_line():
    charge = _price([_entry(date(2026, 1, 5), "7.5"), _entry(date(2026, 1, 6), "0.25")])
    (line,) = charge.lines
    assert (line.hours, line.amount) == (Decimal("7.75"), _usd(775))


def test_lines_are_ordered_by_role_then_first_day_worked():
    charge = _price(
        [
            _entry(date(2026, 4, 1), 1),
            _entry(date(2026, 1, 2), 1),
            _entry(date(2026, 1, 3), 1, role="architect"),
        ]
    )
    assert [(line.role, line.hourly) for line in charge.lines] == [
        ("architect", _usd("150.55")),
        ("engineer", _usd(100)),
        ("engineer", _usd(120)),
    ]


def test_each_line_is_rounded_half_up_to_the_minor_unit():
    charge = _price([_entry(date(2026, 1, 5), "0.1", role="architect")])
    # 0.1 h at 150.55 is 15.055.
    assert charge.lines[0].amount == _usd("15.06")


def test_kuwaiti_dinar_timesheets_keep_three_decimals():
    contract = _contract(currency="KWD")
    charge = price_timesheet(
        contract,
        "TM",
        [_entry(date(2026, 1, 5), "0.3333", role="architect")],
        billed_to_date=Money.zero("KWD"),
    )
    # 0.3333 h at 150.550 is 50.178315.
    assert charge.billable == Money.of("50.178", "KWD")


def test_a_line_without_a_cap_is_billable_in_full():
    charge = _price([_entry(date(2026, 1, 5), 8)], billed="1000000")
    assert (charge.billable, charge.over_cap) == (_usd(800), _usd(0))


def test_the_billable_amount_stops_where_the_cap_is_reached():
    charge = _price([_entry(date(2026, 1, 5), 15)], cap="10000", billed="9000")
    assert (charge.billable, charge.over_cap) == (_usd(1000), _usd(500))


def test_nothing_is_billable_once_the_cap_has_been_billed():
    charge = _price([_entry(date(2026, 1, 5), 8)], cap="10000", billed="10250")
    assert (charge.billable, charge.over_cap) == (_usd(0), _usd(800))


def test_a_role_without_a_rate_on_the_day_is_a_data_error_naming_role_and_day():
    with pytest.raises(DataError, match=r"role 'analyst' has no rate on 2026-02-03") as info:
        _price([_entry(date(2026, 2, 3), 4, role="analyst")])
    assert info.value.code == "timesheet.rate_missing"


def test_time_on_a_line_that_is_not_time_and_materials_is_a_data_error():
    with pytest.raises(DataError, match="billed as retainer") as info:
        price_timesheet(_contract(), "RET", [], billed_to_date=_usd(0))
    assert info.value.code == "timesheet.line_not_time_and_materials"


def test_time_on_an_unknown_line_is_a_data_error():
    with pytest.raises(DataError, match="has no line NOPE"):
        price_timesheet(_contract(), "NOPE", [], billed_to_date=_usd(0))


def test_time_outside_the_line_term_is_a_data_error():
    term = Term(start=date(2026, 1, 1), end=date(2026, 6, 30))
    with pytest.raises(DataError, match="outside line TM's term") as info:
        _price([_entry(date(2026, 7, 1), 8)], term=term)
    assert info.value.code == "timesheet.outside_term"


def test_billed_to_date_in_another_currency_is_refused():
    with pytest.raises(CurrencyMismatchError):
        price_timesheet(_contract(), "TM", [], billed_to_date=Money.of(1, "EUR"))


def test_no_entries_price_to_nothing():
    charge = _price([])
    assert (charge.lines, charge.billable, charge.over_cap) == ((), _usd(0), _usd(0))


@pytest.mark.parametrize("hours", ["0", "-1", "24.5"])
def test_a_time_entry_takes_more_than_zero_and_at_most_24_hours(hours):
    with pytest.raises(ValidationError):
        _entry(date(2026, 1, 5), hours)


def test_a_charge_whose_parts_do_not_add_up_is_refused():
    line = TimesheetLine(role="engineer", hourly=_usd(100), hours=Decimal(1), amount=_usd(100))
    with pytest.raises(ValidationError, match="do not add up"):
        TimesheetCharge(
            line_id="TM", currency="USD", lines=(line,), billable=_usd(100), over_cap=_usd(1)
        )


def test_a_timesheet_line_must_be_priced_at_its_rate():
    with pytest.raises(ValidationError, match=r"is 200\.00 USD"):
        TimesheetLine(role="engineer", hourly=_usd(100), hours=Decimal(2), amount=_usd(150))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 364), st.integers(1, 96), st.sampled_from(["engineer", "architect"])
        ),
        max_size=20,
    ),
    st.integers(0, 20_000),
    st.integers(0, 25_000),
)
def test_billing_never_passes_the_cap_and_nothing_priced_is_lost(rows, cap, billed):
    entries = [
        _entry(date(2026, 1, 1) + timedelta(days=d), Decimal(q) / 4, role=role)
        for d, q, role in rows
    ]
    charge = _price(entries, cap=cap, billed=billed)
    assert charge.billable + charge.over_cap == charge.gross
    assert Money.of(billed, "USD") + charge.billable <= max(_usd(cap), _usd(billed))
    if billed <= cap:
        assert charge.billable == min(charge.gross, _usd(cap - billed))
