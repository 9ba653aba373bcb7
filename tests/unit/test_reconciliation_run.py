"""Reconciliation runs over in-memory systems: heal, raise once, report, and survive failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import MilestoneAdd, MilestoneReprice, MilestoneReschedule
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.drift import DriftKind, DriftOutcome, ReconciliationReport
from contractsync.domain.events import EventType
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.ownership import SystemRole
from contractsync.domain.project import Project, ProjectStatus
from contractsync.domain.roles import OwnerRole
from contractsync.errors import DataError, TransientError
from contractsync.policies import load_default_policy, load_default_reconciliation_policy
from contractsync.ports.systems import SourcedContract
from contractsync.services.amendment_flow import plan_and_decide, record_rejected
from contractsync.services.contract_flow import CONTRACT, PROJECT, store_record
from contractsync.services.lifecycle_flow import plan_termination, record_termination
from contractsync.services.reconciliation_run import reconcile
from contractsync.testing.fake_storage import InMemoryStore
from contractsync.testing.fake_systems import (
    FakeContractSource,
    FakeCustomerDirectory,
    FakeFinancialSystem,
    FakeProjectTracker,
)
from contractsync.testing.fakes import FixedClock, InMemoryUnitOfWork
from tests.amendment_strategies import signed_contract, usd

US01 = LegalEntity(
    code="US01",
    name="Kestrel Advisory Inc.",
    country="US",
    functional_currency="USD",
    erp_company="KA-US",
)


class Hub:
    """Four in-memory systems holding the same contracts, and the hub's own storage."""

    def __init__(self, *contract_ids: str) -> None:
        self.clm = FakeContractSource()
        self.erp = FakeFinancialSystem()
        self.psa = FakeProjectTracker()
        self.crm = FakeCustomerDirectory()
        self.store = InMemoryStore()
        self.clock = FixedClock()
        for contract_id in contract_ids:
            self.push(contract(contract_id))

    def push(self, approved: Contract) -> None:
        customer = Customer(id=approved.customer_id, legal_name="Acme", billing_country="US")
        self.clm.add(SourcedContract(contract=approved, customer=customer))
        project = Project(
            id=approved.id, contract_id=approved.id, customer_id=customer.id, name="Delivery"
        )
        self.erp.upsert_project(project, approved)
        self.psa.upsert_project(project, approved)
        self.crm.upsert_account(customer)

    def uow(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, self.clock)

    def reconcile(self, **options: Any) -> ReconciliationReport:
        options.setdefault("legal_entities", {"US01": US01})
        return reconcile(
            contracts=self.clm,
            erp=self.erp,
            psa=self.psa,
            crm=self.crm,
            uow_factory=self.uow,
            clock=self.clock,
            policy=load_default_reconciliation_policy(),
            **options,
        )

    def exceptions(self) -> list[ExceptionItem]:
        with self.uow() as uow:
            return list(uow.exceptions.list(limit=1000))

    def events(self, kind: EventType) -> list[str]:
        with self.uow() as uow:
            return [e.event.id for e in uow.outbox.pending(limit=1000) if e.event.type is kind]

    def edit_erp(self, contract_id: str, *changes: Any) -> None:
        self.erp.held[contract_id] = apply_changes(self.erp.held[contract_id], changes)

    def drop_psa_milestone(self, project_id: str, milestone_id: str) -> None:
        plan = self.psa.plans[project_id]
        kept = tuple(m for m in plan.milestones if m.id != milestone_id)
        self.psa.plans[project_id] = plan.model_copy(update={"milestones": kept})


def contract(contract_id: str) -> Contract:
    return signed_contract().model_copy(
        update={"id": contract_id, "status": ContractStatus.APPROVED}
    )


REPRICE = MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(23500))


