from datetime import date

import pytest

from contractsync.domain.amending import apply_amendment, apply_changes
from contractsync.domain.amendment import (
    Amendment,
    CapChange,
    Change,
    LegalEntityChange,
    MilestoneAdd,
    MilestoneRemove,
    MilestoneReprice,
    MilestoneReschedule,
    RateCardReplace,
    RateChange,
    ScopeLineAdd,
    ScopeLineChange,
    ScopeLineRemove,
    TermChange,
)
from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import ContractLine, FixedFee, Retainer, TimeAndMaterials
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.periods import Term
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.errors import AmendmentError
from tests.amendment_strategies import signed_contract, usd

GO_LIVE = BillingMilestone(id="M3", name="Go-live", amount=usd(5_000), due_date=date(2026, 9, 30))


def fee(contract: Contract, line_id: str = "L1") -> FixedFee:
    line = contract.line(line_id)
    assert line is not None
    assert isinstance(line.billing, FixedFee)
    return line.billing


def line_of(contract: Contract, line_id: str) -> ContractLine:
    line = contract.line(line_id)
    assert line is not None
    return line


def tm(contract: Contract, line_id: str = "L2") -> TimeAndMaterials:
    line = contract.line(line_id)
    assert line is not None
    assert isinstance(line.billing, TimeAndMaterials)
    return line.billing


def amendment(*changes: Change, contract_id: str = "C-100", sequence: int = 1) -> Amendment:
    return Amendment(
        id=f"AMD-{sequence}",
        contract_id=contract_id,
        sequence=sequence,
        base_version=sequence,
        effective_date=date(2026, 4, 1),
        changes=changes,
    )


# --- every change type -------------------------------------------------------------------


def test_rate_change_closes_the_range_in_force_the_day_before_it_starts():
    change = RateChange(
        rate_card_id="RC1", role="engineer", hourly=usd("172.50"), effective_from=date(2026, 4, 1)
    )
    card = apply_changes(signed_contract(), [change]).rate_card("RC1")
    assert card is not None
    engineer = [r for r in card.rates if r.role == "engineer"]
    assert [(r.hourly, r.effective_from, r.effective_to) for r in engineer] == [
        (usd(150), date(2026, 1, 1), date(2026, 3, 31)),
        (usd("172.50"), date(2026, 4, 1), None),
    ]
    assert card.rate_for("architect", date(2026, 6, 1)) == usd(200)


def test_rate_change_for_a_role_the_card_lacks_opens_a_new_range():
    change = RateChange(
        rate_card_id="RC1", role="designer", hourly=usd(120), effective_from=date(2026, 2, 1)
    )
    card = apply_changes(signed_contract(), [change]).rate_card("RC1")
    assert card is not None
    assert card.rate_for("designer", date(2026, 1, 31)) is None
    assert card.rate_for("designer", date(2026, 2, 1)) == usd(120)


def test_adding_a_milestone_grows_the_fixed_fee_by_its_amount():
    amended = apply_changes(signed_contract(), [MilestoneAdd(line_id="L1", milestone=GO_LIVE)])
    assert fee(amended).amount == usd(35_000)
    assert [m.id for m in fee(amended).milestones] == ["M1", "M2", "M3"]


def test_removing_a_milestone_shrinks_the_fixed_fee_by_its_amount():
    amended = apply_changes(signed_contract(), [MilestoneRemove(line_id="L1", milestone_id="M2")])
    assert fee(amended).amount == usd(10_000)
    assert [m.id for m in fee(amended).milestones] == ["M1"]


def test_repricing_a_milestone_moves_the_fixed_fee_by_the_difference():
    amended = apply_changes(
        signed_contract(), [MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25_000))]
    )
    assert fee(amended).amount == usd(35_000)
    repriced = fee(amended).milestone("M2")
    assert repriced is not None
    assert (repriced.amount, repriced.due_date) == (usd(25_000), date(2026, 6, 30))


def test_rescheduling_a_milestone_moves_only_its_due_date():
    amended = apply_changes(
        signed_contract(),
        [MilestoneReschedule(line_id="L1", milestone_id="M2", due_date=date(2026, 8, 31))],
    )
    moved = fee(amended).milestone("M2")
    assert moved is not None
    assert (moved.due_date, moved.amount) == (date(2026, 8, 31), usd(20_000))
    assert fee(amended).amount == usd(30_000)


def test_term_extension_extends_lines_that_ran_to_the_old_end_and_keeps_shorter_ones():
    contract = signed_contract()
    to_old_end = contract.lines[2].model_copy(
        update={"id": "L5", "term": Term(start=date(2026, 7, 1), end=date(2026, 12, 31))}
    )
    contract = apply_changes(contract, [ScopeLineAdd(line=to_old_end)])
    amended = apply_changes(contract, [TermChange(end=date(2027, 6, 30))])
    assert amended.term == Term(start=date(2026, 1, 1), end=date(2027, 6, 30))
    assert line_of(amended, "L5").term == Term(start=date(2026, 7, 1), end=date(2027, 6, 30))
    assert line_of(amended, "L4").term == Term(start=date(2026, 1, 1), end=date(2026, 6, 30))
    assert amended.line("L3").term is None  # follows the contract term


