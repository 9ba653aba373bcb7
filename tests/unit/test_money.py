from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contractsync.domain.money import Money, total
from contractsync.errors import CurrencyMismatchError, DomainError
from tests.strategies import CURRENCIES, money


def test_amounts_round_half_up_to_the_currency_minor_units():
    assert Money.of("10.005", "USD").amount == Decimal("10.01")
    assert Money.of("10.004", "USD").amount == Decimal("10.00")
    assert Money.of("1500.5", "JPY").amount == Decimal("1501")
    assert Money.of("1.0005", "KWD").amount == Decimal("1.001")


def test_negative_amounts_round_half_away_from_zero():
    assert Money.of("-10.005", "EUR").amount == Decimal("-10.01")


def test_constructor_refuses_more_decimals_than_the_currency_allows():
    with pytest.raises(ValidationError, match="more decimals than JPY allows"):
        Money(amount=Decimal("10.5"), currency="JPY")


def test_floats_are_refused_so_binary_fractions_never_enter_money():
    with pytest.raises(ValidationError, match="never floats"):
        Money(amount=0.1, currency="USD")  # type: ignore[arg-type]


def test_unknown_currency_codes_are_refused_with_the_field_named():
    with pytest.raises(ValidationError) as info:
        Money(amount=Decimal(1), currency="ABC")
    assert info.value.errors()[0]["loc"] == ("currency",)
    assert "ISO 4217" in str(info.value)


def test_lowercase_currency_codes_are_refused():
    with pytest.raises(ValidationError):
        Money(amount=Decimal(1), currency="usd")


def test_non_finite_amounts_are_refused():
    with pytest.raises(ValidationError, match="finite"):
        Money(amount=Decimal("NaN"), currency="USD")


def test_adding_different_currencies_is_an_error_never_a_conversion():
    with pytest.raises(CurrencyMismatchError) as info:
        Money.of(1, "USD") + Money.of(1, "EUR")
    assert info.value.code == "money.currency_mismatch"


def test_comparing_different_currencies_is_an_error():
    with pytest.raises(CurrencyMismatchError):
        assert Money.of(1, "USD") < Money.of(2, "EUR")


def test_multiplying_by_a_float_is_refused():
    with pytest.raises(TypeError):
        Money.of(1, "USD") * 1.5  # type: ignore[operator]


def test_equal_amounts_with_different_exponents_are_equal():
    assert Money.of("10", "USD") == Money(amount=Decimal("10.00"), currency="USD")
    assert str(Money.of("10", "USD")) == "10.00 USD"


def test_allocation_gives_leftover_units_to_the_largest_remainders_first():
    parts = Money.of("100", "USD").allocate([1, 1, 1])
    assert [p.amount for p in parts] == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


def test_allocation_over_no_parts_or_zero_weights_is_refused():
    with pytest.raises(DomainError):
        Money.of(1, "USD").allocate([])
    with pytest.raises(DomainError):
        Money.of(1, "USD").allocate([0, 0])


def test_total_of_nothing_is_zero_in_the_given_currency():
    assert total([], "GBP") == Money.zero("GBP")


@st.composite
def money_pairs(draw: st.DrawFn) -> tuple[Money, Money, Money]:
    currency = draw(st.sampled_from(CURRENCIES))
    return draw(money(currency)), draw(money(currency)), draw(money(currency))


@given(money_pairs())
def test_addition_is_associative_and_commutative(triple: tuple[Money, Money, Money]) -> None:
    a, b, c = triple
    assert (a + b) + c == a + (b + c)
    assert a + b == b + a


@given(money_pairs())
def test_subtraction_undoes_addition(triple: tuple[Money, Money, Money]) -> None:
    a, b, _ = triple
    assert (a + b) - b == a


@given(
    st.sampled_from(CURRENCIES).flatmap(lambda c: money(c, -100_000, 100_000)),
    st.lists(st.integers(0, 1000), min_size=1, max_size=40).filter(any),
)
def test_allocation_parts_always_sum_to_the_whole(whole: Money, weights: list[int]) -> None:
    parts = whole.allocate(weights)
    assert total(parts, whole.currency) == whole
    assert len(parts) == len(weights)
    for part, weight in zip(parts, weights, strict=True):
        if weight == 0:
            assert part.is_zero


@given(st.sampled_from(CURRENCIES).flatmap(lambda c: money(c)), st.integers(1, 60))
def test_allocation_never_differs_from_the_exact_share_by_a_minor_unit_or_more(
    whole: Money, count: int
) -> None:
    parts = whole.allocate([1] * count)
    exact = whole.amount / count
    from contractsync.domain.money import quantum

    assert all(abs(p.amount - exact) < quantum(whole.currency) for p in parts)
