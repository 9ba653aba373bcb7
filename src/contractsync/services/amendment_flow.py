"""Amendment rollout decisions: plan a new CLM version against the live ERP, decide, apply once.

The plan is the three-way diff of the stored version, the amended CLM version and the ERP
snapshot (``services.amendments.plan_amendment``); the policy decides auto-apply or route.
Applying pushes one cumulative state per pending operation (operation ``i`` pushes the
contract with operations ``0..i`` applied; the last one pushes the amended version itself),
so a step keyed by plan id and operation index that runs twice pushes the same state twice,
which the ports' idempotent upserts make one effect. Renewals are term changes on this same
path (``contract.renewed`` is announced besides ``amendment.applied``).
"""

from __future__ import annotations

from typing import Any

from contractsync.domain.amending import apply_changes
from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract, ContractStatus
from contractsync.domain.contract_line import FixedFee
from contractsync.domain.decision import PolicyDecision
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.plan import AmendmentPlan
from contractsync.domain.schedules import BillingSchedule
from contractsync.domain.snapshot import FinancialSnapshot
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services.amendments import plan_amendment
from contractsync.services.billing import build_billing_schedule
from contractsync.services.contract_flow import (
    BILLING_SCHEDULE,
    CONTRACT,
    REVENUE_SCHEDULE,
    ReferenceData,
    business_event,
    store_record,
)
from contractsync.services.policy import Policy, decide
from contractsync.services.revenue import build_revenue_schedule

ERP_SNAPSHOT = "financial_snapshot"
"""Record kind of the ERP state a plan was made against (the API's dry runs read it)."""


class DecidedPlan(ValueObject):
    """A plan and the policy decision on it, with the plan's stable id."""

    plan_id: str
    plan: AmendmentPlan
    decision: PolicyDecision


class OperationPush(ValueObject):
    """What applying one pending operation pushes: the contract state after it."""

    index: int
    contract: Contract
    schedule: BillingSchedule


def plan_id_of(plan: AmendmentPlan) -> str:
    """A plan's id: ``<contract>:v<from>-v<to>`` (one plan per version step)."""
    return f"{plan.contract_id}:v{plan.from_version}-v{plan.to_version}"


def carry_milestone_status(stored: Contract, amended: Contract) -> Contract:
    """The amended version with the milestone statuses the hub tracks (ready, invoiced).

    The CLM does not know delivery progress; without this every amendment would look like
    it re-planned milestones the PSA had completed.
    """
    known = {m.id: m.status for _, m in stored.milestones()}
    lines = []
    for line in amended.lines:
        billing = line.billing
        if isinstance(billing, FixedFee):
            moved = tuple(
                m.model_copy(update={"status": known.get(m.id, m.status)})
                for m in billing.milestones
            )
            billing = billing.model_copy(update={"milestones": moved})
            line = line.model_copy(update={"billing": billing})
        lines.append(line)
    return amended.model_copy(update={"lines": tuple(lines)})


def plan_and_decide(
    stored: Contract, amended: Contract, *, erp: FinancialSnapshot, policy: Policy
) -> DecidedPlan:
    """Plan moving the ERP from ``stored`` to ``amended`` and let the policy decide.

    Raises:
        AmendmentError: the versions differ in something no change expresses (a title, an
            obligation ...) or the plan cannot be made; the flow routes it to a person.
        ConfigError: the policy cannot evaluate the plan's facts.
    """
    plan = plan_amendment(stored, carry_milestone_status(stored, amended), erp=erp)
    return DecidedPlan(plan_id=plan_id_of(plan), plan=plan, decision=decide(policy, plan.facts()))


def record_planned(
    uow: UnitOfWork, clock: Clock, decided: DecidedPlan, erp: FinancialSnapshot
) -> None:
    """Announce ``amendment.planned`` with the decision, and keep the ERP state it met.

    Does not commit.
    """
    plan = decided.plan
    store_record(
        uow, ERP_SNAPSHOT, plan.contract_id, erp.model_dump(mode="json"), cause=decided.plan_id
    )
    uow.outbox.add(_event(EventType.AMENDMENT_PLANNED, clock, decided, _summary(decided)))


def operation_pushes(
    stored: Contract, amended: Contract, plan: AmendmentPlan, *, reference: ReferenceData
) -> list[OperationPush]:
    """One push per pending operation, in plan order (see the module doc).

    The last push carries ``amended`` itself (with the stored milestone statuses), so the
    ERP ends on exactly the amended version.

    Raises:
        AmendmentError: a change of the plan no longer applies to the stored version.
        DomainError, DataError: a schedule cannot be built for a state, or a state's
            legal entity is not ours.
    """
    pending = [i for i, op in enumerate(plan.operations) if op.is_pending]
    final = carry_milestone_status(stored, amended).model_copy(
        update={"status": ContractStatus.ACTIVE}
    )
    pushes = []
    for index in pending:
        state = (
            final
            if index == pending[-1]
            else apply_changes(stored, [op.change for op in plan.operations[: index + 1]])
        )
        entity = reference.legal_entity(state.legal_entity_code)
        schedule = build_billing_schedule(state, legal_entity=entity)
        pushes.append(OperationPush(index=index, contract=state, schedule=schedule))
    return pushes