def test_systems_that_agree_give_a_clean_report_and_write_nothing() -> None:
    hub = Hub("C-1", "C-2")
    report = hub.reconcile()
    assert report.is_clean
    assert [c.contract_id for c in report.contracts] == ["C-1", "C-2"]
    assert report.systems == {
        SystemRole.CLM: "clm",
        SystemRole.ERP: "erp",
        SystemRole.PSA: "psa",
        SystemRole.CRM: "crm",
    }
    assert hub.exceptions() == []
    assert hub.events(EventType.DRIFT_FOUND) == []


def test_a_lost_psa_milestone_is_healed_and_an_erp_reprice_goes_to_finance_once() -> None:
    hub = Hub("C-1", "C-2")
    hub.edit_erp("C-1", REPRICE)
    hub.drop_psa_milestone("C-2", "M1")
    first = hub.reconcile()
    lines = {(line.item.contract_id, line.item.kind, line.outcome) for line in first.lines}
    assert lines == {
        ("C-1", DriftKind.MILESTONE_MISMATCH, DriftOutcome.EXCEPTION),
        ("C-2", DriftKind.MILESTONE_MISMATCH, DriftOutcome.HEALED),
    }
    assert hub.psa.project_plan("C-2").milestone("M1") is not None  # type: ignore[union-attr]
    (item,) = hub.exceptions()
    assert (item.owner, item.money_at_risk, item.contract_id) == (
        OwnerRole.FINANCE,
        usd(3500),
        "C-1",
    )
    assert first.money_at_risk() == {"USD": usd(13500)}
    assert first.money_at_risk(unhealed_only=True) == {"USD": usd(3500)}
    assert not first.is_clean
    events = hub.events(EventType.DRIFT_FOUND)
    assert len(events) == 2

    second = hub.reconcile()
    assert [(line.item.contract_id, line.exception_id) for line in second.lines] == [
        ("C-1", item.id)
    ]
    assert hub.exceptions() == [item]
    assert hub.events(EventType.DRIFT_FOUND) == events


def test_a_heal_is_audited_and_the_erp_is_written_only_where_policy_heals() -> None:
    hub = Hub("C-1")
    hub.drop_psa_milestone("C-1", "M2")
    pushes = dict(hub.erp.pushes)
    hub.reconcile()
    assert hub.erp.pushes == pushes
    with hub.uow() as uow:
        healed = [e for e in uow.audit.entries() if e.action == "reconciliation.healed"]
    assert [(e.subject, e.payload["system"]) for e in healed] == [("contract:C-1", "psa")]


def test_without_healing_healable_drift_is_reported_and_no_system_is_written() -> None:
    hub = Hub("C-1")
    hub.drop_psa_milestone("C-1", "M1")
    upserts = hub.psa.upserts
    report = hub.reconcile(heal=False)
    assert [line.outcome for line in report.lines] == [DriftOutcome.REPORTED]
    assert hub.psa.upserts == upserts
    assert hub.exceptions() == []
    assert not report.is_clean


def test_drift_that_disappears_resolves_its_exception_item() -> None:
    hub = Hub("C-1")
    hub.edit_erp("C-1", REPRICE)
    hub.reconcile()
    (raised,) = hub.exceptions()
    hub.edit_erp("C-1", MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(20000)))
    report = hub.reconcile()
    assert report.is_clean
    (resolved,) = hub.exceptions()
    assert (resolved.id, resolved.status) == (raised.id, ExceptionStatus.RESOLVED)


