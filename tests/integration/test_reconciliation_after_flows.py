"""Reconciliation after the contract flows ran for real: it reports drift, and only drift.

The flows run as in ``test_flows_*`` (the Ironclad, Salesforce and Kantata simulators, real
Tryton, the engine in process); reconciliation then reads the same systems. Change orders,
an amendment finance rejected and terminated contracts are outcomes the hub decided, so
none of them is drift (ADR 0009).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contractsync.adapters.ironclad import IroncladContractSource
from contractsync.domain.drift import ReconciliationReport
from contractsync.policies import load_default_reconciliation_policy
from contractsync.ports.systems import ContractSource
from contractsync.services.reconciliation_run import ABSENT_CODES, reconcile
from contractsync.workflows.flow_context import AMEND_CONTRACT
from contractsync.workflows.lifecycle import TERMINATE_CONTRACT, start_termination
from tests.adapters.ironclad.harness import settings as ironclad_settings
from tests.integration.flow_harness import FlowHub, flow_hub
from tests.integration.flow_samples import ENTITY, contract, customer, new_tag


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlowHub]:
    with flow_hub(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path, monkeypatch) as built:
        yield built


def reconciled(hub: FlowHub, clm: ContractSource | None = None) -> ReconciliationReport:
    """Every contract the CLM lists (this test's only: the simulator is the test's own)."""
    systems = hub.systems
    return reconcile(
        contracts=clm or systems.clm,
        erp=systems.erp,
        psa=systems.psa,
        crm=systems.crm,
        uow_factory=hub.uow,
        clock=hub.clock,
        policy=load_default_reconciliation_policy(),
        legal_entities={ENTITY.code: ENTITY},
        absent_codes={*ABSENT_CODES, "tryton.unknown_project"},
    )


def test_a_contract_amended_by_two_change_orders_approved_out_of_order_has_no_drift(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    sow = contract(tag, amounts=("6000", "18000"))  # each change order is within policy
    hub.activate(sow, customer(tag))
    third = hub.launch(contract(tag, version=3, amounts=("6000", "19000", "1000")), customer(tag))
    hub.approve(third)
    hub.deliver()
    waiting = hub.run_id(AMEND_CONTRACT, f"{sow.id}:v3")
    hub.wait_until(lambda: hub.engine.steps(waiting), what="version 3 waiting for version 2")
    second = hub.launch(contract(tag, version=2, amounts=("6000", "19000")), customer(tag))
    hub.approve(second)
    hub.deliver()
    assert hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)["outcome"] == (
        "applied"
    )
    assert hub.result(waiting, timeout=300)["outcome"] == "applied"

    report = reconciled(hub)  # the CLM lists three workflows of the contract, v2 last

    assert report.is_clean, report.lines
    assert [c.contract_id for c in report.contracts] == [sow.id]
    assert report.notes == []


def test_an_amendment_finance_rejected_is_a_note_and_no_drift(hub: FlowHub) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    workflow = hub.activate(sow, buyer)
    hub.amend(workflow, contract(tag, version=2, amounts=("5000", "27000")), buyer)
    hub.deliver()
    (item,) = hub.wait_for_items(sow.id)
    hub.dismiss(item, "the customer never agreed to this price")
    outcome = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)
    assert outcome["outcome"] == "rejected"

    report = reconciled(hub)  # Ironclad holds v2 approved; the hub, Tryton, Kantata v1

    assert report.is_clean, report.lines
    today = hub.clock.now().date().isoformat()
    assert report.notes == [
        f"{sow.id}: CLM v2 was rejected by finance on {today} (the customer never agreed to "
        "this price); compared against the hub's v1"
    ]
    assert reconciled(hub).notes == report.notes
    assert hub.open_items(sow.id) == []


def test_a_contract_cancelled_in_the_clm_has_no_drift_whether_listed_or_not(hub: FlowHub) -> None:
    tag = new_tag()
    sow = contract(tag)
    workflow = hub.activate(sow, customer(tag))
    with hub.ironclad.company.lock:
        cancelled = hub.ironclad.company.workflow(workflow)
        cancelled.status = "cancelled"
    hub.ironclad.emit("workflow_cancelled", cancelled)
    hub.deliver()
    assert hub.result(hub.run_id(TERMINATE_CONTRACT, sow.id))["outcome"] == "terminated"

    unlisted = reconciled(hub)  # cancelled workflows are not listed by default
    listing_cancelled = IroncladContractSource.connect(
        ironclad_settings(list_statuses=("active", "completed", "cancelled")),
        transport=hub.ironclad.transport(),
    )
    listed = reconciled(hub, listing_cancelled)

    assert (unlisted.is_clean, [c.contract_id for c in unlisted.contracts]) == (True, [])
    assert listed.is_clean, listed.lines
    assert [c.contract_id for c in listed.contracts] == [sow.id]


def test_a_contract_an_operator_terminated_has_no_drift(hub: FlowHub) -> None:
    tag = new_tag()
    sow = contract(tag)
    hub.activate(sow, customer(tag))
    run = start_termination(hub.engine, sow.id, reason="customer insolvency")
    assert hub.result(run.workflow_id)["outcome"] == "terminated"

    report = reconciled(hub)  # Ironclad still holds it approved; Tryton and Kantata closed

    assert report.is_clean, report.lines
    assert [c.contract_id for c in report.contracts] == [sow.id]
