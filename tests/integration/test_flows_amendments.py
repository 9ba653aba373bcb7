"""Amendments planned against the live ERP (real Tryton), decided by the policy, applied once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from contractsync.workflows.flow_context import AMEND_CONTRACT
from tests.integration.flow_harness import FlowHub, flow_hub
from tests.integration.flow_samples import contract, customer, new_tag


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlowHub]:
    with flow_hub(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path, monkeypatch) as built:
        yield built


def _prices(hub: FlowHub, contract_id: str) -> list[Decimal]:
    (project,) = hub.tryton_projects(contract_id)
    return sorted(Decimal(str(t["list_price"])) for t in hub.tryton_tasks(project["id"]))


def _amendment_events(hub: FlowHub, contract_id: str) -> Counter[str]:
    return Counter(kind for kind in hub.events(contract_id) if kind.startswith("amendment."))


def test_an_amendment_within_policy_is_applied_automatically_once(hub: FlowHub) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    workflow = hub.activate(sow, buyer)

    hub.amend(workflow, contract(tag, version=2, amounts=("5000", "16000")), buyer)
    hub.deliver()
    outcome = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)

    assert outcome["outcome"] == "applied"
    assert outcome["routed"] is False
    assert _prices(hub, sow.id) == [Decimal(5000), Decimal(16000)]
    stored = hub.record("contract", sow.id)
    assert stored is not None
    assert (stored["version"], stored["status"]) == (2, "active")
    assert _amendment_events(hub, sow.id) == Counter(
        {"amendment.planned": 1, "amendment.applied": 1}
    )
    assert hub.open_items(sow.id) == []


def test_a_routed_amendment_waits_for_finance_and_is_applied_once_when_approved(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    workflow = hub.activate(sow, buyer)

    hub.amend(workflow, contract(tag, version=2, amounts=("5000", "25000")), buyer)
    hub.deliver()
    (item,) = hub.wait_for_items(sow.id)
    assert (item.code, item.owner.value) == ("amendment.routed", "finance")
    assert item.money_at_risk is not None
    assert item.money_at_risk.amount == Decimal(10000)
    assert item.evidence["plan"]["impact"]["delta"]["amount"] == "10000.00"
    assert item.evidence["decision"]["rule_id"] == "value-change-outside-limits"
    assert _prices(hub, sow.id) == [Decimal(5000), Decimal(15000)]  # nothing applied yet
    hub.resolve(item, "approved by the CFO")
    hub.resolve_again_is_refused(item)
    outcome = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)

    assert outcome["outcome"] == "applied"
    assert outcome["routed"] is True
    assert _prices(hub, sow.id) == [Decimal(5000), Decimal(25000)]
    assert hub.record("contract", sow.id)["version"] == 2  # type: ignore[index]
    assert _amendment_events(hub, sow.id) == Counter(
        {"amendment.planned": 1, "amendment.routed": 1, "amendment.applied": 1}
    )


def test_a_routed_amendment_rejected_by_finance_is_recorded_and_never_applied(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    workflow = hub.activate(sow, buyer)

    hub.amend(workflow, contract(tag, version=2, amounts=("5000", "25000")), buyer)
    hub.deliver()
    (item,) = hub.wait_for_items(sow.id)
    hub.dismiss(item, "the customer never agreed to this price")
    outcome = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)

    assert outcome["outcome"] == "rejected"
    assert _prices(hub, sow.id) == [Decimal(5000), Decimal(15000)]
    assert hub.record("contract", sow.id)["version"] == 1  # type: ignore[index]
    assert _amendment_events(hub, sow.id) == Counter(
        {"amendment.planned": 1, "amendment.routed": 1, "amendment.rejected": 1}
    )
