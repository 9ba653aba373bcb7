"""The contract flows' test hub: the real engine in process, the vendor simulators, real Tryton.

Nothing is mocked. The hub is built through ``bootstrap`` (``build_worker``, ``build_api``,
``build_flow_context``) on a fresh SQLite (or PostgreSQL) database; the SaaS vendors are
their simulators, reached by the real adapters over in-process transports and delivering
their webhooks to the hub's real ingress; the ERP is a real trytond shared by the test
process (``tests.adapters.tryton.harness.SharedTryton``). Kantata's feed is polled through
the real polling ingress. Each test tags its records, so tests sharing Tryton never meet.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from contractsync.adapters.docusign import DocuSignSignatureSource
from contractsync.adapters.ingress.feed_poller import FeedPoller
from contractsync.adapters.ingress.triggers import reader_for
from contractsync.adapters.ironclad import IroncladContractSource
from contractsync.adapters.kantata import KantataProjectTracker
from contractsync.adapters.kantata.mapping import milestone_marker, project_marker
from contractsync.adapters.persistence.migrate import upgrade
from contractsync.adapters.persistence.unit_of_work import SqlUnitOfWork
from contractsync.adapters.salesforce import SalesforceCustomerDirectory
from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.gateway import TrytonFinancialSystem
from contractsync.adapters.tryton.mapping import record_key
from contractsync.bootstrap import (
    build_api,
    build_clock,
    build_dispatcher,
    build_engine,
    build_flow_context,
    build_worker,
)
from contractsync.config import Settings
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.exception_item import ExceptionItem
from contractsync.entrypoints.api import create_app
from contractsync.errors import IllegalTransitionError
from contractsync.ports.storage import InboxStatus, UnitOfWork
from contractsync.services import exception_queue as queue
from contractsync.services.contract_flow import FlowSystems
from contractsync.services.flow_decisions import EVIDENCE_FLOW, EVIDENCE_TOPIC
from contractsync.services.polling import poll_once
from contractsync.simulators import FaultPlan
from contractsync.simulators.docusign import DocuSignSimulator
from contractsync.simulators.ironclad import IroncladSimulator
from contractsync.simulators.kantata import KantataSimulator
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.workflows.engine import workflow_id
from contractsync.workflows.flow_context import bind_flows
from tests.adapters.docusign.conftest import INTEGRATION as DOCUSIGN_INTEGRATION
from tests.adapters.docusign.conftest import settings as docusign_settings
from tests.adapters.ironclad.harness import settings as ironclad_settings
from tests.adapters.kantata import samples as kantata_samples
from tests.adapters.salesforce.harness import settings as salesforce_settings
from tests.adapters.tryton.harness import SharedTryton
from tests.integration.flow_samples import (
    CONNECT_KEY,
    CONNECT_KEY_VARIABLE,
    HUB,
    REFERENCE,
    SF_SECRET,
    SF_SECRET_VARIABLE,
    docusign_key,
    hub_settings,
    ironclad_key,
    new_tag,
)


class FlowHub:
    """One hub with its systems; see the module docstring. Use ``flow_hub(...)``."""

    def __init__(self, settings: Settings, api: TestClient, faults: FaultPlan | None) -> None:
        self.settings = settings
        self.api = api
        self.clock = build_clock()
        self._database = build_engine(settings)
        self.ironclad = IroncladSimulator(
            signing_key=ironclad_key(), webhook_client=api, faults=faults
        )
        self.ironclad.webhooks.subscribe(f"{HUB}/webhooks/ironclad", "unused")
        self.salesforce = SalesforceSimulator(min_batch_size=1, webhook_client=api, faults=faults)
        self.salesforce.webhooks.subscribe(
            f"{HUB}/webhooks/salesforce", SF_SECRET, ["opportunity.won"]
        )
        self.kantata = KantataSimulator()
        self.docusign = DocuSignSimulator(
            integrations={DOCUSIGN_INTEGRATION: docusign_key().public_key()}, webhook_client=api
        )
        connect = {"url": f"{HUB}/webhooks/docusign", "hmac_keys": [CONNECT_KEY]}
        self.sim(self.docusign, "configure_connect", connect)
        tryton = SharedTryton.settings()
        self.tryton = TrytonClient(tryton)
        self.systems = FlowSystems(
            clm=IroncladContractSource.connect(
                ironclad_settings(), transport=self.ironclad.transport()
            ),
            erp=TrytonFinancialSystem(TrytonClient(tryton), tryton, sleep=lambda _s: None),
            crm=SalesforceCustomerDirectory.connect(
                salesforce_settings(), transport=self.salesforce.transport()
            ),
            psa=KantataProjectTracker.connect(
                kantata_samples.settings(), transport=self.kantata.transport()
            ),
            esign=DocuSignSignatureSource.connect(
                docusign_settings(docusign_key()), transport=self.docusign.transport()
            ),
        )
        self.engine: Any = None
        self.dispatcher: Any = None

    # -- the hub -------------------------------------------------------------------------

    def uow(self) -> UnitOfWork:
        """A fresh unit of work on the hub database."""
        return SqlUnitOfWork(self._database, self.clock)

    def bind(self, **overrides: Any) -> None:
        """Bind the flows to these systems (``overrides`` replace context fields)."""
        names = ("ironclad", "salesforce", "kantata", "docusign")
        readers = {name: reader_for(name, name) for name in names}
        context = build_flow_context(
            self.settings,
            uow_factory=self.uow,
            clock=self.clock,
            systems=self.systems,
            reference=REFERENCE,
            readers=readers,
        )
        bind_flows(context if not overrides else _replace(context, overrides))

    def run_id(self, name: str, key: str) -> str:
        """The id of the run of workflow ``name`` for business ``key``."""
        return workflow_id(name, key)

    def result(self, run_id: str, timeout: float = 120) -> Any:
        """Wait for a run to finish; return its output (or raise its error)."""
        self.wait_until(lambda: self._exists(run_id), timeout, f"run {run_id} never started")
        deadline = time.monotonic() + timeout
        run = self.engine.run(run_id)
        while not run.status().is_terminal:
            assert time.monotonic() < deadline, f"{run_id} still {run.status()} after {timeout}s"
            time.sleep(0.1)
        return run.result()

    def _exists(self, run_id: str) -> bool:
        return bool(self.engine.list_workflows(prefix=run_id))

    def wait_until(self, check: Callable[[], Any], timeout: float = 120, what: str = "") -> Any:
        """Poll ``check`` until it returns something truthy; return that."""
        deadline = time.monotonic() + timeout
        while not (found := check()):
            assert time.monotonic() < deadline, what or "condition never held"
            time.sleep(0.1)
        return found

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """The current canonical document."""
        with self.uow() as uow:
            return uow.records.get(kind, record_id)

    def events(self, contract_id: str) -> list[str]:
        """The types of every event about a contract, oldest first."""
        with self.uow() as uow:
            entries = uow.views.events(correlation_id=contract_id, limit=1000)
        return [e.event.type.value for e in reversed(entries)]

    def event_ids(self, contract_id: str) -> list[str]:
        """The ids of every event about a contract, oldest first."""
        with self.uow() as uow:
            entries = uow.views.events(correlation_id=contract_id, limit=1000)
        return [e.event.id for e in reversed(entries)]

    def open_items(self, contract_id: str) -> list[ExceptionItem]:
        """The contract's open ExceptionItems."""
        with self.uow() as uow:
            items = uow.exceptions.list(contract_id=contract_id, limit=100)
        return [item for item in items if not item.is_closed]

    def wait_for_items(self, contract_id: str, count: int = 1) -> list[ExceptionItem]:
        """Wait until the contract has ``count`` open items; return them."""
        return list(
            self.wait_until(
                lambda: (found := self.open_items(contract_id)) and len(found) >= count and found,
                what=f"{count} open item(s) for {contract_id}",
            )
        )

    def resolve(
        self, item: ExceptionItem, note: str, corrected: dict[str, Any] | None = None
    ) -> None:
        """Resolve an item as an owner would, then nudge the run that waits on it."""
        with self.uow() as uow:
            queue.resolve(
                uow, self.clock, item.id, actor="owner@firm", note=note, corrected_data=corrected
            )
            uow.commit()
        self._nudge(item)

    def resolve_again_is_refused(self, item: ExceptionItem) -> None:
        """A second resolve (a double click) is refused; the run was nudged once more."""
        with self.uow() as uow, pytest.raises(IllegalTransitionError):
            queue.resolve(uow, self.clock, item.id, actor="owner@firm", note="again")
        self._nudge(item)

    def dismiss(self, item: ExceptionItem, reason: str) -> None:
        """Dismiss an item as an owner would, then nudge the run that waits on it."""
        with self.uow() as uow:
            queue.dismiss(uow, self.clock, item.id, actor="owner@firm", reason=reason)
            uow.commit()
        self._nudge(item)

    def _nudge(self, item: ExceptionItem) -> None:
        run, topic = item.evidence.get(EVIDENCE_FLOW), item.evidence.get(EVIDENCE_TOPIC)
        if isinstance(run, str) and isinstance(topic, str):
            self.engine.send_decision(run, topic, {"item_id": item.id})

    # -- the vendors ---------------------------------------------------------------------

    def deliver(self) -> int:
        """Deliver every webhook the simulators hold to the hub; return how many."""
        simulators = (self.ironclad, self.salesforce, self.docusign)
        return sum(len(simulator.webhooks.drain()) for simulator in simulators)

    def sim(self, simulator: Any, scenario: str, body: dict[str, Any]) -> Any:
        """Run an operator scenario on a simulator; return its answer."""
        with simulator.client() as operator:
            answer = operator.post(f"/_sim/scenarios/{scenario}", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def launch(self, contract_: Contract, customer_: Customer) -> str:
        """Launch the contract in the CLM; return the workflow id."""
        body = {"customer": customer_.model_dump(mode="json"), "contract": _document(contract_)}
        return str(self.sim(self.ironclad, "launch_workflow", body)["id"])

    def approve(self, workflow: str) -> None:
        """Approve every pending role in the CLM (one webhook each)."""
        self.sim(self.ironclad, "approve_workflow", {"workflow_id": workflow})

    def amend(self, workflow: str, contract_: Contract, customer_: Customer) -> None:
        """A new contract version in the CLM workflow, approved."""
        body = {
            "workflow_id": workflow,
            "customer": customer_.model_dump(mode="json"),
            "contract": _document(contract_),
        }
        self.sim(self.ironclad, "amend_workflow", body)

    def activate(self, contract_: Contract, customer_: Customer) -> str:
        """Launch and approve the contract in the CLM; wait until the hub activated it."""
        workflow = self.launch(contract_, customer_)
        self.approve(workflow)
        self.deliver()
        outcome = self.result(self.run_id("contract_to_cash", contract_.id), timeout=300)
        assert outcome["outcome"] == "activated", outcome
        return workflow

    def won(self, customer_: Customer, contract_id: str) -> str:
        """The CRM has the account; an opportunity for the contract is closed-won."""
        crm = self.systems.crm
        assert crm is not None
        crm.upsert_account(customer_)
        body = {
            "account_external_id": customer_.id,
            "contract_id": contract_id,
            "name": f"Deal {contract_id}",
            "amount": 20000,
            "currency": "EUR",
        }
        return str(self.sim(self.salesforce, "close_won_opportunity", body)["id"])

    def poll_psa(self) -> int:
        """One pass of the real polling ingress over Kantata's event feed."""
        psa = self.systems.psa
        assert isinstance(psa, KantataProjectTracker)
        report = poll_once(
            self.uow, FeedPoller.of_tracker(psa), self.dispatcher, self.clock, source="kantata"
        )
        return int(report.accepted)

    def workspaces(self, contract_id: str) -> list[dict[str, Any]]:
        """The Kantata workspaces of a contract's project (from the simulator's state)."""
        marker = project_marker(contract_id)
        workspaces = self.kantata.dump_state()["workspaces"].values()
        return [w for w in workspaces if marker in str(w.get("description", ""))]

    def stories(self, contract_id: str) -> dict[str, dict[str, Any]]:
        """The Kantata milestone stories of a contract, by milestone id."""
        stories = self.kantata.dump_state()["stories"].values()
        found = {}
        for story in stories:
            for milestone in ("M1", "M2", "M3", "M4"):
                if milestone_marker(contract_id, milestone) in str(story.get("description", "")):
                    found[milestone] = story
        return found

    def complete_milestone(self, contract_id: str, milestone_id: str) -> str:
        """Delivery completes the milestone in the PSA and the hub polls the feed.

        Returns:
            The id of the milestone's billing run, once it exists.
        """
        story = self.stories(contract_id)[milestone_id]
        self.sim(self.kantata, "complete_milestone", {"story_id": str(story["id"])})
        self.poll_psa()
        run = self.run_id("milestone_billing", f"{contract_id}:{milestone_id}")
        self.wait_until(lambda: self._exists(run), what=f"the billing run of {milestone_id}")
        return run

    # -- Tryton --------------------------------------------------------------------------

    def tryton_parties(self, code: str) -> list[dict[str, Any]]:
        """Parties with this code (active or not)."""
        domain = [("code", "=", code), ["OR", ("active", "=", True), ("active", "=", False)]]
        return self.tryton.search_read("party.party", domain, ["id", "name", "code"])

    def tryton_projects(self, contract_id: str) -> list[dict[str, Any]]:
        """The Tryton projects holding the contract (keyed as the gateway keys them).

        Each row has ``id``, ``name`` and ``status`` (the work status's name: Open, Closed ...).
        """
        domain = [("type", "=", "project"), ("comment", "=", record_key("project", contract_id))]
        rows = self.tryton.search_read("project.work", domain, ["id", "name", "status.name"])
        return [{**row, "status": (row.get("status.") or {}).get("name")} for row in rows]

    def tryton_tasks(self, project_id: int) -> list[dict[str, Any]]:
        """The milestone tasks of a Tryton project."""
        domain = [("parent", "=", project_id), ("type", "=", "task")]
        return self.tryton.search_read("project.work", domain, ["id", "name", "list_price"])

    def tryton_invoices(self, contract_id: str) -> list[dict[str, Any]]:
        """Customer invoices the hub made for the contract."""
        domain = [
            ("reference", "ilike", f"%{record_key('invoice', contract_id)}/%"),
            ("type", "=", "out"),
        ]
        return self.tryton.search_read(
            "account.invoice", domain, ["id", "reference", "total_amount"]
        )

    def settle(self, timeout: float = 15) -> None:
        """Wait until every inbound message is processed or failed (late duplicates)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.uow() as uow:
                busy = uow.inbox.matching(statuses=(InboxStatus.RECEIVED, InboxStatus.DISPATCHED))
            if not busy:
                return
            time.sleep(0.1)

    def close(self) -> None:
        """Release clients and the database."""
        self.tryton.close()
        self._database.dispose()


def _document(contract_: Contract) -> dict[str, Any]:
    document = contract_.model_dump(mode="json")
    document["refs"] = []
    return document


def _replace(context: Any, overrides: dict[str, Any]) -> Any:
    from dataclasses import replace

    return replace(context, **overrides)


@contextmanager
def flow_hub(
    database_url: str,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    *,
    faults: FaultPlan | None = None,
    **flows: float,
) -> Iterator[FlowHub]:
    """A migrated hub with a worker in this process, its API and its systems; stopped after.

    ``faults`` apply to the CLM and CRM simulators (duplicate and reordered webhooks ...);
    ``flows`` override the flows' settings (``ordering_wait_seconds`` ...).
    """
    monkeypatch.setenv(SF_SECRET_VARIABLE, SF_SECRET)
    monkeypatch.setenv(CONNECT_KEY_VARIABLE, CONNECT_KEY)
    upgrade(database_url)
    settings = hub_settings(database_url, folder, **flows)
    worker = build_worker(settings, executor_id=f"flows-{new_tag()}", poll_seconds=0.05)
    dispatcher = build_dispatcher(settings, engine=worker.engine)
    container = build_api(settings, dispatcher=dispatcher)
    api = TestClient(create_app(container), base_url=HUB)
    hub = FlowHub(settings, api, faults)
    hub.engine, hub.dispatcher = worker.engine, dispatcher
    hub.bind()
    try:
        yield hub
        hub.settle()
    finally:
        worker.stop(grace_seconds=1)
        container.close()
        hub.close()
