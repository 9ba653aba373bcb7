"""Renewal and termination: the next contract version of a renewal, and a recorded termination.

A renewal is a term change: the renewed version goes through the amendment flow like any
CLM version (planned against the ERP, decided by the policy, applied once), which announces
``contract.renewed``. A termination ends the contract where it stands: the contract is
TERMINATED and its project CLOSED in the hub; the ERP and PSA receive the terminated
contract through their idempotent upserts, ``contract.terminated`` is announced, and then
the workflow closes the project in the ERP and the PSA (each port's ``close_project``).
"""

from __future__ import annotations

from datetime import date

from contractsync.domain.amending import apply_changes
from contractsync.domain.amendment import TermChange
from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.events import EventType
from contractsync.domain.project import Project, ProjectStatus
from contractsync.errors import DomainError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services.contract_flow import (
    CONTRACT,
    PROJECT,
    business_event,
    load_contract,
    load_project,
    project_id_for,
    store_record,
)


def renewed_version(stored: Contract, *, new_end: date) -> Contract:
    """The next version of ``stored`` with its term extended to ``new_end`` (approved).

    Lines that ran to the old end run to the new one (``TermChange``).

    Raises:
        DomainError: ``renewal.not_later`` unless ``new_end`` is after the current end, or
            the contract is terminated.
    """
    if stored.status is ContractStatus.TERMINATED:
        raise DomainError(
            f"contract {stored.id} is terminated; it cannot be renewed",
            code="renewal.terminated",
            remediation="Sign a new contract in the CLM instead.",
        )
    if new_end <= stored.term.end:
        raise DomainError(
            f"contract {stored.id} already runs to {stored.term.end}; {new_end} renews nothing",
            code="renewal.not_later",
            remediation="Give an end date after the current term end.",
        )
    extended = apply_changes(stored, [TermChange(end=new_end)])
    return extended.model_copy(
        update={"version": stored.version + 1, "status": ContractStatus.APPROVED}
    )


class Termination(ValueObject):
    """What terminating one contract writes, decided from the stored records."""

    contract: Contract
    project: Project | None = None


def plan_termination(uow: UnitOfWork, contract_id: str) -> Termination | None:
    """The terminated contract and closed project, or None when it is terminated already.

    Raises:
        DomainError: ``contract.unknown`` when the hub never activated the contract.
    """
    stored = load_contract(uow, contract_id)
    if stored is None:
        raise DomainError(
            f"contract {contract_id} was never activated by the hub",
            code="contract.unknown",
            remediation="Check the contract id; only activated contracts are terminated here.",
        )
    if stored.status is ContractStatus.TERMINATED:
        return None
    project = load_project(uow, project_id_for(contract_id))
    if project is not None and project.status is not ProjectStatus.CLOSED:
        project = project.move_to(ProjectStatus.CLOSED)
    return Termination(contract=stored.transition_to(ContractStatus.TERMINATED), project=project)


def record_termination(
    uow: UnitOfWork, clock: Clock, termination: Termination, *, reason: str, cause: str
) -> None:
    """Store the contract TERMINATED and its project CLOSED; announce ``contract.terminated``.

    Does not commit.
    """
    contract = termination.contract
    store_record(uow, CONTRACT, contract.id, contract.model_dump(mode="json"), cause=cause)
    if termination.project is not None:
        project = termination.project
        store_record(uow, PROJECT, project.id, project.model_dump(mode="json"), cause=cause)
    uow.outbox.add(
        business_event(
            EventType.CONTRACT_TERMINATED,
            subject=f"contract:{contract.id}",
            contract_id=contract.id,
            key=f"{contract.id}:v{contract.version}",
            at=clock.now(),
            data={"version": contract.version, "reason": reason},
        )
    )
    uow.audit.append(
        actor="contractsync",
        action="contract.terminated",
        subject=f"contract:{contract.id}",
        payload={"version": contract.version, "reason": reason, "cause": cause},
    )


__all__ = ["Termination", "plan_termination", "record_termination", "renewed_version"]
