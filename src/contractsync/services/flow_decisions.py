"""ExceptionItems a waiting flow raises, and the decision an owner's action on them means.

A flow that needs a person raises items whose evidence names the waiting run
(``flow_workflow_id``) and the topic it waits on (``decision_topic``), then waits until every
item is closed. What closing means:

=============================  ==============================================================
the owner ...                   the flow
=============================  ==============================================================
resolves the item               goes on: re-validates, applies the plan, invoices, retries
resolves it with corrected      rejects (a routed plan is not applied; nothing else happens)
data ``{"decision": "reject"}``
dismisses it (with a reason)    rejects; for a validation finding: waives that finding
=============================  ==============================================================

The evidence deliberately names no ``workflow_id``: the run is waiting, not failed, so
``exceptions retry`` answers "resolve it, or dismiss it" instead of forking a live run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contractsync.domain.base import ValueObject
from contractsync.domain.contract import Contract
from contractsync.domain.exception_item import ExceptionStatus
from contractsync.domain.finding import Finding
from contractsync.domain.money import Money
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import ContractSyncError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services import exception_queue as queue

EVIDENCE_FLOW = "flow_workflow_id"
"""Evidence key naming the run that waits for the item to be closed."""
EVIDENCE_TOPIC = "decision_topic"
"""Evidence key naming the topic a decision for the waiting run is sent on."""
REJECT = "reject"
"""``corrected_data["decision"]`` value that rejects instead of approving."""


class ItemsState(ValueObject):
    """Where a flow's open items stand.

    Attributes:
        is_pending: True while at least one item is open or assigned.
        rejected_codes: Codes of the items dismissed or resolved with a reject decision.
        notes: The owners' notes, in item order.
    """

    is_pending: bool
    rejected_codes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def is_approved(self) -> bool:
        """True once every item is closed and none was rejected."""
        return not self.is_pending and not self.rejected_codes


def waiting_evidence(workflow_id: str, topic: str, **extra: Any) -> dict[str, Any]:
    """The evidence of an item a run waits on (see the module doc)."""
    return {EVIDENCE_FLOW: workflow_id, EVIDENCE_TOPIC: topic, **extra}


def raise_findings(
    uow: UnitOfWork,
    clock: Clock,
    *,
    contract: Contract,
    findings: Sequence[Finding],
    workflow_id: str,
    topic: str,
) -> tuple[str, ...]:
    """Raise one item per finding for its owner; return their ids. Does not commit.

    Items are deduplicated per contract, finding code and field while open, so a run that
    raises them again after a crash finds the same items.
    """
    ids = []
    for finding in findings:
        item = queue.raise_exception(
            uow,
            clock,
            code=finding.code,
            message=f"Contract {contract.id} v{contract.version}: {finding.message}",
            owner=finding.owner,
            severity=finding.severity,
            remediation=f"{finding.remediation} Then resolve this item: the contract is "
            "fetched and checked again. Dismiss it to waive the finding.",
            evidence=waiting_evidence(
                workflow_id, topic, field=finding.field, contract_version=contract.version
            ),
            contract_id=contract.id,
            dedupe_key=f"validation:{contract.id}:{finding.code}:{finding.field or ''}",
        )
        ids.append(item.id)
    return tuple(ids)


def raise_waiting_item(
    uow: UnitOfWork,
    clock: Clock,
    *,
    code: str,
    message: str,
    owner: OwnerRole,
    remediation: str,
    workflow_id: str,
    topic: str,
    contract_id: str,
    dedupe_key: str,
    severity: Severity = Severity.HIGH,
    money_at_risk: Money | None = None,
    evidence: dict[str, Any] | None = None,
) -> str:
    """Raise one item a run waits on (a routed plan, an acceptance ...); return its id.

    Does not commit.
    """
    item = queue.raise_exception(
        uow,
        clock,
        code=code,
        message=message,
        owner=owner,
        severity=severity,
        remediation=remediation,
        evidence=waiting_evidence(workflow_id, topic, **(evidence or {})),
        contract_id=contract_id,
        money_at_risk=money_at_risk,
        dedupe_key=dedupe_key,
    )
    return item.id


def raise_step_failure(
    uow: UnitOfWork,
    clock: Clock,
    *,
    error: ContractSyncError,
    owner: OwnerRole,
    severity: Severity,
    step: str | None,
    workflow_id: str,
    topic: str,
    contract_id: str,
    attempt: int,
) -> str:
    """Raise the item of a flow section that failed; the run waits for it. Does not commit.

    Resolving the item runs the section again (its writes are idempotent); dismissing it
    ends the flow there.
    """
    return raise_waiting_item(
        uow,
        clock,
        code=error.code if _is_item_code(error.code) else "flow.step_failed",
        message=f"Contract {contract_id}: {error.message}",
        owner=owner,
        severity=severity,
        remediation=f"{error.remediation} Then resolve this item to run the step again, or "
        "dismiss it to stop the flow here.",
        workflow_id=workflow_id,
        topic=topic,
        contract_id=contract_id,
        dedupe_key=f"flow:{workflow_id}:{attempt}",
        evidence={"error": error.as_dict(), "step": step},
    )


def read_items(uow: UnitOfWork, item_ids: Sequence[str]) -> ItemsState:
    """Where the items stand now; an item that vanished counts as resolved."""
    rejected: list[str] = []
    notes: list[str] = []
    with uow:
        items = [uow.exceptions.get(item_id) for item_id in item_ids]
    for item in items:
        if item is None:
            continue
        if not item.is_closed:
            return ItemsState(is_pending=True)
        last = item.history[-1].note if item.history else ""
        notes.append(last)
        corrected = item.evidence.get("corrected_data") or {}
        is_reject = isinstance(corrected, dict) and corrected.get("decision") == REJECT
        if item.status is ExceptionStatus.DISMISSED or is_reject:
            rejected.append(item.code)
    return ItemsState(is_pending=False, rejected_codes=tuple(rejected), notes=tuple(notes))


def _is_item_code(code: str) -> bool:
    parts = code.split(".")
    return len(parts) > 1 and all(p and p.replace("_", "").isalpha() and p.islower() for p in parts)


__all__ = [
    "EVIDENCE_FLOW",
    "EVIDENCE_TOPIC",
    "REJECT",
    "ItemsState",
    "raise_findings",
    "raise_step_failure",
    "raise_waiting_item",
    "read_items",
    "waiting_evidence",
]
