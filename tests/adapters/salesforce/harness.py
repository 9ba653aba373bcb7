"""The Salesforce adapter's conformance harness: the adapter against an in-process simulator."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import httpx

from contractsync.adapters.salesforce import SalesforceCustomerDirectory, SalesforceSettings
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.simulators import FaultPlan
from contractsync.simulators.salesforce import SalesforceSimulator
from contractsync.testing.conformance import Fault, Role

BASE_URL = "https://salesforce.simulator.invalid"
RATE_LIMIT_WAIT = 7.0


def settings(**overrides: Any) -> SalesforceSettings:
    values: dict[str, Any] = {
        "instance_url": BASE_URL,
        "client_id": "sim-client",
        "client_secret": "sim-secret",
        "rate_limit_wait_seconds": RATE_LIMIT_WAIT,
        "timeout_seconds": 2.0,
        "connect_timeout_seconds": 0.5,
    }
    return SalesforceSettings.model_validate(values | overrides)


class SalesforceHarness:
    """Builds ``SalesforceCustomerDirectory`` against a fresh ``SalesforceSimulator``."""

    system = "salesforce"
    role: ClassVar[Role] = "customer_directory"
    expected_retry_after = RATE_LIMIT_WAIT
    page_size = 3

    def __init__(self) -> None:
        # Faults target the REST API only: Salesforce's token endpoint has no API limits.
        self.sim = SalesforceSimulator(min_batch_size=1, faults=FaultPlan(paths=["/services/data"]))
        self._clients: list[httpx.BaseTransport] = []

    def build(
        self, *, credentials: Literal["valid", "invalid"] = "valid"
    ) -> SalesforceCustomerDirectory:
        transport = self.sim.transport()
        self._clients.append(transport)
        secret = "sim-secret" if credentials == "valid" else "wrong-secret"
        return SalesforceCustomerDirectory.connect(
            settings(client_secret=secret), transport=transport
        )

    def build_unreachable(self) -> SalesforceCustomerDirectory:
        # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        return SalesforceCustomerDirectory.connect(settings(instance_url="http://127.0.0.1:9"))

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        self.sim.injector.force(*([fault] * times))

    def count_records(self, kind: str, key: str) -> int:
        assert kind == "account"
        return len(self.sim.org.find_by("Account", "Canonical_Id__c", key))

    def customer(self, key: str) -> Customer:
        return Customer.model_validate(
            {
                "id": key,
                "legal_name": f"Customer {key} Inc.",
                "billing_country": "US",
                "billing_region": "US-CA",
                "tax_ids": [{"scheme": "us_ein", "value": "04-2103594"}],
            }
        )

    def close_won(self, customer_id: str) -> ExternalRef:
        with self.sim.client() as operator:
            created = operator.post(
                "/_sim/scenarios/close_won_opportunity",
                json={"account_external_id": customer_id, "amount": 50000, "currency": "USD"},
            )
        created.raise_for_status()
        return ExternalRef(system=self.system, kind="Opportunity", id=created.json()["id"])

    def close(self) -> None:
        for transport in self._clients:
            transport.close()
