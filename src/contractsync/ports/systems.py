"""The external systems the hub keeps in step, as ports named by role (never by vendor).

Every method that writes is idempotent on a business key the caller passes (a canonical id,
a milestone id, an invoice key): calling it twice has one effect and returns the same ref.
``close_project`` is keyed like ``upsert_project``: closing a closed project is a no-op that
returns the same ref, and closing a project the system does not hold raises ``DataError``
(never creates one).
Every adapter raises only the contractsync error tree, translated once at its edge:

- ``TransientError``: try again later (429, 5xx, timeouts); ``retry_after`` when told.
- ``AmbiguousCommitError``: a write may have landed; call the matching ``find_*`` before any
  retry (the engine does this through ``adapters.http.resolve_ambiguous``).
- ``DataError``: the record cannot be mapped or the system refused its content.
- ``RejectedError``: the system refused for a business reason (a closed period ...).
- ``ConflictError``: the record changed since it was read; re-read and re-plan.
- ``ConfigError``: credentials or settings are wrong.

``check()`` never raises for a reachable-but-unhealthy system: it reports.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import Field

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingSchedule
from contractsync.domain.snapshot import FinancialSnapshot

T = TypeVar("T")


class SystemHealth(ValueObject):
    """What ``check()`` found: reachable, authenticated, and the version it runs."""

    system: str
    ok: bool
    latency_ms: float | None = None
    version: str | None = None
    detail: str = ""


class Page(ValueObject, Generic[T]):
    """One page of a listing; ``next_cursor`` is None on the last page."""

    items: tuple[T, ...]
    next_cursor: str | None = None


class SourcedContract(ValueObject):
    """A contract version as the CLM holds it, with the counterparty it names."""

    contract: Contract
    customer: Customer
    approved_at: datetime | None = None


class WonOpportunity(ValueObject):
    """A CRM opportunity closed-won: the customer to stage and the contract it leads to."""

    ref: ExternalRef
    customer: Customer
    contract_id: str | None = Field(default=None, description="Set once the CLM contract exists.")
    expected_value: Money | None = None
    closed_on: date


class TrackerEvent(ValueObject):
    """One fact from the PSA feed (delivered at least once, possibly out of order)."""

    event_id: str
    kind: Literal["milestone.completed", "milestone.reopened", "time.logged", "project.updated"]
    project_ref: ExternalRef
    contract_id: str | None = None
    milestone_id: str | None = None
    occurred_at: datetime
    data: dict[str, str] = Field(default_factory=dict)


class PlannedMilestone(ValueObject):
    """One billing milestone as the PSA plans it (a milestone task or story).

    ``amount`` is None when the PSA does not hold milestone amounts; ``status`` is the PSA's
    own view of delivery (the PSA is the system of record for completion).
    """

    id: str = Field(min_length=1, description="The canonical milestone id the PSA links to.")
    name: str
    due_date: date | None = None
    amount: Money | None = None
    status: Literal["open", "completed"] = "open"


class ProjectPlan(ValueObject):
    """The PSA's plan of one delivery project: its dates and milestones, for reconciliation."""

    project: ExternalRef
    project_id: str = Field(min_length=1, description="The canonical project id.")
    contract_id: str | None = Field(default=None, description="The contract it delivers.")
    name: str
    start: date | None = None
    end: date | None = None
    milestones: tuple[PlannedMilestone, ...] = ()
    closed: bool = Field(
        default=False, description="True once the PSA closed the project (close_project)."
    )

    def milestone(self, milestone_id: str) -> PlannedMilestone | None:
        """Return the planned milestone with ``milestone_id``, if the plan has it."""
        return next((m for m in self.milestones if m.id == milestone_id), None)


