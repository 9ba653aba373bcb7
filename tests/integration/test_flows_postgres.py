"""The contract-to-cash happy path once more with the hub and the engine on real PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from contractsync.workflows.contract_to_cash import ACTIVATE_CONTRACT
from contractsync.workflows.flow_context import AMEND_CONTRACT
from tests.integration.flow_harness import flow_hub
from tests.integration.flow_samples import contract, customer, new_tag
from tests.integration.test_worker_crash import fresh_postgres_database


@pytest.mark.postgres
def test_on_postgresql_a_won_deal_is_activated_amended_and_invoiced_once_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        fresh_postgres_database("cs_flows") as database_url,
        flow_hub(database_url, tmp_path, monkeypatch) as hub,
    ):
        tag = new_tag()
        buyer, sow = customer(tag), contract(tag)
        hub.won(buyer, sow.id)
        workflow = hub.launch(sow, buyer)
        hub.approve(workflow)
        hub.deliver()
        activated = hub.result(hub.run_id(ACTIVATE_CONTRACT, sow.id), timeout=300)
        hub.amend(workflow, contract(tag, version=2, amounts=("5000", "16000")), buyer)
        hub.deliver()
        amended = hub.result(hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2"), timeout=300)
        invoiced = hub.result(hub.complete_milestone(sow.id, "M2"))

        assert (activated["outcome"], amended["outcome"], invoiced["outcome"]) == (
            "activated",
            "applied",
            "invoiced",
        )
        assert [p["code"] for p in hub.tryton_parties(buyer.id)] == [buyer.id]
        (invoice,) = hub.tryton_invoices(sow.id)
        assert str(invoice["total_amount"]).startswith("16000")
        assert len(hub.workspaces(sow.id)) == 1
        assert Counter(hub.events(sow.id)) == Counter(
            {
                "contract.approved": 1,
                "contract.activated": 1,
                "project.activated": 1,
                "amendment.planned": 1,
                "amendment.applied": 1,
                "milestone.completed": 1,
                "billing.ready": 1,
                "invoice.created": 1,
                "revenue.updated": 1,
            }
        )
