"""Reconciliation, pure: classify how the ERP, PSA and CRM drifted from the CLM contract terms."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.drift import DriftDetail, DriftItem, DriftKind
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money, total
from contractsync.domain.ownership import DEFAULT_OWNERSHIP, OwnershipMap, SystemRole
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.ports.systems import PlannedMilestone, ProjectPlan, SourcedContract
from contractsync.services.reconciliation_changes import ABSENT, Found, Side, value_of
from contractsync.services.reconciliation_copies import drift_between, drift_item, undiffable

DOWNSTREAM_STATUSES = frozenset(
    {
        ContractStatus.APPROVED,
        ContractStatus.ACTIVE,
        ContractStatus.SUSPENDED,
        ContractStatus.EXPIRED,
    }
)
"""Contract statuses in which the ERP, the PSA and the CRM must know the contract.

A draft or in-review contract is not pushed yet; a terminated one may never have been.
"""

_UNDATED = "no date in the PSA"


def project_id_for(contract_id: str) -> str:
    """The canonical id of the delivery project of a contract: the contract id itself.

    One contract has one delivery project; pass another ``project_id_of`` to the
    reconciliation if projects are keyed differently.
    """
    return contract_id


def compare_contract(
    clm: SourcedContract,
    *,
    erp: FinancialSnapshot | None,
    psa: ProjectPlan | None,
    crm: ExternalRef | None,
    systems: Mapping[SystemRole, str],
    ownership: OwnershipMap = DEFAULT_OWNERSHIP,
) -> list[DriftItem]:
    """Every drift between the CLM contract (the expected terms) and what each system holds.

    Only the roles named in ``systems`` (role -> configured system name) are compared; for
    those, None means the system does not hold the record, which is drift once the contract
    is approved (:data:`DOWNSTREAM_STATUSES`). Money at risk follows what is at stake: a
    missing ERP contract its value, a missing PSA project the milestones it would trigger,
    a repriced milestone the difference, an over-invoice the excess (see
    ``reconciliation_changes.classify``). Milestones the ERP invoiced are never healable,
    in any system.

    Args:
        clm: The contract as the CLM holds it, with its counterparty.
        erp: The ERP's snapshot of the contract, or None if the ERP does not hold it.
        psa: The PSA's plan of the contract's project, or None if it has no project.
        crm: The CRM account of the contract's customer, or None if there is none.
        systems: The roles compared, with each one's configured system name.
        ownership: Which system owns which field (decides what a re-push may restore).

    Returns:
        The drift items, ERP first, then PSA, then CRM; empty when all agree.
    """
    contract = clm.contract
    expected = contract.status in DOWNSTREAM_STATUSES
    invoiced = erp.invoiced_milestone_ids if erp is not None else frozenset()
    items: list[DriftItem] = []
    if SystemRole.ERP in systems:
        name = systems[SystemRole.ERP]
        if erp is not None:
            side = Side(
                name,
                SystemRole.ERP,
                invoiced,
                erp.closed_through,
                held_version=erp.contract.version,
                clm_version=contract.version,
            )
            items += drift_between(contract, erp.contract, side=side, ownership=ownership)
        elif expected:
            items.append(_missing(contract, DriftKind.MISSING_IN_ERP, name, value_of(contract)))
    if SystemRole.PSA in systems:
        name = systems[SystemRole.PSA]
        if psa is not None:
            side = Side(name, SystemRole.PSA, invoiced)
            items += plan_drift(contract, psa, side=side, ownership=ownership)
        elif expected:
            billed = _milestone_total(contract)
            items.append(_missing(contract, DriftKind.MISSING_IN_PSA, name, billed))
    if SystemRole.CRM in systems and crm is None and expected:
        name = systems[SystemRole.CRM]
        account = f"{clm.customer.id} {clm.customer.legal_name!r}"
        items.append(_missing(contract, DriftKind.MISSING_IN_CRM, name, None, expected=account))
    return items


def find_orphans(
    erp_contract_ids: Iterable[str],
    psa_project_ids: Iterable[str],
    clm_contract_ids: Iterable[str],
    *,
    systems: Mapping[SystemRole, str],
    project_id_of: Callable[[str], str] = project_id_for,
) -> list[DriftItem]:
    """Records the ERP or the PSA holds with no CLM contract behind them.

    Args:
        erp_contract_ids: Every contract id the ERP holds.
        psa_project_ids: Every project id the PSA holds.
        clm_contract_ids: Every contract id the CLM holds.
        systems: The configured system name of the ERP and PSA roles.
        project_id_of: The project id of a contract id.

    Returns:
        One ``orphan_record`` item per orphan (never healable: a person decides whether it
        is a contract the CLM lost or a record to close), sorted by system then id.
    """
    contracts = set(clm_contract_ids)
    projects = {project_id_of(contract_id) for contract_id in contracts}
    found = [
        (SystemRole.ERP, "contract", record) for record in sorted(set(erp_contract_ids) - contracts)
    ]
    found += [
        (SystemRole.PSA, "project", record) for record in sorted(set(psa_project_ids) - projects)
    ]
    return [
        DriftItem(
            contract_id=record,
            kind=DriftKind.ORPHAN_RECORD,
            detail=DriftDetail.EXTRA,
            system=systems.get(role, role.value),
            role=role,
            field=field,
            expected="no CLM contract",
            actual=f"{field} {record}",
            system_of_record=SystemRole.CLM,
            unhealable_reason="a person decides whether the CLM lost it or it is to be closed",
        )
        for role, field, record in found
    ]


def plan_drift(
    clm: Contract, plan: ProjectPlan, *, side: Side, ownership: OwnershipMap
) -> list[DriftItem]:
    """Every difference between the PSA's plan of a contract's project and the contract.

    The project dates are compared with the contract term; the plan's milestones are read
    as the contract's (same ids) with the PSA's names, dates and, where the PSA holds them,
    amounts, then compared like any copy. Milestones the contract does not have are extra.
    """
    found = [
        Found(
            DriftKind.TERM_MISMATCH,
            DriftDetail.RESCHEDULED,
            name,
            want.isoformat(),
            have.isoformat(),
            None,
            ("contract", "term"),
        )
        for name, want, have in (
            ("term.start", clm.term.start, plan.start),
            ("term.end", clm.term.end, plan.end),
        )
        if have is not None and have != want
    ]
    known = {m.id for _, m in clm.milestones()}
    found += [
        Found(
            DriftKind.MILESTONE_MISMATCH,
            DriftDetail.EXTRA,
            f"milestones.{m.id}",
            ABSENT,
            _planned_text(m),
            m.amount,
            ("billing_milestone", "*"),
            invoiced=m.id in side.invoiced,
        )
        for m in plan.milestones
        if m.id not in known
    ]
    items = [drift_item(clm.id, f, side, ownership) for f in found]
    try:
        held = _as_planned(clm, plan)
    except ValidationError as error:
        return [*items, drift_item(clm.id, undiffable(clm, clm, error), side, ownership)]
    return items + drift_between(clm, held, side=side, ownership=ownership)


def _planned_text(milestone: PlannedMilestone) -> str:
    due = milestone.due_date.isoformat() if milestone.due_date else "undated"
    amount = f" {milestone.amount}" if milestone.amount is not None else ""
    return f"{milestone.id} {milestone.name!r}{amount} due {due} ({milestone.status})"


def _as_planned(clm: Contract, plan: ProjectPlan) -> Contract:
    """The contract as the PSA plans it: its milestones with the plan's values, or dropped."""
    data = clm.model_dump(mode="python")
    for line in data["lines"]:
        billing: dict[str, Any] = line["billing"]
        if "milestones" not in billing:
            continue  # only fixed-fee lines have milestones
        kept = []
        for milestone in billing["milestones"]:
            planned = plan.milestone(milestone["id"])
            before = milestone["amount"]["amount"]
            if planned is None:
                billing["amount"]["amount"] -= before
                continue
            milestone["name"], milestone["due_date"] = planned.name, planned.due_date
            if planned.due_date is None and not milestone["trigger"]:
                milestone["trigger"] = _UNDATED  # a milestone needs a date or a trigger
            if planned.amount is not None:
                milestone["amount"] = planned.amount.model_dump()
                billing["amount"]["amount"] += planned.amount.amount - before
            kept.append(milestone)
        billing["milestones"] = kept
        billing["amount"]["amount"] = max(billing["amount"]["amount"], Decimal(0))
    return Contract.model_validate(data)


