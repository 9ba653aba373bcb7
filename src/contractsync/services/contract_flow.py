"""Contract flow decisions: which flow a fetched contract version needs, and the hub's records.

The flows (``workflows/``) are thin sequences of steps; what they do next is decided here,
from the contract the CLM holds now and what the hub has stored:

===========================================  =============================================
fetched contract (CLM) vs stored version      route
===========================================  =============================================
not approved (draft, in review)               ``NOT_APPROVED``: nothing yet
terminated, stored and not terminated         ``TERMINATE``
approved, nothing stored, version 1           ``ACTIVATE`` (contract-to-cash)
approved, version above the stored one,       ``AMEND`` (the amendment flow, which waits for
or nothing stored and version above 1         its predecessor version: ADR 0006)
anything else                                 ``DUPLICATE``: already applied, nothing to do
===========================================  =============================================

Records are the canonical documents (``records`` kinds below); each write stores the next
record version, so the history of a contract shows every state it went through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project, ProjectStatus
from contractsync.errors import DataError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.systems import (
    ContractSource,
    CustomerDirectory,
    FinancialSystem,
    ProjectTracker,
    SignatureSource,
    SourcedContract,
    WonOpportunity,
)

CONTRACT = "contract"
CUSTOMER = "customer"
PROJECT = "project"
INVOICE = "invoice"
BILLING_SCHEDULE = "billing_schedule"
REVENUE_SCHEDULE = "revenue_schedule"
"""Record kinds the flows write (the process API reads the same kinds)."""


@dataclass(frozen=True)
class FlowSystems:
    """The external systems the flows work through, by role (never by vendor).

    Attributes:
        clm: Where approved contract terms come from.
        erp: Customers, projects, contracts with billing schedules, invoices.
        crm: Accounts and opportunities; None when no CRM is configured.
        psa: Delivery projects and milestones; None when no PSA is configured.
        esign: Signing requests; None when no e-signature service is configured.
    """

    clm: ContractSource
    erp: FinancialSystem
    crm: CustomerDirectory | None = None
    psa: ProjectTracker | None = None
    esign: SignatureSource | None = None


class ReferenceData(ValueObject):
    """What contracts are checked against: our legal entities and the service catalogue."""

    legal_entities: tuple[LegalEntity, ...] = Field(min_length=1)
    service_codes: frozenset[str] = Field(min_length=1)

    @property
    def entity_map(self) -> dict[str, LegalEntity]:
        """Legal entities by code."""
        return {entity.code: entity for entity in self.legal_entities}

    def legal_entity(self, code: str) -> LegalEntity:
        """Return the legal entity ``code``.

        Raises:
            DataError: ``legal_entity.unmapped`` when the hub does not know the code.
        """
        entity = self.entity_map.get(code)
        if entity is None:
            raise DataError(
                f"legal entity {code} is not one of ours",
                code="legal_entity.unmapped",
                remediation="Map the contract to one of the configured legal entities.",
                detail={"legal_entity": code, "owner": "legal"},
            )
        return entity


class VersionRoute(StrEnum):
    """Which flow a fetched contract version needs (module table)."""

    NOT_APPROVED = "not approved"
    ACTIVATE = "activate"
    AMEND = "amend"
    TERMINATE = "terminate"
    DUPLICATE = "duplicate"


def route_version(contract: Contract, stored: Contract | None) -> VersionRoute:
    """Decide what a fetched ``contract`` needs, given the ``stored`` version (module table)."""
    if contract.status is ContractStatus.TERMINATED:
        is_live = stored is not None and stored.status is not ContractStatus.TERMINATED
        return VersionRoute.TERMINATE if is_live else VersionRoute.DUPLICATE
    if contract.status is not ContractStatus.APPROVED:
        return VersionRoute.NOT_APPROVED
    if stored is None:
        return VersionRoute.ACTIVATE if contract.version == 1 else VersionRoute.AMEND
    if stored.status is ContractStatus.TERMINATED or contract.version <= stored.version:
        return VersionRoute.DUPLICATE
    return VersionRoute.AMEND


def as_signed(sourced: SourcedContract, *, signed_at: datetime | None) -> SourcedContract:
    """The contract of a completed signing request: signed means approved (DESIGN §3.2).

    A contract the CLM already approved, or terminated, is returned unchanged.
    """
    contract = sourced.contract
    if contract.status not in (ContractStatus.DRAFT, ContractStatus.IN_REVIEW):
        return sourced
    approved = contract.model_copy(update={"status": ContractStatus.APPROVED})
    return sourced.model_copy(
        update={"contract": approved, "approved_at": signed_at or sourced.approved_at}
    )


def project_id_for(contract_id: str) -> str:
    """The canonical id of the delivery project of a contract: the contract id itself.

    One contract has one delivery project; reconciliation keys projects the same way
    (``services.reconciliation.project_id_for``).
    """
    return contract_id


def store_record(
    uow: UnitOfWork, kind: str, record_id: str, document: dict[str, Any], *, cause: str
) -> int:
    """Store ``document`` as the next version of a record (1 for a new one); return it.

    Nothing is written when the current document is the same already, so a step that runs
    again after a crash stores no second, identical version.
    """
    if uow.records.get(kind, record_id) == document:
        return len(uow.records.versions(kind, record_id))
    version = len(uow.records.versions(kind, record_id)) + 1
    uow.records.put(kind, record_id, document, version=version, cause=cause)
    return version


def load_contract(uow: UnitOfWork, contract_id: str) -> Contract | None:
    """The contract version the hub has applied (activated or amended), or None."""
    document = uow.records.get(CONTRACT, contract_id)
    return None if document is None else Contract.model_validate(document)


def load_project(uow: UnitOfWork, project_id: str) -> Project | None:
    """The hub's project record, or None."""
    document = uow.records.get(PROJECT, project_id)
    return None if document is None else Project.model_validate(document)


