"""In-memory fakes of the system ports (CLM, ERP, PSA, CRM) that tests can edit by hand."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

from contractsync.domain.contract import Contract
from contractsync.domain.contract_line import FixedFee
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import BillingMilestone
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingSchedule
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.errors import ContractSyncError, DataError
from contractsync.ports.systems import (
    Page,
    PlannedMilestone,
    ProjectPlan,
    SourcedContract,
    SystemHealth,
    TrackerEvent,
    WonOpportunity,
)

NOT_FOUND = "remote.not_found"
"""The code every fake raises for a record it does not hold (as the HTTP adapters do)."""


def _page(items: list[str], cursor: str | None, limit: int) -> Page[str]:
    start = int(cursor or 0)
    end = start + max(1, limit)
    return Page(items=tuple(items[start:end]), next_cursor=str(end) if end < len(items) else None)


class FakeContractSource:
    """The CLM role in memory: ``contracts`` by workflow id; ``broken`` ids fail to fetch.

    One contract id may be held by several workflows (change orders, each at its version),
    as in a CLM: ``add`` it again under another ``workflow_id``.
    """

    def __init__(self, contracts: Iterable[SourcedContract] = (), system: str = "clm") -> None:
        self.system = system
        self.contracts: dict[str, SourcedContract] = {}
        self.broken: dict[str, ContractSyncError] = {}
        for sourced in contracts:
            self.add(sourced)

    def add(self, sourced: SourcedContract, *, workflow_id: str | None = None) -> ExternalRef:
        """Hold ``sourced`` under ``workflow_id`` (default: ``wf-<contract id>``, replacing it)."""
        workflow = workflow_id or f"wf-{sourced.contract.id}"
        ref = ExternalRef(system=self.system, kind="workflow", id=workflow)
        self.contracts[ref.id] = sourced
        return ref

    def fetch_contract(self, ref: ExternalRef) -> SourcedContract:
        """The contract held under ``ref`` (raises the injected error of a broken one)."""
        if ref.id in self.broken:
            raise self.broken[ref.id]
        if ref.id not in self.contracts:
            raise DataError(f"no workflow {ref.id}", code=NOT_FOUND)
        return self.contracts[ref.id]

    def list_contracts(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Every held workflow, ``limit`` per page (cursor: the next offset)."""
        ids = _page(sorted(self.contracts), cursor, limit)
        refs = tuple(ExternalRef(system=self.system, kind="workflow", id=i) for i in ids.items)
        return Page(items=refs, next_cursor=ids.next_cursor)

    def check(self) -> SystemHealth:
        """Always healthy."""
        return SystemHealth(system=self.system, ok=True)


