"""Per-contract ordering (ADR 0006): a version waits for its predecessor; nothing out of order.

Change orders are their own CLM workflows here, each holding the contract at its version, so
the CLM can approve version 3 before version 2, or version 2 before the contract itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from contractsync.workflows.contract_to_cash import ACTIVATE_CONTRACT
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


def _applied_plans(hub: FlowHub, contract_id: str) -> list[str]:
    return [
        event_id.removeprefix("amendment.applied:")
        for event_id in hub.event_ids(contract_id)
        if event_id.startswith("amendment.applied:")
    ]


def _approve_version(hub: FlowHub, tag: str, version: int, amounts: tuple[str, ...]) -> None:
    change_order = hub.launch(contract(tag, version=version, amounts=amounts), customer(tag))
    hub.approve(change_order)
    hub.deliver()


def test_amendment_3_arriving_before_amendment_2_waits_and_both_apply_in_order(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    sow = contract(tag)
    hub.activate(sow, customer(tag))

    _approve_version(hub, tag, 3, ("5000", "16000", "1000"))
    third = hub.run_id(AMEND_CONTRACT, f"{sow.id}:v3")
    hub.wait_until(lambda: hub._exists(third), what="the run of version 3")
    hub.wait_until(lambda: hub.engine.steps(third), what="version 3 waiting")
    assert hub.engine.run(third).status().value == "PENDING"
    assert hub.record("contract", sow.id)["version"] == 1  # type: ignore[index]
    assert _prices(hub, sow.id) == [Decimal(5000), Decimal(15000)]

    _approve_version(hub, tag, 2, ("5000", "16000"))
    second = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)
    third_outcome = hub.result(third, timeout=300)

    assert (second["outcome"], third_outcome["outcome"]) == ("applied", "applied")
    assert _applied_plans(hub, sow.id) == [f"{sow.id}:v1-v2", f"{sow.id}:v2-v3"]
    assert hub.record("contract", sow.id)["version"] == 3  # type: ignore[index]
    assert _prices(hub, sow.id) == [Decimal(1000), Decimal(5000), Decimal(16000)]


def test_an_amendment_arriving_before_its_contract_waits_and_applies_after_activation(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    sow = contract(tag)

    _approve_version(hub, tag, 2, ("5000", "18000"))
    second = hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2")
    hub.wait_until(lambda: hub._exists(second), what="the run of version 2")
    assert hub.record("contract", sow.id) is None
    assert hub.tryton_projects(sow.id) == []

    hub.activate(sow, customer(tag))
    outcome = hub.result(second, timeout=300)

    assert outcome["outcome"] == "applied"
    kinds = hub.events(sow.id)
    assert kinds.index("contract.activated") < kinds.index("amendment.applied")
    assert _applied_plans(hub, sow.id) == [f"{sow.id}:v1-v2"]
    assert hub.record("contract", sow.id)["version"] == 2  # type: ignore[index]
    assert _prices(hub, sow.id) == [Decimal(5000), Decimal(18000)]
    assert hub.result(hub.run_id(ACTIVATE_CONTRACT, sow.id))["version"] == 1


def test_a_version_whose_predecessor_never_comes_asks_the_admin_then_applies_on_top(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    with flow_hub(database, tmp_path, monkeypatch, ordering_wait_seconds=1.0) as hub:
        tag = new_tag()
        buyer, sow = customer(tag), contract(tag)
        workflow = hub.activate(sow, buyer)
        # Two amendments in the CLM before the hub hears of either: every fetch shows v3.
        hub.amend(workflow, contract(tag, version=2, amounts=("5000", "16000")), buyer)
        hub.amend(workflow, contract(tag, version=3, amounts=("5000", "17000")), buyer)
        hub.deliver()

        (item,) = hub.wait_for_items(sow.id)
        assert (item.code, item.owner.value) == (
            "amendment.predecessor_missing",
            "integration_admin",
        )
        assert hub.record("contract", sow.id)["version"] == 1  # type: ignore[index]
        hub.resolve(item, "version 2 was superseded in the CLM; apply version 3")
        outcome = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v3"), timeout=300)

        assert outcome["outcome"] == "applied"
        assert _applied_plans(hub, sow.id) == [f"{sow.id}:v1-v3"]
        assert _prices(hub, sow.id) == [Decimal(5000), Decimal(17000)]
        assert not hub.engine.list_workflows(prefix=hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"))
