"""Every registered adapter passes the shipped conformance suite (Tryton against a real trytond).

Register an adapter by adding its harness class (with a ``role`` attribute) to HARNESSES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest

from contractsync.adapters.salesforce import SalesforceCustomerDirectory
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ContractSyncError, RejectedError
from contractsync.testing import conformance
from tests.adapters.docusign.harness import DocuSignHarness
from tests.adapters.ironclad.harness import IroncladHarness
from tests.adapters.kantata.harness import KantataHarness
from tests.adapters.netsuite.harness import NetSuiteHarness
from tests.adapters.salesforce.harness import SalesforceHarness
from tests.adapters.tryton.harness import TrytonHarness

HARNESSES: dict[str, Callable[[], Any]] = {
    "salesforce": SalesforceHarness,
    "netsuite": NetSuiteHarness,
    "kantata": KantataHarness,
    "ironclad": IroncladHarness,
    "tryton": TrytonHarness,
    "docusign": DocuSignHarness,
}


# Red in an adapter, not in the suite: strict, so the mark must go once the adapter is fixed.
KNOWN_FAILURES: dict[str, str] = {}


def _marked(case: conformance.Case) -> Any:
    reason = KNOWN_FAILURES.get(str(case))
    if reason is None:
        return case
    return pytest.param(
        case, marks=pytest.mark.xfail(reason=reason, strict=True, raises=RejectedError)
    )


@pytest.mark.parametrize("case", [_marked(c) for c in conformance.cases(HARNESSES)], ids=str)
def test_adapter_conforms(case: conformance.Case) -> None:
    case.run()


def test_checks_a_system_cannot_support_are_left_out_with_the_reason() -> None:
    matrix = conformance.matrix(HARNESSES)
    assert matrix["netsuite"]["paging"] == "the financial_system port has no listing"
    assert (
        matrix["tryton"]["rate_limit_is_retried"]
        == TrytonHarness.not_applicable["rate_limit_is_retried"]
    )
    assert "tryton-rate_limit_is_retried" not in {str(c) for c in conformance.cases(HARNESSES)}


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
