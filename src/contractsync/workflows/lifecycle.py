"""Renewal and termination: a longer term through the amendment path, or a contract ended.

``terminate_contract`` (run ``contract_termination:<contract>``): the terminated contract and
closed project upserted to the ERP and the PSA; the contract TERMINATED and its project
CLOSED in the hub, with ``contract.terminated``; then the project closed in the ERP and the
PSA (``close_project``, steps ``erp.close_project`` and ``psa.close_project``: idempotent, so
a retried or recovered step closes nothing twice). A failure at either stage raises an
ExceptionItem and the run waits for it (resolved: the stage runs again). It starts from the
CLM (a cancelled workflow fetched as terminated) or from an operator (``start_termination``).

A renewal is a new version with a later term end. From the CLM it arrives as any new
version does; an operator starts one with ``start_renewal``, which builds the next version
and runs it through ``amendment_rollout.amend_contract``: planned, decided, applied once,
announced as ``contract.renewed``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project
from contractsync.errors import DomainError
from contractsync.ports.systems import SourcedContract
from contractsync.services import contract_flow, lifecycle_flow
from contractsync.services.lifecycle_flow import Termination
from contractsync.workflows.amendment_rollout import amend_contract
from contractsync.workflows.contract_to_cash import decision_topic
from contractsync.workflows.engine import Engine
from contractsync.workflows.flow_context import (
    amendment_key,
    current_run,
    flow_context,
    hub_step,
    until_settled,
)
from contractsync.workflows.runs import Run
from contractsync.workflows.steps import call_idempotently, external_step, workflow

TERMINATE_CONTRACT = "contract_termination"
"""Registered name of ``terminate_contract``; its runs are ``contract_termination:<id>``."""


@hub_step("hub.plan_termination")
def plan_termination(contract_id: str) -> Termination | None:
    """The terminated contract and closed project; None when terminated already."""
    with flow_context().uow_factory() as uow:
        return lifecycle_flow.plan_termination(uow, contract_id)


@external_step("erp.terminate")
def erp_terminate(termination: Termination) -> ExternalRef | None:
    """Upsert the terminated contract's project to the ERP (its term ends there)."""
    if termination.project is None:
        return None
    erp = flow_context().systems.erp
    return erp.upsert_project(termination.project, termination.contract)


@external_step("psa.terminate")
def psa_terminate(termination: Termination) -> ExternalRef | None:
    """Upsert the closed project to the PSA; None without a PSA or a project."""
    psa = flow_context().systems.psa
    if psa is None or termination.project is None:
        return None
    return psa.upsert_project(termination.project, termination.contract)


@hub_step("hub.record_termination")
def record_termination(termination: Termination, reason: str) -> None:
    """Store the contract terminated and the project closed; announce it."""
    context = flow_context()
    with context.uow_factory() as uow:
        lifecycle_flow.record_termination(
            uow, context.clock, termination, reason=reason, cause=current_run()
        )
        uow.commit()


def _closed_once(close: Callable[[], ExternalRef]) -> ExternalRef:
    # Closing a closed project is a no-op, so a close whose answer was lost is settled by
    # retrying the step (the lookup finds nothing; call_idempotently makes that transient).
    return call_idempotently(lambda _key: close(), lambda _key: None)


@external_step("erp.close_project")
def erp_close_project(project: Project) -> ExternalRef:
    """Close the contract's project in the ERP (a second close changes nothing)."""
    erp = flow_context().systems.erp
    return _closed_once(lambda: erp.close_project(project))


@external_step("psa.close_project")
def psa_close_project(project: Project) -> ExternalRef | None:
    """Close (archive) the project in the PSA; None without a PSA."""
    psa = flow_context().systems.psa
    if psa is None:
        return None
    return _closed_once(lambda: psa.close_project(project))


def _push(termination: Termination) -> bool:
    erp_terminate(termination)
    psa_terminate(termination)
    return True


def _close(project: Project) -> bool:
    erp_close_project(project)
    psa_close_project(project)
    return True


@workflow(TERMINATE_CONTRACT)
def terminate_contract(contract_id: str, reason: str) -> dict[str, Any]:
    """Terminate one contract everywhere; see the module docstring.

    Returns:
        ``{"outcome": "terminated" | "already terminated" | "abandoned"}``; a terminated
        contract whose project an owner chose to leave open in the ERP or PSA (the close
        failed and its item was dismissed) also has ``"projects": "left open"``.

    Raises:
        DomainError: ``contract.unknown`` when the hub never activated the contract.
    """
    termination = plan_termination(contract_id)
    if termination is None:
        return {"outcome": "already terminated"}
    topic = decision_topic(contract_id)
    if until_settled(lambda: _push(termination), contract_id=contract_id, topic=topic) is None:
        return {"outcome": "abandoned"}
    record_termination(termination, reason)
    outcome = {"outcome": "terminated", "version": termination.contract.version}
    project = termination.project
    if project is not None:
        closed = until_settled(lambda: _close(project), contract_id=contract_id, topic=topic)
        if closed is None:
            return {**outcome, "projects": "left open"}
    return outcome


def start_termination(engine: Engine, contract_id: str, *, reason: str) -> Run:
    """Operator command: terminate a contract (a second call returns the same run)."""
    return engine.start(terminate_contract, contract_id, contract_id, reason)


def start_renewal(engine: Engine, contract_id: str, *, new_end: date) -> Run:
    """Operator command: renew a contract to ``new_end`` through the amendment flow.

    The renewal is the stored version plus one with its term extended; it is planned,
    decided by the policy and applied like a CLM amendment.

    Raises:
        DomainError: ``contract.unknown``, ``renewal.terminated`` or ``renewal.not_later``.
    """
    with flow_context().uow_factory() as uow:
        stored = contract_flow.load_contract(uow, contract_id)
        customer = None if stored is None else contract_flow.load_customer(uow, stored.customer_id)
    if stored is None or customer is None:
        raise DomainError(
            f"contract {contract_id} was never activated by the hub",
            code="contract.unknown",
            remediation="Check the contract id; only activated contracts are renewed here.",
        )
    renewed = lifecycle_flow.renewed_version(stored, new_end=new_end)
    sourced = SourcedContract(contract=renewed, customer=customer)
    key = amendment_key(contract_id, renewed.version)
    return engine.start(amend_contract, key, sourced, None)


__all__ = [
    "TERMINATE_CONTRACT",
    "start_renewal",
    "start_termination",
    "terminate_contract",
]