class ContractSource(Protocol):
    """The CLM (or the e-signature service): where approved contract terms come from."""

    system: str

    def fetch_contract(self, ref: ExternalRef) -> SourcedContract:
        """Read one contract (workflow, envelope) and map it to the canonical model.

        Raises:
            DataError: a required attribute is missing or cannot be mapped (names the field).
        """
        ...

    def list_contracts(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Every contract the source holds, for reconciliation; pages until exhausted.

        One ref per record the source keeps (an Ironclad workflow): a contract amended by
        change orders is listed once per change order, each at its own version, so callers
        group the fetched contracts by id (reconciliation compares the latest decided one).
        """
        ...

    def check(self) -> SystemHealth:
        """Report reachability, authentication and version."""
        ...


class SignatureRequest(ValueObject):
    """A contract sent for e-signature: which contract, where it stands, when it was signed."""

    ref: ExternalRef
    contract_id: str = Field(description="The canonical contract the signed document carries.")
    status: Literal["sent", "delivered", "completed", "declined", "voided"]
    completed_at: datetime | None = Field(default=None, description="Set once fully signed.")


class SignatureSource(Protocol):
    """The e-signature service: which contract a signing request carries and whether it is signed.

    It holds no contract terms (those come from the ``ContractSource``): a completed signature
    is a signal to fetch the contract and start its approval flow.
    """

    system: str

    def fetch_signature(self, ref: ExternalRef) -> SignatureRequest:
        """Read one signing request (an envelope) and the contract id it links to.

        Raises:
            DataError: the request is unknown, or carries no contract id (names the field).
        """
        ...

    def list_signatures(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Signing requests in the configured statuses and window, for reconciliation."""
        ...

    def check(self) -> SystemHealth:
        """Report reachability, authentication and remaining API allowance."""
        ...


class CustomerDirectory(Protocol):
    """The CRM: accounts and opportunities (system of record for both)."""

    system: str

    def upsert_account(self, customer: Customer) -> ExternalRef:
        """Create or update the account keyed by the canonical customer id (idempotent).

        Raises:
            DataError: the CRM refused the content, or several accounts hold the id.
        """
        ...

    def find_account(self, customer_id: str) -> ExternalRef | None:
        """The account for a canonical customer id, if it exists.

        Raises:
            DataError: more than one account holds the id (names them); a human merges them.
        """
        ...

    def list_accounts(self, *, cursor: str | None, limit: int) -> Page[ExternalRef]:
        """Every account keyed by a canonical customer id, for reconciliation.

        ``limit`` is a hint: a system may page in larger fixed batches. Pages until
        ``next_cursor`` is None; a cursor is opaque and may expire (then start again).
        """
        ...

    def fetch_opportunity(self, ref: ExternalRef) -> WonOpportunity:
        """Read a closed-won opportunity; DataError if it is not closed-won."""
        ...

    def check(self) -> SystemHealth:
        """Report reachability, authentication and remaining API allowance."""
        ...


class ProjectTracker(Protocol):
    """The PSA: delivery projects, milestones and time (system of record for completion)."""

    system: str

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Create or update the project and one milestone per billing milestone (idempotent).

        An upsert never reopens a closed project: closing is ``close_project``'s alone.
        """
        ...

    def close_project(self, project: Project) -> ExternalRef:
        """Close (archive) the PSA project of ``project.id``; return its ref (idempotent).

        Called when the contract is terminated. Closing a closed project changes nothing
        and returns the same ref; ``project_plan`` then reports ``closed``. Milestones and
        logged time are kept as they are.

        Raises:
            DataError: the PSA holds no project for ``project.id`` (none is created).
        """
        ...

    def find_project(self, project_id: str) -> ExternalRef | None:
        """The PSA project for a canonical project id, if it exists."""
        ...

    def poll_events(self, *, cursor: str | None, limit: int) -> Page[TrackerEvent]:
        """Events after ``cursor``; the caller persists ``next_cursor`` only after processing."""
        ...

    def project_plan(self, project_id: str) -> ProjectPlan | None:
        """The project's plan as the PSA holds it now, or None if there is no such project.

        Only milestones the hub linked to a canonical milestone id are listed; dates and
        names are the PSA's current values (hand edits included), so reconciliation can
        compare them with the contract. A closed project is still read (``closed`` set).
        """
        ...

    def check(self) -> SystemHealth:
        """Report reachability and authentication."""
        ...


class FinancialSystem(Protocol):
    """The ERP: customers, projects, contracts with billing schedules, invoices, revenue."""

    system: str

    def upsert_customer(self, customer: Customer, *, legal_entity: LegalEntity) -> ExternalRef:
        """Create or update the customer (party) for a legal entity's company (idempotent)."""
        ...

    def upsert_project(self, project: Project, contract: Contract) -> ExternalRef:
        """Create or update the project with one task per billing milestone (idempotent).

        An upsert never reopens a closed project: closing is ``close_project``'s alone.
        """
        ...

    def close_project(self, project: Project) -> ExternalRef:
        """Close the ERP project ``upsert_project`` made for ``project``; return its ref.

        Called when the contract is terminated. Idempotent: closing a closed project changes
        nothing and returns the same ref; ``snapshot`` then reports ``project_closed``.
        Tasks, prices and invoices are kept as they are (nothing is invoiced by closing).

        Raises:
            DataError: the ERP holds no project for ``project`` (none is created).
        """
        ...

    def push_contract(self, contract: Contract, schedule: BillingSchedule) -> ExternalRef:
        """Create or update the contract (sales order) and its billing schedule (idempotent)."""
        ...

    def create_invoice(self, contract_id: str, *, invoice_key: str, amount: Money) -> ExternalRef:
        """Invoice once per ``invoice_key`` (a milestone id or a billing period key).

        Raises:
            RejectedError: the period is closed or the contract does not allow invoicing yet.
        """
        ...

    def find_invoice(self, contract_id: str, *, invoice_key: str) -> ExternalRef | None:
        """The invoice already created for ``invoice_key``, if any (resolves ambiguous commits)."""
        ...

    def snapshot(self, contract_id: str) -> FinancialSnapshot:
        """The ERP's current state of a contract, mapped back to canonical terms.

        ``project_closed`` says whether the contract's project was closed (``close_project``).
        """
        ...

    def check(self) -> SystemHealth:
        """Report reachability, authentication, company and version."""
        ...


__all__ = [
    "ContractSource",
    "CustomerDirectory",
    "FinancialSystem",
    "Page",
    "PlannedMilestone",
    "ProjectPlan",
    "ProjectTracker",
    "SignatureRequest",
    "SignatureSource",
    "SourcedContract",
    "SystemHealth",
    "TrackerEvent",
    "WonOpportunity",
]