def test_an_erp_heal_without_the_legal_entity_is_raised_for_the_integration_admin() -> None:
    hub = Hub("C-1")
    held = hub.erp.held["C-1"]
    hub.erp.held["C-1"] = apply_changes(
        held, [MilestoneReschedule(line_id="L1", milestone_id="M1", due_date=date(2026, 3, 1))]
    )
    moved = hub.reconcile(legal_entities={})
    assert [line.outcome for line in moved.lines] == [DriftOutcome.EXCEPTION]
    # A date moved in the ERP is routed to finance by default; a lost milestone is healed.
    hub.erp.held["C-1"] = held.model_copy(
        update={"lines": (held.lines[0].model_copy(update={"billing": _without_m2(held)}),
                          *held.lines[1:])}
    )  # fmt: skip
    report = hub.reconcile(legal_entities={})
    lost = [line for line in report.lines if line.item.field == "lines.L1.milestones.M2"]
    assert [(line.outcome, line.owner, line.rule_id) for line in lost] == [
        (DriftOutcome.EXCEPTION, OwnerRole.INTEGRATION_ADMIN, "heal.failed")
    ]
    healed = hub.reconcile()
    assert any(line.outcome is DriftOutcome.HEALED for line in healed.lines)


def _without_m2(held: Contract) -> Any:
    billing = held.lines[0].billing
    kept = tuple(m for m in billing.milestones if m.id != "M2")  # type: ignore[union-attr]
    return billing.model_copy(update={"milestones": kept, "amount": usd(10000)})


@pytest.mark.parametrize(
    ("error", "raised"),
    [
        (TransientError("ERP busy", code="remote.throttled"), False),
        (DataError("the project cannot be mapped", code="erp.unmappable"), True),
    ],
    ids=["transient: reported only", "persistent: raised once"],
)
def test_one_unreadable_system_is_a_report_line_and_the_run_goes_on(
    error: Exception, raised: bool
) -> None:
    hub = Hub("C-1", "C-2")
    hub.erp.broken["C-1"] = error  # type: ignore[assignment]
    hub.drop_psa_milestone("C-1", "M1")
    report = hub.reconcile()
    (failure,) = report.all_failures
    assert (failure.contract_id, failure.system, failure.code) == ("C-1", "erp", error.code)  # type: ignore[attr-defined]
    assert [line.outcome for line in report.lines] == [DriftOutcome.HEALED]  # the PSA still was
    assert (failure.exception_id is not None) is raised
    hub.reconcile()
    assert len(hub.exceptions()) == int(raised)


def test_a_contract_the_clm_cannot_read_is_reported_and_orphans_are_not_guessed() -> None:
    hub = Hub("C-1", "C-2")
    ref = next(iter(hub.clm.contracts))
    hub.clm.broken[ref] = DataError("attribute missing", code="clm.attribute_missing")
    report = hub.reconcile()
    assert [f.code for f in report.all_failures] == ["clm.attribute_missing"]
    assert not [line for line in report.lines if line.item.kind is DriftKind.ORPHAN_RECORD]


def test_records_in_the_erp_and_psa_without_a_contract_are_orphans_for_the_admin() -> None:
    hub = Hub("C-1")
    stray = contract("C-9")
    hub.erp.held["C-9"] = stray
    hub.psa.upsert_project(
        Project(id="P-9", contract_id="C-9", customer_id="CUST-1", name="Stray"), stray
    )
    report = hub.reconcile()
    orphans = {(line.item.system, line.item.contract_id, line.owner) for line in report.lines}
    assert orphans == {
        ("erp", "C-9", OwnerRole.INTEGRATION_ADMIN),
        ("psa", "P-9", OwnerRole.INTEGRATION_ADMIN),
    }


def test_a_missing_crm_account_and_a_missing_erp_contract_are_raised_not_healed() -> None:
    hub = Hub("C-1")
    del hub.crm.accounts["CUST-1"]
    del hub.erp.held["C-1"]
    report = hub.reconcile()
    assert {(line.item.kind, line.outcome, line.owner) for line in report.lines} == {
        (DriftKind.MISSING_IN_ERP, DriftOutcome.EXCEPTION, OwnerRole.INTEGRATION_ADMIN),
        (DriftKind.MISSING_IN_CRM, DriftOutcome.EXCEPTION, OwnerRole.INTEGRATION_ADMIN),
    }


