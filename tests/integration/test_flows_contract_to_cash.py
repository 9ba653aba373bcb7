"""Opportunity won and contract approved, through the real engine, simulators and real Tryton."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from contractsync.domain.contract import ContractStatus
from contractsync.errors import IllegalTransitionError
from contractsync.ports.systems import SourcedContract
from contractsync.simulators import FaultPlan
from contractsync.workflows.contract_to_cash import ACTIVATE_CONTRACT, activate_contract
from tests.integration.flow_harness import FlowHub, flow_hub
from tests.integration.flow_samples import contract, customer, new_tag


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlowHub]:
    duplicated = FaultPlan(seed=5, duplicate_webhook_rate=1.0, reorder_webhooks=True)
    with flow_hub(
        f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path, monkeypatch, faults=duplicated
    ) as built:
        yield built


def test_a_won_deal_then_an_approved_contract_end_active_once_in_the_crm_erp_and_psa(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    hub.won(buyer, sow.id)
    assert hub.deliver() == 2  # one closed-won event, delivered twice
    staged = hub.wait_until(lambda: hub.record("project", sow.id), what="the staged project")
    assert staged["status"] == "staged"
    assert hub.tryton_parties(buyer.id) == []
    assert hub.workspaces(sow.id) == []

    workflow = hub.launch(sow, buyer)
    hub.approve(workflow)
    hub.deliver()
    outcome = hub.result(hub.run_id(ACTIVATE_CONTRACT, sow.id), timeout=300)

    assert outcome["outcome"] == "activated"
    stored = hub.record("contract", sow.id)
    assert stored is not None
    assert (stored["status"], stored["version"]) == ("active", 1)
    project = hub.record("project", sow.id)
    assert project is not None
    assert project["status"] == "active"
    assert project["name"] == sow.title
    events = Counter(hub.events(sow.id))
    assert events == Counter(
        {"contract.approved": 1, "contract.activated": 1, "project.activated": 1}
    )
    assert [p["code"] for p in hub.tryton_parties(buyer.id)] == [buyer.id]
    (erp_project,) = hub.tryton_projects(sow.id)
    prices = sorted(Decimal(str(t["list_price"])) for t in hub.tryton_tasks(erp_project["id"]))
    assert prices == [Decimal(5000), Decimal(15000)]
    assert len(hub.workspaces(sow.id)) == 1
    assert sorted(hub.stories(sow.id)) == ["M1", "M2"]
    accounts = hub.salesforce.dump_state()["records"]["Account"]
    assert [a["Name"] for a in accounts if a.get("Canonical_Id__c") == buyer.id] == [
        buyer.legal_name
    ]
    with hub.uow() as uow:
        refs = {str(r) for r in uow.refs.refs_of("contract", sow.id)}
    assert f"ironclad:workflow:{workflow}" in refs


def test_a_project_is_never_activated_before_its_contract_is_approved(hub: FlowHub) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    hub.won(buyer, sow.id)
    workflow = hub.launch(sow, buyer)  # launched, not approved: the hub only learns the ref
    hub.deliver()
    hub.wait_until(lambda: hub.record("project", sow.id), what="the staged project")
    hub.wait_until(lambda: _seen(hub, sow.id), what="the CLM ref of the contract")

    draft = SourcedContract(
        contract=sow.model_copy(update={"status": ContractStatus.IN_REVIEW}), customer=buyer
    )
    run = hub.engine.start(activate_contract, f"{sow.id}-forced", draft, None)
    with pytest.raises(IllegalTransitionError) as refused:
        hub.result(run.workflow_id)

    assert refused.value.code == "project.activation_before_approval"
    assert hub.record("project", sow.id)["status"] == "staged"  # type: ignore[index]
    assert hub.record("contract", sow.id) is None
    assert hub.tryton_parties(buyer.id) == []
    assert hub.tryton_projects(sow.id) == []
    assert hub.workspaces(sow.id) == []
    runs = {r.workflow_id for r in hub.engine.list_workflows(prefix=ACTIVATE_CONTRACT)}
    assert runs == {run.workflow_id}, "no activation started from the CLM's unapproved contract"
    assert workflow


def test_a_contract_failing_validation_waits_for_its_owner_and_resumes_once_fixed(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag, tax_treatment=None)
    workflow = hub.launch(sow, buyer)
    hub.approve(workflow)
    hub.deliver()
    run = hub.run_id(ACTIVATE_CONTRACT, sow.id)

    (item,) = hub.wait_for_items(sow.id)
    assert (item.code, item.owner.value) == ("tax.treatment_invalid", "finance")
    assert item.evidence["flow_workflow_id"] == run
    assert hub.engine.run(run).status().value == "PENDING"
    assert hub.tryton_parties(buyer.id) == []
    assert hub.record("contract", sow.id) is None
    # Finance fixes the contract in the CLM, then resolves the item: the run re-fetches.
    edit = {"workflow_id": workflow, "attributes": {"taxTreatment": "domestic_vat"}}
    hub.sim(hub.ironclad, "edit_workflow", edit)
    hub.deliver()
    hub.resolve(item, "tax treatment set to domestic VAT in Ironclad")
    outcome = hub.result(run, timeout=300)

    assert outcome["outcome"] == "activated"
    stored = hub.record("contract", sow.id)
    assert stored is not None
    assert stored["tax_treatment"] == "domestic_vat"
    assert [p["code"] for p in hub.tryton_parties(buyer.id)] == [buyer.id]
    assert hub.open_items(sow.id) == []
    assert hub.events(sow.id).count("contract.activated") == 1


def test_a_contract_the_clm_holds_is_activated_once_its_docusign_envelope_is_completed(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    hub.launch(sow, buyer)  # in review in the CLM; its launch teaches the hub the workflow
    hub.deliver()
    hub.wait_until(lambda: _seen(hub, sow.id), what="the CLM ref of the contract")
    envelope = hub.sim(hub.docusign, "create_envelope", {"contract_id": sow.id})["envelope_id"]
    hub.sim(hub.docusign, "complete_envelope", {"envelope_id": envelope})
    hub.sim(hub.docusign, "republish_envelope", {"envelope_id": envelope})
    hub.deliver()
    outcome = hub.result(hub.run_id(ACTIVATE_CONTRACT, sow.id), timeout=300)

    assert outcome["outcome"] == "activated"
    stored = hub.record("contract", sow.id)
    assert stored is not None
    assert stored["status"] == "active"
    assert [p["code"] for p in hub.tryton_parties(buyer.id)] == [buyer.id]
    assert len(hub.workspaces(sow.id)) == 1
    assert hub.events(sow.id).count("contract.activated") == 1
    # No deal was won in the CRM for this customer: the activation made its account.
    accounts = hub.salesforce.dump_state()["records"]["Account"]
    assert [a["Name"] for a in accounts if a.get("Canonical_Id__c") == buyer.id] == [
        buyer.legal_name
    ]
    with hub.uow() as uow:
        refs = {str(r) for r in uow.refs.refs_of("customer", buyer.id)}
    assert any(ref.startswith("salesforce:Account:") for ref in refs)


def _seen(hub: FlowHub, contract_id: str) -> bool:
    with hub.uow() as uow:
        return bool(uow.refs.refs_of("contract", contract_id))
