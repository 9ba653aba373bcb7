"""Milestones completed in the PSA become billing-ready, then one ERP invoice each (real Tryton)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.integration.flow_harness import FlowHub, flow_hub
from tests.integration.flow_samples import contract, customer, new_tag


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlowHub]:
    with flow_hub(f"sqlite:///{tmp_path / 'hub.sqlite'}", tmp_path, monkeypatch) as built:
        yield built


def test_a_completed_milestone_is_invoiced_once_with_the_contract_payment_terms(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    hub.activate(sow, buyer)

    run = hub.complete_milestone(sow.id, "M1")
    outcome = hub.result(run)
    # Reopened and completed again in the PSA: a second completion event, a new message.
    story = str(hub.stories(sow.id)["M1"]["id"])
    hub.sim(hub.kantata, "reopen_milestone", {"story_id": story})
    assert hub.complete_milestone(sow.id, "M1") == run
    hub.wait_until(lambda: _all_processed(hub), what="every feed message processed")
    with hub.uow() as uow:
        completions = [
            m for m in uow.inbox.matching(source="kantata") if m.event_type == "milestone.completed"
        ]
    assert len(completions) == 2

    assert outcome["outcome"] == "invoiced"
    (invoice,) = hub.tryton_invoices(sow.id)
    assert Decimal(str(invoice["total_amount"])) == Decimal(5000)
    stored = hub.record("invoice", f"INV-{sow.id}-M1")
    assert stored is not None
    assert stored["payment_terms_days"] == 45
    issued = date.fromisoformat(stored["issued_on"])
    assert date.fromisoformat(stored["due_on"]) == issued + timedelta(days=45)
    milestones = {
        m["id"]: m["status"]
        for m in hub.record("contract", sow.id)["lines"][0]["billing"]["milestones"]
    }  # type: ignore[index]
    assert milestones == {"M1": "invoiced", "M2": "planned"}
    events = Counter(hub.events(sow.id))
    assert {kind: events[kind] for kind in _BILLING} == dict.fromkeys(_BILLING, 1)


def test_a_milestone_needing_acceptance_is_invoiced_only_after_delivery_confirms_it(
    hub: FlowHub,
) -> None:
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag, acceptance=True)
    hub.activate(sow, buyer)

    run = hub.complete_milestone(sow.id, "M1")
    (item,) = hub.wait_for_items(sow.id)
    assert (item.code, item.owner.value) == ("milestone.acceptance_pending", "delivery")
    assert "billing.ready" in hub.events(sow.id)
    assert hub.tryton_invoices(sow.id) == []
    hub.resolve(item, "signed acceptance certificate on file")
    outcome = hub.result(run)

    assert outcome["outcome"] == "invoiced"
    assert len(hub.tryton_invoices(sow.id)) == 1
    assert hub.events(sow.id).count("invoice.created") == 1


_BILLING = ("milestone.completed", "billing.ready", "invoice.created", "revenue.updated")


def _all_processed(hub: FlowHub) -> bool:
    with hub.uow() as uow:
        messages = uow.inbox.matching(source="kantata")
    return bool(messages) and all(m.status.value == "processed" for m in messages)