def test_only_the_named_contracts_are_reconciled_and_an_unknown_one_is_reported() -> None:
    hub = Hub("C-1", "C-2", "C-3")
    hub.edit_erp("C-1", REPRICE)
    progress: list[tuple[int, int, str]] = []
    report = hub.reconcile(
        contract_ids=["C-2", "C-404"], on_progress=lambda *step: progress.append(step)
    )
    assert [c.contract_id for c in report.contracts] == ["C-2"]
    assert [(f.contract_id, f.code) for f in report.failures] == [
        ("C-404", "reconciliation.contract_not_found")
    ]
    assert progress == [(1, 1, "C-2")]
    assert hub.exceptions() == []


def test_progress_is_told_after_every_contract() -> None:
    hub = Hub("C-1", "C-2", "C-3")
    progress: list[tuple[int, int, str]] = []
    hub.reconcile(on_progress=lambda *step: progress.append(step), page_size=2)
    assert progress == [(1, 3, "C-1"), (2, 3, "C-2"), (3, 3, "C-3")]


def test_the_drift_event_names_every_item_and_the_unhealed_money() -> None:
    hub = Hub("C-1")
    hub.edit_erp("C-1", REPRICE)
    hub.reconcile()
    with hub.uow() as uow:
        (entry,) = [
            e for e in uow.outbox.pending(limit=100) if e.event.type is EventType.DRIFT_FOUND
        ]
    data: dict[str, Callable[..., Any] | Any] = entry.event.data
    assert entry.event.correlation_id == "C-1"
    assert data["unhealed_money_at_risk"] == {"USD": "3500.00"}
    assert [(i["kind"], i["outcome"]) for i in data["items"]] == [
        ("milestone_mismatch", "exception")
    ]


def test_a_terminated_contract_with_its_projects_closed_stays_closed_through_a_heal() -> None:
    hub = Hub("C-1")
    (ref,) = hub.clm.contracts
    sourced = hub.clm.contracts[ref]
    terminated = sourced.contract.model_copy(update={"status": ContractStatus.TERMINATED})
    hub.clm.contracts[ref] = sourced.model_copy(update={"contract": terminated})
    project = Project(id="C-1", contract_id="C-1", customer_id=terminated.customer_id, name="D")
    refs = (hub.erp.close_project(project), hub.psa.close_project(project))
    assert (hub.erp.close_project(project), hub.psa.close_project(project)) == refs
    hub.drop_psa_milestone("C-1", "M1")

    report = hub.reconcile()

    assert [(line.item.role, line.outcome) for line in report.lines] == [
        (SystemRole.PSA, DriftOutcome.HEALED)
    ]
    assert hub.erp.snapshot("C-1").project_closed
    plan = hub.psa.project_plan("C-1")
    assert plan is not None
    assert (plan.closed, plan.milestone("M1") is not None) == (True, True)
    unknown = project.model_copy(update={"id": "C-9", "contract_id": "C-9"})
    for system in (hub.erp, hub.psa):
        with pytest.raises(DataError):
            system.close_project(unknown)


# -- which CLM version is compared: change orders, versions rejected in the hub, terminations --


def version_of(base: Contract, version: int, *changes: Any) -> Contract:
    """``base`` with ``changes`` applied, as CLM version ``version``."""
    return apply_changes(base, changes).model_copy(update={"version": version})


def activate_in_hub(hub: Hub, contract_id: str) -> Contract:
    """What activation stores: the CLM's version 1 active, and its project active."""
    stored = hub.clm.contracts[f"wf-{contract_id}"].contract.model_copy(
        update={"status": ContractStatus.ACTIVE}
    )
    project = Project(
        id=contract_id,
        contract_id=contract_id,
        customer_id=stored.customer_id,
        name="Delivery",
        status=ProjectStatus.ACTIVE,
    )
    with hub.uow() as uow:
        store_record(uow, CONTRACT, contract_id, stored.model_dump(mode="json"), cause="test")
        store_record(uow, PROJECT, contract_id, project.model_dump(mode="json"), cause="test")
        uow.commit()
    return stored