def load_customer(uow: UnitOfWork, customer_id: str) -> Customer | None:
    """The hub's customer record, or None."""
    document = uow.records.get(CUSTOMER, customer_id)
    return None if document is None else Customer.model_validate(document)


def link_refs(
    uow: UnitOfWork,
    refs: Sequence[ExternalRef],
    *,
    record_kind: str,
    record_id: str,
    keep_first: bool = False,
) -> None:
    """Remember that each ref is this record (idempotent).

    A record has one id per system and kind. With ``keep_first`` a ref is skipped when
    the record already has another id of its system and kind: a contract's change orders
    are CLM records of their own, and the contract stays known by the first one.

    Raises:
        ConflictError: a ref stands for another record, or (without ``keep_first``) the
            record already has another id of the ref's system and kind.
    """
    for ref in refs:
        if keep_first and any(
            (known.system, known.kind) == (ref.system, ref.kind) and known != ref
            for known in uow.refs.refs_of(record_kind, record_id)
        ):
            continue
        uow.refs.link(ref, record_kind=record_kind, record_id=record_id)


def contract_ref_in(uow: UnitOfWork, contract_id: str, system: str) -> ExternalRef | None:
    """The ref a contract has in ``system`` (its CLM workflow), if the hub has seen it."""
    return next((r for r in uow.refs.refs_of(CONTRACT, contract_id) if r.system == system), None)


def business_event(
    kind: EventType,
    *,
    subject: str,
    contract_id: str,
    key: str,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> BusinessEvent:
    """An event whose id is ``<type>:<key>``: the same fact published twice is one event."""
    return BusinessEvent(
        id=f"{kind.value}:{key}",
        type=kind,
        subject=subject,
        correlation_id=contract_id,
        occurred_at=at,
        data=data or {},
    )


class StagedDeal(ValueObject):
    """What a won opportunity staged: the customer and, once the contract is known, a project."""

    customer_id: str
    project_id: str | None = None
    project_status: ProjectStatus | None = None


def stage_opportunity(
    uow: UnitOfWork,
    clock: Clock,
    won: WonOpportunity,
    *,
    account: ExternalRef | None,
    cause: str,
) -> StagedDeal:
    """Store the won deal's customer (with its CRM refs) and a *staged* project.

    The project is staged only: it is activated by the contract flow once the contract is
    approved (``Project.activate``). A project already past staging is left as it is, so a
    late duplicate of the opportunity never moves it back. Does not commit.
    """
    customer = won.customer
    store_record(uow, CUSTOMER, customer.id, customer.model_dump(mode="json"), cause=cause)
    refs = [*customer.refs, *([account] if account else [])]
    link_refs(uow, list(dict.fromkeys(refs)), record_kind=CUSTOMER, record_id=customer.id)
    if won.contract_id is None:
        return StagedDeal(customer_id=customer.id)
    project_id = project_id_for(won.contract_id)
    project = load_project(uow, project_id)
    if project is None:
        project = Project(
            id=project_id,
            contract_id=won.contract_id,
            customer_id=customer.id,
            name=f"{customer.legal_name[:200]} {won.contract_id}",
        )
        store_record(uow, PROJECT, project_id, project.model_dump(mode="json"), cause=cause)
    link_refs(uow, [won.ref], record_kind=PROJECT, record_id=project_id)
    uow.audit.append(
        actor="contractsync",
        action="opportunity.staged",
        subject=f"opportunity:{won.ref.id}",
        payload={"customer": customer.id, "project": project_id, "at": clock.now().isoformat()},
    )
    return StagedDeal(customer_id=customer.id, project_id=project_id, project_status=project.status)


__all__ = [
    "BILLING_SCHEDULE",
    "CONTRACT",
    "CUSTOMER",
    "INVOICE",
    "PROJECT",
    "REVENUE_SCHEDULE",
    "FlowSystems",
    "ReferenceData",
    "StagedDeal",
    "VersionRoute",
    "as_signed",
    "business_event",
    "contract_ref_in",
    "link_refs",
    "load_contract",
    "load_customer",
    "load_project",
    "project_id_for",
    "route_version",
    "stage_opportunity",
    "store_record",
]
