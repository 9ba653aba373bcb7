"""Healing drift by re-pushing the CLM contract to a system, then reading it back to verify."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from contractsync.domain.customer import LegalEntity
from contractsync.domain.drift import DriftItem, DriftOutcome, ReportLine
from contractsync.domain.ownership import OwnershipMap, SystemRole
from contractsync.domain.project import Project, ProjectStatus
from contractsync.errors import ConfigError, ContractSyncError
from contractsync.ports.systems import FinancialSystem, ProjectPlan, ProjectTracker, SourcedContract
from contractsync.services.billing import build_billing_schedule
from contractsync.services.policy import Policy
from contractsync.services.reconciliation import compare_contract
from contractsync.services.reconciliation_healing import (
    ExceptionSpec,
    HealingAction,
    decide_healing,
    failed_heal_specs,
)

NOT_VERIFIED = "reconciliation.heal_not_verified"
"""Error code of a re-push after which the system still differs."""


@dataclass(frozen=True, slots=True)
class Targets:
    """The systems healing writes to, and what it needs to build what it writes.

    Attributes:
        erp: The ERP (``push_contract``).
        psa: The PSA (``upsert_project``), if one is compared.
        legal_entities: Our legal entities by code: an ERP push carries a billing schedule
            built for the contract's legal entity.
        project_id_of: The delivery project id of a contract id.
        systems: The configured system name of each role.
        ownership: The ownership map the drift was classified with (the read-back uses it).
    """

    erp: FinancialSystem
    psa: ProjectTracker | None
    legal_entities: Mapping[str, LegalEntity]
    project_id_of: Callable[[str], str]
    systems: Mapping[SystemRole, str]
    ownership: OwnershipMap


def settle_drift(
    items: Sequence[DriftItem],
    *,
    sourced: SourcedContract,
    plan: ProjectPlan | None,
    policy: Policy,
    targets: Targets,
    heal: bool,
) -> tuple[list[ReportLine], list[ExceptionSpec]]:
    """Heal what ``policy`` allows, verified by reading the system back; collect the rest.

    Each ``HealingAction`` of ``decide_healing`` re-pushes the contract to its system once
    (an idempotent upsert) and compares the system again: items gone are healed, items still
    there, or a push that fails, become ExceptionItems for the integration admin. With
    ``heal=False`` nothing is written and healable items are reported only.

    Args:
        items: The contract's drift items.
        sourced: The contract as the CLM holds it.
        plan: The PSA's plan of its project, as read (it names the project).
        policy: The reconciliation policy.
        targets: Where and how to re-push.
        heal: Whether to write at all.

    Returns:
        The report lines of healed and reported items, and the specs of items to raise.
    """
    lines: list[ReportLine] = []
    specs: list[ExceptionSpec] = []
    for decision in decide_healing(items, policy):
        if isinstance(decision, ExceptionSpec):
            specs.append(decision)
            continue
        rule = ", ".join(decision.rule_ids)
        if not heal:
            reason = "Healable; not healed because the run was told not to heal"
            lines += [_line(i, DriftOutcome.REPORTED, rule, reason) for i in decision.items]
            continue
        try:
            _push(targets, sourced, plan, decision)
            still = _drift_left(targets, sourced, decision.role)
        except ContractSyncError as error:
            specs += failed_heal_specs(decision.items, code=error.code, message=error.message)
            continue
        undone = [item for item in decision.items if item.dedupe_key in still]
        message = "the system still differs after the re-push"
        specs += failed_heal_specs(undone, code=NOT_VERIFIED, message=message)
        reason = f"Re-pushed the contract to {decision.system} and read it back"
        lines += [
            _line(item, DriftOutcome.HEALED, rule, reason)
            for item in decision.items
            if item not in undone
        ]
    return lines, specs


def _line(item: DriftItem, outcome: DriftOutcome, rule_id: str, reason: str) -> ReportLine:
    return ReportLine(item=item, outcome=outcome, rule_id=rule_id, reason=reason)


def _push(
    targets: Targets, sourced: SourcedContract, plan: ProjectPlan | None, action: HealingAction
) -> None:
    contract = sourced.contract
    if action.role is SystemRole.ERP:
        entity = targets.legal_entities.get(contract.legal_entity_code)
        if entity is None:
            raise ConfigError(
                f"legal entity {contract.legal_entity_code} is not configured, so the billing "
                f"schedule of contract {contract.id} cannot be built for the re-push",
                code="reconciliation.legal_entity_unknown",
                remediation="Configure the legal entity for reconciliation, then run again.",
            )
        targets.erp.push_contract(contract, build_billing_schedule(contract, legal_entity=entity))
        return
    if action.role is not SystemRole.PSA or targets.psa is None:
        raise ConfigError(
            f"reconciliation cannot re-push to the {action.role.value} role",
            code="reconciliation.not_pushable",
        )
    project = Project(
        id=targets.project_id_of(contract.id),
        contract_id=contract.id,
        customer_id=contract.customer_id,
        # The PSA's own project name is kept: only the contract's terms are restored.
        name=plan.name if plan is not None else contract.title,
        status=ProjectStatus.ACTIVE,
    )
    targets.psa.upsert_project(project, contract)


def _drift_left(targets: Targets, sourced: SourcedContract, role: SystemRole) -> set[str]:
    """Read one system again and return the dedupe keys of the drift still there."""
    systems = {role: targets.systems[role]}
    contract_id = sourced.contract.id
    if role is SystemRole.ERP:
        erp = targets.erp.snapshot(contract_id)
        items = compare_contract(
            sourced, erp=erp, psa=None, crm=None, systems=systems, ownership=targets.ownership
        )
    else:
        assert targets.psa is not None  # _push refused a PSA heal without a PSA
        plan = targets.psa.project_plan(targets.project_id_of(contract_id))
        items = compare_contract(
            sourced, erp=None, psa=plan, crm=None, systems=systems, ownership=targets.ownership
        )
    return {item.dedupe_key for item in items}


__all__ = ["NOT_VERIFIED", "Targets", "settle_drift"]