def reject_in_hub(hub: Hub, stored: Contract, amended: Contract, reason: str) -> None:
    """What the amendment flow records when the owner of a routed amendment rejects it."""
    decided = plan_and_decide(
        stored, amended, erp=hub.erp.snapshot(stored.id), policy=load_default_policy()
    )
    assert decided.decision.owner is OwnerRole.FINANCE
    with hub.uow() as uow:
        record_rejected(uow, hub.clock, decided, reason=reason)
        uow.commit()


M3 = BillingMilestone(id="M3", name="Handover", amount=usd(1000), due_date=date(2026, 9, 30))


def test_a_contract_held_by_several_clm_workflows_is_compared_once_at_its_latest_version() -> None:
    hub = Hub("C-1")
    customer = hub.clm.contracts["wf-C-1"].customer
    v1 = hub.clm.contracts["wf-C-1"].contract
    v2 = version_of(v1, 2, MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(21000)))
    v3 = version_of(v2, 3, MilestoneAdd(line_id="L1", milestone=M3))
    in_review = version_of(v3, 4, REPRICE).model_copy(update={"status": ContractStatus.IN_REVIEW})
    # Change orders are workflows of their own: v3 approved first, v2 listed last, and a
    # v4 still in review in the CLM.
    for workflow, version in (("wf-C-1-co-a", v3), ("wf-C-1-co-b", in_review), ("wf-C-1-co-c", v2)):
        hub.clm.add(SourcedContract(contract=version, customer=customer), workflow_id=workflow)
    project = Project(id="C-1", contract_id="C-1", customer_id=v1.customer_id, name="Delivery")
    hub.erp.upsert_project(project, v3)  # the hub applied v2, then v3
    hub.psa.upsert_project(project, v3)

    progress: list[tuple[int, int, str]] = []
    report = hub.reconcile(on_progress=lambda *step: progress.append(step))

    assert report.is_clean, report.lines
    assert [c.contract_id for c in report.contracts] == ["C-1"]
    assert progress == [(1, 1, "C-1")]
    only = hub.reconcile(contract_ids=["C-1"])
    assert (only.is_clean, [c.contract_id for c in only.contracts]) == (True, ["C-1"])


def test_of_several_clm_workflows_the_latest_version_is_compared_even_when_it_drifted() -> None:
    hub = Hub("C-1")
    customer = hub.clm.contracts["wf-C-1"].customer
    v1 = hub.clm.contracts["wf-C-1"].contract
    v2 = version_of(v1, 2, MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(21000)))
    hub.clm.add(SourcedContract(contract=v2, customer=customer), workflow_id="wf-C-1-co")

    report = hub.reconcile()  # the ERP still holds v1: the amendment flow has work to do

    assert {(line.item.contract_id, line.item.field) for line in report.lines} == {
        ("C-1", "lines.L1.milestones.M2.amount")
    }
    (line,) = report.lines
    assert "holds version 1 and the CLM version 2" in (line.item.unhealable_reason or "")


def test_a_clm_version_finance_rejected_in_the_hub_is_a_note_not_drift() -> None:
    hub = Hub("C-1", "C-2")
    stored = activate_in_hub(hub, "C-1")
    customer = hub.clm.contracts["wf-C-1"].customer
    v2 = version_of(
        stored.model_copy(update={"status": ContractStatus.APPROVED}),
        2,
        MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(45000)),
    )
    hub.clm.add(SourcedContract(contract=v2, customer=customer))  # amended in its own workflow
    waiting = hub.reconcile()  # finance has not decided yet: the ERP is behind the CLM
    assert [(line.item.contract_id, line.outcome) for line in waiting.lines] == [
        ("C-1", DriftOutcome.EXCEPTION)
    ]

    reject_in_hub(hub, stored, v2, "the customer never agreed to this price")
    report = hub.reconcile()

    assert report.is_clean, report.lines
    assert report.notes == [
        "C-1: CLM v2 was rejected by finance on 2026-01-05 (the customer never agreed to "
        "this price); compared against the hub's v1"
    ]
    assert [c.notes for c in report.contracts] == [tuple(report.notes), ()]
    assert [item.status for item in hub.exceptions()] == [ExceptionStatus.RESOLVED]
    assert hub.reconcile().notes == report.notes  # every run says so; none raises anything
    assert len(hub.exceptions()) == 1


