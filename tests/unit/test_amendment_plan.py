from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings

from contractsync.domain.amending import apply_changes
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
from contractsync.domain.contract_line import ContractLine, FixedFee, Retainer
from contractsync.domain.milestone import BillingMilestone, MilestoneStatus
from contractsync.domain.periods import Term
from contractsync.domain.plan import AmendmentPlan, MoneyImpact
from contractsync.domain.rate_card import Rate, RateCard
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.errors import AmendmentError
from contractsync.services.amendments import apply_plan, plan_amendment, plan_for_amendment
from tests.amendment_strategies import signed_contract, usd
from tests.strategies import contracts

PRIOR = signed_contract()
GO_LIVE = BillingMilestone(id="M3", name="Go-live", amount=usd(5_000), due_date=date(2026, 9, 30))
HYPERCARE = ContractLine(
    id="L5",
    description="Hypercare",
    service_code="SVC-HYPERCARE",
    term=Term(start=date(2026, 7, 1), end=date(2026, 12, 31)),
    billing=Retainer(monthly_fee=usd(2_000)),
)


def amend(*changes: Change, contract: Contract = PRIOR) -> Contract:
    return apply_changes(contract, changes).model_copy(update={"version": contract.version + 1})


def plan(
    *changes: Change, invoiced: frozenset[str] = frozenset(), closed: date | None = None
) -> AmendmentPlan:
    erp = FinancialSnapshot(contract=PRIOR, invoiced_milestone_ids=invoiced, closed_through=closed)
    return plan_amendment(PRIOR, amend(*changes), erp=erp)


def with_milestone(contract: Contract, milestone: BillingMilestone) -> Contract:
    """``contract`` with milestone ``milestone.id`` of line L1 replaced, as an ERP edit would."""
    line = contract.lines[0]
    assert isinstance(line.billing, FixedFee)
    milestones = tuple(milestone if m.id == milestone.id else m for m in line.billing.milestones)
    edited = line.model_copy(
        update={"billing": line.billing.model_copy(update={"milestones": milestones})}
    )
    return contract.model_copy(update={"lines": (edited, *contract.lines[1:])})


# --- one operation per change kind ---------------------------------------------------------

ENGINEER_RAISE = RateChange(
    rate_card_id="RC1", role="engineer", hourly=usd("172.50"), effective_from=date(2026, 4, 1)
)
RC1_CLOSED = RateCard(
    id="RC1",
    currency="USD",
    rates=(
        Rate(
            role="engineer",
            hourly=usd(165),
            effective_from=date(2026, 1, 1),
            effective_to=date(2026, 12, 31),
        ),
        Rate(role="architect", hourly=usd(200), effective_from=date(2026, 1, 1)),
    ),
)
RICHER_SUPPORT = PRIOR.lines[2].model_copy(update={"billing": Retainer(monthly_fee=usd(1_500))})

