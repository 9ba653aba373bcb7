"""Milestone billing: a completed PSA milestone becomes billing-ready, then an ERP invoice.

The PSA owns completion; the contract owns whether and when it may be invoiced:

==============================================  ==========================================
the milestone / contract                         what happens
==============================================  ==========================================
already invoiced                                 nothing (a duplicate completion)
contract not active (terminated, suspended ...)  ready, not invoiced; the reason is recorded
acceptance required                              ready; invoiced once the customer's
                                                 acceptance is confirmed (an item for
                                                 delivery, resolved on acceptance)
otherwise                                        ready, then invoiced
==============================================  ==========================================

The invoice is keyed by the milestone id (``FinancialSystem.create_invoice`` is once per
key) and carries the contract's payment terms: due ``payment_terms`` days after issue.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.contract_line import FixedFee
from contractsync.domain.events import EventType
from contractsync.domain.identity import ExternalRef
from contractsync.domain.milestone import BillingMilestone, MilestoneStatus
from contractsync.domain.money import Money
from contractsync.errors import DataError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services.contract_flow import (
    CONTRACT,
    INVOICE,
    ReferenceData,
    business_event,
    link_refs,
    load_contract,
    store_record,
)


class BillingAction(StrEnum):
    """What a completed milestone leads to (module table)."""

    INVOICE = "invoice"
    AWAIT_ACCEPTANCE = "await acceptance"
    NOT_BILLABLE = "not billable"
    ALREADY_INVOICED = "already invoiced"


class MilestoneReady(ValueObject):
    """A completed milestone made billing-ready, and what happens next."""

    contract: Contract
    milestone: BillingMilestone
    action: BillingAction
    reason: str = ""


class InvoicePlan(ValueObject):
    """One milestone invoice: its hub id, ERP key, amount and payment terms."""

    invoice_id: str
    contract_id: str
    milestone_id: str
    invoice_key: str
    amount: Money
    issued_on: date
    payment_terms_days: int
    due_on: date


def find_milestone(contract: Contract, milestone_id: str) -> BillingMilestone | None:
    """The billing milestone ``milestone_id`` of the contract, if it has one."""
    return next((m for _, m in contract.milestones() if m.id == milestone_id), None)


def with_milestone_status(
    contract: Contract, milestone_id: str, status: MilestoneStatus
) -> Contract:
    """The contract with one milestone moved to ``status`` (the lifecycle is enforced).

    Raises:
        IllegalTransitionError: the milestone may not move there (an invoiced one never moves).
    """
    lines = []
    for line in contract.lines:
        billing = line.billing
        if isinstance(billing, FixedFee) and any(m.id == milestone_id for m in billing.milestones):
            moved = tuple(
                m.move_to(status) if m.id == milestone_id else m for m in billing.milestones
            )
            line = line.model_copy(
                update={"billing": billing.model_copy(update={"milestones": moved})}
            )
        lines.append(line)
    return contract.model_copy(update={"lines": tuple(lines)})


def mark_ready(
    uow: UnitOfWork, clock: Clock, *, contract_id: str, milestone_id: str, cause: str
) -> MilestoneReady:
    """Make a completed milestone billing-ready and decide what follows (module table).

    A planned milestone moves to READY (stored, with ``milestone.completed`` and
    ``billing.ready``); a ready one stays; an invoiced one is reported. Does not commit.

    Raises:
        DataError: the hub has no active version of the contract yet, or it has no such
            milestone (the PSA and the contract disagree: delivery fixes the plan).
    """
    contract = load_contract(uow, contract_id)
    if contract is None:
        raise DataError(
            f"milestone {milestone_id} was completed for contract {contract_id}, which the hub "
            "has not activated",
            code="milestone.contract_unknown",
            remediation="Activate the contract first (approve it in the CLM); then resolve.",
            detail={"contract_id": contract_id, "milestone_id": milestone_id},
        )
    milestone = find_milestone(contract, milestone_id)
    if milestone is None:
        raise DataError(
            f"contract {contract_id} v{contract.version} has no billing milestone {milestone_id}",
            code="milestone.unknown",
            remediation="Link the PSA milestone to a billing milestone of the contract.",
            detail={"contract_id": contract_id, "milestone_id": milestone_id, "owner": "delivery"},
        )
    if milestone.status is MilestoneStatus.INVOICED:
        return MilestoneReady(
            contract=contract, milestone=milestone, action=BillingAction.ALREADY_INVOICED
        )
    if milestone.status is MilestoneStatus.PLANNED:
        contract = with_milestone_status(contract, milestone_id, MilestoneStatus.READY)
        store_record(uow, CONTRACT, contract.id, contract.model_dump(mode="json"), cause=cause)
        milestone = milestone.move_to(MilestoneStatus.READY)
        _announce_ready(uow, clock, contract, milestone)
    if contract.status is not ContractStatus.ACTIVE:
        reason = f"contract {contract.id} is {contract.status.value}; it is not invoiced"
        return MilestoneReady(
            contract=contract, milestone=milestone, action=BillingAction.NOT_BILLABLE, reason=reason
        )
    action = (
        BillingAction.AWAIT_ACCEPTANCE if milestone.acceptance_required else BillingAction.INVOICE
    )
    return MilestoneReady(contract=contract, milestone=milestone, action=action)


def _announce_ready(
    uow: UnitOfWork, clock: Clock, contract: Contract, milestone: BillingMilestone
) -> None:
    key = f"{contract.id}:{milestone.id}"
    data = {"milestone_id": milestone.id, "amount": milestone.amount.model_dump(mode="json")}
    for kind in (EventType.MILESTONE_COMPLETED, EventType.BILLING_READY):
        uow.outbox.add(
            business_event(
                kind,
                subject=f"milestone:{key}",
                contract_id=contract.id,
                key=key,
                at=clock.now(),
                data={**data, "acceptance_required": milestone.acceptance_required},
            )
        )


def invoice_id_for(contract_id: str, milestone_id: str) -> str:
    """The hub id of a milestone's invoice: ``INV-<contract>-<milestone>``."""
    return f"INV-{contract_id}-{milestone_id}"


