"""Operator actions through the process API and the CLI reach the durable runs.

Resolving or dismissing an item wakes the run waiting on it at once; renewing or terminating
a contract starts its run, once however often it is asked.

The flows poll their items only once an hour here (``decision_poll_seconds=3600``), and the
harness never nudges a run: whatever wakes a run within the test's time is what the API or
the CLI sent it. The hub and its engine run on SQLite and on PostgreSQL (where the engine
wakes a waiting run through LISTEN/NOTIFY).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from contractsync.bootstrap import build_api
from contractsync.config import ApiSettings
from contractsync.entrypoints.api import create_app
from contractsync.entrypoints.cli import app as cli
from contractsync.workflows.flow_context import AMEND_CONTRACT
from contractsync.workflows.lifecycle import TERMINATE_CONTRACT
from tests.e2e.process_seed import ADMIN_KEY, api_settings, bearer
from tests.integration.flow_harness import FlowHub, flow_hub
from tests.integration.flow_samples import HUB, contract, customer, new_tag
from tests.integration.test_worker_crash import fresh_postgres_database

HOUR = 3600.0
PROMPTLY = 60.0
"""Far below the hour-long poll: a run done within it was woken, not polled."""


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def hub(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FlowHub]:
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
        else:
            url = stack.enter_context(fresh_postgres_database("cs_operator"))
        yield stack.enter_context(flow_hub(url, tmp_path, monkeypatch, decision_poll_seconds=HOUR))


@pytest.fixture
def api(hub: FlowHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The hub's process API with keys, built by the composition root like ``serve``'s."""
    keyed = ApiSettings.model_validate(api_settings(monkeypatch))
    container = build_api(hub.settings.model_copy(update={"api": keyed}), dispatcher=hub.dispatcher)
    try:
        with TestClient(create_app(container), base_url=HUB) as client:
            yield client
    finally:
        container.close()


def _routed_amendment(hub: FlowHub) -> tuple[str, Any]:
    """An active contract whose version 2 is routed to finance; its id and the open item."""
    tag = new_tag()
    buyer, sow = customer(tag), contract(tag)
    workflow = hub.activate(sow, buyer)
    hub.amend(workflow, contract(tag, version=2, amounts=("5000", "25000")), buyer)
    hub.deliver()
    (item,) = hub.wait_for_items(sow.id)
    assert item.code == "amendment.routed"
    return sow.id, item


def _prices(hub: FlowHub, contract_id: str) -> list[Decimal]:
    (project,) = hub.tryton_projects(contract_id)
    return sorted(Decimal(str(t["list_price"])) for t in hub.tryton_tasks(project["id"]))


def _finished_promptly(hub: FlowHub, run_id: str) -> Any:
    started = time.monotonic()
    outcome = hub.result(run_id, timeout=PROMPTLY)
    assert time.monotonic() - started < PROMPTLY
    return outcome


def test_resolving_a_routed_amendment_through_the_api_wakes_its_run_which_applies_it(
    hub: FlowHub, api: TestClient
) -> None:
    contract_id, item = _routed_amendment(hub)
    path = f"/api/v1/exceptions/{item.id}"
    etag = api.get(path, headers=bearer(ADMIN_KEY)).headers["etag"]

    resolved = api.post(
        f"{path}:resolve",
        json={"note": "approved by the CFO"},
        headers={**bearer(ADMIN_KEY), "If-Match": etag, "Idempotency-Key": f"ok-{item.id}"},
    )
    outcome = _finished_promptly(hub, hub.run_id(AMEND_CONTRACT, f"{contract_id}:v2"))

    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    assert outcome["outcome"] == "applied"
    assert outcome["routed"] is True
    assert _prices(hub, contract_id) == [Decimal(5000), Decimal(25000)]
    events = Counter(kind for kind in hub.events(contract_id) if kind.startswith("amendment."))
    assert events == Counter(
        {"amendment.planned": 1, "amendment.routed": 1, "amendment.applied": 1}
    )