KINDS = [
    (ENGINEER_RAISE, "engineer rate 150.00 → 172.50 USD from 2026-04-01 (+15.0 %)", "6187.50"),
    (
        MilestoneAdd(line_id="L1", milestone=GO_LIVE),
        'add milestone M3 "Go-live" of 5000.00 USD due 2026-09-30 to line L1',
        "5000.00",
    ),
    (
        MilestoneRemove(line_id="L1", milestone_id="M2"),
        'remove milestone M2 "Build" (20000.00 USD) from line L1',
        "-20000.00",
    ),
    (
        MilestoneReschedule(line_id="L1", milestone_id="M2", due_date=date(2026, 8, 31)),
        'move milestone M2 "Build" from 2026-06-30 to 2026-08-31 (+62 days)',
        "0.00",
    ),
    (
        MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25_000)),
        'reprice milestone M2 "Build" 20000.00 → 25000.00 USD (+25.0 %)',
        "5000.00",
    ),
    (
        TermChange(end=date(2027, 6, 30)),
        "extend the term end 2026-12-31 → 2027-06-30 (+181 days)",
        "6000.00",
    ),
    (
        CapChange(line_id="L2", cap=usd(50_000)),
        "line L2 cap 100000.00 → 50000.00 USD (-50.0 %)",
        "-4750.00",
    ),
    (
        ScopeLineAdd(line=HYPERCARE),
        'add line L5 "Hypercare" (retainer, 2026-07-01 to 2026-12-31)',
        "12000.00",
    ),
    (ScopeLineRemove(line_id="L4"), 'remove line L4 "Onboarding"', "-3000.00"),
    (
        ScopeLineChange(line=RICHER_SUPPORT),
        'change line L3 "Support retainer" (billing)',
        "6000.00",
    ),
    (
        RateCardReplace(rate_card=RC1_CLOSED),
        "replace rate card RC1 (2 rate ranges in USD)",
        "5475.00",
    ),
    (
        LegalEntityChange(legal_entity_code="GB01"),
        "move the contract from legal entity US01 to GB01",
        "0.00",
    ),
]


@pytest.mark.parametrize(
    ("change", "summary", "delta"), KINDS, ids=lambda v: getattr(v, "kind", "")
)
def test_each_change_kind_plans_as_one_pending_operation_with_summary_and_money_delta(
    change: Change, summary: str, delta: str
):
    result = plan(change)
    assert [op.change for op in result.operations] == [change]
    (operation,) = result.operations
    assert operation.state == "pending"
    assert operation.summary == summary
    assert operation.money_delta == usd(delta)
    assert result.impact.delta == usd(delta)
    assert not result.conflicts


def test_the_plan_moves_the_contract_from_the_prior_to_the_amended_version():
    result = plan(ENGINEER_RAISE)
    assert (result.contract_id, result.from_version, result.to_version) == ("C-100", 1, 2)
    assert apply_plan(PRIOR, result) == amend(ENGINEER_RAISE)


def test_money_impact_gives_totals_percent_and_the_delta_of_each_line():
    impact = plan(
        ENGINEER_RAISE, ScopeLineRemove(line_id="L4"), ScopeLineAdd(line=HYPERCARE)
    ).impact
    assert impact.value_before == usd("99750.00")
    assert impact.value_after == usd("114937.50")
    assert impact.delta == usd("15187.50")
    assert impact.delta_pct == Decimal("15.2256")
    assert impact.per_line == {"L2": usd("6187.50"), "L4": usd(-3_000), "L5": usd(12_000)}


def test_delta_percent_is_zero_when_the_contract_was_worth_nothing():
    impact = MoneyImpact.between(usd(0), usd(500))
    assert impact.delta == usd(500)
    assert impact.delta_pct == 0


def test_two_rate_changes_for_one_role_are_two_operations_each_against_the_prior_rate():
    july = ENGINEER_RAISE.model_copy(
        update={"hourly": usd(180), "effective_from": date(2026, 7, 1)}
    )
    result = plan(ENGINEER_RAISE, july)
    assert [op.change for op in result.operations] == [ENGINEER_RAISE, july]
    assert [op.rate_change_pct for op in result.operations] == [Decimal(15), Decimal(20)]


# --- fallback to the coarser change --------------------------------------------------------


def test_a_renamed_milestone_falls_back_to_changing_the_whole_line():
    renamed = PRIOR.milestones()[1][1].model_copy(update={"name": "Construction"})
    amended = with_milestone(PRIOR, renamed).model_copy(update={"version": 2})
    result = plan_amendment(PRIOR, amended, erp=FinancialSnapshot(contract=PRIOR))
    assert [op.kind for op in result.operations] == ["scope_line_change"]
    assert result.operations[0].summary == 'change line L1 "Platform build" (billing)'
    assert apply_plan(PRIOR, result) == amended


