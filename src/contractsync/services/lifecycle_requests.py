"""An operator asks to renew or terminate a contract: checked against the hub, started once, audited.

The durable runs do the work (``workflows.lifecycle``): a renewal is the next contract
version with a later end, applied through the amendment flow; a termination ends the
contract and closes its project everywhere. This module decides, from the hub's records and
before anything starts, whether the request makes sense now, so the caller gets a clear
refusal instead of a run that fails:

=========================  =====================================  =============================
the contract               ``request_renewal``                    ``request_termination``
=========================  =====================================  =============================
never stored by the hub    ``contract.unknown``                   ``contract.unknown``
active                     starts the run                          starts the run
expired                    starts the run (a renewal re-activates) ``contract.not_active``
suspended                  ``contract.not_active``                 starts the run
anything else              ``contract.not_active``                 ``contract.not_active``
new end not after the end  ``renewal.not_later``                   -
=========================  =====================================  =============================

Every refusal is a ``DomainError`` with that code. The run ids are derived from the business
key (``LifecycleRuns``), so asking twice before the run has moved the contract on starts one
run; a renewal to another end while the run of that version exists is refused by the port
(``ConflictError`` ``renewal.version_taken``). Every request that starts (or finds) a run is
audited with its actor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.errors import DomainError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.ports.systems import SourcedContract
from contractsync.ports.workflows import LifecycleRuns
from contractsync.services.contract_flow import load_contract, load_customer
from contractsync.services.lifecycle_flow import renewed_version

RENEWABLE = frozenset({ContractStatus.ACTIVE, ContractStatus.EXPIRED})
"""Statuses a contract may be renewed from (a renewal re-activates an expired contract)."""
TERMINABLE = frozenset({ContractStatus.ACTIVE, ContractStatus.SUSPENDED})
"""Statuses a contract may be terminated from by an operator."""


@dataclass(frozen=True, slots=True)
class LifecycleRequest:
    """A renewal or termination the engine now runs (or was running already).

    Attributes:
        kind: ``renewal`` or ``termination``.
        contract_id: The contract.
        workflow_id: The run doing it.
        version: The version the run applies (renewal) or ends (termination).
        new_end: The renewed term's end; None for a termination.
        reason: Why it is terminated; None for a renewal.
    """

    kind: Literal["renewal", "termination"]
    contract_id: str
    workflow_id: str
    version: int
    new_end: date | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (what ``--json`` prints and the API answers)."""
        return {
            "kind": self.kind,
            "contract_id": self.contract_id,
            "workflow_id": self.workflow_id,
            "version": self.version,
            "new_end": None if self.new_end is None else self.new_end.isoformat(),
            "reason": self.reason,
        }


def request_renewal(
    uow: UnitOfWork,
    runs: LifecycleRuns,
    clock: Clock,
    contract_id: str,
    *,
    new_end: date,
    actor: str,
) -> LifecycleRequest:
    """Start the run renewing ``contract_id`` to ``new_end``; audited and committed.

    Raises:
        DomainError: ``contract.unknown``, ``contract.not_active`` or ``renewal.not_later``
            (see the module table); nothing is started then.
        ConflictError: ``renewal.version_taken`` (nothing audited).
        TransientError: the engine cannot be reached (nothing audited).
    """
    stored = _stored(uow, contract_id)
    customer = load_customer(uow, stored.customer_id)
    if customer is None:
        raise _unknown(contract_id)
    _require(stored, RENEWABLE, "renewed")
    renewed = renewed_version(stored, new_end=new_end)
    workflow_id = runs.start_renewal(SourcedContract(contract=renewed, customer=customer))
    done = LifecycleRequest("renewal", contract_id, workflow_id, renewed.version, new_end=new_end)
    return _audited(uow, clock, done, actor)


def request_termination(
    uow: UnitOfWork,
    runs: LifecycleRuns,
    clock: Clock,
    contract_id: str,
    *,
    reason: str,
    actor: str,
) -> LifecycleRequest:
    """Start the run terminating ``contract_id`` for ``reason``; audited and committed.

    Raises:
        DomainError: ``contract.unknown`` or ``contract.not_active`` (see the module table);
            nothing is started then.
        TransientError: the engine cannot be reached (nothing audited).
    """
    stored = _stored(uow, contract_id)
    _require(stored, TERMINABLE, "terminated")
    workflow_id = runs.start_termination(contract_id, reason=reason)
    done = LifecycleRequest("termination", contract_id, workflow_id, stored.version, reason=reason)
    return _audited(uow, clock, done, actor)


def _stored(uow: UnitOfWork, contract_id: str) -> Contract:
    stored = load_contract(uow, contract_id)
    if stored is None:
        raise _unknown(contract_id)
    return stored


def _unknown(contract_id: str) -> DomainError:
    return DomainError(
        f"the hub holds no contract {contract_id}",
        code="contract.unknown",
        remediation="Check the contract id (`GET /api/v1/contracts`); only contracts the hub "
        "activated are renewed or terminated here.",
        detail={"contract_id": contract_id},
    )


def _require(stored: Contract, allowed: frozenset[ContractStatus], verb: str) -> None:
    if stored.status in allowed:
        return
    names = " or ".join(sorted(status.value for status in allowed))
    raise DomainError(
        f"contract {stored.id} is {stored.status.value}; only a contract that is {names} "
        f"can be {verb}",
        code="contract.not_active",
        remediation="Read the contract's current status (`GET /api/v1/contracts/{id}`); a "
        "contract still in the CLM's hands is changed there.",
        detail={"contract_id": stored.id, "status": stored.status.value},
    )


def _audited(uow: UnitOfWork, clock: Clock, done: LifecycleRequest, actor: str) -> LifecycleRequest:
    uow.audit.append(
        actor=actor,
        action=f"contract.{done.kind}_requested",
        subject=f"contract:{done.contract_id}",
        payload={**done.as_dict(), "at": clock.now().isoformat()},
    )
    uow.commit()
    return done


__all__ = [
    "RENEWABLE",
    "TERMINABLE",
    "LifecycleRequest",
    "request_renewal",
    "request_termination",
]
