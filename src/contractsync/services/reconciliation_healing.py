"""Deciding, per drift item, whether to heal it by a re-push or raise it to its owner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field

from contractsync.domain.base import ValueObject
from contractsync.domain.decision import DecisionAction, PolicyDecision
from contractsync.domain.drift import DriftItem, DriftKind
from contractsync.domain.money import Money
from contractsync.domain.ownership import SystemRole
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.services.policy import FactType, Policy, decide

RECONCILIATION_FACTS: Mapping[str, FactType] = {
    "kind": FactType.STRING,
    "detail": FactType.STRING,
    "system_role": FactType.STRING,
    "field": FactType.STRING,
    "currency": FactType.STRING,
    "money_at_risk": FactType.DOUBLE,
    "healable": FactType.BOOL,
    "system_of_record": FactType.STRING,
    "touches_invoiced_milestone": FactType.BOOL,
    "touches_closed_period": FactType.BOOL,
}
"""The facts of one drift item a reconciliation policy may test (see :func:`facts_of`)."""

NOT_HEALABLE_RULE = "guard.only_heal_what_a_re_push_restores"
"""Rule id recorded when a policy heals an item that a re-push cannot restore safely."""

BLOCKED_RULE = "guard.routed_drift_blocks_the_re_push"
"""Rule id recorded when an item is routed because another one in its system is."""

FALLBACK_OWNER: Mapping[SystemRole, OwnerRole] = {
    SystemRole.ERP: OwnerRole.FINANCE,
    SystemRole.PSA: OwnerRole.DELIVERY,
    SystemRole.CRM: OwnerRole.INTEGRATION_ADMIN,
}
"""Who gets an item the policy healed but the guard refused, by the system it drifted in."""

_SEVERITY: Mapping[DriftKind, Severity] = {
    DriftKind.INVOICED_OVER_CONTRACT: Severity.CRITICAL,
    DriftKind.MISSING_IN_ERP: Severity.HIGH,
    DriftKind.LEGAL_ENTITY_MISMATCH: Severity.HIGH,
    DriftKind.CUSTOMER_MISMATCH: Severity.HIGH,
}

_REMEDIATION: Mapping[DriftKind, str] = {
    DriftKind.MISSING_IN_ERP: "Replay the contract's approval flow so the ERP gets its "
    "customer, project and billing schedule; if the ERP record was deleted on purpose, "
    "terminate the contract in the CLM.",
    DriftKind.MISSING_IN_PSA: "Replay the project activation so the PSA gets the project and "
    "its milestones.",
    DriftKind.MISSING_IN_CRM: "Create or merge the customer's account in the CRM under the "
    "canonical customer id.",
    DriftKind.ORPHAN_RECORD: "Find the contract this record belongs to in the CLM, or close "
    "the record in its system.",
    DriftKind.INVOICED_OVER_CONTRACT: "Issue a credit note for the excess, or get the "
    "contract amended to match what was invoiced.",
}
_DEFAULT_REMEDIATION = (
    "Correct the record in {system} to match the contract, or amend the contract in the CLM "
    "if {system} is right; the next reconciliation resolves this item once the two agree."
)


class HealingAction(ValueObject):
    """Re-push the CLM contract to one system: it restores every item listed, at once."""

    contract_id: str
    system: str
    role: SystemRole
    items: tuple[DriftItem, ...] = Field(min_length=1)
    rule_ids: tuple[str, ...]


class ExceptionSpec(ValueObject):
    """The ExceptionItem to raise for one drift item (``raise_exception``'s arguments)."""

    code: str
    message: str
    owner: OwnerRole
    severity: Severity
    remediation: str
    contract_id: str
    money_at_risk: Money | None = None
    dedupe_key: str
    rule_id: str
    reason: str
    item: DriftItem
    evidence: dict[str, Any] = Field(default_factory=dict)


def facts_of(item: DriftItem) -> dict[str, Any]:
    """The policy facts of ``item`` (:data:`RECONCILIATION_FACTS`); no money reads as 0."""
    money = item.money_at_risk
    return {
        "kind": item.kind.value,
        "detail": item.detail.value,
        "system_role": item.role.value,
        "field": item.field,
        "currency": money.currency if money is not None else "",
        "money_at_risk": money.amount if money is not None else 0,
        "healable": item.healable,
        "system_of_record": item.system_of_record.value if item.system_of_record else "",
        "touches_invoiced_milestone": item.touches_invoiced_milestone,
        "touches_closed_period": item.touches_closed_period,
    }


def decide_healing(
    items: Sequence[DriftItem], policy: Policy
) -> list[HealingAction | ExceptionSpec]:
    """Heal what the policy allows; raise everything else to its owner.

    Each item is decided by ``policy`` over :func:`facts_of`: ``auto_apply`` heals,
    ``route`` raises an ExceptionItem for the rule's owner. Whatever the policy says:

    - an invoiced milestone or a closed period goes to finance (the policy engine's guard);
    - an item that is not ``healable`` is never healed (:data:`NOT_HEALABLE_RULE`), so a
      re-push never overwrites a field the ERP or PSA owns, nor restores what it cannot;
    - a re-push writes the whole contract to a system, so one routed item blocks healing of
      every other item of that contract in that system (:data:`BLOCKED_RULE`), lest the
      push overwrite what a person is to decide.

    Returns:
        One ``HealingAction`` per contract and system to re-push, then one ``ExceptionSpec``
        per routed item, each in the order of ``items``.

    Raises:
        ConfigError: as ``services.policy.decide`` (a rule failing on these facts).
    """
    decided = [(item, _decision(item, policy)) for item in items]
    blocking: dict[tuple[str, str], tuple[DriftItem, PolicyDecision]] = {}
    for item, decision in decided:
        if decision.is_routed:
            blocking.setdefault((item.contract_id, item.system), (item, decision))
    heals: dict[tuple[str, str], list[tuple[DriftItem, PolicyDecision]]] = {}
    routed: list[ExceptionSpec] = []
    for item, decision in decided:
        key = (item.contract_id, item.system)
        if decision.is_routed:
            routed.append(exception_spec(item, decision))
        elif key in blocking:
            first, why = blocking[key]
            reason = (
                f"Healing would re-push the contract over {first.field}, which the policy "
                f"routes to {why.owner}"
            )
            owner = why.owner or FALLBACK_OWNER.get(item.role, OwnerRole.INTEGRATION_ADMIN)
            routed.append(_spec(item, owner=owner, rule_id=BLOCKED_RULE, reason=reason))
        else:
            heals.setdefault(key, []).append((item, decision))
    actions: list[HealingAction | ExceptionSpec] = [
        HealingAction(
            contract_id=group[0][0].contract_id,
            system=group[0][0].system,
            role=group[0][0].role,
            items=tuple(item for item, _ in group),
            rule_ids=tuple(dict.fromkeys(decision.rule_id for _, decision in group)),
        )
        for group in heals.values()
    ]
    return [*actions, *routed]


def exception_spec(item: DriftItem, decision: PolicyDecision) -> ExceptionSpec:
    """The ExceptionItem for ``item`` routed by ``decision`` (which names the owner)."""
    owner = decision.owner or FALLBACK_OWNER.get(item.role, OwnerRole.INTEGRATION_ADMIN)
    return _spec(item, owner=owner, rule_id=decision.rule_id, reason=decision.reason)


def failed_heal_specs(
    items: Iterable[DriftItem], *, code: str, message: str
) -> list[ExceptionSpec]:
    """ExceptionItems for healable items whose re-push failed or did not take.

    They go to the integration admin: the drift is healable, the hub could not do it.
    """
    return [
        _spec(
            item,
            owner=OwnerRole.INTEGRATION_ADMIN,
            rule_id="heal.failed",
            reason=f"The re-push to {item.system} failed: {message}",
            evidence={"error_code": code},
        )
        for item in items
    ]


def _decision(item: DriftItem, policy: Policy) -> PolicyDecision:
    decision = decide(policy, facts_of(item))
    if decision.is_routed or item.healable:
        return decision
    return PolicyDecision(
        action=DecisionAction.ROUTE,
        owner=FALLBACK_OWNER.get(item.role, OwnerRole.INTEGRATION_ADMIN),
        reason=f"Not healed: {item.unhealable_reason or 'no re-push restores it'}",
        rule_id=NOT_HEALABLE_RULE,
        policy_name=decision.policy_name,
        policy_version=decision.policy_version,
    )


def _spec(
    item: DriftItem,
    *,
    owner: OwnerRole,
    rule_id: str,
    reason: str,
    evidence: dict[str, Any] | None = None,
) -> ExceptionSpec:
    severity = _SEVERITY.get(item.kind) or (
        Severity.MEDIUM if item.money_at_risk is not None else Severity.LOW
    )
    words = item.kind.value.replace("_", " ")
    return ExceptionSpec(
        code=f"reconciliation.{item.kind.value}",
        message=f"{words.capitalize()} in {item.system} for contract {item.contract_id} at "
        f"{item.field}: the contract says {item.expected}, {item.system} has {item.actual}.",
        owner=owner,
        severity=severity,
        remediation=_REMEDIATION.get(item.kind, _DEFAULT_REMEDIATION.format(system=item.system)),
        contract_id=item.contract_id,
        money_at_risk=item.money_at_risk,
        dedupe_key=item.dedupe_key,
        rule_id=rule_id,
        reason=reason,
        item=item,
        evidence={
            "drift": item.model_dump(mode="json", exclude={"evidence"}),
            "dedupe_key": item.dedupe_key,
            "rule_id": rule_id,
            "reason": reason,
            **item.evidence,
            **(evidence or {}),
        },
    )


__all__ = [
    "BLOCKED_RULE",
    "FALLBACK_OWNER",
    "NOT_HEALABLE_RULE",
    "RECONCILIATION_FACTS",
    "ExceptionSpec",
    "HealingAction",
    "decide_healing",
    "exception_spec",
    "facts_of",
    "failed_heal_specs",
]
