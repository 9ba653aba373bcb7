"""Contract activation: validate an approved contract, then record it active with its project.

``plan_activation`` decides everything the ERP and PSA pushes need (project, legal entity,
schedules) before anything is written anywhere; it refuses a contract that is not approved,
so a project can never reach the ERP or the PSA before approval. ``record_activation``
stores the outcome in one unit of work with its events.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.events import EventType
from contractsync.domain.finding import Finding
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project, ProjectStatus
from contractsync.domain.schedules import BillingSchedule, RevenueSchedule
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.systems import SourcedContract
from contractsync.services.billing import build_billing_schedule
from contractsync.services.contract_flow import (
    BILLING_SCHEDULE,
    CONTRACT,
    CUSTOMER,
    PROJECT,
    REVENUE_SCHEDULE,
    ReferenceData,
    business_event,
    link_refs,
    load_project,
    project_id_for,
    store_record,
)
from contractsync.services.revenue import build_revenue_schedule
from contractsync.services.validation import validate_contract


def blocking_findings(
    sourced: SourcedContract, reference: ReferenceData, *, waived: Collection[str] = ()
) -> list[Finding]:
    """The findings that stop activation, minus the codes an owner waived (dismissed).

    Low-severity findings are notes and never block (``Finding.is_blocking``).
    """
    findings = validate_contract(
        sourced.contract,
        customer=sourced.customer,
        legal_entities=reference.entity_map,
        service_codes=reference.service_codes,
    )
    return [f for f in findings if f.is_blocking and f.code not in waived]


class Activation(ValueObject):
    """Everything activating one approved contract version writes, decided up front."""

    contract: Contract
    customer: Customer
    legal_entity: LegalEntity
    project: Project
    billing: BillingSchedule
    revenue: RevenueSchedule


def plan_activation(
    uow: UnitOfWork, sourced: SourcedContract, reference: ReferenceData
) -> Activation:
    """Decide the activation of an approved contract: its project activated, its schedules.

    The staged project of the won opportunity is used when there is one (renamed after
    the contract), else a new one is made. Reads only; does not commit.

    Raises:
        IllegalTransitionError: ``project.activation_before_approval`` when the contract is
            not approved: nothing may then reach the ERP or the PSA.
        DataError: the contract's legal entity is not ours.
        DomainError: the schedules cannot be built (a rate card is missing ...).
    """
    contract = sourced.contract
    project_id = project_id_for(contract.id)
    staged = load_project(uow, project_id) or Project(
        id=project_id, contract_id=contract.id, customer_id=contract.customer_id, name="staged"
    )
    staged = staged.model_copy(update={"name": contract.title, "customer_id": contract.customer_id})
    is_approved = contract.status is ContractStatus.APPROVED
    project = (
        staged
        if staged.status is ProjectStatus.ACTIVE and is_approved
        else staged.activate(contract_approved=is_approved)
    )
    entity = reference.legal_entity(contract.legal_entity_code)
    return Activation(
        contract=contract,
        customer=sourced.customer,
        legal_entity=entity,
        project=project,
        billing=build_billing_schedule(contract, legal_entity=entity),
        revenue=build_revenue_schedule(contract),
    )


def record_activation(
    uow: UnitOfWork,
    clock: Clock,
    activation: Activation,
    *,
    customer_refs: Sequence[ExternalRef],
    contract_refs: Sequence[ExternalRef],
    project_refs: Sequence[ExternalRef],
    cause: str,
) -> Contract:
    """Store the contract ACTIVE with its customer, project, schedules, refs and events.

    Events: ``contract.approved``, ``contract.activated`` and ``project.activated``, keyed
    by contract version so a repeated step publishes each once. Does not commit.

    Returns:
        The contract as stored (status ACTIVE).
    """
    contract = activation.contract.transition_to(ContractStatus.ACTIVE)
    project = activation.project
    now = clock.now()
    store_record(uow, CUSTOMER, activation.customer.id, _json(activation.customer), cause=cause)
    store_record(uow, CONTRACT, contract.id, _json(contract), cause=cause)
    store_record(uow, PROJECT, project.id, _json(project), cause=cause)
    store_record(uow, BILLING_SCHEDULE, contract.id, _json(activation.billing), cause=cause)
    store_record(uow, REVENUE_SCHEDULE, contract.id, _json(activation.revenue), cause=cause)
    link_refs(uow, customer_refs, record_kind=CUSTOMER, record_id=activation.customer.id)
    link_refs(uow, contract_refs, record_kind=CONTRACT, record_id=contract.id, keep_first=True)
    link_refs(uow, project_refs, record_kind=PROJECT, record_id=project.id)
    key = f"{contract.id}:v{contract.version}"
    subject = f"contract:{contract.id}"
    facts = {"version": contract.version, "customer_id": contract.customer_id}
    value = activation.billing.total.model_dump(mode="json")
    for kind, data in (
        (EventType.CONTRACT_APPROVED, facts),
        (EventType.CONTRACT_ACTIVATED, {**facts, "billing_total": value}),
    ):
        uow.outbox.add(
            business_event(
                kind, subject=subject, contract_id=contract.id, key=key, at=now, data=data
            )
        )
    uow.outbox.add(
        business_event(
            EventType.PROJECT_ACTIVATED,
            subject=f"project:{project.id}",
            contract_id=contract.id,
            key=key,
            at=now,
            data={"project_id": project.id, "refs": [str(r) for r in project_refs]},
        )
    )
    return contract


def _json(document: ValueObject) -> dict[str, Any]:
    return document.model_dump(mode="json")


__all__ = ["Activation", "blocking_findings", "plan_activation", "record_activation"]
