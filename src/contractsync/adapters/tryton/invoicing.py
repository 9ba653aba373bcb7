"""A contract's Tryton invoices, once per invoice key: milestone tasks, or one line per period."""

from __future__ import annotations

import threading
from typing import Any

from contractsync.adapters.tryton.client import TrytonClient
from contractsync.adapters.tryton.contract_projects import ContractProjects
from contractsync.adapters.tryton.mapping import invoice_reference, record_key
from contractsync.adapters.tryton.payloads import ProductSpec, WorkRow
from contractsync.adapters.tryton.resilience import SafeCalls
from contractsync.domain.money import Money
from contractsync.errors import ConflictError, DataError, RejectedError

_WORK = "project.work"
_INVOICE = "account.invoice"


class ContractInvoices:
    """Creates and finds the invoices of contracts, keyed by ``account.invoice.reference``.

    A key naming a milestone of the contract is billed the Tryton way: its task is set to
    progress 1 and the project's *invoice* button bills it at the task's fixed price; the
    task's invoice line then proves it was billed even before the reference is written.
    Any other key (a T&M month, a retainer or subscription period) becomes a draft invoice
    of one line with the hub's amount, created with its reference in one transaction.

    Args:
        client: The Tryton client.
        calls: Retry and ambiguity handling for every call.
        projects: The contracts' projects.
        billing_product: The product period invoices are billed with.
    """

    def __init__(
        self,
        client: TrytonClient,
        calls: SafeCalls,
        projects: ContractProjects,
        *,
        billing_product: ProductSpec,
    ) -> None:
        self.client = client
        self.calls = calls
        self.projects = projects
        self.billing_product = billing_product
        # Tryton's invoice button bills every finished task of the project: milestones of
        # one project are invoiced one at a time in this process, so each gets its own.
        self._project_locks: dict[int, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _project_lock(self, project: int) -> threading.Lock:
        with self._locks_guard:
            return self._project_locks.setdefault(project, threading.Lock())

    def _by_reference(self, reference: str) -> int | None:
        domain = [("reference", "=", reference), ("type", "=", "out")]
        ids = self.calls.read(lambda: self.client.search(_INVOICE, domain, limit=2))
        if len(ids) > 1:
            raise DataError(
                f"Two Tryton invoices carry the reference {reference}.",
                code="tryton.duplicate_key",
                detail={"ids": ids},
            )
        return ids[0] if ids else None

    def _invoice_of(self, task: int) -> int | None:
        row = self.calls.read(lambda: self.client.read(_WORK, [task], ["invoice_line.invoice"])[0])
        line = row.get("invoice_line.")
        return int(line["invoice"]) if line and line.get("invoice") else None

    def _look_up(
        self, contract_id: str, invoice_key: str
    ) -> tuple[int | None, WorkRow | None, WorkRow | None]:
        """Return the invoice if there is one, and the project and milestone task if read."""
        found = self._by_reference(invoice_reference(contract_id, invoice_key))
        if found is not None:
            return found, None, None
        project = self.projects.find(contract_id)
        if project is None:
            return None, None, None
        task = self.projects.child(project.id, record_key("task", invoice_key))
        invoiced = task is not None and task.is_invoiced
        return (self._invoice_of(task.id) if task and invoiced else None), project, task

    def find(self, contract_id: str, invoice_key: str) -> int | None:
        """Return the invoice of ``invoice_key``: by its reference, else by its milestone task.

        The task fallback also finds a milestone invoiced by hand in Tryton, or billed in
        one invoice with another milestone, so it is never billed twice.
        """
        return self._look_up(contract_id, invoice_key)[0]

    def create(self, contract_id: str, invoice_key: str, amount: Money) -> int:
        """Return the invoice of ``invoice_key``, creating it when there is none.

        Raises:
            DataError: the contract has no project, or the amount is not positive or not in
                the company's currency.
            ConflictError: the milestone's price in Tryton is not ``amount`` (edited by hand).
            RejectedError: Tryton refused to invoice (closed period, missing accounts ...).
        """
        found, project, task = self._look_up(contract_id, invoice_key)
        if found is not None:
            return found
        if project is None:
            raise DataError(
                f"Tryton has no project for contract {contract_id}.",
                code="tryton.unknown_project",
                remediation="Push the contract to the ERP first.",
            )
        company = self.projects.company()
        if amount.currency != company.currency_code or amount.amount <= 0:
            raise DataError(
                f"Cannot invoice {amount} in a company that books in {company.currency_code}.",
                code="tryton.bad_invoice_amount",
            )
        reference = invoice_reference(contract_id, invoice_key)
        if task is None:
            return self._invoice_period(project, reference, amount)
        invoice = self._invoice_milestone(project, task, amount)
        self._stamp(invoice, reference)
        return invoice

    def _invoice_milestone(self, project: WorkRow, task: WorkRow, amount: Money) -> int:
        if task.list_price is None or task.list_price != amount.amount:
            raise ConflictError(
                f"Milestone {task.name!r} is priced {task.list_price} in Tryton, not {amount}.",
                code="tryton.milestone_price_changed",
                remediation="Re-read the ERP snapshot and re-plan the invoice.",
                detail={"task": task.id},
            )

        def is_done() -> bool | None:
            row = self.client.read(_WORK, [task.id], ["progress"])[0]
            return True if row["progress"] == 1 else None

        def mark_done() -> bool:
            self.client.write(_WORK, [task.id], {"progress": 1.0})
            return True

        def is_invoiced() -> bool | None:
            return True if self._invoice_of(task.id) is not None else None

        def press_invoice() -> bool:
            # One RPC only: a transient error then means Tryton billed nothing.
            try:
                self.client.execute(_WORK, "invoice", [project.id])
            except RejectedError:
                # Another worker pressed the button after this task was done: Tryton
                # billed it with that milestone and now has nothing left to invoice.
                if self._invoice_of(task.id) is None:
                    raise
            return True

        with self._project_lock(project.id):
            self.calls.write(mark_done, is_done)
            self.calls.write(press_invoice, is_invoiced)
        invoice = self._invoice_of(task.id)
        if invoice is None:
            raise RejectedError(
                f"Tryton did not invoice milestone {task.name!r}.",
                code="tryton.not_invoiced",
                detail={"task": task.id, "project": project.id},
            )
        return invoice

    def _stamp(self, invoice: int, reference: str) -> None:
        row = self.calls.read(lambda: self.client.read(_INVOICE, [invoice], ["reference"])[0])
        if row["reference"]:
            return  # another milestone's key, or a reference typed in Tryton: keep it

        def write() -> int:
            self.client.write(_INVOICE, [invoice], {"reference": reference})
            return invoice

        self.calls.write(write, lambda: self._by_reference(reference))

    def _invoice_period(self, project: WorkRow, reference: str, amount: Money) -> int:
        values = self._period_values(project, reference, amount)
        return self.calls.write(
            lambda: self.client.create(_INVOICE, [values])[0],
            lambda: self._by_reference(reference),
        )

    def _period_values(self, project: WorkRow, reference: str, amount: Money) -> dict[str, Any]:
        # RPC creates skip on_change, so every default Tryton's form would fill is read here.
        company, party = self.projects.company(), project.party_id
        if party is None:
            raise DataError(
                f"Tryton project {project.name!r} has no party.", code="tryton.no_party"
            )
        read = self.client.read
        product = self.projects.ensure_products([self.billing_product])[self.billing_product.code]
        party_row = self.calls.read(
            lambda: read("party.party", [party], ["account_receivable", "customer_payment_term"])[0]
        )
        defaults = self.calls.read(
            lambda: read(
                "account.configuration",
                [1],
                ["default_account_receivable", "default_customer_payment_term"],
            )[0]
        )
        addresses = self.calls.read(
            lambda: self.client.search_read("party.address", [("party", "=", party)], ["invoice"])
        )
        journals = self.calls.read(
            lambda: self.client.search("account.journal", [("type", "=", "revenue")], limit=1)
        )
        product_row = self.calls.read(
            lambda: read(
                "product.product", [product], ["default_uom", "account_category.account_revenue"]
            )[0]
        )
        if not addresses or not journals:
            raise RejectedError(
                "Tryton needs an address on the party and a revenue journal to invoice.",
                code="tryton.cannot_invoice",
            )
        address = next((a for a in addresses if a["invoice"]), addresses[0])
        category = product_row.get("account_category.") or {}
        line = {
            "type": "line",
            "company": company.id,
            "currency": company.currency_id,
            "product": product,
            "unit": product_row["default_uom"],
            "quantity": 1.0,
            "unit_price": amount.amount,
            "account": category.get("account_revenue"),
            "description": f"{project.name}: {reference.rsplit('/', 1)[-1]}",
        }
        return {
            "type": "out",
            "company": company.id,
            "currency": company.currency_id,
            "party": party,
            "invoice_address": address["id"],
            "journal": journals[0],
            "account": party_row["account_receivable"] or defaults["default_account_receivable"],
            "payment_term": party_row["customer_payment_term"]
            or defaults["default_customer_payment_term"],
            "description": project.name,
            "reference": reference,
            "lines": [["create", [line]]],
        }