def test_a_later_clm_version_than_the_rejected_one_is_compared_normally() -> None:
    hub = Hub("C-1")
    stored = activate_in_hub(hub, "C-1")
    customer = hub.clm.contracts["wf-C-1"].customer
    approved = stored.model_copy(update={"status": ContractStatus.APPROVED})
    v2 = version_of(
        approved, 2, MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(45000))
    )
    v3 = version_of(approved, 3, MilestoneAdd(line_id="L1", milestone=M3))
    hub.clm.add(SourcedContract(contract=v2, customer=customer), workflow_id="wf-C-1-co-a")
    reject_in_hub(hub, stored, v2, "too expensive")
    hub.clm.add(SourcedContract(contract=v3, customer=customer), workflow_id="wf-C-1-co-b")

    report = hub.reconcile()  # v3 waits for v2 in the hub (ADR 0006): the ERP is behind v3

    assert {(line.item.role, line.item.field) for line in report.lines} == {
        (SystemRole.ERP, "lines.L1.milestones.M3"),
        (SystemRole.PSA, "lines.L1.milestones.M3"),
    }
    assert report.notes == []  # v2 is below the version compared: nothing to explain

    # The admin let v3 go on top of v1 (the ordering item): the hub, ERP and PSA hold v3.
    project = Project(id="C-1", contract_id="C-1", customer_id=v3.customer_id, name="Delivery")
    hub.erp.upsert_project(project, v3)
    hub.psa.upsert_project(project, v3)
    with hub.uow() as uow:
        active = v3.model_copy(update={"status": ContractStatus.ACTIVE})
        store_record(uow, CONTRACT, "C-1", active.model_dump(mode="json"), cause="test")
        uow.commit()
    assert hub.reconcile().is_clean


def test_a_rejected_change_order_falls_back_to_the_clm_version_below_it() -> None:
    hub = Hub("C-1")
    stored = activate_in_hub(hub, "C-1")
    customer = hub.clm.contracts["wf-C-1"].customer
    approved = stored.model_copy(update={"status": ContractStatus.APPROVED})
    v2 = version_of(
        approved, 2, MilestoneReprice(line_id="L1", milestone_id="M2", amount=usd(45000))
    )
    hub.clm.add(SourcedContract(contract=v2, customer=customer), workflow_id="wf-C-1-co")
    reject_in_hub(hub, stored, v2, "too expensive")

    report = hub.reconcile()

    assert report.is_clean, report.lines
    assert report.notes == [
        "C-1: CLM v2 was rejected by finance on 2026-01-05 (too expensive); compared against v1"
    ]


def test_a_terminated_contract_the_clm_no_longer_lists_leaves_no_orphans() -> None:
    hub = Hub("C-1", "C-2")
    activate_in_hub(hub, "C-2")
    with hub.uow() as uow:
        termination = plan_termination(uow, "C-2")
        assert termination is not None
        record_termination(uow, hub.clock, termination, reason="deal off", cause="test")
        uow.commit()
    assert termination.project is not None
    hub.erp.close_project(termination.project)
    hub.psa.close_project(termination.project)
    del hub.clm.contracts["wf-C-2"]  # a cancelled workflow is not listed by default
    stray = contract("C-9")
    hub.erp.held["C-9"] = stray  # the ERP holds a contract neither the CLM nor the hub knows

    report = hub.reconcile()

    assert [(line.item.kind, line.item.contract_id) for line in report.lines] == [
        (DriftKind.ORPHAN_RECORD, "C-9")
    ]
