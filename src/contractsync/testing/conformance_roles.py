"""The conformance suite's view of each role: harness protocols and the drivers of the ports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from contractsync.domain.contract import Contract
from contractsync.domain.customer import Customer
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project
from contractsync.ports.systems import Page, ProjectPlan

Fault = Literal["server_error", "rate_limit", "validation_error", "timeout", "lost_response"]
Role = Literal[
    "customer_directory",
    "financial_system",
    "project_tracker",
    "contract_source",
    "signature_source",
]


class Harness(Protocol):
    """How the suite drives one adapter; role harnesses below add the role's fixtures.

    Attributes:
        system: The system name the adapter reports (``check().system``, refs).
        role: Which port the adapter implements.
        expected_retry_after: The least wait (seconds) the adapter must ask for after a
            throttle, or None when the vendor gives no hint.
        page_size: The page ``limit`` the paging check asks for; the harness makes the
            system page at that size (a simulator operator knob).

    Optional attributes: ``settles_faults`` (True when the adapter retries 5xx and settles
    lost writes itself) and ``not_applicable`` (check name -> why the vendor has no
    equivalent, e.g. no throttle at all); ``conformance.applies`` reads both.
    """

    system: str
    role: Role
    expected_retry_after: float | None
    page_size: int

    def build(self, *, credentials: Literal["valid", "invalid"] = "valid") -> Any:
        """A fresh adapter against the harness's system."""
        ...

    def build_unreachable(self) -> Any:
        """An adapter pointed where nothing answers."""
        ...

    def inject(self, fault: Fault, *, times: int = 1) -> None:
        """Make the next ``times`` vendor API calls (not authentication) fail with ``fault``."""
        ...

    def count_records(self, kind: str, key: str) -> int:
        """How many records of ``kind`` the system holds for business key ``key``."""
        ...

    def close(self) -> None:
        """Release the simulator or connections."""
        ...


class CustomerDirectoryHarness(Harness, Protocol):
    """Fixtures of the CRM role (``kind`` is ``account``)."""

    def customer(self, key: str) -> Customer:
        """A valid customer with canonical id ``key`` that the system can hold."""
        ...

    def close_won(self, customer_id: str) -> ExternalRef:
        """Create a closed-won opportunity for the customer's account; its ref."""
        ...


class FinancialSystemHarness(Harness, Protocol):
    """Fixtures of the ERP role (``kind`` is ``customer`` or ``invoice``)."""

    def customer(self, key: str) -> Customer:
        """A valid customer with canonical id ``key``."""
        ...

    def upsert_customer(self, adapter: Any, customer: Customer) -> ExternalRef:
        """Call ``upsert_customer`` with the harness's legal entity."""
        ...

    def invoice_target(self, adapter: Any) -> tuple[str, Any]:
        """A contract id ready to invoice in the system, and an amount (``Money``)."""
        ...

    def open_project(self, adapter: Any, key: str) -> tuple[Project, Contract]:
        """Write an open project (canonical id ``key``) and its contract as the flows do.

        Through ``adapter``: the customer, ``upsert_project`` and, where ``snapshot`` reads
        the contract from elsewhere, ``push_contract``; so ``snapshot`` reads it back.
        """
        ...


class ProjectTrackerHarness(Harness, Protocol):
    """Fixtures of the PSA role (``kind`` is ``project``)."""

    def upsert_project(self, adapter: Any, key: str) -> ExternalRef:
        """Upsert the harness's project with canonical id ``key`` (and its contract)."""
        ...

    def open_project(self, adapter: Any, key: str) -> tuple[Project, Contract]:
        """Upsert an open project with canonical id ``key``; the project and its contract."""
        ...

    def seed_events(self, count: int) -> list[str]:
        """Make the system emit ``count`` events; their event ids."""
        ...


class ContractSourceHarness(Harness, Protocol):
    """Fixtures of the CLM role (``kind`` is ``contract``)."""

    def seed_contracts(self, keys: list[str]) -> list[ExternalRef]:
        """Create approved contracts for ``keys`` in the system; their refs."""
        ...

    def expected_contract_id(self, ref: ExternalRef) -> str:
        """The canonical contract id the contract at ``ref`` must map to."""
        ...


class SignatureSourceHarness(Harness, Protocol):
    """Fixtures of the e-signature role: read only, so nothing is counted."""

    def seed_signatures(self, keys: list[str]) -> list[ExternalRef]:
        """Create completed signing requests carrying contract ids ``keys``; their refs."""
        ...

    def expected_contract_id(self, ref: ExternalRef) -> str:
        """The contract id the system holds on the signing request at ``ref``."""
        ...


@dataclass(frozen=True, slots=True)
class Driver:
    """How the generic checks call one role's port.

    Attributes:
        kind: The record kind ``count_records`` is asked about for ``write``.
        probe_kind: The record kind ``probe`` writes under its key (counted after faults
            to prove it landed once), or None when the probe only reads.
        write: An idempotent write for business key ``key``, or None for read-only roles.
        find: The lookup that settles an ambiguous ``write``.
        probe: Any call that reaches the vendor API (errors are classified on it).
        listing: One page of the role's listing, seeded by ``seed``.
        seed: Makes ``n`` listable records; returns what the listing must contain.
        round_trip: Writes or seeds a record and checks it reads back as written.
        is_closed: Reads back whether the system holds ``project`` closed (``close_project``),
            or None for roles without projects.
        plan: Reads a project's plan back (``project_plan``), or None for roles without one.
    """

    kind: str
    probe_kind: str | None
    write: Callable[[Any, Any, str], ExternalRef] | None
    find: Callable[[Any, Any, str], ExternalRef | None] | None
    probe: Callable[[Any, Any, str], object]
    listing: Callable[[Any, str | None, int], Page[Any]] | None
    seed: Callable[[Any, Any, list[str]], list[Any]] | None
    round_trip: Callable[[Any, Any, str], None]
    is_closed: Callable[[Any, Project], bool] | None = None
    plan: Callable[[Any, str], ProjectPlan | None] | None = None


