"""Contract to cash: a won opportunity staged, an approved contract validated and activated.

``on_opportunity_won`` (inbox handler, CRM): fetch the opportunity, make sure the account
carries the canonical customer id, store the customer and a *staged* project.

``activate_contract`` (run ``contract_to_cash:<contract id>``), in order:

1. validate the CLM version; blocking findings raise one ExceptionItem each for its owner
   and the run waits; once they are closed it fetches the contract again and re-validates
   (a dismissed finding is waived);
2. plan the activation: refused (IllegalTransitionError) unless the contract is approved,
   before anything reaches the ERP or the PSA;
3. ERP: customer, project, contract with its billing schedule;
4. store the contract ACTIVE, its project, schedules and refs, with ``contract.approved``,
   ``contract.activated`` and ``project.activated``;
5. PSA: project and milestones; its ref stored;
6. CRM: the customer's account (keyed by the canonical id; also for a contract signed
   without a deal there); its ref stored;
7. wake the amendment of the next version if it already waits (ADR 0006).

A failing ERP or PSA section raises an item and waits (``flow_context.until_settled``).
"""

from __future__ import annotations

from typing import Any

from contractsync.domain.contract import ContractStatus
from contractsync.domain.customer import Customer, LegalEntity
from contractsync.domain.finding import Finding
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project
from contractsync.domain.schedules import BillingSchedule
from contractsync.ports.storage import InboxMessage
from contractsync.ports.systems import SourcedContract, WonOpportunity
from contractsync.services import activation as activating
from contractsync.services import contract_flow, flow_decisions
from contractsync.services.activation import Activation
from contractsync.services.contract_flow import StagedDeal
from contractsync.services.flow_triggers import OpportunityWonTrigger
from contractsync.workflows.flow_context import (
    await_items,
    current_run,
    flow_context,
    hub_step,
    notify_next_version,
    read_trigger,
    until_settled,
)
from contractsync.workflows.steps import external_step, workflow

ACTIVATE_CONTRACT = "contract_to_cash"
"""Registered name of ``activate_contract``; its runs are ``contract_to_cash:<contract id>``."""


def decision_topic(contract_id: str) -> str:
    """The topic a contract's waiting runs receive decisions on."""
    return f"contract {contract_id} decisions"


# --- opportunity won (CRM) ----------------------------------------------------------------


@external_step("crm.fetch_opportunity")
def fetch_opportunity(ref: ExternalRef) -> WonOpportunity:
    """Read the won opportunity and its account (the CRM's current state)."""
    crm = flow_context().systems.crm
    if crm is None:
        from contractsync.errors import ConfigError

        raise ConfigError("no CRM is configured", code="config.crm_missing")
    return crm.fetch_opportunity(ref)


@external_step("crm.upsert_account")
def upsert_account(customer: Customer) -> ExternalRef | None:
    """Key the account by the canonical customer id (idempotent); None without a CRM."""
    crm = flow_context().systems.crm
    return None if crm is None else crm.upsert_account(customer)


@hub_step("hub.stage_opportunity")
def record_staged(won: WonOpportunity, account: ExternalRef | None, cause: str) -> StagedDeal:
    """Store the customer and the staged project of a won opportunity."""
    context = flow_context()
    with context.uow_factory() as uow:
        staged = contract_flow.stage_opportunity(
            uow, context.clock, won, account=account, cause=cause
        )
        uow.commit()
    return staged


def on_opportunity_won(message: InboxMessage) -> dict[str, Any]:
    """Inbox handler for a CRM closed-won event: stage the customer and the project."""
    trigger = read_trigger(message)
    if not isinstance(trigger, OpportunityWonTrigger):
        return {"outcome": "ignored", "reason": getattr(trigger, "reason", trigger.kind)}
    won = fetch_opportunity(trigger.opportunity)
    account = upsert_account(won.customer)
    staged = record_staged(won, account, f"inbox:{message.id}")
    return {"outcome": "staged", **staged.model_dump(mode="json")}


# --- contract approved (CLM or e-signature) -------------------------------------------------


@external_step("clm.fetch_contract")
def fetch_contract(ref: ExternalRef) -> SourcedContract:
    """Read the contract the CLM holds now."""
    return flow_context().systems.clm.fetch_contract(ref)


@hub_step("hub.validate")
def validate(sourced: SourcedContract, waived: list[str]) -> list[Finding]:
    """The blocking findings of the contract, minus the waived codes."""
    return activating.blocking_findings(sourced, flow_context().reference, waived=waived)


@hub_step("hub.raise_findings")
def raise_findings(
    sourced: SourcedContract, findings: list[Finding], topic: str
) -> tuple[str, ...]:
    """One ExceptionItem per finding, for its owner; the run waits on them."""
    context = flow_context()
    with context.uow_factory() as uow:
        ids = flow_decisions.raise_findings(
            uow,
            context.clock,
            contract=sourced.contract,
            findings=findings,
            workflow_id=current_run(),
            topic=topic,
        )
        uow.commit()
    return ids


@hub_step("hub.plan_activation")
def plan_activation(sourced: SourcedContract) -> Activation:
    """Decide the activation; refuses a contract that is not approved."""
    context = flow_context()
    with context.uow_factory() as uow:
        return activating.plan_activation(uow, sourced, context.reference)


