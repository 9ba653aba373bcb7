from hypothesis import given, settings
from hypothesis import strategies as st

from contractsync.domain.amending import apply_amendment
from contractsync.domain.amendment import Amendment
from contractsync.domain.contract import Contract
from contractsync.domain.money import Money, total
from contractsync.domain.plan import AmendmentPlan
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.domain.valuation import contract_value
from contractsync.services.amendments import apply_plan, plan_amendment
from tests.amendment_strategies import amended_contracts, changes

FACT_TYPES = {
    "operations": list,
    "currency": str,
    "value_delta": float,
    "value_delta_pct": float,
    "max_rate_change_pct": float,
    "touches_invoiced_milestone": bool,
    "touches_closed_period": bool,
    "has_manual_edit_conflict": bool,
    "changes_legal_entity": bool,
    "term_change_days": int,
    "conflict_codes": list,
    "operation_count": int,
}


DRIFT_KINDS = ("milestone_reprice", "cap_change", "rate_change", "term_change", "scope_line_change")


def versions(pair: tuple[Contract, Amendment]) -> tuple[Contract, Contract]:
    prior, amendment = pair
    return prior, apply_amendment(prior, amendment)


@settings(max_examples=150, deadline=None)
@given(amended_contracts())
def test_applying_the_plan_to_the_prior_version_gives_the_amended_version(pair):
    prior, amended = versions(pair)
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=prior))
    assert apply_plan(prior, plan) == amended


@settings(max_examples=150, deadline=None)
@given(amended_contracts())
def test_with_the_erp_already_amended_every_operation_is_already_applied(pair):
    prior, amended = versions(pair)
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=amended))
    assert all(op.state == "already_applied" for op in plan.operations)
    assert not plan.conflicts


@settings(max_examples=150, deadline=None)
@given(amended_contracts())
def test_with_the_erp_at_the_prior_version_the_plan_is_pending_and_free_of_conflicts(pair):
    prior, amended = versions(pair)
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=prior))
    assert not plan.conflicts
    for op in plan.operations:
        # A no-op rate change re-sorts a card's rates; the ERP holds the same rates already.
        reorder_only = op.kind == "rate_card_replace" and op.money_delta == Money.zero(
            prior.currency
        )
        assert op.state == "pending" or reorder_only


@settings(max_examples=150, deadline=None)
@given(amended_contracts())
def test_the_money_delta_is_the_amended_value_minus_the_prior_value(pair):
    prior, amended = versions(pair)
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=prior))
    expected = contract_value(amended) - contract_value(prior)
    assert plan.impact.delta == expected
    assert total(plan.impact.per_line.values(), prior.currency) == expected
    deltas = [op.money_delta for op in plan.operations]
    if all(delta is not None for delta in deltas):
        assert total((d for d in deltas if d is not None), prior.currency) == expected


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_whatever_the_erp_holds_the_plan_still_reproduces_the_amended_version(data):
    """Someone edits the ERP by hand; the plan flags it but still amends the canonical contract."""
    prior, amended = versions(data.draw(amended_contracts()))
    drift_kind = data.draw(st.sampled_from(DRIFT_KINDS))
    drift = data.draw(changes(prior, drift_kind, position=7))
    erp_contract = prior
    if drift is not None:
        erp_amendment = Amendment(
            id="ERP-EDIT",
            contract_id=prior.id,
            sequence=1,
            base_version=1,
            effective_date=prior.term.start,
            changes=(drift,),
        )
        erp_contract = apply_amendment(prior, erp_amendment).model_copy(update={"version": 1})
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=erp_contract))
    assert apply_plan(prior, plan) == amended
    for conflict in plan.conflicts:
        assert conflict.operation_index < len(plan.operations)
        if conflict.code == "erp.edited_by_hand":
            assert set(conflict.evidence) == {"prior", "erp", "amended"}


@settings(max_examples=150, deadline=None)
@given(amended_contracts())
def test_facts_always_carry_every_key_with_its_type_and_the_plan_round_trips_as_json(pair):
    prior, amended = versions(pair)
    plan = plan_amendment(prior, amended, erp=FinancialSnapshot(contract=prior))
    facts = plan.facts()
    assert {key: type(value) for key, value in facts.items()} == FACT_TYPES
    assert facts["operation_count"] == len(facts["operations"]) == len(plan.operations)
    assert AmendmentPlan.model_validate_json(plan.model_dump_json()) == plan