def test_a_milestone_losing_its_date_falls_back_to_changing_the_whole_line():
    triggered = PRIOR.milestones()[1][1].model_copy(
        update={"due_date": None, "trigger": "customer acceptance"}
    )
    amended = with_milestone(PRIOR, triggered).model_copy(update={"version": 2})
    result = plan_amendment(PRIOR, amended, erp=FinancialSnapshot(contract=PRIOR))
    assert [op.kind for op in result.operations] == ["scope_line_change"]


def test_a_rate_card_no_rate_change_can_produce_is_replaced_whole():
    assert [op.kind for op in plan(RateCardReplace(rate_card=RC1_CLOSED)).operations] == [
        "rate_card_replace"
    ]


@pytest.mark.parametrize(
    ("update", "fields"),
    [
        ({"title": "Renamed SOW"}, ["title"]),
        ({"term": Term(start=date(2026, 2, 1), end=date(2026, 12, 31))}, ["term.start"]),
        ({"rate_cards": ()}, ["rate_cards (removes RC1)"]),
    ],
    ids=["title", "term_start", "removed_rate_card"],
)
def test_a_difference_no_change_type_expresses_is_refused_with_a_stable_code(
    update: dict[str, object], fields: list[str]
):
    changed = PRIOR.model_copy(update={**update, "version": 2})
    with pytest.raises(AmendmentError) as info:
        plan_amendment(PRIOR, changed, erp=FinancialSnapshot(contract=PRIOR))
    assert info.value.code == "amendment.not_representable"
    assert info.value.detail == {"fields": fields}


def test_reordering_lines_alone_is_not_an_amendment():
    shuffled = PRIOR.model_copy(update={"lines": tuple(reversed(PRIOR.lines)), "version": 2})
    assert plan_amendment(PRIOR, shuffled, erp=FinancialSnapshot(contract=PRIOR)).is_empty


# --- reading the ERP: applied, pending, edited by hand -------------------------------------


def test_an_operation_the_erp_already_holds_is_already_applied():
    reprice = MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25_000))
    erp = FinancialSnapshot(contract=amend(reprice, ScopeLineRemove(line_id="L4")))
    result = plan_amendment(PRIOR, amend(reprice, ScopeLineRemove(line_id="L4")), erp=erp)
    assert [op.state for op in result.operations] == ["already_applied", "already_applied"]
    partial = FinancialSnapshot(contract=amend(reprice))
    result = plan_amendment(PRIOR, amend(reprice, ScopeLineRemove(line_id="L4")), erp=partial)
    assert [(op.kind, op.state) for op in result.operations] == [
        ("scope_line_remove", "pending"),
        ("milestone_reprice", "already_applied"),
    ]
    assert [op.kind for op in result.pending_operations] == ["scope_line_remove"]


def test_a_value_edited_by_hand_in_the_erp_is_a_conflict_with_three_way_evidence():
    reprice = MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25_000))
    hand_edit = with_milestone(
        PRIOR, PRIOR.milestones()[1][1].model_copy(update={"amount": usd(22_000)})
    )
    result = plan_amendment(PRIOR, amend(reprice), erp=FinancialSnapshot(contract=hand_edit))
    (conflict,) = result.conflicts
    assert conflict.code == "erp.edited_by_hand"
    assert conflict.operation_index == 0
    assert conflict.evidence == {
        "prior": "20000.00 USD",
        "erp": "22000.00 USD",
        "amended": "25000.00 USD",
    }
    assert result.operations[0].state == "pending"


def test_a_milestone_invoiced_in_the_erp_is_not_a_hand_edit():
    invoiced = PRIOR.milestones()[0][1].model_copy(update={"status": MilestoneStatus.INVOICED})
    erp = FinancialSnapshot(contract=with_milestone(PRIOR, invoiced))
    result = plan_amendment(PRIOR, amend(ScopeLineRemove(line_id="L1")), erp=erp)
    assert result.operations[0].state == "pending"
    assert not result.conflicts


