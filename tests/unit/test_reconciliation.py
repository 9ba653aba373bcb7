"""Reconciliation, pure: drift classified with money at risk, healing decided by policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import (
    CapChange,
    LegalEntityChange,
    MilestoneRemove,
    MilestoneReprice,
    RateChange,
    ScopeLineRemove,
    TermChange,
)
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer
from contractsync.domain.drift import DriftDetail, DriftItem, DriftKind
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.ownership import (
    DEFAULT_OWNERSHIP,
    OwnershipMap,
    OwnershipRule,
    SystemRole,
)
from contractsync.domain.roles import OwnerRole
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.domain.tax import TaxTreatment
from contractsync.policies import load_default_reconciliation_policy
from contractsync.ports.systems import PlannedMilestone, ProjectPlan, SourcedContract
from contractsync.services.amendment_diff import is_same_version
from contractsync.services.policy import GUARD_RULE_ID, parse_policy
from contractsync.services.reconciliation import compare_contract, find_orphans
from contractsync.services.reconciliation_healing import (
    BLOCKED_RULE,
    NOT_HEALABLE_RULE,
    RECONCILIATION_FACTS,
    ExceptionSpec,
    HealingAction,
    decide_healing,
)
from tests.amendment_strategies import amended_contracts, signed_contract, usd

ERP = {SystemRole.ERP: "erp"}
PSA = {SystemRole.PSA: "psa"}
CRM = {SystemRole.CRM: "crm"}
ALL = {**ERP, **PSA, **CRM}
HEAL_EVERYTHING = parse_policy(
    'policy: reckless\nversion: "1"\ndefault: {action: auto_apply, reason: "heal it all"}\n',
    facts=RECONCILIATION_FACTS,
)


def approved() -> Contract:
    """The signed SOW C-100 (99,750.00 USD), approved."""
    return signed_contract().model_copy(update={"status": ContractStatus.APPROVED})


def sourced(contract: Contract | None = None) -> SourcedContract:
    customer = Customer(id="CUST-1", legal_name="Acme Corp", billing_country="US")
    return SourcedContract(contract=contract or approved(), customer=customer)


def erp_with(*changes: object, invoiced: frozenset[str] = frozenset()) -> FinancialSnapshot:
    held = apply_changes(approved(), changes)  # type: ignore[arg-type]
    return FinancialSnapshot(contract=held, invoiced_milestone_ids=invoiced)


def plan_of(contract: Contract, **edits: PlannedMilestone | None) -> ProjectPlan:
    """The PSA plan of ``contract``, with milestones replaced (or dropped, given None)."""
    milestones = []
    for _, m in contract.milestones():
        planned = PlannedMilestone(id=m.id, name=m.name, due_date=m.due_date)
        if m.id in edits:
            replaced = edits[m.id]
            if replaced is None:
                continue
            planned = replaced
        milestones.append(planned)
    return ProjectPlan(
        project=ExternalRef(system="psa", kind="workspace", id="W1"),
        project_id=contract.id,
        contract_id=contract.id,
        name="Data platform delivery",
        start=contract.term.start,
        end=contract.term.end,
        milestones=tuple(milestones),
    )


def compare(
    *,
    erp: FinancialSnapshot | None = None,
    psa: ProjectPlan | None = None,
    crm: ExternalRef | None = None,
    systems: dict[SystemRole, str] = ERP,
    ownership: OwnershipMap = DEFAULT_OWNERSHIP,
) -> list[DriftItem]:
    return compare_contract(
        sourced(), erp=erp, psa=psa, crm=crm, systems=systems, ownership=ownership
    )


# -- one drift of each kind, with its money at risk ------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    found: Callable[[], list[DriftItem]]
    kind: DriftKind
    field: str
    money: Money | None


CASES = [
    Case("approved contract absent from the ERP", lambda: compare(erp=None),
         DriftKind.MISSING_IN_ERP, "contract", usd("99750")),
    Case("no PSA project: the milestones it would trigger",
         lambda: compare(psa=None, systems=PSA), DriftKind.MISSING_IN_PSA, "project", usd(30000)),
    Case("customer without a CRM account", lambda: compare(crm=None, systems=CRM),
         DriftKind.MISSING_IN_CRM, "customer", None),
    Case("ERP record without a CLM contract",
         lambda: find_orphans(["C-100", "C-999"], [], ["C-100"], systems=ALL),
         DriftKind.ORPHAN_RECORD, "contract", None),
    Case("engineer rate raised from June: 214 estimated hours x 20",
         lambda: compare(erp=erp_with(RateChange(rate_card_id="RC1", role="engineer",
                         hourly=usd(170), effective_from=date(2026, 6, 1)))),
         DriftKind.RATE_MISMATCH, "rate_cards.RC1.engineer", usd(4280)),
    Case("milestone repriced by hand: the difference",
         lambda: compare(erp=erp_with(MilestoneReprice(line_id="L1", milestone_id="M2",
                                                       amount=usd(25000)))),
         DriftKind.MILESTONE_MISMATCH, "lines.L1.milestones.M2.amount", usd(5000)),
    Case("cap lowered: the gap between caps",
         lambda: compare(erp=erp_with(CapChange(line_id="L2", cap=usd(80000)))),
         DriftKind.AMOUNT_MISMATCH, "lines.L2.cap", usd(20000)),
    Case("term cut two months short: two retainer months",
         lambda: compare(erp=erp_with(TermChange(end=date(2026, 10, 31)))),
         DriftKind.TERM_MISMATCH, "term.end", usd(2000)),
    Case("booked by another legal entity: the contract value",
         lambda: compare(erp=erp_with(LegalEntityChange(legal_entity_code="GB01"))),
         DriftKind.LEGAL_ENTITY_MISMATCH, "legal_entity_code", usd("99750")),
    Case("booked to another customer: the contract value",
         lambda: compare(erp=FinancialSnapshot(
             contract=approved().model_copy(update={"customer_id": "CUST-2"}))),
         DriftKind.CUSTOMER_MISMATCH, "customer_id", usd("99750")),
    Case("support line missing: its value",
         lambda: compare(erp=erp_with(ScopeLineRemove(line_id="L3"))),
         DriftKind.SCOPE_MISMATCH, "lines.L3", usd(12000)),
    Case("milestone invoiced at 25,000 where the contract allows 20,000: the excess",
         lambda: compare(erp=erp_with(MilestoneReprice(line_id="L1", milestone_id="M2",
                         amount=usd(25000)), invoiced=frozenset({"M2"}))),
         DriftKind.INVOICED_OVER_CONTRACT, "lines.L1.milestones.M2.amount", usd(5000)),
]  # fmt: skip


def test_every_drift_kind_has_a_case() -> None:
    assert {case.kind for case in CASES} == set(DriftKind)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_each_drift_is_classified_with_its_money_at_risk(case: Case) -> None:
    found = case.found()
    assert [(i.kind, i.field, i.money_at_risk) for i in found][:1] == [
        (case.kind, case.field, case.money)
    ]
    assert len({i.kind for i in found}) == 1


def test_a_repriced_milestone_reports_both_amounts_and_its_owner() -> None:
    (item,) = compare(
        erp=erp_with(MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25000)))
    )
    assert (item.expected, item.actual) == ("20000.00 USD", "25000.00 USD")
    assert item.detail is DriftDetail.REPRICED
    assert item.system_of_record is SystemRole.CLM
    assert item.healable


def test_a_milestone_removed_from_the_contract_but_invoiced_is_an_over_invoice() -> None:
    clm = apply_changes(approved(), [MilestoneRemove(line_id="L1", milestone_id="M2")])
    erp = FinancialSnapshot(contract=approved(), invoiced_milestone_ids=frozenset({"M2"}))
    (item,) = compare_contract(sourced(clm), erp=erp, psa=None, crm=None, systems=ERP)
    assert (item.kind, item.detail, item.money_at_risk) == (
        DriftKind.INVOICED_OVER_CONTRACT,
        DriftDetail.EXTRA,
        usd(20000),
    )
    assert not item.healable


def test_a_psa_plan_with_a_moved_date_and_a_lost_milestone_shows_both() -> None:
    contract = approved()
    moved = PlannedMilestone(id="M1", name="Design", due_date=date(2026, 4, 15))
    found = compare(psa=plan_of(contract, M1=moved, M2=None), systems=PSA)
    assert [(i.kind, i.detail, i.field, i.money_at_risk) for i in found] == [
        (DriftKind.MILESTONE_MISMATCH, DriftDetail.RESCHEDULED,
         "lines.L1.milestones.M1.due_date", usd(10000)),
        (DriftKind.MILESTONE_MISMATCH, DriftDetail.MISSING,
         "lines.L1.milestones.M2", usd(20000)),
    ]  # fmt: skip
    assert all(i.healable and i.system == "psa" for i in found)


def test_a_draft_contract_is_not_expected_downstream() -> None:
    draft = sourced(signed_contract())
    assert compare_contract(draft, erp=None, psa=None, crm=None, systems=ALL) == []


def test_a_system_holding_another_contract_version_is_never_healed() -> None:
    held = apply_changes(approved(), [CapChange(line_id="L2", cap=usd(80000))])
    erp = FinancialSnapshot(contract=held.model_copy(update={"version": 2}))
    (item,) = compare(erp=erp)
    assert not item.healable
    assert "amendment flow" in (item.unhealable_reason or "")


# -- healing decisions -----------------------------------------------------------------


def decisions(items: list[DriftItem], policy: object = None) -> list[HealingAction | ExceptionSpec]:
    return decide_healing(items, policy or load_default_reconciliation_policy())  # type: ignore[arg-type]


def test_the_shipped_policy_reads_the_drift_facts() -> None:
    assert load_default_reconciliation_policy().name == "reconciliation"


def test_a_milestone_the_erp_lost_is_healed_by_a_re_push() -> None:
    items = compare(erp=erp_with(MilestoneRemove(line_id="L1", milestone_id="M2")))
    (action,) = decisions(items)
    assert isinstance(action, HealingAction)
    assert (action.system, action.items, action.rule_ids) == (
        "erp",
        tuple(items),
        ("heal-missing-milestone",),
    )


def test_psa_date_drift_and_a_lost_psa_milestone_are_healed_together() -> None:
    moved = PlannedMilestone(id="M1", name="Design", due_date=date(2026, 4, 15))
    items = compare(psa=plan_of(approved(), M1=moved, M2=None), systems=PSA)
    (action,) = decisions(items)
    assert isinstance(action, HealingAction)
    assert action.rule_ids == ("heal-psa-schedule", "heal-missing-milestone")


def test_an_erp_hand_edit_of_an_amount_goes_to_finance_with_the_money_at_risk() -> None:
    items = compare(
        erp=erp_with(MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25000)))
    )
    (spec,) = decisions(items)
    assert isinstance(spec, ExceptionSpec)
    assert (spec.owner, spec.code, spec.money_at_risk, spec.rule_id) == (
        OwnerRole.FINANCE,
        "reconciliation.milestone_mismatch",
        usd(5000),
        "default",
    )
    assert spec.evidence["drift"]["expected"] == "20000.00 USD"


@pytest.mark.parametrize(
    "snapshot",
    [
        erp_with(
            MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(18000)),
            invoiced=frozenset({"M2"}),
        ),
        erp_with(MilestoneRemove(line_id="L1", milestone_id="M2")).model_copy(
            update={"closed_through": date(2026, 6, 30)}
        ),
    ],
    ids=["invoiced milestone", "closed period"],
)
def test_invoiced_or_closed_drift_is_never_healed_even_by_a_policy_that_heals_all(
    snapshot: FinancialSnapshot,
) -> None:
    (spec,) = decisions(compare(erp=snapshot), HEAL_EVERYTHING)
    assert isinstance(spec, ExceptionSpec)
    assert (spec.owner, spec.rule_id) == (OwnerRole.FINANCE, GUARD_RULE_ID)


def test_a_field_the_erp_owns_is_never_overwritten_even_by_a_policy_that_heals_all() -> None:
    taxed = approved().model_copy(update={"tax_treatment": TaxTreatment.EXPORT_OUTSIDE_SCOPE})
    (item,) = compare(erp=FinancialSnapshot(contract=taxed))
    assert item.system_of_record is SystemRole.ERP
    (spec,) = decisions([item], HEAL_EVERYTHING)
    assert isinstance(spec, ExceptionSpec)
    assert spec.rule_id == NOT_HEALABLE_RULE


def test_a_milestone_owned_by_the_erp_in_the_ownership_map_is_not_healed() -> None:
    erp_owned = OwnershipMap(
        rules=(
            *(r for r in DEFAULT_OWNERSHIP.rules if r.entity != "billing_milestone"),
            OwnershipRule(entity="billing_milestone", owner=SystemRole.ERP),
        )
    )
    items = compare(
        erp=erp_with(MilestoneRemove(line_id="L1", milestone_id="M2")), ownership=erp_owned
    )
    (spec,) = decisions(items, HEAL_EVERYTHING)
    assert isinstance(spec, ExceptionSpec)
    assert spec.rule_id == NOT_HEALABLE_RULE


def test_one_routed_item_keeps_the_rest_of_its_system_from_being_re_pushed() -> None:
    erp = erp_with(
        MilestoneRemove(line_id="L1", milestone_id="M1"),
        MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25000)),
    )
    moved = PlannedMilestone(id="M1", name="Design", due_date=date(2026, 4, 15))
    items = compare(erp=erp, psa=plan_of(approved(), M1=moved), systems={**ERP, **PSA})
    found = decisions(items)
    heals = [d for d in found if isinstance(d, HealingAction)]
    routed = {d.item.field: d.rule_id for d in found if isinstance(d, ExceptionSpec)}
    assert [(h.system, len(h.items)) for h in heals] == [("psa", 1)]
    assert routed == {
        "lines.L1.milestones.M1": BLOCKED_RULE,
        "lines.L1.milestones.M2.amount": "default",
    }


def test_dedupe_keys_name_contract_system_kind_and_field_and_never_change() -> None:
    change = MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(25000))
    first = [i.dedupe_key for i in compare(erp=erp_with(change))]
    again = [i.dedupe_key for i in compare(erp=erp_with(change))]
    assert (
        first
        == again
        == ["reconciliation:C-100:erp:milestone_mismatch:lines.L1.milestones.M2.amount"]
    )
    bigger = MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(30000))
    assert [i.dedupe_key for i in compare(erp=erp_with(bigger))] == first


# -- properties ------------------------------------------------------------------------

# The kinds of drift one injected change of each amendment kind may show as: a whole-line
# change shows as its most telling part; every other change has one kind of drift.
EXPECTED_KINDS: dict[str, set[DriftKind]] = {
    "rate_change": {DriftKind.RATE_MISMATCH},
    "rate_card_replace": {DriftKind.RATE_MISMATCH},
    "milestone_add": {DriftKind.MILESTONE_MISMATCH},
    "milestone_remove": {DriftKind.MILESTONE_MISMATCH},
    "milestone_reschedule": {DriftKind.MILESTONE_MISMATCH},
    "milestone_reprice": {DriftKind.MILESTONE_MISMATCH},
    "term_change": {DriftKind.TERM_MISMATCH},
    "cap_change": {DriftKind.AMOUNT_MISMATCH},
    "scope_line_add": {DriftKind.SCOPE_MISMATCH},
    "scope_line_remove": {DriftKind.SCOPE_MISMATCH},
    "scope_line_change": {
        DriftKind.SCOPE_MISMATCH,
        DriftKind.MILESTONE_MISMATCH,
        DriftKind.AMOUNT_MISMATCH,
        DriftKind.RATE_MISMATCH,
        DriftKind.TERM_MISMATCH,
    },
    "legal_entity_change": {DriftKind.LEGAL_ENTITY_MISMATCH},
}
ONE_CHANGE = st.sampled_from(sorted(EXPECTED_KINDS)).flatmap(
    lambda kind: st.tuples(st.just(kind), amended_contracts(kinds=(kind,)))
)
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(pair=amended_contracts())
def test_a_contract_compared_with_an_erp_copy_of_itself_has_no_drift(
    pair: tuple[Contract, object],
) -> None:
    contract, _ = pair
    assert (
        compare_contract(
            sourced(contract),
            erp=FinancialSnapshot(contract=contract),
            psa=None,
            crm=None,
            systems=ERP,
        )
        == []
    )


@PROPERTY
@given(case=ONE_CHANGE, hand_edit_in_erp=st.booleans())
def test_one_injected_change_is_reported_as_drift_of_that_changes_kind_only(
    case: tuple[str, tuple[Contract, object]], hand_edit_in_erp: bool
) -> None:
    _, (contract, amendment) = case
    changes = amendment.changes[:1]  # type: ignore[attr-defined]
    kind = changes[0].kind  # the strategy falls back to another kind when none fits
    changed = apply_changes(contract, changes)
    clm, held = (contract, changed) if hand_edit_in_erp else (changed, contract)
    found = compare_contract(
        sourced(clm), erp=FinancialSnapshot(contract=held), psa=None, crm=None, systems=ERP
    )
    if is_same_version(contract, changed):
        assert found == []  # the change restated what the contract already said
        return
    assert found, f"{changes[0]} went unnoticed"
    assert len({item.kind for item in found}) == 1
    assert found[0].kind in EXPECTED_KINDS[kind]
