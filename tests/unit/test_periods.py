from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contractsync.domain.periods import (
    Term,
    add_months,
    next_invoicing_day,
    on_invoicing_day,
    previous_invoicing_day,
)


def test_a_term_counts_both_of_its_ends():
    assert Term(start=date(2026, 1, 1), end=date(2026, 1, 1)).days == 1
    assert Term(start=date(2026, 1, 1), end=date(2026, 12, 31)).days == 365


def test_a_term_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValidationError, match="before its start"):
        Term(start=date(2026, 2, 1), end=date(2026, 1, 31))


def test_months_are_clipped_to_the_term_and_carry_their_day_fraction():
    slices = list(Term(start=date(2026, 1, 15), end=date(2026, 3, 10)).months())
    assert [(s.start, s.end) for s in slices] == [
        (date(2026, 1, 15), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 10)),
    ]
    assert slices[0].fraction == Decimal(17) / Decimal(31)
    assert slices[1].fraction == 1
    assert slices[2].month == date(2026, 3, 1)


def test_adding_months_clamps_to_the_last_day_of_shorter_months():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 15), -3) == date(2025, 12, 15)


def test_invoicing_day_is_clamped_to_the_month_length():
    assert on_invoicing_day(2026, 2, 28) == date(2026, 2, 28)


def test_next_invoicing_day_is_on_or_after_the_given_day():
    assert next_invoicing_day(date(2026, 3, 10), 15) == date(2026, 3, 15)
    assert next_invoicing_day(date(2026, 3, 15), 15) == date(2026, 3, 15)
    assert next_invoicing_day(date(2026, 3, 16), 15) == date(2026, 4, 15)
    assert next_invoicing_day(date(2026, 12, 20), 1) == date(2027, 1, 1)


def test_previous_invoicing_day_is_on_or_before_the_given_day():
    assert previous_invoicing_day(date(2026, 3, 10), 25) == date(2026, 2, 25)
    assert previous_invoicing_day(date(2026, 3, 25), 25) == date(2026, 3, 25)
    assert previous_invoicing_day(date(2026, 1, 5), 25) == date(2025, 12, 25)


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 1200))
def test_month_slices_cover_every_day_of_a_term_exactly_once(start: date, length: int) -> None:
    end = date.fromordinal(start.toordinal() + length)
    term = Term(start=start, end=end)
    slices = list(term.months())
    assert sum(s.days for s in slices) == term.days
    assert slices[0].start == start
    assert slices[-1].end == end


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(1, 28))
def test_invoicing_days_bracket_the_given_day(day: date, invoicing_day: int) -> None:
    assert (
        previous_invoicing_day(day, invoicing_day) <= day <= next_invoicing_day(day, invoicing_day)
    )
