"""``NetSuiteFinancialSystem``: the FinancialSystem port over NetSuite records keyed by externalId."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import httpx

from contractsync.adapters.netsuite.client import NetSuiteClient
from contractsync.adapters.netsuite.config import NetSuiteSettings
from contractsync.adapters.netsuite.mapping import (
    CUSTOMER,
    INVOICE,
    JOB,
    ORDER,
    SCHEDULE,
    TASK,
    billing_schedule_body,
    closed_job_body,
    closed_through,
    contract_from_order,
    customer_body,
    customer_from_record,
    external_id,
    invoice_body,
    invoiced_milestone_ids,
    is_closed_job,
    job_body,
    milestone_tasks,
    sales_order_body,
)
from contractsync.adapters.netsuite.payloads import (
    AccountingPeriod,
    BillingScheduleRecord,
    CustomerRecord,
    InvoiceRecord,
    JobRecord,
    SalesOrderRecord,
)
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingSchedule
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.errors import ContractSyncError, DataError, RejectedError
from contractsync.ports.systems import SystemHealth


class NetSuiteFinancialSystem:
    """The ERP role over one NetSuite account.

    Every record the hub writes carries an externalId derived from its canonical key and is
    written with ``PUT /record/v1/{type}/eid:{externalId}``, NetSuite's only upsert: a
    repeated write, or a retry after a lost answer, updates the same record, so the account
    never holds two. One call is one attempt (errors as the port says; the caller retries);
    ``create_invoice`` reads by externalId first and never rewrites an existing invoice.

    Args:
        client: A REST client for the account (it signs in lazily).
        today: The day invoices are dated (injectable for tests).
    """

    def __init__(
        self, client: NetSuiteClient, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        self.client = client
        self.settings = client.settings
        self.system = client.settings.system
        self._names = client.settings.fields
        self._today = today

    @classmethod
    def connect(
        cls, settings: NetSuiteSettings, *, transport: httpx.BaseTransport | None = None
    ) -> NetSuiteFinancialSystem:
        """Build the gateway and its client (nothing is sent until the first call)."""
        return cls(NetSuiteClient(settings, transport=transport))

    def _ref(self, kind: str, record_id: str) -> ExternalRef:
        return ExternalRef(system=self.system, kind=kind, id=record_id)

    def _required(self, record_type: str, key: str, what: str) -> str:
        record = self.client.get(record_type, f"eid:{key}")
        if record is None:
            raise DataError(
                f"NetSuite holds no {what} {key!r} written by the hub.",
                code=f"netsuite.unknown_{record_type.lower()}",
                remediation=f"Sync the {what} to NetSuite first, then retry.",
                detail={"record_type": record_type, "external_id": key},
            )
        return str(record["id"])

    # -- customers and projects ----------------------------------------------------------

    def upsert_customer(self, customer: Customer, *, legal_entity: LegalEntity) -> ExternalRef:
        """Upsert the customer in the legal entity's subsidiary (``erp_company`` = its id).

        Raises:
            DataError: NetSuite refused a field (an unknown subsidiary ...), or the legal
                entity's currency is not configured.
        """
        body = customer_body(
            customer,
            subsidiary_id=legal_entity.erp_company,
            currency_id=self.settings.currency_for(legal_entity.functional_currency),
            names=self._names,
        )
        # Unkeyed sublists append on update: replace the address book, never grow it.
        record_id = self.client.upsert(
            CUSTOMER, external_id(customer.id), body, replace="addressBook"
        )
        return self._ref(CUSTOMER, record_id)

    def find_customer(self, customer_id: str) -> ExternalRef | None:
        """The customer written for ``customer_id``, if any."""
        record = self.client.get(CUSTOMER, f"eid:{external_id(customer_id)}")
        return self._ref(CUSTOMER, str(record["id"])) if record else None

    def fetch_customer(self, customer_id: str) -> Customer | None:
        """The canonical customer NetSuite holds for ``customer_id`` (reconciliation reads it).

        Raises:
            DataError: The record cannot be mapped (the field is named).
        """
        record = self.client.get(CUSTOMER, f"eid:{external_id(customer_id)}")
        if record is None:
            return None
        return customer_from_record(
            CustomerRecord.from_wire(record, self._names), system=self.system
        )

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Upsert the project (job) and one milestone task per billing milestone.

        Raises:
            DataError: The project is not the contract's, or the customer is not in NetSuite.
        """
        if project.contract_id != contract.id:
            raise DataError(
                f"Project {project.id} delivers contract {project.contract_id}, not {contract.id}.",
                code="netsuite.project_contract_mismatch",
            )
        customer = self._required(CUSTOMER, external_id(contract.customer_id), "customer")
        body = job_body(project, contract, customer_id=customer, names=self._names)
        job = self.client.upsert(JOB, external_id(project.id), body)
        for task_eid, task in milestone_tasks(contract, job_id=job, names=self._names):
            self.client.upsert(TASK, task_eid, task)
        return self._ref(JOB, job)

    def find_project(self, project_id: str) -> ExternalRef | None:
        """The project (job) written for ``project_id``, if any."""
        record = self.client.get(JOB, f"eid:{external_id(project_id)}")
        return self._ref(JOB, str(record["id"])) if record else None

    def close_project(self, project: Project) -> ExternalRef:
        """Set the project's (job's) status to ``closed_project_status``; nothing if it has it.

        Raises:
            DataError: ``netsuite.unknown_job`` when NetSuite holds no job for ``project.id``,
                or NetSuite refused the status (an id not in the account's project statuses).
        """
        key = external_id(project.id)
        raw = self.client.get(JOB, f"eid:{key}")
        if raw is None:
            raise DataError(
                f"NetSuite holds no project {project.id!r} written by the hub.",
                code="netsuite.unknown_job",
                remediation="Sync the project to NetSuite first, or close it there by hand.",
                detail={"record_type": JOB, "external_id": key},
            )
        job, closed = JobRecord.from_wire(raw), self.settings.closed_project_status
        if not is_closed_job(job, closed):
            self.client.upsert(JOB, key, closed_job_body(closed))
        return self._ref(JOB, job.id)

    # -- contracts and invoices ----------------------------------------------------------

    def push_contract(self, contract: Contract, schedule: BillingSchedule) -> ExternalRef:
        """Upsert the billing schedule, then the sales order that references it.

        Raises:
            DataError: The schedule is for another contract version, the customer is not in
                NetSuite, or NetSuite refused a field.
        """
        if (schedule.contract_id, schedule.contract_version) != (contract.id, contract.version):
            raise DataError(
                f"The billing schedule is for {schedule.contract_id} v{schedule.contract_version},"
                f" not {contract.id} v{contract.version}.",
                code="netsuite.schedule_mismatch",
            )
        customer = self._required(CUSTOMER, external_id(contract.customer_id), "customer")
        jobs = list(self.client.ids(JOB, f'{self._names.job_contract} IS "{contract.id}"'))
        key = external_id(contract.id)
        schedule_body = billing_schedule_body(contract, schedule, names=self._names)
        schedule_id = self.client.upsert(SCHEDULE, key, schedule_body, replace="milestone")
        body = sales_order_body(
            contract,
            schedule,
            customer_id=customer,
            job_id=jobs[0] if jobs else None,
            schedule_id=schedule_id,
            currency_id=self.settings.currency_for(contract.currency),
            item_for=lambda code: self.settings.service_items.get(
                code, self.settings.default_service_item
            ),
            names=self._names,
        )
        return self._ref(ORDER, self.client.upsert(ORDER, key, body, replace="item"))

    def create_invoice(self, contract_id: str, *, invoice_key: str, amount: Money) -> ExternalRef:
        """Invoice ``amount`` once per ``invoice_key``, created from the contract's sales order.

        Raises:
            DataError: The contract's sales order is not in NetSuite, or NetSuite refused.
            RejectedError: The invoice date falls in a closed accounting period.
        """
        found = self.find_invoice(contract_id, invoice_key=invoice_key)
        if found is not None:
            return found
        order = self.client.get(ORDER, f"eid:{external_id(contract_id)}")
        if order is None:
            raise DataError(
                f"NetSuite holds no sales order for contract {contract_id}.",
                code="netsuite.unknown_salesorder",
                remediation="Push the contract to NetSuite first, then retry.",
            )
        lines = order.get("item", {}).get("items", [])
        body = invoice_body(
            contract_id,
            invoice_key,
            amount,
            order_id=str(order["id"]),
            customer_id=str(order["entity"]["id"]),
            currency_id=self.settings.currency_for(amount.currency),
            item_id=str(lines[0]["item"]["id"]) if lines else self.settings.default_service_item,
            day=self._today(),
            names=self._names,
        )
        try:
            record_id = self.client.upsert(INVOICE, external_id(contract_id, invoice_key), body)
        except DataError as error:
            if error.detail.get("vendor_code") in self.settings.closed_period_codes:
                raise RejectedError(
                    f"NetSuite refused invoice {invoice_key} of {contract_id}: the accounting "
                    f"period of {self._today().isoformat()} is closed.",
                    code="netsuite.period_closed",
                    remediation="Reopen the period in NetSuite or invoice in the next open "
                    "period, then retry.",
                    detail=error.detail,
                ) from error
            raise
        return self._ref(INVOICE, record_id)

    def find_invoice(self, contract_id: str, *, invoice_key: str) -> ExternalRef | None:
        """The invoice already created for ``invoice_key``, if any (read by externalId)."""
        record = self.client.get(INVOICE, f"eid:{external_id(contract_id, invoice_key)}")
        return self._ref(INVOICE, str(record["id"])) if record else None

    # -- reading back --------------------------------------------------------------------

    def snapshot(self, contract_id: str) -> FinancialSnapshot:
        """The contract as NetSuite holds it, its invoiced milestones and closed periods.

        ``project_closed`` is True when the contract's project (job) has the closed status.

        Raises:
            DataError: NetSuite holds no sales order pushed by the hub for the contract, or
                its edited values no longer make a valid contract.
        """
        raw = self.client.get(ORDER, f"eid:{external_id(contract_id)}")
        if raw is None:
            raise DataError(
                f"NetSuite holds no contract {contract_id} pushed by the hub.",
                code="netsuite.unknown_salesorder",
                remediation="Push the contract to NetSuite, then retry.",
            )
        order = SalesOrderRecord.from_wire(raw, self._names)
        schedule = None
        if order.billing_schedule is not None:
            found = self.client.get(SCHEDULE, order.billing_schedule.id)
            schedule = BillingScheduleRecord.from_wire(found, self._names) if found else None
        contract = contract_from_order(order, schedule)
        query = f'{self._names.order_contract} IS "{contract_id}"'
        invoices = []
        for invoice_id in self.client.ids(INVOICE, query):
            found = self.client.get(INVOICE, invoice_id)
            if found is not None:
                invoices.append(InvoiceRecord.from_wire(found, self._names))
        periods = [
            AccountingPeriod.model_validate(self.client.get("accountingPeriod", pid))
            for pid in self.client.ids("accountingPeriod", "closed IS true")
        ]
        jobs = self.client.ids(JOB, f'{self._names.job_contract} IS "{contract_id}"')
        job = next((found for j in jobs if (found := self.client.get(JOB, j))), None)
        closed = self.settings.closed_project_status
        return FinancialSnapshot(
            contract=contract,
            invoiced_milestone_ids=invoiced_milestone_ids(contract, invoices),
            closed_through=closed_through(periods),
            project_closed=job is not None and is_closed_job(JobRecord.from_wire(job), closed),
        )

    def check(self) -> SystemHealth:
        """Sign in and read one customer page; never raises."""
        started = time.perf_counter()
        try:
            self.client.request(
                "GET", self.client.record_path(CUSTOMER), is_write=False, params={"limit": 1}
            )  # one attempt: check() reports, it does not wait
        except ContractSyncError as error:
            return SystemHealth(system=self.system, ok=False, detail=error.message)
        return SystemHealth(
            system=self.system,
            ok=True,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            version="record/v1",
            detail=f"account {self.settings.account_id}",
        )


__all__ = ["NetSuiteFinancialSystem"]
