"""The simulator's closed-won events through the hub's real webhook ingress, duplicates included."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from contractsync.adapters.salesforce import SalesforceCustomerDirectory
from contractsync.adapters.salesforce.webhooks import read_event_body
from contractsync.bootstrap import build_api
from contractsync.config import Settings
from contractsync.domain.customer import Customer
from contractsync.entrypoints.api import create_app
from contractsync.simulators import FaultPlan
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)
from tests.adapters.salesforce.harness import settings

SECRET = "whsec_" + base64.b64encode(bytes(range(40, 72))).decode()


@pytest.fixture
def hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, InMemoryStore]]:
    monkeypatch.setenv("SF_SIM_SECRET", SECRET)
    hub_settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'hub.sqlite'}"},
            "ingress": {
                "sources": {
                    "salesforce": {
                        "scheme": "standard_webhooks",
                        "secrets": [{"env": "SF_SIM_SECRET"}],
                    }
                }
            },
        }
    )
    # The simulator signs with the wall clock, so the hub's clock must be now too.
    clock, store = FixedClock(datetime.now(UTC)), InMemoryStore()
    container = build_api(
        hub_settings,
        uow_factory=lambda: InMemoryUnitOfWork(store, clock),
        dispatcher=RecordingDispatcher(),
        clock=clock,
    )
    with TestClient(create_app(container), base_url="http://hub.test") as client:
        yield client, store


def test_duplicated_reordered_won_events_reach_the_inbox_once_each_and_lead_to_the_opportunity(
    hub: tuple[TestClient, InMemoryStore],
) -> None:
    client, store = hub
    sim = SalesforceSimulator(
        faults=FaultPlan(seed=9, duplicate_webhook_rate=1.0, reorder_webhooks=True),
        webhook_client=client,
    )
    sim.webhooks.subscribe("http://hub.test/webhooks/salesforce", SECRET, ["opportunity.won"])
    directory = SalesforceCustomerDirectory.connect(settings(), transport=sim.transport())
    won = []
    for key in ("c1", "c2", "c3"):
        directory.upsert_account(Customer(id=key, legal_name=f"{key} SAS", billing_country="FR"))
        won.append(
            sim.client()
            .post("/_sim/scenarios/close_won_opportunity", json={"account_external_id": key})
            .json()["id"]
        )
    records = sim.webhooks.drain()
    assert len(records) == 6
    assert all(r.outcome == "delivered" for r in records)
    messages = list(store.inbox.values())
    assert len(messages) == 3
    events = [read_event_body(m.body) for m in messages]
    assert sorted(e.opportunity.id for e in events) == sorted(won)
    fetched = [directory.fetch_opportunity(e.opportunity) for e in events]
    assert sorted(f.customer.id for f in fetched) == ["c1", "c2", "c3"]