def test_a_line_set_back_after_a_term_extension_stays_pending_against_the_prior_erp():
    """The term change also extends L5; the line change puts it back, and both must be pushed."""
    prior = apply_changes(PRIOR, [ScopeLineAdd(line=HYPERCARE)])
    extended = apply_changes(prior, [TermChange(end=date(2027, 6, 30))])
    amended = extended.model_copy(update={"lines": (*extended.lines[:-1], HYPERCARE), "version": 2})
    result = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=prior))
    assert [(op.kind, op.state) for op in result.operations] == [
        ("term_change", "pending"),
        ("scope_line_change", "pending"),
    ]
    assert apply_plan(prior, result) == amended


# --- invoices and closed periods ------------------------------------------------------------


def test_changing_an_invoiced_milestone_is_a_conflict_and_counts_toward_the_invoiced_amount():
    result = plan(
        MilestoneReprice(line_id="L1", milestone_id="M1", amount=usd(12_000)),
        invoiced=frozenset({"M1"}),
    )
    (conflict,) = result.conflicts
    assert conflict.code == "milestone.already_invoiced"
    assert conflict.evidence == {"milestone": "M1", "invoiced_amount": "10000.00 USD"}
    assert result.impact.invoiced_amount_affected == usd(10_000)


def test_removing_a_line_touches_each_of_its_invoiced_milestones():
    result = plan(ScopeLineRemove(line_id="L1"), invoiced=frozenset({"M1", "M2"}))
    assert [(c.code, c.evidence["milestone"]) for c in result.conflicts] == [
        ("milestone.already_invoiced", "M1"),
        ("milestone.already_invoiced", "M2"),
    ]
    assert result.impact.invoiced_amount_affected == usd(30_000)


def test_an_operation_that_leaves_invoiced_milestones_alone_has_no_invoice_conflict():
    assert not plan(
        MilestoneAdd(line_id="L1", milestone=GO_LIVE), invoiced=frozenset({"M1"})
    ).conflicts


def test_an_operation_already_in_the_erp_raises_no_invoice_or_period_conflict():
    remove = ScopeLineRemove(line_id="L1")
    erp = FinancialSnapshot(
        contract=amend(remove),
        invoiced_milestone_ids=frozenset({"M1"}),
        closed_through=date(2026, 12, 31),
    )
    result = plan_amendment(PRIOR, amend(remove), erp=erp)
    assert result.operations[0].state == "already_applied"
    assert not result.conflicts


@pytest.mark.parametrize(
    ("change", "closed", "day"),
    [
        (ENGINEER_RAISE, date(2026, 4, 1), "2026-04-01"),
        (
            MilestoneReschedule(line_id="L1", milestone_id="M1", due_date=date(2026, 5, 31)),
            date(2026, 3, 31),
            "2026-03-31",
        ),
        (ScopeLineRemove(line_id="L4"), date(2026, 1, 31), "2026-01-01"),
        (TermChange(end=date(2026, 9, 30)), date(2026, 10, 31), "2026-10-01"),
        (CapChange(line_id="L2", cap=usd(10_000)), date(2026, 6, 30), "2026-03-01"),
    ],
    ids=lambda v: getattr(v, "kind", ""),
)
def test_an_operation_dated_in_a_closed_period_is_a_conflict(
    change: Change, closed: date, day: str
):
    result = plan(change, closed=closed)
    (conflict,) = result.conflicts
    assert conflict.code == "period.closed"
    assert conflict.evidence == {"date": day, "closed_through": closed.isoformat()}


def test_an_operation_dated_the_day_after_the_close_is_free():
    assert not plan(ENGINEER_RAISE, closed=date(2026, 3, 31)).conflicts


# --- empty plans, facts, serialisation, apply ----------------------------------------------


def test_identical_versions_give_an_empty_plan():
    result = plan_amendment(PRIOR, PRIOR, erp=FinancialSnapshot(contract=PRIOR))
    assert result.is_empty
    assert not result.has_conflicts
    assert result.impact.delta == usd(0)
    assert result.facts()["operation_count"] == 0


