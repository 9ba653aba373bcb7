"""The contract flows' decisions, on the in-memory unit of work (no engine, no systems)."""

from __future__ import annotations

from datetime import date

import pytest

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.finding import Finding
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import MilestoneStatus
from contractsync.domain.project import Project, ProjectStatus
from contractsync.domain.roles import OwnerRole
from contractsync.errors import DataError, DomainError, IllegalTransitionError
from contractsync.ports.systems import SourcedContract, WonOpportunity
from contractsync.services import exception_queue as queue
from contractsync.services.activation import blocking_findings, plan_activation
from contractsync.services.amendment_flow import carry_milestone_status
from contractsync.services.contract_flow import (
    VersionRoute,
    as_signed,
    route_version,
    stage_opportunity,
    store_record,
)
from contractsync.services.flow_decisions import raise_findings, read_items
from contractsync.services.lifecycle_flow import renewed_version
from contractsync.services.milestone_billing import (
    BillingAction,
    mark_ready,
    plan_invoice,
    with_milestone_status,
)
from contractsync.testing.fakes import FixedClock, InMemoryStore, InMemoryUnitOfWork
from tests.integration.flow_samples import REFERENCE, contract, customer

S = ContractStatus


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def _uow(store: InMemoryStore) -> InMemoryUnitOfWork:
    return InMemoryUnitOfWork(store, FixedClock())


def _at(status: ContractStatus, version: int = 1) -> Contract:
    return contract("T1", version=version).model_copy(update={"status": status})


@pytest.mark.parametrize(
    ("fetched", "stored", "route"),
    [
        (_at(S.IN_REVIEW), None, VersionRoute.NOT_APPROVED),
        (_at(S.APPROVED), None, VersionRoute.ACTIVATE),
        (_at(S.APPROVED, 2), None, VersionRoute.AMEND),
        (_at(S.APPROVED, 2), _at(S.ACTIVE), VersionRoute.AMEND),
        (_at(S.APPROVED, 3), _at(S.ACTIVE), VersionRoute.AMEND),
        (_at(S.APPROVED), _at(S.ACTIVE), VersionRoute.DUPLICATE),
        (_at(S.APPROVED, 2), _at(S.TERMINATED), VersionRoute.DUPLICATE),
        (_at(S.TERMINATED), _at(S.ACTIVE), VersionRoute.TERMINATE),
        (_at(S.TERMINATED), None, VersionRoute.DUPLICATE),
    ],
)
def test_a_fetched_version_is_routed_by_the_version_the_hub_stored(
    fetched: Contract, stored: Contract | None, route: VersionRoute
) -> None:
    assert route_version(fetched, stored) is route


def test_a_completed_signature_approves_a_contract_in_review_but_never_a_terminated_one() -> None:
    signed = as_signed(
        SourcedContract(contract=_at(S.IN_REVIEW), customer=customer("T1")), signed_at=None
    )
    ended = SourcedContract(contract=_at(S.TERMINATED), customer=customer("T1"))
    assert signed.contract.status is S.APPROVED
    assert as_signed(ended, signed_at=None) == ended


def test_activation_before_approval_is_refused_and_uses_the_staged_project_once_approved(
    store: InMemoryStore,
) -> None:
    staged = Project(id="K-T1", contract_id="K-T1", customer_id="CUST-T1", name="staged")
    with _uow(store) as uow:
        store_record(uow, "project", staged.id, staged.model_dump(mode="json"), cause="test")
        uow.commit()
    with _uow(store) as uow, pytest.raises(IllegalTransitionError) as refused:
        plan_activation(
            uow, SourcedContract(contract=_at(S.IN_REVIEW), customer=customer("T1")), REFERENCE
        )
    with _uow(store) as uow:
        planned = plan_activation(
            uow, SourcedContract(contract=_at(S.APPROVED), customer=customer("T1")), REFERENCE
        )
    assert refused.value.code == "project.activation_before_approval"
    assert (planned.project.id, planned.project.status) == ("K-T1", ProjectStatus.ACTIVE)
    assert planned.project.name == "SOW T1"
    assert planned.billing.total == planned.revenue.total


