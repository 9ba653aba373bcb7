"""Amendment rollout: a new CLM version planned against the live ERP, decided, applied once.

``amend_contract`` (run ``amendment_rollout:<contract>:v<n>``, one per version), in order:

1. wait until the hub stores version n - 1 (ADR 0006): an amendment that arrives before its
   contract, or version 3 before version 2, waits on the topic "contract <id> at version
   n - 1", which the run that stores n - 1 notifies; past ``ordering_wait_seconds`` an item
   asks the integration admin whether to go on without it. A version the hub already has
   ends the run (a duplicate);
2. plan against the ERP snapshot and let the policy decide (``amendment.planned``);
3. routed: an item for the owner carrying the plan and its money impact
   (``amendment.routed``), and the run waits; rejected: ``amendment.rejected``, nothing
   applied;
4. apply: one ERP push per pending operation (a step per plan id and operation index, so
   each is applied once), the PSA, then the new version stored with ``amendment.applied``
   (and ``contract.renewed`` for a later term end);
5. notify the run of version n + 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.identity import ExternalRef
from contractsync.domain.project import Project
from contractsync.domain.roles import OwnerRole
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.ports.systems import SourcedContract
from contractsync.services import amendment_flow, contract_flow, flow_decisions
from contractsync.services.amendment_flow import DecidedPlan, OperationPush
from contractsync.workflows.contract_to_cash import activate_contract, decision_topic
from contractsync.workflows.flow_context import (
    AMEND_CONTRACT,
    await_items,
    current_run,
    flow_context,
    hub_step,
    notify_next_version,
    now,
    read_items,
    start_child,
    until_settled,
    version_topic,
)
from contractsync.workflows.steps import external_step, wait_for_decision, workflow


@hub_step("hub.stored_contract")
def stored_contract(contract_id: str) -> Contract | None:
    """The version the hub has applied, or None."""
    with flow_context().uow_factory() as uow:
        return contract_flow.load_contract(uow, contract_id)


@hub_step("hub.raise_ordering_item")
def raise_ordering_item(amended: Contract, stored_version: int | None, topic: str) -> str:
    """Ask whether to go on although version n - 1 never arrived."""
    context = flow_context()
    have = "no version" if stored_version is None else f"version {stored_version}"
    with context.uow_factory() as uow:
        item_id = flow_decisions.raise_waiting_item(
            uow,
            context.clock,
            code="amendment.predecessor_missing",
            message=f"Version {amended.version} of contract {amended.id} waits for version "
            f"{amended.version - 1}, but the hub has {have}.",
            owner=OwnerRole.INTEGRATION_ADMIN,
            remediation="Approve the missing version in the CLM, or resolve this item to apply "
            "this version on top of what the hub has (dismiss it to drop this version).",
            workflow_id=current_run(),
            topic=topic,
            contract_id=amended.id,
            dedupe_key=f"ordering:{amended.id}:v{amended.version}",
        )
        uow.commit()
    return item_id


@external_step("erp.snapshot")
def erp_snapshot(contract_id: str) -> FinancialSnapshot:
    """The ERP's live state of the contract."""
    return flow_context().systems.erp.snapshot(contract_id)


@hub_step("hub.plan_amendment")
def plan(stored: Contract, amended: Contract, erp: FinancialSnapshot) -> DecidedPlan:
    """Plan the version step, decide it, and announce ``amendment.planned``."""
    context = flow_context()
    decided = amendment_flow.plan_and_decide(stored, amended, erp=erp, policy=context.policy)
    with context.uow_factory() as uow:
        amendment_flow.record_planned(uow, context.clock, decided, erp)
        uow.commit()
    return decided


@hub_step("hub.route_amendment")
def route(decided: DecidedPlan, topic: str) -> str:
    """Raise the owner's item with the plan and its money impact; announce the routing."""
    context = flow_context()
    impact = decided.plan.impact.delta
    with context.uow_factory() as uow:
        item_id = flow_decisions.raise_waiting_item(
            uow,
            context.clock,
            code="amendment.routed",
            message=f"Amendment {decided.plan_id} needs approval: {decided.decision.reason} "
            f"(value {impact}).",
            owner=decided.decision.owner or OwnerRole.FINANCE,
            remediation="Review the plan in the evidence; resolve this item to apply it, or "
            'dismiss it (or resolve with {"decision": "reject"}) to reject it.',
            workflow_id=current_run(),
            topic=topic,
            contract_id=decided.plan.contract_id,
            dedupe_key=f"amendment:{decided.plan_id}",
            money_at_risk=-impact if impact.is_negative else impact,
            evidence=amendment_flow.plan_evidence(decided),
        )
        amendment_flow.record_routed(uow, context.clock, decided, item_id=item_id)
        uow.commit()
    return item_id


@hub_step("hub.plan_pushes")
def pushes_of(stored: Contract, amended: Contract, decided: DecidedPlan) -> list[OperationPush]:
    """The ERP push of each pending operation."""
    reference = flow_context().reference
    return amendment_flow.operation_pushes(stored, amended, decided.plan, reference=reference)