class FakeFinancialSystem:
    """The ERP role in memory: ``held`` contracts (edit them to simulate hand edits).

    Pushing keeps the price of an invoiced milestone, as an ERP does; ``broken`` contract
    ids fail every read; ``pushes`` counts writes per contract id; ``closed`` holds the
    contract ids whose project was closed.
    """

    def __init__(self, system: str = "erp") -> None:
        self.system = system
        self.held: dict[str, Contract] = {}
        self.invoiced: dict[str, set[str]] = {}
        self.closed_through: date | None = None
        self.broken: dict[str, ContractSyncError] = {}
        self.pushes: dict[str, int] = {}
        self.customers: dict[str, ExternalRef] = {}
        self.closed: set[str] = set()

    def upsert_customer(self, customer: Customer, *, legal_entity: LegalEntity) -> ExternalRef:
        """Hold the customer (idempotent)."""
        ref = ExternalRef(system=self.system, kind="customer", id=customer.id)
        self.customers[customer.id] = ref
        return ref

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Hold the contract (as ``push_contract``)."""
        self._hold(contract)
        return ExternalRef(system=self.system, kind="project", id=project.id)

    def close_project(self, project: Project) -> ExternalRef:
        """Close the project of the held contract (idempotent); unknown: ``NOT_FOUND``."""
        if project.contract_id not in self.held:
            raise DataError(f"no project for contract {project.contract_id}", code=NOT_FOUND)
        self.closed.add(project.contract_id)
        return ExternalRef(system=self.system, kind="project", id=project.id)

    def push_contract(self, contract: Contract, schedule: BillingSchedule) -> ExternalRef:
        """Hold the contract; invoiced milestones keep their held amount."""
        self._hold(contract)
        return ExternalRef(system=self.system, kind="contract", id=contract.id)

    def _hold(self, contract: Contract) -> None:
        old = self.held.get(contract.id)
        done = self.invoiced.get(contract.id, set())
        if old is not None and done:
            kept = {m.id: m for _, m in old.milestones() if m.id in done}
            contract = with_milestones(contract, lambda m: kept.get(m.id, m))
        self.held[contract.id] = contract
        self.pushes[contract.id] = self.pushes.get(contract.id, 0) + 1

    def create_invoice(self, contract_id: str, *, invoice_key: str, amount: Money) -> ExternalRef:
        """Invoice once per key; a milestone id as key marks that milestone invoiced."""
        self.invoiced.setdefault(contract_id, set()).add(invoice_key)
        return ExternalRef(system=self.system, kind="invoice", id=f"{contract_id}/{invoice_key}")

    def find_invoice(self, contract_id: str, *, invoice_key: str) -> ExternalRef | None:
        """The invoice of ``invoice_key``, if made."""
        if invoice_key in self.invoiced.get(contract_id, set()):
            return ExternalRef(
                system=self.system, kind="invoice", id=f"{contract_id}/{invoice_key}"
            )
        return None

    def snapshot(self, contract_id: str) -> FinancialSnapshot:
        """The held contract, its invoiced milestones and the closed periods."""
        if contract_id in self.broken:
            raise self.broken[contract_id]
        if contract_id not in self.held:
            raise DataError(f"no contract {contract_id}", code=NOT_FOUND)
        return FinancialSnapshot(
            contract=self.held[contract_id],
            invoiced_milestone_ids=frozenset(self.invoiced.get(contract_id, set())),
            closed_through=self.closed_through,
            project_closed=contract_id in self.closed,
        )

    def list_contract_ids(self, *, cursor: str | None, limit: int) -> Page[str]:
        """Every held contract id (for orphans)."""
        return _page(sorted(self.held), cursor, limit)

    def check(self) -> SystemHealth:
        """Always healthy."""
        return SystemHealth(system=self.system, ok=True)


class FakeProjectTracker:
    """The PSA role in memory: ``plans`` by project id (edit them to simulate hand edits)."""

    def __init__(self, system: str = "psa") -> None:
        self.system = system
        self.plans: dict[str, ProjectPlan] = {}
        self.broken: dict[str, ContractSyncError] = {}
        self.upserts = 0

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Plan the project on the contract's term with one milestone per billing milestone.

        Like a PSA, completion stays the PSA's and milestones it has beyond the contract
        are kept (an upsert never deletes).
        """
        ref = ExternalRef(system=self.system, kind="workspace", id=project.id)
        old = self.plans.get(project.id)
        status = {m.id: m.status for m in old.milestones} if old else {}
        planned = [
            PlannedMilestone(
                id=m.id, name=m.name, due_date=m.due_date, status=status.get(m.id, "open")
            )
            for _, m in contract.milestones()
        ]
        ids = {m.id for m in planned}
        extra = [m for m in old.milestones if m.id not in ids] if old else []
        self.plans[project.id] = ProjectPlan(
            project=ref,
            project_id=project.id,
            contract_id=contract.id,
            name=project.name,
            start=contract.term.start,
            end=contract.term.end,
            milestones=(*planned, *extra),
            closed=old.closed if old else False,  # an upsert never reopens a project
        )
        self.upserts += 1
        return ref

    def close_project(self, project: Project) -> ExternalRef:
        """Close the planned project (idempotent); an unknown one raises ``NOT_FOUND``."""
        plan = self.plans.get(project.id)
        if plan is None:
            raise DataError(f"no project {project.id}", code=NOT_FOUND)
        self.plans[project.id] = plan.model_copy(update={"closed": True})
        return plan.project

    def find_project(self, project_id: str) -> ExternalRef | None:
        """The project's ref, if planned."""
        plan = self.plans.get(project_id)
        return plan.project if plan else None

    def project_plan(self, project_id: str) -> ProjectPlan | None:
        """The project's plan, if planned."""
        if project_id in self.broken:
            raise self.broken[project_id]
        return self.plans.get(project_id)

    def poll_events(self, *, cursor: str | None, limit: int) -> Page[TrackerEvent]:
        """No events."""
        return Page(items=())

    def list_project_ids(self, *, cursor: str | None, limit: int) -> Page[str]:
        """Every planned project id (for orphans)."""
        return _page(sorted(self.plans), cursor, limit)

    def check(self) -> SystemHealth:
        """Always healthy."""
        return SystemHealth(system=self.system, ok=True)


class FakeCustomerDirectory:
    """The CRM role in memory: ``accounts`` by canonical customer id."""

    def __init__(self, system: str = "crm") -> None:
        self.system = system
        self.accounts: dict[str, ExternalRef] = {}

    def upsert_account(self, customer: Customer) -> ExternalRef:
        """Hold an account for the customer (idempotent)."""
        ref = ExternalRef(system=self.system, kind="Account", id=f"acc-{customer.id}")
        self.accounts[customer.id] = ref
        return ref

    def find_account(self, customer_id: str) -> ExternalRef | None:
        """The customer's account, if held."""
        return self.accounts.get(customer_id)

    def list_accounts(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Every account."""
        ids = _page(sorted(self.accounts), cursor, limit)
        return Page(items=tuple(self.accounts[i] for i in ids.items), next_cursor=ids.next_cursor)

    def fetch_opportunity(self, ref: ExternalRef) -> WonOpportunity:
        """No opportunities are held."""
        raise DataError(f"no opportunity {ref.id}", code=NOT_FOUND)

    def check(self) -> SystemHealth:
        """Always healthy."""
        return SystemHealth(system=self.system, ok=True)


def with_milestones(
    contract: Contract, edit: Callable[[BillingMilestone], BillingMilestone]
) -> Contract:
    """``contract`` with each milestone replaced by ``edit(milestone)``; line amounts follow."""
    lines = []
    for line in contract.lines:
        billing = line.billing
        if isinstance(billing, FixedFee):
            edited = tuple(edit(m) for m in billing.milestones)
            moved = sum(
                e.amount.amount - m.amount.amount
                for e, m in zip(edited, billing.milestones, strict=True)
            )
            amount = Money(amount=billing.amount.amount + moved, currency=billing.amount.currency)
            billing = billing.model_copy(update={"milestones": edited, "amount": amount})
        lines.append(line.model_copy(update={"billing": billing}))
    return Contract.model_validate(
        {**contract.model_dump(), "lines": [line.model_dump() for line in lines]}
    )


__all__ = [
    "NOT_FOUND",
    "FakeContractSource",
    "FakeCustomerDirectory",
    "FakeFinancialSystem",
    "FakeProjectTracker",
    "with_milestones",
]