def test_a_late_duplicate_of_a_won_opportunity_never_moves_an_active_project_back(
    store: InMemoryStore,
) -> None:
    won = WonOpportunity(
        ref=ExternalRef(system="salesforce", kind="Opportunity", id="006A"),
        customer=customer("T1"),
        contract_id="K-T1",
        closed_on=date(2026, 1, 5),
    )
    active = Project(
        id="K-T1", contract_id="K-T1", customer_id="CUST-T1", name="x", status=ProjectStatus.ACTIVE
    )
    with _uow(store) as uow:
        store_record(uow, "project", active.id, active.model_dump(mode="json"), cause="test")
        deal = stage_opportunity(uow, FixedClock(), won, account=None, cause="again")
    assert deal.project_status is ProjectStatus.ACTIVE


def test_dismissed_findings_are_waived_and_a_reject_decision_rejects(store: InMemoryStore) -> None:
    sourced = SourcedContract(
        contract=contract("T1", tax_treatment=None).model_copy(update={"status": S.APPROVED}),
        customer=customer("T1"),
    )
    findings = blocking_findings(sourced, REFERENCE)
    assert [f.code for f in findings] == ["tax.treatment_invalid"]
    assert blocking_findings(sourced, REFERENCE, waived=["tax.treatment_invalid"]) == []
    clock = FixedClock()
    with _uow(store) as uow:
        ids = raise_findings(
            uow,
            clock,
            contract=sourced.contract,
            findings=[*findings, _note()],
            workflow_id="w",
            topic="t",
        )
        uow.commit()
    assert read_items(_uow(store), ids).is_pending
    with _uow(store) as uow:
        queue.dismiss(uow, clock, ids[0], actor="fin", reason="reverse charge agreed")
        queue.resolve(
            uow, clock, ids[1], actor="fin", note="ok", corrected_data={"decision": "reject"}
        )
        uow.commit()
    state = read_items(_uow(store), ids)
    assert (state.is_pending, state.is_approved) == (False, False)
    assert state.rejected_codes == ("tax.treatment_invalid", "legal.note_only")


def _note() -> Finding:
    return Finding(code="legal.note_only", owner=OwnerRole.LEGAL, message="m", remediation="r")


def test_a_completed_milestone_is_billable_only_on_an_active_contract(store: InMemoryStore) -> None:
    accepted = contract("T1", acceptance=True).model_copy(update={"status": S.ACTIVE})
    with _uow(store) as uow:
        store_record(uow, "contract", "K-T1", accepted.model_dump(mode="json"), cause="test")
        first = mark_ready(uow, FixedClock(), contract_id="K-T1", milestone_id="M1", cause="c")
        second = mark_ready(uow, FixedClock(), contract_id="K-T1", milestone_id="M2", cause="c")
        ended = first.contract.model_copy(update={"status": S.TERMINATED})
        store_record(uow, "contract", "K-T1", ended.model_dump(mode="json"), cause="test")
        late = mark_ready(uow, FixedClock(), contract_id="K-T1", milestone_id="M2", cause="c")
        with pytest.raises(DataError):
            mark_ready(uow, FixedClock(), contract_id="K-T1", milestone_id="M9", cause="c")
    assert (first.action, second.action) == (BillingAction.AWAIT_ACCEPTANCE, BillingAction.INVOICE)
    assert late.action is BillingAction.NOT_BILLABLE
    invoice = plan_invoice(first.contract, first.milestone, REFERENCE, issued_on=date(2026, 3, 1))
    assert (invoice.invoice_key, invoice.due_on) == ("M1", date(2026, 4, 15))


def test_an_amended_version_keeps_the_delivery_progress_the_hub_tracks() -> None:
    stored = with_milestone_status(_at(S.ACTIVE), "M1", MilestoneStatus.READY)
    amended = carry_milestone_status(
        stored, contract("T1", version=2, amounts=("5000", "9000", "1"))
    )
    assert [m.status for _, m in amended.milestones()] == [
        MilestoneStatus.READY,
        MilestoneStatus.PLANNED,
        MilestoneStatus.PLANNED,
    ]


def test_a_renewal_must_end_later_and_is_the_next_approved_version() -> None:
    renewed = renewed_version(_at(S.ACTIVE), new_end=date(2027, 6, 30))
    assert (renewed.version, renewed.status, renewed.term.end) == (2, S.APPROVED, date(2027, 6, 30))
    with pytest.raises(DomainError):
        renewed_version(_at(S.ACTIVE), new_end=date(2026, 6, 30))
