"""Seed data for process API tests: sample contracts stored through the ports and services.

Every money amount of the *canary* contracts is shifted by an amount ending in ``.37`` (milestone
shifts are added to their line's fee, so the sums still hold); those amounts, plus the money at
risk and invoice amounts planted beside them, are the canaries no key without
``pricing:read`` may ever see.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from contractsync.adapters.samples import SampleCase, SampleSet, load_samples
from contractsync.bootstrap import ApiContainer
from contractsync.domain.contract import Contract
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project, ProjectStatus
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import ConflictError
from contractsync.ports.storage import InboxMessage, InboxStatus, UnitOfWork
from contractsync.ports.workflows import RunAttempt, RunState
from contractsync.services.exception_queue import raise_exception
from contractsync.services.replay_plans import ReplayTools
from contractsync.testing.fake_operator_runs import RecordingOperatorRuns
from contractsync.testing.fakes import (
    FixedClock,
    InMemoryStore,
    InMemoryUnitOfWork,
    RecordingDispatcher,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CANARY_CASES = frozenset({"01-harborview-erp-rollout", "06-prairie-wind-managed-support"})
SEEDED_CASES = (
    "01-harborview-erp-rollout",
    "02-hanseatic-data-platform",
    "03-rijnmond-advisory-retainer",
    "04-thameside-analytics-subscription",
    "05-cascadia-security-export",
    "06-prairie-wind-managed-support",
)
ADMIN_KEY = "admin-key-" + "a" * 40
FINANCE_KEY = "finance-key-" + "f" * 40
LEGAL_KEY = "legal-key-" + "l" * 40
DELIVERY_KEY = "delivery-key-" + "d" * 40
AUDITOR_KEY = "auditor-key-" + "u" * 40
KEYS = {
    "admin": ("integration-admin", ADMIN_KEY),
    "finance": ("finance", FINANCE_KEY),
    "legal": ("legal", LEGAL_KEY),
    "delivery": ("delivery", DELIVERY_KEY),
    "auditor": ("auditor", AUDITOR_KEY),
}


def api_settings(monkeypatch: Any) -> dict[str, Any]:
    """The ``api`` settings section with one key per role, secrets in env vars."""
    keys = []
    for name, (role, secret) in KEYS.items():
        variable = f"TEST_API_KEY_{name.upper()}"
        monkeypatch.setenv(variable, secret)
        keys.append({"name": name, "role": role, "secret": {"env": variable}})
    return {"keys": keys}


def bearer(secret: str) -> dict[str, str]:
    """The Authorization header of ``secret``."""
    return {"Authorization": f"Bearer {secret}"}


@dataclass
class Seeded:
    """What was stored, for tests to look up."""

    contracts: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    invoices: list[str] = field(default_factory=list)
    cases: dict[str, SampleCase] = field(default_factory=dict)
    canaries: set[str] = field(default_factory=set)


def _shift(document: dict[str, Any], canaries: set[str]) -> dict[str, Any]:
    """Shift every amount of a contract document so it ends in .37 (sums preserved)."""
    for line in document["lines"]:
        billing = line["billing"]
        if billing["model"] == "fixed_fee":
            if billing["milestones"]:
                billing["milestones"][0]["amount"]["amount"] = str(
                    Decimal(billing["milestones"][0]["amount"]["amount"]) + Decimal("7313.37")
                )
            billing["amount"]["amount"] = str(
                Decimal(billing["amount"]["amount"]) + Decimal("7313.37")
            )
        for key, shift in (
            ("cap", "70000.37"),
            ("monthly_fee", "7313.37"),
            ("price_per_period", "7313.37"),
        ):
            if billing.get(key):
                billing[key]["amount"] = str(Decimal(billing[key]["amount"]) + Decimal(shift))
    for card in document["rate_cards"]:
        for rate in card["rates"]:
            rate["hourly"]["amount"] = str(Decimal(rate["hourly"]["amount"]) + Decimal("7000.37"))
    contract = Contract.model_validate(document)
    dumped = contract.model_dump(mode="json")
    _collect_money(dumped, canaries)
    return dumped


def _collect_money(value: Any, into: set[str]) -> None:
    if isinstance(value, dict):
        if {"amount", "currency"} <= value.keys():
            into.add(str(value["amount"]))
        for inner in value.values():
            _collect_money(inner, into)
    elif isinstance(value, list):
        for inner in value:
            _collect_money(inner, into)


@cache
def _samples() -> SampleSet:
    return load_samples(EXAMPLES)


def seed_hub(uow_factory: Callable[[], UnitOfWork], clock: FixedClock) -> Seeded:
    """Store six sample cases with refs, messages, events, invoices and exception items."""
    samples = _samples()
    seeded = Seeded()
    with uow_factory() as uow:
        for entity in samples.reference.legal_entities:
            uow.records.put(
                "legal_entity", entity.code, entity.model_dump(mode="json"), version=1, cause="seed"
            )
        uow.commit()
    by_name = {case.name: case for case in samples.cases}
    for index, name in enumerate(SEEDED_CASES):
        case = by_name[name]
        seeded.cases[case.contract.id] = case
        clock.advance(timedelta(minutes=5))
        _seed_case(uow_factory, clock, case, index, seeded)
    return seeded


def _seed_case(
    uow_factory: Callable[[], UnitOfWork],
    clock: FixedClock,
    case: SampleCase,
    index: int,
    seeded: Seeded,
) -> None:
    contract_doc = case.contract.model_dump(mode="json")
    canaries: set[str] = set()
    if case.name in CANARY_CASES:
        contract_doc = _shift(contract_doc, canaries)
    contract_id, customer_id = case.contract.id, case.customer.id
    project = Project(
        id=f"P-{contract_id}",
        contract_id=contract_id,
        customer_id=customer_id,
        name=case.contract.title[:200],
        status=ProjectStatus.ACTIVE,
    )
    currency = case.contract.currency
    at_risk = Money.of(Decimal("55555.37") + index, currency)
    invoiced = Money.of(Decimal("66666.37") + index, currency)
    if case.name in CANARY_CASES:
        canaries |= {str(at_risk.amount), str(invoiced.amount)}
    message = InboxMessage(
        id=f"msg-{index}",
        source="ironclad",
        event_id=f"wf-{index}",
        event_type="workflow_completed",
        received_at=clock.now(),
        body=base64.b64encode(json.dumps(contract_doc).encode()),
        status=InboxStatus.PROCESSED,
    )
    with uow_factory() as uow:
        uow.inbox.add(message)
        clock.advance(timedelta(seconds=1))
        cause = f"inbox:{message.id}"
        uow.records.put(
            "customer", customer_id, case.customer.model_dump(mode="json"), version=1, cause=cause
        )
        uow.records.put("contract", contract_id, contract_doc, version=1, cause=cause)
        uow.records.put(
            "project", project.id, project.model_dump(mode="json"), version=1, cause=cause
        )
        clock.advance(timedelta(seconds=1))
        uow.refs.link(
            ExternalRef(system="salesforce", kind="Account", id=f"001{index:06d}"),
            record_kind="customer",
            record_id=customer_id,
        )
        uow.refs.link(
            ExternalRef(system="ironclad", kind="workflow", id=f"wf-{index}"),
            record_kind="contract",
            record_id=contract_id,
        )
        uow.refs.link(
            ExternalRef(system="tryton", kind="project.work", id=str(100 + index)),
            record_kind="project",
            record_id=project.id,
        )
        invoice_id = f"INV-{contract_id}"
        invoice = {
            "invoice_id": invoice_id,
            "contract_id": contract_id,
            "milestone_id": "M1",
            "amount": invoiced.model_dump(mode="json"),
            "issued_on": "2025-04-01",
            "due_on": "2025-05-16",
        }
        uow.records.put("invoice", invoice_id, invoice, version=1, cause=cause)
        uow.refs.link(
            ExternalRef(system="tryton", kind="account.invoice", id=str(500 + index)),
            record_kind="invoice",
            record_id=invoice_id,
        )
        clock.advance(timedelta(seconds=1))
        uow.outbox.add(
            BusinessEvent(
                id=f"contract.approved:{contract_id}",
                type=EventType.CONTRACT_APPROVED,
                subject=f"contract:{contract_id}",
                correlation_id=contract_id,
                occurred_at=clock.now(),
                data={"version": 1},
            )
        )
        uow.outbox.add(
            BusinessEvent(
                id=f"invoice.created:{invoice_id}",
                type=EventType.INVOICE_CREATED,
                subject=f"invoice:{invoice_id}",
                correlation_id=contract_id,
                occurred_at=clock.now(),
                data={"invoice_id": invoice_id, "amount": invoiced.model_dump(mode="json")},
            )
        )
        clock.advance(timedelta(seconds=1))
        item = raise_exception(
            uow,
            clock,
            code="validation.rate_missing",
            message=f"Contract {contract_id} needs a rate for a staffed role.",
            owner=OwnerRole.FINANCE,
            severity=Severity.HIGH,
            remediation="Add the rate in the CLM, then retry.",
            evidence={
                "inbox_message_id": message.id,
                "money_at_risk": at_risk.model_dump(mode="json"),
            },
            contract_id=contract_id,
            money_at_risk=at_risk,
        )
        uow.commit()
    seeded.contracts.append(contract_id)
    seeded.customers.append(customer_id)
    seeded.projects.append(project.id)
    seeded.exceptions.append(item.id)
    seeded.invoices.append(invoice_id)
    seeded.canaries |= canaries


@dataclass
class ProcessHub:
    """The API over in-memory storage, seeded: what the process API tests drive."""

    client: Any
    store: InMemoryStore
    clock: FixedClock
    seeded: Seeded
    runs: FakeRuns
    operator: RecordingOperatorRuns = field(default_factory=RecordingOperatorRuns)

    def get(self, path: str, key: str = ADMIN_KEY, **params: Any) -> Any:
        """GET ``path`` with ``key``."""
        return self.client.get(path, headers=bearer(key), params=params or None)

    def post(self, path: str, body: Any = None, key: str = ADMIN_KEY, **headers: str) -> Any:
        """POST ``body`` as JSON to ``path`` with ``key`` and extra headers."""
        return self.client.post(path, json=body, headers={**bearer(key), **headers})


def build_process_hub(monkeypatch: Any, tmp_path: Path) -> Iterator[ProcessHub]:
    """Build the app through ``build_api`` with in-memory fakes, seed it, and serve it."""
    from fastapi.testclient import TestClient

    from contractsync.bootstrap import build_api
    from contractsync.config import Settings
    from contractsync.entrypoints.api import create_app

    clock, store = FixedClock(), InMemoryStore()
    settings = Settings.model_validate(
        {
            "database": {"url": f"sqlite:///{tmp_path / 'unused.sqlite'}"},
            "api": api_settings(monkeypatch),
        }
    )

    def factory() -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(store, clock)

    seeded = seed_hub(factory, clock)
    container = build_api(
        settings, uow_factory=factory, dispatcher=RecordingDispatcher(), clock=clock
    )
    runs, operator = FakeRuns(), RecordingOperatorRuns()
    app = create_app(with_fake_operator_runs(with_fake_replays(container, clock, runs), operator))
    with TestClient(app) as client:
        yield ProcessHub(client, store, clock, seeded, runs, operator)


REPLAY_MARK = "#replay-"


class FakeRuns:
    """The engine's runs in memory (the WorkflowRuns port): states, and forks made once."""

    def __init__(self) -> None:
        self.states: dict[str, RunState] = {}
        self._lock = threading.Lock()

    def latest(self, workflow_id: str) -> RunAttempt | None:
        """The newest attempt of ``workflow_id``'s lineage."""
        lineage = workflow_id.split(REPLAY_MARK, 1)[0]
        with self._lock:
            found = [w for w in self.states if w == lineage or w.startswith(lineage + REPLAY_MARK)]
            if not found:
                return None
            newest = max(
                found, key=lambda w: int(w.split(REPLAY_MARK)[1]) if REPLAY_MARK in w else 0
            )
            state = self.states[newest]
        number = int(newest.split(REPLAY_MARK)[1]) if REPLAY_MARK in newest else 0
        failed = state is RunState.FAILED
        return RunAttempt(
            newest,
            lineage,
            number,
            state,
            failed_step=2 if failed else None,
            error="x" if failed else None,
        )

    def replay(self, attempt: RunAttempt) -> str:
        """Fork the attempt once; a second fork of the same number conflicts."""
        new_id = f"{attempt.lineage_id}{REPLAY_MARK}{attempt.number + 1}"
        with self._lock:
            if new_id in self.states:
                raise ConflictError("taken", code="replay.already_running")
            self.states[new_id] = RunState.RUNNING
        return new_id


def with_fake_replays(container: ApiContainer, clock: FixedClock, runs: FakeRuns) -> ApiContainer:
    """``container`` replaying through in-memory runs and a recording dispatcher."""
    tools = ReplayTools(
        uow_factory=container.uow_factory, runs=runs, dispatcher=RecordingDispatcher(), clock=clock
    )
    return dataclasses.replace(container, replay_tools=lambda: tools)


def with_fake_operator_runs(
    container: ApiContainer, operator: RecordingOperatorRuns
) -> ApiContainer:
    """``container`` telling waiting runs and starting lifecycle runs in memory."""
    return dataclasses.replace(container, decisions=operator, lifecycle=operator)
