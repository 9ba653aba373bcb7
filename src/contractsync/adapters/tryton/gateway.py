"""``TrytonFinancialSystem``: the FinancialSystem port over a real Tryton 8.2 ERP."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.closing import ProjectClosing
from contractsync.adapters.tryton.config import TrytonSettings
from contractsync.adapters.tryton.contract_projects import ContractProjects
from contractsync.adapters.tryton.invoicing import ContractInvoices
from contractsync.adapters.tryton.mapping import (
    closed_through,
    company_domain,
    contract_from_works,
    invoiced_milestone_ids,
    party_changes,
    party_values,
)
from contractsync.adapters.tryton.payloads import PARTY_FIELDS, PartyRow, ProductSpec
from contractsync.adapters.tryton.records import TrytonRecords
from contractsync.adapters.tryton.resilience import SafeCalls
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingSchedule
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.systems import SystemHealth

_PARTY = "party.party"
_ANY_ACTIVE: list[Any] = ["OR", ("active", "=", True), ("active", "=", False)]


class TrytonFinancialSystem:
    """The ERP role played by one company of one Tryton database.

    Customers are parties (code = canonical customer id), a contract is a project (its id
    in the project's comment) with one task per billing milestone, invoices carry their
    key in ``reference``; a closed project is in the ``closed_status`` work status. Every
    method is idempotent: it looks up by those keys before it writes, so a second call
    creates nothing and returns the same ref. Transient errors are
    retried with backoff; a write whose reply was lost is settled by a lookup before any
    second write. One gateway per database and company, and one writer at a time (ADR 0002).

    Args:
        client: A Tryton client for the database (it logs in lazily).
        config: The same settings (system name, retries, billing product).
        sleep: Waits between retries; inject a no-op or a recorder in tests.
    """

    def __init__(
        self,
        client: TrytonClient,
        config: TrytonSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.config = config
        self.system = config.system
        self.calls = SafeCalls(config.retry_policy, sleep)
        self.projects = ContractProjects(client, self.calls)
        self.closing = ProjectClosing(client, self.calls, config.closed_status)
        billing = ProductSpec(config.billing_product_code, "Contract billing", "u")
        self.invoices = ContractInvoices(client, self.calls, self.projects, billing_product=billing)
        self._records = TrytonRecords(client)
        self._companies: dict[str, int] = {}

    def _ref(self, kind: str, record: int) -> ExternalRef:
        return ExternalRef(system=self.system, kind=kind, id=str(record))

    # -- customers ---------------------------------------------------------------------

    def _party(self, code: str) -> PartyRow | None:
        domain = [("code", "=", code), _ANY_ACTIVE]
        rows = self.calls.read(
            lambda: self.client.search_read(_PARTY, domain, PARTY_FIELDS, limit=2)
        )
        if len(rows) > 1:  # party.code is unique in Tryton; this guards a broken database
            raise DataError(f"Two Tryton parties have code {code}.", code="tryton.duplicate_key")
        return PartyRow.from_read(rows[0]) if rows else None

    def _party_id(self, code: str) -> int | None:
        found = self._party(code)
        return found.id if found else None

    def _check_company(self, entity: LegalEntity) -> None:
        if entity.code not in self._companies:
            domain = company_domain(entity)
            ids = self.calls.read(lambda: self.client.search("company.company", domain, limit=2))
            if len(ids) != 1:
                raise DataError(
                    f"Tryton has no single company for legal entity {entity.code} "
                    f"(erp_company {entity.erp_company!r}).",
                    code="tryton.unknown_company",
                    remediation="Set erp_company to the code of the company's party in Tryton.",
                )
            self._companies[entity.code] = ids[0]
        if self._companies[entity.code] != self.projects.company().id:
            raise DataError(
                f"Legal entity {entity.code} books in another Tryton company than this gateway.",
                code="tryton.other_company",
                remediation="Configure one Tryton gateway per company (company_id).",
            )

    def upsert_customer(self, customer: Customer, *, legal_entity: LegalEntity) -> ExternalRef:
        """Create or update the customer's party; return ``tryton:party:<id>``.

        A new party gets the customer's tax identifiers and an invoice address in its
        billing country; an existing one is renamed and gains missing identifiers.

        Raises:
            DataError: the legal entity is not this gateway's company, or Tryton refused a
                value (an invalid tax number).
        """
        self._check_company(legal_entity)
        wanted = party_values(customer)
        party = self._party(customer.id)
        if party is None:
            country = self.calls.write(
                lambda: self._records.ensure_country(customer.billing_country),
                lambda: self._country_id(customer.billing_country),
            )
            values = wanted.create_values(country)
            created = self.calls.write(
                lambda: self.client.create(_PARTY, [values])[0], lambda: self._party_id(customer.id)
            )
            return self._ref("party", created)
        changes = party_changes(wanted, party)
        if changes:

            def write() -> int:
                self.client.write(_PARTY, [party.id], changes)
                return party.id

            def lookup() -> int | None:
                fresh = self._party(customer.id)
                return fresh.id if fresh and not party_changes(wanted, fresh) else None

            self.calls.write(write, lookup)
        return self._ref("party", party.id)

    def _country_id(self, code: str) -> int | None:
        found = self.client.search("country.country", [("code", "=", code.upper())], limit=1)
        return found[0] if found else None

    # -- projects and contracts --------------------------------------------------------

    def _customer_party(self, customer_id: str) -> int:
        party = self._party_id(customer_id)
        if party is None:
            raise DataError(
                f"Tryton has no party for customer {customer_id}.",
                code="tryton.unknown_customer",
                remediation="Upsert the customer to the ERP first, then retry.",
            )
        return party

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Create or update the contract's project and its tasks; return ``tryton:project:<id>``.

        The project is keyed by the contract id and named after ``project``; the contract
        as pushed is stored on it so that ``snapshot`` can map the ERP's state back.

        Raises:
            DataError: the project is not the contract's, the customer is not in Tryton yet,
                or the contract's currency is not the company's.
            ConflictError: a work was edited in Tryton during the update.
        """
        if project.contract_id != contract.id:
            raise DataError(
                f"Project {project.id} delivers contract {project.contract_id}, not {contract.id}.",
                code="tryton.project_contract_mismatch",
            )
        party = self._customer_party(contract.customer_id)
        return self._ref("project", self.projects.ensure(contract, party=party, name=project.name))

    def close_project(self, project: Project) -> ExternalRef:
        """Put the contract's project in the closing work status; return ``tryton:project:<id>``.

        Nothing is written when it is closed already (or done). Tasks stay as they are, so
        closing invoices nothing (see ``ProjectClosing``).

        Raises:
            DataError: ``tryton.unknown_project`` when Tryton holds no project of
                ``project.contract_id``.
            ConfigError: the closing status is missing and the hub may not create it.
        """
        found = self.projects.find(project.contract_id)
        if found is None:
            raise DataError(
                f"Tryton holds no project of contract {project.contract_id}.",
                code="tryton.unknown_project",
                remediation="Push the contract to the ERP first, or close it there by hand.",
            )
        self.closing.close(found)
        return self._ref("project", found.id)

    def push_contract(self, contract: Contract, schedule: BillingSchedule) -> ExternalRef:
        """Create or update the contract's project from its terms; return its project ref.

        Tryton has no sales-order-with-schedule for services: the contract lives in its
        project (milestone tasks at their fixed prices, T&M sub-projects at role rates,
        the term in the project's timesheet dates). The schedule's dates stay with the hub,
        which calls ``create_invoice`` on them, so the schedule is only checked here.

        Raises:
            DataError: the schedule is not for this contract version, or as ``upsert_project``.
        """
        if (schedule.contract_id, schedule.contract_version) != (contract.id, contract.version):
            raise DataError(
                f"The billing schedule is for {schedule.contract_id} v{schedule.contract_version}, "
                f"not {contract.id} v{contract.version}.",
                code="tryton.schedule_mismatch",
            )
        party = self._customer_party(contract.customer_id)
        return self._ref("project", self.projects.ensure(contract, party=party))

    # -- invoices ----------------------------------------------------------------------

    def create_invoice(self, contract_id: str, *, invoice_key: str, amount: Money) -> ExternalRef:
        """Invoice once per ``invoice_key``; return ``tryton:invoice:<id>`` (a draft invoice).

        Raises:
            DataError: the contract is not in Tryton, or the amount cannot be billed.
            ConflictError: the milestone's price was edited in Tryton.
            RejectedError: Tryton refused to invoice.
        """
        invoice = self.invoices.create(contract_id, invoice_key, amount)
        return self._ref("invoice", invoice)

    def find_invoice(self, contract_id: str, *, invoice_key: str) -> ExternalRef | None:
        """Return the invoice already made for ``invoice_key``, if any."""
        invoice = self.invoices.find(contract_id, invoice_key)
        return self._ref("invoice", invoice) if invoice is not None else None

    # -- reading back ------------------------------------------------------------------

    def snapshot(self, contract_id: str) -> FinancialSnapshot:
        """Return the contract as Tryton holds it, its invoiced milestones and closed periods.

        ``project_closed`` is True once the project is in the closing status (or done).

        Raises:
            DataError: Tryton has no project for the contract, or the hub's stored copy of it
                is gone, or its hand-edited values no longer make a valid contract.
        """
        project = self.projects.find(contract_id)
        basis = self.projects.basis(project.id) if project else None
        if project is None or basis is None:
            raise DataError(
                f"Tryton holds no contract {contract_id} pushed by the hub.",
                code="tryton.unknown_project",
                remediation="Push the contract to the ERP, then retry.",
            )
        works = self.projects.works(project.id)
        company = self.projects.company().id
        domain = [("company", "=", company), ("state", "=", "closed")]
        periods = self.calls.read(
            lambda: self.client.search_read("account.period", domain, ["end_date", "state"])
        )
        return FinancialSnapshot(
            contract=contract_from_works(basis, project, works),
            invoiced_milestone_ids=invoiced_milestone_ids(works),
            closed_through=closed_through(periods),
            project_closed=self.closing.is_closed(project),
        )

    def check(self) -> SystemHealth:
        """Report the server version, the database and the company; never raises.

        One attempt, no retries: a health check reports what it sees now.
        """
        started = time.perf_counter()
        try:
            found = self.client.check()
        except ContractSyncError as error:
            return SystemHealth(system=self.system, ok=False, detail=error.message)
        return SystemHealth(
            system=self.system,
            ok=True,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            version=found.server_version,
            detail=(
                f"database {found.database}, company {found.company_name} "
                f"(id {found.company_id}, {found.currency})"
            ),
        )
