"""Every registered adapter passes the shipped conformance suite against its simulator.

Register an adapter by adding its harness class (with a ``role`` attribute) to HARNESSES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest

from contractsync.adapters.salesforce import SalesforceCustomerDirectory
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ContractSyncError
from contractsync.testing import conformance
from tests.adapters.docusign.harness import READ_CHECKS, SIGNATURE_SOURCE, DocuSignHarness
from tests.adapters.ironclad.harness import IroncladHarness
from tests.adapters.kantata.harness import KantataHarness
from tests.adapters.netsuite.harness import NetSuiteHarness
from tests.adapters.salesforce.harness import SalesforceHarness

HARNESSES: dict[str, Callable[[], Any]] = {
    "salesforce": SalesforceHarness,
    "netsuite": NetSuiteHarness,
    "kantata": KantataHarness,
    "ironclad": IroncladHarness,
}


@pytest.mark.parametrize("case", conformance.cases(HARNESSES), ids=str)
def test_adapter_conforms(case: conformance.Case) -> None:
    case.run()


@pytest.mark.parametrize("check", READ_CHECKS)
def test_signature_source_conforms(check: str) -> None:
    """DocuSign implements SignatureSource, a read-only role: the suite's read checks."""
    harness = DocuSignHarness()
    try:
        conformance.CHECKS[check](harness, SIGNATURE_SOURCE)
    finally:
        harness.close()


class CreatesOnEveryWrite(SalesforceCustomerDirectory):
    """A broken adapter: it POSTs a new account instead of upserting by external id."""

    def upsert_account(self, customer: Customer) -> ExternalRef:
        body = {"Name": customer.legal_name, "Canonical_Id__c": customer.id}
        response = self._client.request(
            "POST", "/services/data/v62.0/sobjects/Account/", is_write=True, json=body
        )
        return self._ref(response.json()["id"])


class BrokenHarness(SalesforceHarness):
    def build(self, *, credentials: Literal["valid", "invalid"] = "valid") -> Any:
        good = super().build(credentials=credentials)
        return CreatesOnEveryWrite(good._client, good._settings)


@pytest.mark.parametrize("check", ["idempotent_write", "lost_response_creates_no_duplicate"])
def test_the_suite_fails_an_adapter_that_duplicates_records(check: str) -> None:
    case = conformance.Case("broken", check, BrokenHarness)
    # It fails either on the count or because the lookup then finds two accounts.
    with pytest.raises((AssertionError, ContractSyncError)):
        case.run()
