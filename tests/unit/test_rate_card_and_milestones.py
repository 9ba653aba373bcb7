from datetime import date

import pytest
from pydantic import ValidationError

from contractsync.domain.milestone import BillingMilestone, MilestoneStatus
from contractsync.domain.money import Money
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.errors import IllegalTransitionError


def _usd(amount: str) -> Money:
    return Money.of(amount, "USD")


def _card(*rates: Rate) -> RateCard:
    return RateCard(id="RC1", currency="USD", rates=rates)


def test_the_rate_in_force_on_a_day_is_found():
    card = _card(
        Rate(
            role="engineer",
            hourly=_usd("150"),
            effective_from=date(2026, 1, 1),
            effective_to=date(2026, 6, 30),
        ),
        Rate(role="engineer", hourly=_usd("165"), effective_from=date(2026, 7, 1)),
    )
    assert card.rate_for("engineer", date(2026, 6, 30)) == _usd("150")
    assert card.rate_for("engineer", date(2026, 7, 1)) == _usd("165")
    assert card.rate_for("engineer", date(2025, 12, 31)) is None
    assert card.rate_for("architect", date(2026, 7, 1)) is None


def test_overlapping_ranges_for_one_role_are_refused():
    with pytest.raises(ValidationError, match="rates for role 'engineer' overlap from 2026-06-01"):
        _card(
            Rate(role="engineer", hourly=_usd("150"), effective_from=date(2026, 1, 1)),
            Rate(role="engineer", hourly=_usd("165"), effective_from=date(2026, 6, 1)),
        )


def test_a_rate_in_another_currency_is_refused():
    with pytest.raises(ValidationError, match="is in EUR, the card is in USD"):
        _card(Rate(role="engineer", hourly=Money.of("150", "EUR"), effective_from=date(2026, 1, 1)))


def test_coverage_needs_a_rate_on_every_day_of_the_range():
    gap = _card(
        Rate(
            role="pm",
            hourly=_usd("120"),
            effective_from=date(2026, 1, 1),
            effective_to=date(2026, 3, 31),
        ),
        Rate(role="pm", hourly=_usd("125"), effective_from=date(2026, 4, 2)),
    )
    assert gap.covers("pm", date(2026, 1, 1), date(2026, 3, 31))
    assert not gap.covers("pm", date(2026, 1, 1), date(2026, 12, 31))
    assert not gap.covers("pm", date(2025, 12, 1), date(2026, 2, 1))
    assert not gap.covers("engineer", date(2026, 1, 1), date(2026, 1, 2))


def test_a_new_rate_closes_the_range_in_force_the_day_before():
    card = _card(Rate(role="engineer", hourly=_usd("150"), effective_from=date(2026, 1, 1)))
    changed = card.with_rate("engineer", _usd("170"), date(2026, 4, 1))
    assert changed.rate_for("engineer", date(2026, 3, 31)) == _usd("150")
    assert changed.rate_for("engineer", date(2026, 4, 1)) == _usd("170")
    assert changed.covers("engineer", date(2026, 1, 1), date(2030, 1, 1))
    assert card.rate_for("engineer", date(2026, 4, 1)) == _usd("150"), (
        "the original stays unchanged"
    )


def test_a_milestone_needs_a_date_or_a_trigger():
    with pytest.raises(ValidationError, match="needs a due_date or a trigger"):
        BillingMilestone(id="M1", name="Go-live", amount=_usd("1000"))


def test_a_milestone_moves_planned_ready_invoiced_and_never_back_from_invoiced():
    milestone = BillingMilestone(id="M1", name="Go-live", amount=_usd("1000"), trigger="acceptance")
    ready = milestone.move_to(MilestoneStatus.READY)
    invoiced = ready.move_to(MilestoneStatus.INVOICED)
    assert invoiced.status is MilestoneStatus.INVOICED
    with pytest.raises(IllegalTransitionError):
        invoiced.move_to(MilestoneStatus.READY)
    with pytest.raises(IllegalTransitionError):
        milestone.move_to(MilestoneStatus.INVOICED)