def test_term_shortening_cuts_lines_that_run_past_the_new_end():
    amended = apply_changes(signed_contract(), [TermChange(end=date(2026, 3, 31))])
    assert amended.term.end == date(2026, 3, 31)
    assert line_of(amended, "L4").term == Term(start=date(2026, 1, 1), end=date(2026, 3, 31))


def test_cap_change_sets_a_new_cap_and_none_lifts_it():
    contract = signed_contract()
    assert tm(apply_changes(contract, [CapChange(line_id="L2", cap=usd(60_000))])).cap == usd(
        60_000
    )
    assert tm(apply_changes(contract, [CapChange(line_id="L2", cap=None)])).cap is None


def test_scope_line_add_appends_the_new_line():
    line = ContractLine(
        id="L5",
        description="Hypercare",
        service_code="SVC-HYPERCARE",
        term=Term(start=date(2026, 7, 1), end=date(2026, 12, 31)),
        billing=Retainer(monthly_fee=usd(2_000)),
    )
    amended = apply_changes(signed_contract(), [ScopeLineAdd(line=line)])
    assert [item.id for item in amended.lines] == ["L1", "L2", "L3", "L4", "L5"]
    assert amended.line("L5") == line


def test_scope_line_remove_drops_the_line_and_its_milestones():
    amended = apply_changes(signed_contract(), [ScopeLineRemove(line_id="L1")])
    assert [item.id for item in amended.lines] == ["L2", "L3", "L4"]
    assert amended.milestones() == []


def test_scope_line_change_replaces_the_whole_line_in_place():
    line = (
        signed_contract()
        .lines[2]
        .model_copy(
            update={"description": "Premium support", "billing": Retainer(monthly_fee=usd(1_500))}
        )
    )
    amended = apply_changes(signed_contract(), [ScopeLineChange(line=line)])
    assert amended.lines[2] == line


def test_rate_card_replace_swaps_a_card_in_place_and_appends_a_new_one():
    contract = apply_changes(
        signed_contract(), [RateCardReplace(rate_card=RateCard(id="RC0", currency="USD"))]
    )
    replacement = RateCard(
        id="RC1",
        currency="USD",
        rates=(Rate(role="engineer", hourly=usd(160), effective_from=date(2026, 1, 1)),),
    )
    amended = apply_changes(contract, [RateCardReplace(rate_card=replacement)])
    assert [card.id for card in contract.rate_cards] == ["RC1", "RC0"]
    assert amended.rate_cards == (replacement, RateCard(id="RC0", currency="USD"))


def test_legal_entity_change_moves_the_contract_to_another_entity():
    amended = apply_changes(signed_contract(), [LegalEntityChange(legal_entity_code="GB01")])
    assert amended.legal_entity_code == "GB01"


def test_applying_an_amendment_yields_the_next_version_and_leaves_the_prior_alone():
    prior = signed_contract()
    amended = apply_amendment(prior, amendment(LegalEntityChange(legal_entity_code="GB01")))
    assert (prior.version, amended.version) == (1, 2)
    assert prior == signed_contract()


def test_changes_apply_in_order_so_a_later_change_can_use_an_earlier_one():
    amended = apply_changes(
        signed_contract(),
        [
            MilestoneAdd(line_id="L1", milestone=GO_LIVE),
            MilestoneReprice(line_id="L1", milestone_id="M3", amount=usd(7_500)),
        ],
    )
    assert fee(amended).amount == usd(37_500)


# --- every error ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        MilestoneAdd(line_id="L9", milestone=GO_LIVE),
        CapChange(line_id="L9", cap=None),
        ScopeLineRemove(line_id="L9"),
        ScopeLineChange(line=signed_contract().lines[0].model_copy(update={"id": "L9"})),
    ],
    ids=lambda change: change.kind,
)
def test_a_change_to_an_unknown_line_is_refused(change: Change):
    with pytest.raises(AmendmentError, match="no line L9"):
        apply_changes(signed_contract(), [change])


def test_a_rate_change_to_an_unknown_rate_card_is_refused():
    change = RateChange(
        rate_card_id="RC9", role="engineer", hourly=usd(1), effective_from=date(2026, 1, 1)
    )
    with pytest.raises(AmendmentError, match="no rate card RC9"):
        apply_changes(signed_contract(), [change])


@pytest.mark.parametrize(
    "change",
    [
        MilestoneRemove(line_id="L1", milestone_id="M9"),
        MilestoneReschedule(line_id="L1", milestone_id="M9", due_date=date(2026, 5, 1)),
        MilestoneReprice(line_id="L1", milestone_id="M9", amount=usd(1)),
    ],
    ids=lambda change: change.kind,
)
def test_a_change_to_an_unknown_milestone_is_refused(change: Change):
    with pytest.raises(AmendmentError, match="no milestone M9"):
        apply_changes(signed_contract(), [change])