@external_step("erp.apply_operation")
def apply_operation(plan_id: str, push: OperationPush) -> ExternalRef:
    """Push the contract state after operation ``push.index`` of plan ``plan_id``."""
    return flow_context().systems.erp.push_contract(push.contract, push.schedule)


@external_step("psa.apply_amendment")
def psa_update(contract: Contract) -> ExternalRef | None:
    """Bring the PSA project and milestones to the amended version; None without a PSA."""
    context = flow_context()
    if context.systems.psa is None:
        return None
    with context.uow_factory() as uow:
        project = contract_flow.load_project(uow, contract_flow.project_id_for(contract.id))
    project = project or Project(
        id=contract.id,
        contract_id=contract.id,
        customer_id=contract.customer_id,
        name=contract.title,
    )
    return context.systems.psa.upsert_project(project, contract)


@hub_step("hub.record_applied")
def record_applied(
    decided: DecidedPlan, stored: Contract, amended: Contract, by: str | None
) -> int:
    """Store the amended version active; announce it; return its version."""
    context = flow_context()
    with context.uow_factory() as uow:
        contract = amendment_flow.record_applied(
            uow,
            context.clock,
            decided,
            stored=stored,
            amended=amended,
            reference=context.reference,
            approved_by=by,
        )
        uow.commit()
    return contract.version


@hub_step("hub.record_rejected")
def record_rejected(decided: DecidedPlan, reason: str) -> None:
    """Announce the rejection; nothing is applied."""
    context = flow_context()
    with context.uow_factory() as uow:
        amendment_flow.record_rejected(uow, context.clock, decided, reason=reason)
        uow.commit()


def _await_predecessor(amended: Contract, topic: str) -> tuple[str, Contract | None]:
    """Wait for version n - 1; return (``ready`` | ``stale`` | ``ahead`` | ``dropped``, stored)."""
    timing = flow_context().timing
    started: datetime = now()
    poll = min(timing.decision_poll_seconds, timing.ordering_wait_seconds)
    item_id: str | None = None
    while True:
        stored = stored_contract(amended.id)
        if stored is not None and (
            stored.version >= amended.version or stored.status is ContractStatus.TERMINATED
        ):
            return "stale", stored
        if stored is not None and stored.version == amended.version - 1:
            return "ready", stored
        if item_id is not None:
            state = read_items([item_id])
            if not state.is_pending:
                return ("ahead" if state.is_approved else "dropped"), stored
        elif (now() - started).total_seconds() >= timing.ordering_wait_seconds:
            item_id = raise_ordering_item(amended, stored.version if stored else None, topic)
        wait_for_decision(version_topic(amended.id, amended.version - 1), poll)


def _apply(decided: DecidedPlan, stored: Contract, amended: Contract) -> Contract:
    for push in pushes_of(stored, amended, decided):
        apply_operation(decided.plan_id, push)
    final = amended.model_copy(update={"status": ContractStatus.ACTIVE})
    psa_update(final)
    return final


@workflow(AMEND_CONTRACT)
def amend_contract(sourced: SourcedContract, clm_ref: ExternalRef | None) -> dict[str, Any]:
    """Apply one new contract version in order, exactly once; see the module docstring.

    Returns:
        ``{"outcome": ...}``: ``applied``, ``rejected``, ``duplicate`` (the hub has the
        version), ``dropped``, ``abandoned`` (a failure item was dismissed) or
        ``activating`` (nothing was stored and the owner let this version activate).
    """
    amended = sourced.contract
    contract_id, topic = amended.id, decision_topic(amended.id)
    outcome, stored = _await_predecessor(amended, topic)
    if outcome in ("stale", "dropped"):
        return {"outcome": "duplicate" if outcome == "stale" else "dropped"}
    if stored is None:  # the owner let it go ahead of a contract the hub never stored
        run = start_child(activate_contract, contract_id, sourced, clm_ref)
        return {"outcome": "activating", "run": run}
    decided = until_settled(
        lambda: plan(stored, amended, erp_snapshot(contract_id)),
        contract_id=contract_id,
        topic=topic,
    )
    if decided is None:
        return {"outcome": "abandoned"}
    approved_by = None
    if decided.decision.is_routed:
        state = await_items([route(decided, topic)], topic)
        if not state.is_approved:
            record_rejected(decided, "; ".join(state.notes) or "rejected by its owner")
            return {"outcome": "rejected", "plan_id": decided.plan_id}
        approved_by = decided.decision.owner.value if decided.decision.owner else None
    if (
        until_settled(
            lambda: _apply(decided, stored, amended), contract_id=contract_id, topic=topic
        )
        is None
    ):
        return {"outcome": "abandoned", "plan_id": decided.plan_id}
    version = record_applied(decided, stored, amended, approved_by)
    notify_next_version(contract_id, version)
    return {
        "outcome": "applied",
        "plan_id": decided.plan_id,
        "version": version,
        "routed": decided.decision.is_routed,
        "rule_id": decided.decision.rule_id,
    }


__all__ = ["amend_contract", "stored_contract"]