def plan_invoice(
    contract: Contract, milestone: BillingMilestone, reference: ReferenceData, *, issued_on: date
) -> InvoicePlan:
    """The invoice of a ready milestone, with the contract's payment terms.

    Raises:
        DataError: the contract's legal entity is not ours (its default terms are unknown).
    """
    entity = reference.legal_entity(contract.legal_entity_code)
    days = contract.payment_terms(entity.default_payment_terms_days)
    return InvoicePlan(
        invoice_id=invoice_id_for(contract.id, milestone.id),
        contract_id=contract.id,
        milestone_id=milestone.id,
        invoice_key=milestone.id,
        amount=milestone.amount,
        issued_on=issued_on,
        payment_terms_days=days,
        due_on=issued_on + timedelta(days=days),
    )


def record_invoice(
    uow: UnitOfWork, clock: Clock, plan: InvoicePlan, *, erp_ref: ExternalRef, cause: str
) -> Contract:
    """Store the invoice and the milestone INVOICED; announce the invoice and the revenue.

    Events: ``invoice.created`` and ``revenue.updated`` (the milestone's amount recognised
    at a point in time). Does not commit.

    Raises:
        DataError: the contract is gone from the hub (it never is once activated).
    """
    contract = load_contract(uow, plan.contract_id)
    if contract is None:
        raise DataError(f"contract {plan.contract_id} is not in the hub", code="contract.unknown")
    milestone = find_milestone(contract, plan.milestone_id)
    if milestone is not None and milestone.status is MilestoneStatus.READY:
        contract = with_milestone_status(contract, plan.milestone_id, MilestoneStatus.INVOICED)
        store_record(uow, CONTRACT, contract.id, contract.model_dump(mode="json"), cause=cause)
    document = plan.model_dump(mode="json") | {"erp_ref": str(erp_ref)}
    store_record(uow, INVOICE, plan.invoice_id, document, cause=cause)
    link_refs(uow, [erp_ref], record_kind=INVOICE, record_id=plan.invoice_id)
    amount = plan.amount.model_dump(mode="json")
    now = clock.now()
    uow.outbox.add(
        business_event(
            EventType.INVOICE_CREATED,
            subject=f"{INVOICE}:{plan.invoice_id}",
            contract_id=contract.id,
            key=plan.invoice_id,
            at=now,
            data={
                "invoice_id": plan.invoice_id,
                "milestone_id": plan.milestone_id,
                "amount": amount,
                "erp_ref": str(erp_ref),
                "payment_terms_days": plan.payment_terms_days,
                "due_on": plan.due_on.isoformat(),
            },
        )
    )
    uow.outbox.add(
        business_event(
            EventType.REVENUE_UPDATED,
            subject=f"contract:{contract.id}",
            contract_id=contract.id,
            key=plan.invoice_id,
            at=now,
            data={
                "milestone_id": plan.milestone_id,
                "recognised": amount,
                "method": "point_in_time",
            },
        )
    )
    return contract


__all__ = [
    "BillingAction",
    "InvoicePlan",
    "MilestoneReady",
    "find_milestone",
    "invoice_id_for",
    "mark_ready",
    "plan_invoice",
    "record_invoice",
    "with_milestone_status",
]
