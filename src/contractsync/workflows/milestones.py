"""Milestone billing: a PSA milestone completed becomes billing-ready, then one ERP invoice.

``on_tracker_event`` (inbox handler, PSA feed) starts ``bill_milestone`` for a completed
milestone (run ``milestone_billing:<contract>:<milestone>``, so a duplicated or re-read
completion is one run). In order:

1. the milestone moves to READY (``milestone.completed``, ``billing.ready``);
2. when the contract requires acceptance, an item asks delivery to confirm the customer's
   acceptance, and the run waits (dismissed: not invoiced);
3. the ERP invoice, once per milestone id (``FinancialSystem.create_invoice``), with the
   contract's payment terms on the hub's invoice;
4. the invoice stored, the milestone INVOICED (``invoice.created``, ``revenue.updated``).

Time logged on time-and-materials lines is recorded as a note only: the PSA feed carries
minutes without the role a rate card prices, so T&M months are not invoiced from it yet.
"""

from __future__ import annotations

from typing import Any

from contractsync.domain.identity import ExternalRef
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.ports.storage import InboxMessage
from contractsync.services import flow_decisions, milestone_billing
from contractsync.services.flow_triggers import TrackerTrigger
from contractsync.services.milestone_billing import BillingAction, InvoicePlan, MilestoneReady
from contractsync.workflows.contract_to_cash import decision_topic
from contractsync.workflows.flow_context import (
    await_items,
    current_run,
    flow_context,
    hub_step,
    read_trigger,
    start_child,
    until_settled,
)
from contractsync.workflows.steps import external_step, workflow

BILL_MILESTONE = "milestone_billing"
"""Registered name of ``bill_milestone``; runs are ``milestone_billing:<contract>:<milestone>``."""


@hub_step("hub.milestone_ready")
def mark_ready(contract_id: str, milestone_id: str) -> MilestoneReady:
    """Move the milestone to READY and decide what follows."""
    context = flow_context()
    with context.uow_factory() as uow:
        ready = milestone_billing.mark_ready(
            uow,
            context.clock,
            contract_id=contract_id,
            milestone_id=milestone_id,
            cause=current_run(),
        )
        uow.commit()
    return ready


@hub_step("hub.ask_acceptance")
def ask_acceptance(ready: MilestoneReady, topic: str) -> str:
    """Ask delivery to confirm the customer accepted the milestone."""
    context = flow_context()
    milestone, contract = ready.milestone, ready.contract
    with context.uow_factory() as uow:
        item_id = flow_decisions.raise_waiting_item(
            uow,
            context.clock,
            code="milestone.acceptance_pending",
            message=f"Milestone {milestone.id} ({milestone.name}) of contract {contract.id} is "
            f"complete; it is invoiced ({milestone.amount}) once the customer accepts it.",
            owner=OwnerRole.DELIVERY,
            severity=Severity.MEDIUM,
            remediation="Resolve this item when the customer's acceptance is on file; dismiss "
            "it if the customer refused (the milestone is then not invoiced).",
            workflow_id=current_run(),
            topic=topic,
            contract_id=contract.id,
            dedupe_key=f"acceptance:{contract.id}:{milestone.id}",
            money_at_risk=milestone.amount,
            evidence={"milestone_id": milestone.id},
        )
        uow.commit()
    return item_id


@hub_step("hub.plan_invoice")
def plan_invoice(ready: MilestoneReady) -> InvoicePlan:
    """The invoice of the milestone, issued today with the contract's payment terms."""
    context = flow_context()
    issued = context.clock.now().date()
    return milestone_billing.plan_invoice(
        ready.contract, ready.milestone, context.reference, issued_on=issued
    )


@external_step("erp.create_invoice")
def create_invoice(invoice: InvoicePlan) -> ExternalRef:
    """Invoice the milestone in the ERP, once per milestone id."""
    return flow_context().systems.erp.create_invoice(
        invoice.contract_id, invoice_key=invoice.invoice_key, amount=invoice.amount
    )


@hub_step("hub.record_invoice")
def record_invoice(invoice: InvoicePlan, ref: ExternalRef) -> None:
    """Store the invoice and the milestone invoiced; announce invoice and revenue."""
    context = flow_context()
    with context.uow_factory() as uow:
        milestone_billing.record_invoice(
            uow, context.clock, invoice, erp_ref=ref, cause=current_run()
        )
        uow.commit()


@workflow(BILL_MILESTONE)
def bill_milestone(contract_id: str, milestone_id: str) -> dict[str, Any]:
    """Make a completed milestone billing-ready and invoice it when the contract allows.

    Returns:
        ``{"outcome": ...}``: ``invoiced``, ``already invoiced``, ``not billable``,
        ``not accepted`` or ``abandoned`` (an owner dismissed a failure item).
    """
    topic = decision_topic(contract_id)
    ready = until_settled(
        lambda: mark_ready(contract_id, milestone_id), contract_id=contract_id, topic=topic
    )
    if ready is None:
        return {"outcome": "abandoned"}
    if ready.action in (BillingAction.ALREADY_INVOICED, BillingAction.NOT_BILLABLE):
        return {"outcome": ready.action.value, "reason": ready.reason}
    is_waiting = ready.action is BillingAction.AWAIT_ACCEPTANCE
    if is_waiting and not await_items([ask_acceptance(ready, topic)], topic).is_approved:
        return {"outcome": "not accepted", "milestone_id": milestone_id}
    invoice = plan_invoice(ready)
    ref = until_settled(lambda: create_invoice(invoice), contract_id=contract_id, topic=topic)
    if ref is None:
        return {"outcome": "abandoned", "invoice_id": invoice.invoice_id}
    record_invoice(invoice, ref)
    return {
        "outcome": "invoiced",
        "invoice_id": invoice.invoice_id,
        "erp": str(ref),
        "due_on": invoice.due_on.isoformat(),
    }


def on_tracker_event(message: InboxMessage) -> dict[str, Any]:
    """Inbox handler for the PSA feed: a completed milestone starts its billing run."""
    trigger = read_trigger(message)
    if not isinstance(trigger, TrackerTrigger):
        return {"outcome": "ignored"}
    event = trigger.event
    if event.kind == "time.logged":
        return {"outcome": "noted", "reason": "time is not priced from the PSA feed yet"}
    if event.kind != "milestone.completed":
        return {"outcome": "ignored", "reason": event.kind}
    if event.contract_id is None or event.milestone_id is None:
        return {"outcome": "ignored", "reason": "not a milestone the hub planned"}
    key = f"{event.contract_id}:{event.milestone_id}"
    run = start_child(bill_milestone, key, event.contract_id, event.milestone_id)
    return {"outcome": "started", "run": run}


__all__ = ["BILL_MILESTONE", "bill_milestone", "on_tracker_event"]
