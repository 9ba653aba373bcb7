"""The NetSuite adapter's conformance harness: the adapter against an in-process simulator."""

from __future__ import annotations

from datetime import date
from typing import Any, ClassVar, Literal

import httpx

from contractsync.adapters.netsuite import NetSuiteFinancialSystem
from contractsync.adapters.netsuite.mapping import external_id
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.simulators import FaultPlan
from contractsync.simulators.netsuite import NetSuiteSimulator
from contractsync.testing.conformance import Fault, Role
from tests.adapters.netsuite import samples


class NetSuiteHarness:
    """Builds ``NetSuiteFinancialSystem`` against a fresh ``NetSuiteSimulator``."""

    system = "netsuite"
    role: ClassVar[Role] = "financial_system"
    expected_retry_after = samples.CONCURRENCY_WAIT
    page_size = 3

    def __init__(self) -> None:
        # Faults target the record service only: the token endpoint is not rate limited.
        self.sim = NetSuiteSimulator(faults=FaultPlan(paths=["/services/rest/record"]))
        self._transports: list[httpx.BaseTransport] = []
        self._target: tuple[str, Money] | None = None

    def build(
        self, *, credentials: Literal["valid", "invalid"] = "valid"
    ) -> NetSuiteFinancialSystem:
        transport = self.sim.transport()
        self._transports.append(transport)
        kid = "sim-certificate" if credentials == "valid" else "revoked-certificate"
        return NetSuiteFinancialSystem.connect(
            samples.settings(certificate_id=kid), transport=transport
        )

    def build_unreachable(self) -> NetSuiteFinancialSystem:
        return NetSuiteFinancialSystem.connect(samples.settings(base_url="http://127.0.0.1:9"))

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        self.sim.injector.force(*([fault] * times))

    def count_records(self, kind: str, key: str) -> int:
        records = self.sim.account.records
        if kind == "invoice":
            contract_id = "K-target"
            return sum(
                1
                for r in records["invoice"].values()
                if r.get("custbody_cs_contract_id") == contract_id
                and r.get("custbody_cs_invoice_key") == key
            )
        return sum(1 for r in records[kind].values() if r.get("externalId") == external_id(key))

    def customer(self, key: str) -> Customer:
        return samples.customer(key).model_copy(update={"id": key})

    def upsert_customer(self, adapter: Any, customer: Customer) -> ExternalRef:
        ref: ExternalRef = adapter.upsert_customer(customer, legal_entity=samples.ENTITY)
        return ref

    def open_project(self, adapter: Any, key: str) -> tuple[Project, Contract]:
        project, contract = samples.project(key), samples.contract(key)
        adapter.upsert_customer(samples.customer(key), legal_entity=samples.ENTITY)
        adapter.upsert_project(project, contract)
        adapter.push_contract(contract, samples.schedule(key))  # snapshot reads the order
        return project, contract

    def invoice_target(self, adapter: Any) -> tuple[str, Any]:
        # Seeded straight into the account (not through the API), so injected faults are
        # left for the calls under test.
        if self._target is None:
            account = self.sim.account
            customer = account.create(
                "customer", {"companyName": "Invoice target", "subsidiary": {"id": "2"}}
            )
            account.upsert(
                "salesOrder",
                external_id("K-target"),
                {
                    "entity": {"id": customer},
                    "currency": {"id": "4"},
                    "tranDate": date(2026, 1, 1).isoformat(),
                    "item": {"items": [{"item": {"id": "10"}, "amount": 20000.0}]},
                },
                replace=set(),
            )
            self._target = ("K-target", Money.of("5000", "EUR"))
        return self._target

    def close(self) -> None:
        for transport in self._transports:
            transport.close()