def test_facts_give_the_policy_engine_every_key_with_its_type():
    result = plan(
        ENGINEER_RAISE,
        TermChange(end=date(2027, 6, 30)),
        LegalEntityChange(legal_entity_code="GB01"),
        MilestoneReprice(line_id="L1", milestone_id="M1", amount=usd(9_000)),
        invoiced=frozenset({"M1"}),
        closed=date(2026, 4, 30),
    )
    assert result.facts() == {
        "operations": ["legal_entity_change", "rate_change", "term_change", "milestone_reprice"],
        "currency": "USD",
        "value_delta": 11858.79,
        "value_delta_pct": 11.8885,
        "max_rate_change_pct": 15.0,
        "touches_invoiced_milestone": True,
        "touches_closed_period": True,
        "has_manual_edit_conflict": False,
        "changes_legal_entity": True,
        "term_change_days": 181,
        "conflict_codes": ["milestone.already_invoiced", "period.closed"],
        "operation_count": 4,
    }


def test_facts_report_a_rate_cut_as_an_absolute_percent_and_a_shorter_term_as_negative_days():
    cut = ENGINEER_RAISE.model_copy(update={"hourly": usd(120)})
    facts = plan(cut, TermChange(end=date(2026, 11, 30))).facts()
    assert facts["max_rate_change_pct"] == 20.0
    assert facts["term_change_days"] == -31
    assert facts["has_manual_edit_conflict"] is False


def test_a_plan_survives_a_json_round_trip_with_its_typed_changes():
    result = plan(
        ENGINEER_RAISE, MilestoneAdd(line_id="L1", milestone=GO_LIVE), invoiced=frozenset({"M1"})
    )
    assert AmendmentPlan.model_validate_json(result.model_dump_json()) == result
    assert AmendmentPlan.schema_name == "amendment_plan"


def test_a_plan_for_an_amendment_is_the_plan_for_the_version_it_produces():
    amendment = Amendment(
        id="AMD-1",
        contract_id="C-100",
        sequence=1,
        base_version=1,
        effective_date=date(2026, 4, 1),
        changes=(ENGINEER_RAISE,),
    )
    erp = FinancialSnapshot(contract=PRIOR)
    assert plan_for_amendment(PRIOR, amendment, erp=erp) == plan(ENGINEER_RAISE)


def test_applying_a_plan_to_another_version_is_refused():
    result = plan(ENGINEER_RAISE)
    with pytest.raises(AmendmentError) as info:
        apply_plan(amend(ENGINEER_RAISE), result)
    assert info.value.code == "amendment.plan_stale"


def test_a_snapshot_of_another_contract_is_refused():
    other = PRIOR.model_copy(update={"id": "C-200"})
    with pytest.raises(AmendmentError, match="snapshot is of contract C-200"):
        plan_amendment(PRIOR, amend(ENGINEER_RAISE), erp=FinancialSnapshot(contract=other))


def test_planning_backwards_to_an_older_version_is_refused():
    with pytest.raises(AmendmentError) as info:
        plan_amendment(amend(ENGINEER_RAISE), PRIOR, erp=FinancialSnapshot(contract=PRIOR))
    assert info.value.code == "amendment.out_of_order"


@settings(max_examples=25, deadline=None)
@given(contracts())
def test_a_version_differing_only_in_status_and_refs_plans_no_operation(prior: Contract) -> None:
    from contractsync.domain.contract import ContractStatus
    from contractsync.domain.identity import ExternalRef

    amended = prior.model_copy(
        update={
            "status": ContractStatus.ACTIVE,
            "refs": (ExternalRef(system="ironclad", kind="workflow", id="wf-1"),),
            "version": prior.version + 1,
        }
    )
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=prior))
    assert plan.is_empty