def test_milestones_belong_to_fixed_fee_lines_only():
    with pytest.raises(AmendmentError, match="milestones belong to fixed-fee lines"):
        apply_changes(signed_contract(), [MilestoneAdd(line_id="L2", milestone=GO_LIVE)])


def test_a_cap_belongs_to_time_and_materials_lines_only():
    with pytest.raises(AmendmentError, match="only T&M lines have a cap"):
        apply_changes(signed_contract(), [CapChange(line_id="L3", cap=usd(1_000))])


def test_adding_a_line_whose_id_exists_is_refused():
    with pytest.raises(AmendmentError, match="line L1 already exists"):
        apply_changes(signed_contract(), [ScopeLineAdd(line=signed_contract().lines[0])])


def test_adding_a_milestone_whose_id_exists_anywhere_in_the_contract_is_refused():
    twin = GO_LIVE.model_copy(update={"id": "M1"})
    with pytest.raises(AmendmentError, match="milestone M1 already exists"):
        apply_changes(signed_contract(), [MilestoneAdd(line_id="L1", milestone=twin)])


EUR = Money.of(100, "EUR")


@pytest.mark.parametrize(
    "change",
    [
        RateChange(
            rate_card_id="RC1", role="engineer", hourly=EUR, effective_from=date(2026, 4, 1)
        ),
        MilestoneAdd(line_id="L1", milestone=GO_LIVE.model_copy(update={"amount": EUR})),
        MilestoneReprice(line_id="L1", milestone_id="M1", amount=EUR),
        CapChange(line_id="L2", cap=EUR),
        ScopeLineAdd(
            line=signed_contract()
            .lines[2]
            .model_copy(update={"id": "L5", "billing": Retainer(monthly_fee=EUR)})
        ),
        ScopeLineChange(
            line=signed_contract()
            .lines[2]
            .model_copy(update={"billing": Retainer(monthly_fee=EUR)})
        ),
        RateCardReplace(rate_card=RateCard(id="RC1", currency="EUR")),
    ],
    ids=lambda change: change.kind,
)
def test_an_amount_in_another_currency_is_refused_never_converted(change: Change):
    with pytest.raises(AmendmentError, match="EUR"):
        apply_changes(signed_contract(), [change])


def test_a_negative_milestone_amount_is_an_amendment_error_not_a_validation_error():
    change = MilestoneReprice(line_id="L1", milestone_id="M1", amount=usd(-1))
    with pytest.raises(AmendmentError, match="negative amount"):
        apply_changes(signed_contract(), [change])


def test_a_negative_cap_is_refused():
    with pytest.raises(AmendmentError, match="cap is negative"):
        apply_changes(signed_contract(), [CapChange(line_id="L2", cap=usd(-1))])


def test_removing_a_milestone_may_not_take_the_fixed_fee_below_zero():
    contract = signed_contract()
    line = contract.lines[0]
    underpriced = line.model_copy(
        update={"billing": fee(contract).model_copy(update={"amount": usd(5_000)})}
    )
    contract = apply_changes(contract, [ScopeLineChange(line=underpriced)])
    with pytest.raises(AmendmentError, match="below zero"):
        apply_changes(contract, [MilestoneRemove(line_id="L1", milestone_id="M2")])


def test_a_term_may_not_end_before_it_starts():
    with pytest.raises(AmendmentError, match="before the contract start"):
        apply_changes(signed_contract(), [TermChange(end=date(2025, 12, 31))])


def test_a_term_may_not_end_before_a_line_starts():
    late = (
        signed_contract()
        .lines[2]
        .model_copy(
            update={"id": "L5", "term": Term(start=date(2026, 10, 1), end=date(2026, 12, 31))}
        )
    )
    contract = apply_changes(signed_contract(), [ScopeLineAdd(line=late)])
    with pytest.raises(AmendmentError, match="line L5 would start after the new end"):
        apply_changes(contract, [TermChange(end=date(2026, 9, 30))])


def test_an_amendment_for_another_contract_is_refused():
    with pytest.raises(AmendmentError, match="is for contract C-999"):
        apply_amendment(
            signed_contract(), amendment(ScopeLineRemove(line_id="L4"), contract_id="C-999")
        )


def test_an_amendment_out_of_sequence_is_refused_with_a_stable_code():
    with pytest.raises(AmendmentError) as info:
        apply_amendment(signed_contract(), amendment(ScopeLineRemove(line_id="L4"), sequence=2))
    assert info.value.code == "amendment.out_of_order"
    assert info.value.detail == {"expected_version": 2, "actual_version": 1}


def test_nothing_is_half_applied_when_a_later_change_fails():
    prior = signed_contract()
    failing = amendment(
        LegalEntityChange(legal_entity_code="GB01"),
        MilestoneRemove(line_id="L1", milestone_id="M2"),
        MilestoneRemove(line_id="L1", milestone_id="M2"),  # already gone
    )
    with pytest.raises(AmendmentError, match="no milestone M2"):
        apply_amendment(prior, failing)
    assert prior == signed_contract()
    assert prior.legal_entity_code == "US01"
    assert fee(prior).amount == usd(30_000)