def record_applied(
    uow: UnitOfWork,
    clock: Clock,
    decided: DecidedPlan,
    *,
    stored: Contract,
    amended: Contract,
    reference: ReferenceData,
    approved_by: str | None,
) -> Contract:
    """Store the amended version ACTIVE with its schedules; announce it. Does not commit.

    Events: ``amendment.applied``, and ``contract.renewed`` when the term end moved later.

    Returns:
        The contract version as stored.

    Raises:
        DataError: the amended legal entity is not ours.
    """
    contract = carry_milestone_status(stored, amended).model_copy(
        update={"status": ContractStatus.ACTIVE}
    )
    cause = f"amendment:{decided.plan_id}"
    store_record(uow, CONTRACT, contract.id, contract.model_dump(mode="json"), cause=cause)
    entity = reference.legal_entity(contract.legal_entity_code)
    schedule = build_billing_schedule(contract, legal_entity=entity)
    store_record(uow, BILLING_SCHEDULE, contract.id, schedule.model_dump(mode="json"), cause=cause)
    revenue = build_revenue_schedule(contract)
    store_record(uow, REVENUE_SCHEDULE, contract.id, revenue.model_dump(mode="json"), cause=cause)
    data = _summary(decided) | {"approved_by": approved_by}
    uow.outbox.add(_event(EventType.AMENDMENT_APPLIED, clock, decided, data))
    if contract.term.end > stored.term.end:
        renewed = {"from_end": stored.term.end.isoformat(), "to_end": contract.term.end.isoformat()}
        uow.outbox.add(_event(EventType.CONTRACT_RENEWED, clock, decided, renewed))
    return contract


def record_routed(uow: UnitOfWork, clock: Clock, decided: DecidedPlan, *, item_id: str) -> None:
    """Announce ``amendment.routed`` naming the item the owner decides on. Does not commit."""
    data = _summary(decided) | {"exception_id": item_id}
    uow.outbox.add(_event(EventType.AMENDMENT_ROUTED, clock, decided, data))


def record_rejected(uow: UnitOfWork, clock: Clock, decided: DecidedPlan, *, reason: str) -> None:
    """Announce ``amendment.rejected``; nothing is applied anywhere. Does not commit."""
    data = _summary(decided) | {"reason": reason}
    uow.outbox.add(_event(EventType.AMENDMENT_REJECTED, clock, decided, data))
    uow.audit.append(
        actor="contractsync",
        action="amendment.rejected",
        subject=f"contract:{decided.plan.contract_id}",
        payload={"plan_id": decided.plan_id, "reason": reason},
    )


def plan_evidence(decided: DecidedPlan) -> dict[str, Any]:
    """What the routed item carries: the plan, its money impact and the decision."""
    return {
        "plan_id": decided.plan_id,
        "plan": decided.plan.model_dump(mode="json"),
        "decision": decided.decision.model_dump(mode="json"),
    }


def _summary(decided: DecidedPlan) -> dict[str, Any]:
    plan, decision = decided.plan, decided.decision
    return {
        "plan_id": decided.plan_id,
        "from_version": plan.from_version,
        "to_version": plan.to_version,
        "operations": [op.kind for op in plan.operations],
        "pending": [i for i, op in enumerate(plan.operations) if op.is_pending],
        "value_delta": plan.impact.delta.model_dump(mode="json"),
        "action": decision.action.value,
        "owner": decision.owner.value if decision.owner else None,
        "rule_id": decision.rule_id,
        "policy": f"{decision.policy_name}@{decision.policy_version}",
    }


def _event(
    kind: EventType, clock: Clock, decided: DecidedPlan, data: dict[str, Any]
) -> BusinessEvent:
    contract_id = decided.plan.contract_id
    return business_event(
        kind,
        subject=f"contract:{contract_id}",
        contract_id=contract_id,
        key=decided.plan_id,
        at=clock.now(),
        data=data,
    )


__all__ = [
    "ERP_SNAPSHOT",
    "DecidedPlan",
    "OperationPush",
    "carry_milestone_status",
    "operation_pushes",
    "plan_and_decide",
    "plan_evidence",
    "plan_id_of",
    "record_applied",
    "record_planned",
    "record_rejected",
    "record_routed",
]