def _milestone_total(contract: Contract) -> Money | None:
    amounts = [m.amount for _, m in contract.milestones()]
    return total(amounts, contract.currency) if amounts else None


def _missing(
    contract: Contract,
    kind: DriftKind,
    system: str,
    money: Money | None,
    *,
    expected: str | None = None,
) -> DriftItem:
    role, field, owner = {
        DriftKind.MISSING_IN_ERP: (SystemRole.ERP, "contract", SystemRole.CLM),
        DriftKind.MISSING_IN_PSA: (SystemRole.PSA, "project", SystemRole.PSA),
        DriftKind.MISSING_IN_CRM: (SystemRole.CRM, "customer", SystemRole.CRM),
    }[kind]
    return DriftItem(
        contract_id=contract.id,
        kind=kind,
        detail=DriftDetail.MISSING,
        system=system,
        role=role,
        field=field,
        expected=expected or f"{contract.title!r} v{contract.version} ({contract.status})",
        actual=ABSENT,
        money_at_risk=money if money is not None and not money.is_zero else None,
        system_of_record=owner,
        healable=False,
        unhealable_reason="creating it is the activation flow's work (customer, legal "
        "entity, schedule): replay that flow",
    )


__all__ = ["DOWNSTREAM_STATUSES", "compare_contract", "find_orphans", "project_id_for"]
