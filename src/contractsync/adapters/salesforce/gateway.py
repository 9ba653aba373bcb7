"""``SalesforceCustomerDirectory``: the CustomerDirectory port over Salesforce accounts and opportunities."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx

from contractsync.adapters.salesforce.client import SalesforceClient
from contractsync.adapters.salesforce.config import SalesforceSettings
from contractsync.adapters.salesforce.mapping import (
    ACCOUNT,
    OPPORTUNITY,
    UNKEYED_PREFIX,
    account_from_customer,
    customer_from_account,
    won_opportunity_from,
)
from contractsync.adapters.salesforce.payloads import (
    AccountRecord,
    FieldNames,
    OpportunityRecord,
    SaveResult,
)
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.errors import ContractSyncError, DataError, TransientError
from contractsync.ports.systems import Page, SystemHealth, WonOpportunity

MULTIPLE_CHOICES = 300


class SalesforceCustomerDirectory:
    """The CRM role over one Salesforce org.

    One call is one attempt: errors are raised as the port contract says and the caller
    (the workflow engine) retries. ``upsert_account`` is an upsert by external id, so a retry
    after a lost answer never creates a second account.

    Args:
        client: An authenticated-on-demand REST client for the org.
        settings: The org's settings (field names, currency, API version).
        system: The configured system name used in refs.
    """

    def __init__(
        self, client: SalesforceClient, settings: SalesforceSettings, *, system: str = "salesforce"
    ) -> None:
        self.system = system
        self._client = client
        self._settings = settings
        self._names = FieldNames(
            external_id=settings.account_external_id_field,
            tax_ids=settings.tax_ids_field,
            is_business=settings.is_business_field,
            contract_id=settings.contract_id_field,
        )

    @classmethod
    def connect(
        cls,
        settings: SalesforceSettings,
        *,
        system: str = "salesforce",
        transport: httpx.BaseTransport | None = None,
    ) -> SalesforceCustomerDirectory:
        """Build the directory and its client (nothing is sent until the first call)."""
        return cls(
            SalesforceClient(settings, system=system, transport=transport), settings, system=system
        )

    def _sobjects(self, *parts: str) -> str:
        return "/".join(
            [f"{self._settings.data_path}/sobjects", *(quote(p, safe="") for p in parts)]
        )

    def _ref(self, record_id: str) -> ExternalRef:
        return ExternalRef(system=self.system, kind=ACCOUNT, id=record_id)

    def _duplicates(self, customer_id: str, response: httpx.Response) -> DataError:
        urls = response.json() if response.content else []
        ids = [str(url).rsplit("/", 1)[-1] for url in urls] if isinstance(urls, list) else []
        return DataError(
            f"{len(ids) or 'Several'} Salesforce accounts hold customer id {customer_id!r}: "
            f"{', '.join(ids)}.",
            code="salesforce.duplicate_accounts",
            remediation=f"Merge the duplicate accounts in Salesforce (keep one with "
            f"{self._names.external_id} = {customer_id}), then retry.",
            detail={"customer_id": customer_id, "account_ids": ids},
        )

    def upsert_account(self, customer: Customer) -> ExternalRef:
        """Create or update the account whose external id is the canonical customer id.

        A customer read from an account that had no canonical id yet (``sf-<Account Id>``)
        is written by record id instead, which stores that id on the account: no second
        account is created for it.

        Raises:
            DataError: Salesforce refused a field, or several accounts hold the id
                (``salesforce.duplicate_accounts`` naming them).
            TransientError, AmbiguousCommitError, ConfigError: as the port says.
        """
        fields = account_from_customer(customer).to_sobject(self._names)
        known = customer.ref_in(self.system)
        if known is not None and customer.id == f"{UNKEYED_PREFIX}{known.id}":
            body = {**fields, self._names.external_id: customer.id}
            self._client.request(
                "PATCH", self._sobjects(ACCOUNT, known.id), is_write=True, json=body
            )
            return known
        response = self._client.request(
            "PATCH",
            self._sobjects(ACCOUNT, self._names.external_id, customer.id),
            is_write=True,
            passthrough=(MULTIPLE_CHOICES,),
            json=fields,
        )
        if response.status_code == MULTIPLE_CHOICES:
            raise self._duplicates(customer.id, response)
        if response.status_code == 204:  # API <= 45.0 answers an update with no body.
            found = self.find_account(customer.id)
            if found is None:
                raise TransientError("The updated Salesforce account is not readable yet.")
            return found
        return self._ref(SaveResult.model_validate(response.json()).id)

    def find_account(self, customer_id: str) -> ExternalRef | None:
        """The account holding ``customer_id`` in the external-id field, read by that field.

        Raises:
            DataError: ``salesforce.duplicate_accounts`` when several accounts hold it.
        """
        response = self._client.request(
            "GET",
            self._sobjects(ACCOUNT, self._names.external_id, customer_id),
            is_write=False,
            passthrough=(MULTIPLE_CHOICES, 404),
            params={"fields": "Id"},
        )
        if response.status_code == 404:
            return None
        if response.status_code == MULTIPLE_CHOICES:
            raise self._duplicates(customer_id, response)
        return self._ref(str(response.json()["Id"]))

    def list_accounts(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Accounts that carry a canonical id, ordered by record id, in query batches.

        Salesforce honours batch sizes from 200 to 2000, so a page may hold more than ``limit``.
        """
        if cursor is None:
            field = self._names.external_id
            soql = f"SELECT Id FROM Account WHERE {field} != null ORDER BY Id"
            page = self._client.query(soql, batch_size=limit)
        else:
            page = self._client.query_more(cursor)
        refs = tuple(self._ref(str(record["Id"])) for record in page.records)
        return Page(items=refs, next_cursor=page.next_records_url)

    def _account(self, record_id: str) -> AccountRecord:
        raw = self._client.get_json(self._sobjects(ACCOUNT, record_id))
        return AccountRecord.from_sobject(raw, self._names)

    def fetch_customer(self, ref: ExternalRef) -> Customer:
        """The canonical customer an account stands for (reconciliation reads this way).

        Raises:
            DataError: The account is unknown or cannot be mapped (the field is named).
        """
        return customer_from_account(self._account(ref.id), system=self.system)

    def fetch_opportunity(self, ref: ExternalRef) -> WonOpportunity:
        """Read a closed-won opportunity and its account.

        Raises:
            DataError: Unknown, not won, without an account, or unmappable (field named).
        """
        raw = self._client.get_json(self._sobjects(OPPORTUNITY, ref.id))
        opportunity = OpportunityRecord.from_sobject(raw, self._names)
        if not opportunity.account_id:
            raise DataError(
                f"Salesforce opportunity {opportunity.id} has no account.",
                code="salesforce.opportunity_unmappable",
                remediation="Set the opportunity's Account in Salesforce, then retry.",
                detail={"opportunity_id": opportunity.id, "field": "AccountId"},
            )
        return won_opportunity_from(
            opportunity,
            self._account(opportunity.account_id),
            system=self.system,
            default_currency=self._settings.default_currency,
        )

    def check(self) -> SystemHealth:
        """Authenticate, read ``/limits`` and report the daily API allowance; never raises."""
        started = time.perf_counter()
        version = f"v{self._settings.api_version}"
        try:
            limits = self._client.limits()
        except ContractSyncError as error:
            usage = self._client.api_usage
            seen = f" (api-usage {usage[0]}/{usage[1]})" if usage else ""
            return SystemHealth(
                system=self.system, ok=False, version=version, detail=f"{error.message}{seen}"
            )
        elapsed = (time.perf_counter() - started) * 1000
        daily = limits.get("DailyApiRequests", {})
        maximum, remaining = int(daily.get("Max", 0)), int(daily.get("Remaining", 0))
        return SystemHealth(
            system=self.system,
            ok=remaining > 0,
            latency_ms=round(elapsed, 1),
            version=version,
            detail=f"API requests today: {maximum - remaining}/{maximum} used, {remaining} left",
        )


__all__ = ["SalesforceCustomerDirectory"]
