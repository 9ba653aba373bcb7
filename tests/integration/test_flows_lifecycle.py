"""Renewal and termination, from the CLM and from an operator, through real Tryton and the PSA."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from contractsync.workflows.flow_context import AMEND_CONTRACT
from contractsync.workflows.lifecycle import TERMINATE_CONTRACT, start_renewal, start_termination
from tests.integration.flow_harness import FlowHub, flow_hub
from tests.integration.flow_samples import contract, customer, new_tag


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlowHub]:
    with flow_hub(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path, monkeypatch) as built:
        yield built


def assert_closed_in_the_erp_and_the_psa(hub: FlowHub, contract_id: str) -> None:
    """Tryton's project is in the Closed status, Kantata's workspace archived, once each."""
    assert [p["status"] for p in hub.tryton_projects(contract_id)] == ["Closed"]
    assert [w["archived"] for w in hub.workspaces(contract_id)] == [True]
    assert hub.systems.erp.snapshot(contract_id).project_closed
    assert hub.systems.psa is not None
    plan = hub.systems.psa.project_plan(contract_id)
    assert plan is not None
    assert plan.closed


def test_a_renewal_in_the_clm_extends_the_term_through_the_amendment_path(hub: FlowHub) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    workflow = hub.activate(sow, buyer)

    hub.amend(workflow, contract(tag, version=2, end=date(2027, 6, 30)), buyer)
    hub.deliver()
    outcome = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)

    assert outcome["outcome"] == "applied"
    stored = hub.record("contract", sow.id)
    assert stored is not None
    assert (stored["version"], stored["term"]["end"]) == (2, "2027-06-30")
    assert hub.events(sow.id).count("contract.renewed") == 1
    snapshot = hub.systems.erp.snapshot(sow.id)
    assert snapshot.contract.term.end == date(2027, 6, 30)


def test_an_operator_renewal_is_the_next_version_applied_once(hub: FlowHub) -> None:
    tag = new_tag()
    sow = contract(tag)
    hub.activate(sow, customer(tag))

    run = start_renewal(hub.engine, sow.id, new_end=date(2027, 3, 31))
    again = start_renewal(hub.engine, sow.id, new_end=date(2027, 3, 31))
    outcome = hub.result(run.workflow_id, timeout=300)

    assert again.workflow_id == run.workflow_id == hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2")
    assert outcome["outcome"] == "applied"
    assert hub.record("contract", sow.id)["term"]["end"] == "2027-03-31"  # type: ignore[index]
    assert hub.events(sow.id).count("contract.renewed") == 1
    assert hub.systems.erp.snapshot(sow.id).contract.term.end == date(2027, 3, 31)


def test_an_operator_termination_ends_the_contract_closes_its_project_and_stops_billing(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    sow = contract(tag)
    hub.activate(sow, customer(tag))

    run = start_termination(hub.engine, sow.id, reason="customer insolvency")
    outcome = hub.result(run.workflow_id)
    billing = hub.complete_milestone(sow.id, "M1")
    billed = hub.result(billing)

    assert outcome["outcome"] == "terminated"
    assert hub.record("contract", sow.id)["status"] == "terminated"  # type: ignore[index]
    assert hub.record("project", sow.id)["status"] == "closed"  # type: ignore[index]
    assert hub.events(sow.id).count("contract.terminated") == 1
    assert_closed_in_the_erp_and_the_psa(hub, sow.id)
    assert billed["outcome"] == "not billable"
    assert hub.tryton_invoices(sow.id) == []
    assert hub.result(start_termination(hub.engine, sow.id, reason="again").workflow_id) == outcome


def test_a_contract_cancelled_in_the_clm_is_terminated_once(hub: FlowHub) -> None:
    tag = new_tag()
    sow = contract(tag)
    workflow = hub.activate(sow, customer(tag))

    with hub.ironclad.company.lock:
        cancelled = hub.ironclad.company.workflow(workflow)
        cancelled.status = "cancelled"
    hub.ironclad.emit("workflow_cancelled", cancelled)
    hub.ironclad.emit("workflow_cancelled", cancelled)  # a second delivery of the news
    hub.deliver()
    outcome = hub.result(hub.run_id(TERMINATE_CONTRACT, sow.id))

    assert outcome["outcome"] == "terminated"
    assert hub.record("contract", sow.id)["status"] == "terminated"  # type: ignore[index]
    assert hub.events(sow.id).count("contract.terminated") == 1
    assert_closed_in_the_erp_and_the_psa(hub, sow.id)