def test_dismissing_a_routed_amendment_through_the_cli_wakes_its_run_which_rejects_it(
    hub: FlowHub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    contract_id, item = _routed_amendment(hub)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONTRACTSYNC_DATABASE__URL", hub.settings.database.url)

    result = CliRunner().invoke(
        cli, ["exceptions", "dismiss", item.id, "--reason", "the customer never agreed"]
    )
    outcome = _finished_promptly(hub, hub.run_id(AMEND_CONTRACT, f"{contract_id}:v2"))

    assert result.exit_code == 0, result.output
    assert "told the waiting run" in result.stdout
    assert outcome["outcome"] == "rejected"
    assert _prices(hub, contract_id) == [Decimal(5000), Decimal(15000)]
    assert hub.record("contract", contract_id)["version"] == 1  # type: ignore[index]


def test_renewing_through_the_api_twice_starts_one_run_which_applies_the_renewal(
    hub: FlowHub, api: TestClient
) -> None:
    tag = new_tag()
    sow = contract(tag)
    hub.activate(sow, customer(tag))
    path = f"/api/v1/contracts/{sow.id}:renew"

    first = api.post(path, json={"new_end": "2027-03-31"}, headers=bearer(ADMIN_KEY))
    again = api.post(path, json={"new_end": "2027-03-31"}, headers=bearer(ADMIN_KEY))
    run = hub.run_id(AMEND_CONTRACT, f"{sow.id}:v2")
    outcome = hub.result(run, timeout=300)

    assert (first.status_code, again.status_code) == (202, 202), first.text
    assert first.json()["workflow_id"] == again.json()["workflow_id"] == run
    assert outcome["outcome"] == "applied"
    assert [r.workflow_id for r in hub.engine.list_workflows(prefix=f"{AMEND_CONTRACT}:")] == [run]
    assert hub.record("contract", sow.id)["term"]["end"] == "2027-03-31"  # type: ignore[index]
    assert hub.events(sow.id).count("contract.renewed") == 1
    late = api.post(path, json={"new_end": "2027-03-31"}, headers=bearer(ADMIN_KEY))
    assert late.status_code == 409
    assert late.json()["code"] == "renewal.not_later"


def test_terminating_through_the_cli_and_the_api_starts_one_run_which_terminates_the_contract(
    hub: FlowHub, api: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tag = new_tag()
    sow = contract(tag)
    hub.activate(sow, customer(tag))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CONTRACTSYNC_DATABASE__URL", hub.settings.database.url)
    run = hub.run_id(TERMINATE_CONTRACT, sow.id)

    by_cli = CliRunner().invoke(
        cli, ["contracts", "terminate", sow.id, "--reason", "customer insolvency", "--json"]
    )
    by_api = api.post(
        f"/api/v1/contracts/{sow.id}:terminate",
        json={"reason": "customer insolvency"},
        headers=bearer(ADMIN_KEY),
    )
    outcome = hub.result(run, timeout=300)

    assert by_cli.exit_code == 0, by_cli.output
    assert json.loads(by_cli.stdout)["workflow_id"] == run
    # the API asked before the run ended the contract (same run), or after (refused)
    assert (by_api.status_code, by_api.json().get("workflow_id")) in {(202, run), (409, None)}
    assert outcome["outcome"] == "terminated"
    assert hub.record("contract", sow.id)["status"] == "terminated"  # type: ignore[index]
    assert hub.events(sow.id).count("contract.terminated") == 1
    assert [r.workflow_id for r in hub.engine.list_workflows(prefix=f"{TERMINATE_CONTRACT}:")] == [
        run
    ]
    late = api.post(
        f"/api/v1/contracts/{sow.id}:terminate", json={"reason": "again"}, headers=bearer(ADMIN_KEY)
    )
    assert late.status_code == 409
    assert late.json()["code"] == "contract.not_active"


def test_a_renewal_is_refused_while_the_clm_amendment_of_that_version_waits_for_finance(
    hub: FlowHub, api: TestClient
) -> None:
    contract_id, item = _routed_amendment(hub)

    refused = api.post(
        f"/api/v1/contracts/{contract_id}:renew",
        json={"new_end": "2030-12-31"},
        headers=bearer(ADMIN_KEY),
    )

    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "renewal.version_taken"
    assert hub.open_items(contract_id) == [item]
    run = hub.run_id(AMEND_CONTRACT, f"{contract_id}:v2")
    assert [r.workflow_id for r in hub.engine.list_workflows(prefix=f"{AMEND_CONTRACT}:")] == [run]
    # the CLM's amendment is untouched: approved, it applies (and no run is left waiting)
    path = f"/api/v1/exceptions/{item.id}"
    etag = api.get(path, headers=bearer(ADMIN_KEY)).headers["etag"]
    api.post(
        f"{path}:resolve",
        json={"note": "approved"},
        headers={**bearer(ADMIN_KEY), "If-Match": etag},
    )
    assert _finished_promptly(hub, run)["outcome"] == "applied"