@external_step("erp.upsert_customer")
def erp_customer(customer: Customer, entity: LegalEntity) -> ExternalRef:
    """Create or update the customer in the ERP."""
    return flow_context().systems.erp.upsert_customer(customer, legal_entity=entity)


@external_step("erp.upsert_project")
def erp_project(activation: Activation) -> ExternalRef:
    """Create or update the contract's project in the ERP."""
    return flow_context().systems.erp.upsert_project(activation.project, activation.contract)


@external_step("erp.push_contract")
def erp_contract(activation: Activation, schedule: BillingSchedule) -> ExternalRef:
    """Create or update the contract and its billing schedule in the ERP."""
    return flow_context().systems.erp.push_contract(activation.contract, schedule)


@external_step("psa.upsert_project")
def psa_project(project: Project, activation: Activation) -> ExternalRef | None:
    """Create or update the PSA project and its milestones; None without a PSA."""
    psa = flow_context().systems.psa
    return None if psa is None else psa.upsert_project(project, activation.contract)


@hub_step("hub.record_activation")
def record_activation(
    activation: Activation, erp_refs: tuple[ExternalRef, ...], clm_ref: ExternalRef | None
) -> int:
    """Store the contract active with its records and events; return its version."""
    context = flow_context()
    party, project, contract = erp_refs
    contract_refs = [r for r in (clm_ref, contract) if r is not None and r != project]
    with context.uow_factory() as uow:
        stored = activating.record_activation(
            uow,
            context.clock,
            activation,
            customer_refs=[party],
            contract_refs=contract_refs,
            project_refs=[project],
            cause=current_run(),
        )
        uow.commit()
    return stored.version


@hub_step("hub.link_psa_project")
def link_psa_project(project_id: str, ref: ExternalRef) -> None:
    """Remember the PSA project of the hub project."""
    with flow_context().uow_factory() as uow:
        contract_flow.link_refs(uow, [ref], record_kind=contract_flow.PROJECT, record_id=project_id)
        uow.commit()


@hub_step("hub.link_crm_account")
def link_crm_account(customer_id: str, ref: ExternalRef) -> None:
    """Remember the CRM account of the hub customer."""
    with flow_context().uow_factory() as uow:
        contract_flow.link_refs(
            uow, [ref], record_kind=contract_flow.CUSTOMER, record_id=customer_id
        )
        uow.commit()


def _push_erp(activation: Activation) -> tuple[ExternalRef, ExternalRef, ExternalRef]:
    party = erp_customer(activation.customer, activation.legal_entity)
    project = erp_project(activation)
    return party, project, erp_contract(activation, activation.billing)


@workflow(ACTIVATE_CONTRACT)
def activate_contract(sourced: SourcedContract, clm_ref: ExternalRef | None) -> dict[str, Any]:
    """Validate and activate one approved contract everywhere; see the module docstring.

    Returns:
        ``{"outcome": "activated", "version": n, ...}``, or ``{"outcome": "abandoned"}``
        when an owner dismissed a failure item, or ``{"outcome": "withdrawn"}`` when the
        CLM no longer approves the contract on a re-fetch.

    Raises:
        IllegalTransitionError: the contract is not approved (nothing was pushed).
    """
    contract_id = sourced.contract.id
    topic = decision_topic(contract_id)
    waived: list[str] = []
    while findings := validate(sourced, waived):
        state = await_items(raise_findings(sourced, findings, topic), topic)
        waived += state.rejected_codes
        if clm_ref is None:
            continue
        fresh = until_settled(lambda: fetch_contract(clm_ref), contract_id=contract_id, topic=topic)
        if fresh is None:
            return {"outcome": "abandoned", "contract_id": contract_id}
        if fresh.contract.status is not ContractStatus.APPROVED:
            return {"outcome": "withdrawn", "status": fresh.contract.status.value}
        sourced = fresh
    activation = plan_activation(sourced)
    erp_refs = until_settled(lambda: _push_erp(activation), contract_id=contract_id, topic=topic)
    if erp_refs is None:
        return {"outcome": "abandoned", "contract_id": contract_id}
    version = record_activation(activation, erp_refs, clm_ref)
    psa_ref = until_settled(
        lambda: psa_project(activation.project, activation), contract_id=contract_id, topic=topic
    )
    if psa_ref is not None:
        link_psa_project(activation.project.id, psa_ref)
    # A contract signed without a deal in the CRM still makes its customer known there.
    crm_ref = until_settled(
        lambda: upsert_account(activation.customer), contract_id=contract_id, topic=topic
    )
    if crm_ref is not None:
        link_crm_account(activation.customer.id, crm_ref)
    notify_next_version(contract_id, version)
    return {
        "outcome": "activated",
        "contract_id": contract_id,
        "version": version,
        "waived": waived,
        "erp": [str(r) for r in erp_refs],
        "psa": str(psa_ref) if psa_ref else None,
        "crm": str(crm_ref) if crm_ref else None,
    }


__all__ = [
    "ACTIVATE_CONTRACT",
    "activate_contract",
    "decision_topic",
    "fetch_contract",
    "on_opportunity_won",
]