def _directory_round_trip(adapter: Any, harness: Any, key: str) -> None:
    customer: Customer = harness.customer(key)
    ref = adapter.upsert_account(customer)
    won = adapter.fetch_opportunity(harness.close_won(key))
    assert won.customer.model_copy(update={"refs": ()}) == customer.model_copy(update={"refs": ()})
    assert ref in won.customer.refs, f"{ref} not in {won.customer.refs}"


def _source_round_trip(adapter: Any, harness: Any, key: str) -> None:
    ref = harness.seed_contracts([key])[0]
    sourced = adapter.fetch_contract(ref)
    assert sourced.contract.id == harness.expected_contract_id(ref)


def _invoice(adapter: Any, harness: Any, key: str) -> ExternalRef:
    contract_id, amount = harness.invoice_target(adapter)
    ref: ExternalRef = adapter.create_invoice(contract_id, invoice_key=key, amount=amount)
    return ref


def _find_invoice(adapter: Any, harness: Any, key: str) -> ExternalRef | None:
    contract_id, _ = harness.invoice_target(adapter)
    found: ExternalRef | None = adapter.find_invoice(contract_id, invoice_key=key)
    return found


def _signature_round_trip(adapter: Any, harness: Any, key: str) -> None:
    ref = harness.seed_signatures([key])[0]
    found = adapter.fetch_signature(ref)
    assert found.ref == ref, f"{found.ref} != {ref}"
    assert found.contract_id == harness.expected_contract_id(ref) == key
    assert found.status == "completed", found.status
    assert found.completed_at is not None


def _plan_closed(adapter: Any, project: Project) -> bool:
    plan = adapter.project_plan(project.id)
    assert plan is not None, f"no plan of {project.id} to read back"
    return bool(plan.closed)


def _same_ref_twice(harness: Any, kind: str, key: str, write: Callable[[], ExternalRef]) -> None:
    assert write() == write(), "a repeated write returned another ref"
    assert harness.count_records(kind, key) == 1, f"not one {kind} for {key}"


DRIVERS: dict[Role, Driver] = {
    "customer_directory": Driver(
        kind="account",
        probe_kind="account",
        write=lambda a, h, k: a.upsert_account(h.customer(k)),
        find=lambda a, h, k: a.find_account(k),
        probe=lambda a, h, k: a.upsert_account(h.customer(k)),
        listing=lambda a, cursor, limit: a.list_accounts(cursor=cursor, limit=limit),
        seed=lambda a, h, keys: [a.upsert_account(h.customer(k)) for k in keys],
        round_trip=_directory_round_trip,
    ),
    "financial_system": Driver(
        kind="invoice",
        probe_kind="customer",
        write=_invoice,
        find=_find_invoice,
        probe=lambda a, h, k: h.upsert_customer(a, h.customer(k)),
        listing=None,
        seed=None,
        round_trip=lambda a, h, k: _same_ref_twice(
            h, "customer", k, lambda: h.upsert_customer(a, h.customer(k))
        ),
        is_closed=lambda a, project: bool(a.snapshot(project.contract_id).project_closed),
    ),
    "project_tracker": Driver(
        kind="project",
        probe_kind="project",
        write=lambda a, h, k: h.upsert_project(a, k),
        find=lambda a, h, k: a.find_project(k),
        probe=lambda a, h, k: h.upsert_project(a, k),
        listing=lambda a, cursor, limit: a.poll_events(cursor=cursor, limit=limit),
        seed=lambda a, h, keys: h.seed_events(len(keys)),
        round_trip=lambda a, h, k: _same_ref_twice(h, "project", k, lambda: h.upsert_project(a, k)),
        is_closed=_plan_closed,
        plan=lambda a, project_id: a.project_plan(project_id),
    ),
    "contract_source": Driver(
        kind="contract",
        probe_kind=None,
        write=None,
        find=None,
        probe=lambda a, h, k: a.list_contracts(cursor=None, limit=h.page_size),
        listing=lambda a, cursor, limit: a.list_contracts(cursor=cursor, limit=limit),
        seed=lambda a, h, keys: h.seed_contracts(keys),
        round_trip=_source_round_trip,
    ),
    "signature_source": Driver(
        kind="envelope",
        probe_kind=None,
        write=None,
        find=None,
        probe=lambda a, h, k: a.list_signatures(cursor=None, limit=h.page_size),
        listing=lambda a, cursor, limit: a.list_signatures(cursor=cursor, limit=limit),
        seed=lambda a, h, keys: h.seed_signatures(keys),
        round_trip=_signature_round_trip,
    ),
}
"""The generic checks' view of each role's port."""


__all__ = [
    "DRIVERS",
    "ContractSourceHarness",
    "CustomerDirectoryHarness",
    "Driver",
    "Fault",
    "FinancialSystemHarness",
    "Harness",
    "ProjectTrackerHarness",
    "Role",
    "SignatureSourceHarness",
]
