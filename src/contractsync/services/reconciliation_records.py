"""Recording one contract's reconciliation in the hub: ExceptionItems, audit, the drift event."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from contractsync.domain.drift import (
    ContractReconciliation,
    DriftItem,
    DriftOutcome,
    ReportLine,
    SystemFailure,
)
from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.exception_item import ExceptionStatus
from contractsync.domain.ownership import SystemRole
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ConflictError,
    ContractSyncError,
    TransientError,
)
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork
from contractsync.services.exception_queue import raise_exception, resolve
from contractsync.services.reconciliation_healing import ExceptionSpec

ACTOR = "contractsync-reconciliation"
"""The actor the audit log and exception history name for reconciliation's own acts."""

UNREADABLE = "reconciliation.system_unreadable"
"""Code of the ExceptionItem raised for a system that could not be read (not transient)."""

_NOT_RAISED = frozenset({"reconciliation.contract_not_found"})
_TRANSIENT = (TransientError, AmbiguousCommitError, ConflictError)


def failure_of(
    system: str, role: SystemRole, contract_id: str | None, error: ContractSyncError
) -> SystemFailure:
    """The report line of ``error`` from ``system`` for a contract (None: a listing).

    Transient errors (429, 5xx, a concurrent edit) are retried by the next run, so they are
    reported but never raised as ExceptionItems.
    """
    return SystemFailure(
        system=system,
        role=role,
        contract_id=contract_id,
        code=error.code,
        message=error.message,
        is_transient=isinstance(error, _TRANSIENT),
        error_kind=type(error).__name__,
    )


def is_transient(failure: SystemFailure) -> bool:
    """True when ``failure`` is only reported (the next run tries again, or it needs no owner)."""
    return failure.is_transient or failure.code in _NOT_RAISED


def record_contract(
    uow: UnitOfWork,
    clock: Clock,
    contract_id: str | None,
    lines: Sequence[ReportLine],
    specs: Sequence[ExceptionSpec],
    failures: Sequence[SystemFailure],
    *,
    compared: Mapping[SystemRole, str],
    items: Sequence[DriftItem] = (),
    notes: Sequence[str] = (),
) -> ContractReconciliation:
    """Write one contract's outcome in ``uow`` (the caller commits) and return its report.

    ``notes`` are carried to the report as they are (nothing is written for them).

    Each spec is raised as an ExceptionItem (an open item with the same dedupe key is
    reused, so a second run adds none); each persistent failure too; the contract's open
    reconciliation items of a compared system whose drift is no longer found are resolved;
    every re-push is audited; a contract with drift gets one ``reconciliation.drift_found``
    event whose id hashes the drift, so finding the same drift again adds no event.
    """
    label = contract_id or "-"
    raised = [_raise_spec(uow, clock, spec) for spec in specs]
    recorded = [_raise_failure(uow, clock, failure) for failure in failures]
    present = {spec.dedupe_key for spec in specs} | {_failure_key(f) for f in recorded}
    if contract_id is not None:
        _resolve_gone(uow, clock, contract_id, compared, present)
    healed = [line for line in lines if line.outcome is DriftOutcome.HEALED]
    for system in dict.fromkeys(line.item.system for line in healed):
        fields = [line.item.field for line in healed if line.item.system == system]
        uow.audit.append(
            actor=ACTOR,
            action="reconciliation.healed",
            subject=f"contract:{label}",
            payload={"system": system, "fields": fields},
        )
    order = {item.dedupe_key: index for index, item in enumerate(items)}
    every = sorted([*lines, *raised], key=lambda line: order.get(line.item.dedupe_key, len(order)))
    if items and contract_id is not None:
        uow.outbox.add(_drift_event(contract_id, every, at=clock.now()))
    return ContractReconciliation(
        contract_id=label, lines=tuple(every), failures=tuple(recorded), notes=tuple(notes)
    )


def _raise_spec(uow: UnitOfWork, clock: Clock, spec: ExceptionSpec) -> ReportLine:
    item = raise_exception(
        uow,
        clock,
        code=spec.code,
        message=spec.message,
        owner=spec.owner,
        severity=spec.severity,
        remediation=spec.remediation,
        evidence={**spec.evidence, "system": spec.item.system},
        contract_id=spec.contract_id,
        money_at_risk=spec.money_at_risk,
        dedupe_key=spec.dedupe_key,
        actor=ACTOR,
    )
    return ReportLine(
        item=spec.item,
        outcome=DriftOutcome.EXCEPTION,
        rule_id=spec.rule_id,
        reason=spec.reason,
        owner=item.owner,
        exception_id=item.id,
    )


def _failure_key(failure: SystemFailure) -> str:
    if failure.error_kind == ConfigError.__name__ or failure.contract_id is None:
        # Wrong settings fail every contract alike: one item per system, not per contract.
        return f"reconciliation:{failure.system}:unreadable:{failure.code}"
    return f"reconciliation:{failure.contract_id}:{failure.system}:unreadable:{failure.code}"


def _raise_failure(uow: UnitOfWork, clock: Clock, failure: SystemFailure) -> SystemFailure:
    if is_transient(failure):
        return failure
    is_config = failure.error_kind == ConfigError.__name__
    key = _failure_key(failure)
    item = raise_exception(
        uow,
        clock,
        code=UNREADABLE,
        message=f"Reconciliation could not read {failure.system} ({failure.role.value}) "
        f"for contract {failure.contract_id or 'listing'}: {failure.message}",
        owner=OwnerRole.INTEGRATION_ADMIN,
        severity=Severity.HIGH if is_config else Severity.MEDIUM,
        remediation="Fix what the error names (settings, credentials, the record in that "
        "system), then run `contractsync reconcile` again; it resolves this item.",
        evidence={
            "error": failure.model_dump(mode="json"),
            "system": failure.system,
            "dedupe_key": key,
        },
        contract_id=None if is_config else failure.contract_id,
        dedupe_key=key,
        actor=ACTOR,
    )
    return failure.model_copy(update={"exception_id": item.id})


def _resolve_gone(
    uow: UnitOfWork,
    clock: Clock,
    contract_id: str,
    compared: Mapping[SystemRole, str],
    present: set[str],
) -> None:
    """Resolve this contract's open reconciliation items whose drift a compared system lost."""
    systems = set(compared.values())
    open_items = uow.exceptions.list(
        status=(ExceptionStatus.OPEN, ExceptionStatus.ASSIGNED),
        contract_id=contract_id,
        limit=1000,
    )
    for item in open_items:
        key = item.evidence.get("dedupe_key")
        if (
            item.code.startswith("reconciliation.")
            and isinstance(key, str)
            and item.evidence.get("system") in systems
            and key not in present
        ):
            note = "Reconciliation no longer finds this drift: the systems agree."
            resolve(uow, clock, item.id, actor=ACTOR, note=note)


def _drift_event(contract_id: str, lines: Sequence[ReportLine], *, at: Any) -> BusinessEvent:
    facts = sorted(
        f"{line.item.dedupe_key}={line.item.actual}>{line.outcome.value}" for line in lines
    )
    digest = hashlib.sha256("\n".join(facts).encode()).hexdigest()[:16]
    totals: dict[str, str] = {}
    for line in lines:
        money = line.item.money_at_risk
        if money is not None and line.is_unhealed:
            before = totals.get(money.currency, "0")
            totals[money.currency] = str(money.amount + type(money.amount)(before))
    return BusinessEvent(
        id=f"{EventType.DRIFT_FOUND.value}:{contract_id}:{digest}",
        type=EventType.DRIFT_FOUND,
        subject=f"contract:{contract_id}",
        correlation_id=contract_id,
        occurred_at=at,
        data={
            "contract_id": contract_id,
            "unhealed_money_at_risk": totals,
            "items": [
                {
                    **line.item.model_dump(mode="json", include=_EVENT_FIELDS),
                    "outcome": line.outcome.value,
                    "exception_id": line.exception_id,
                    "owner": line.owner.value if line.owner else None,
                }
                for line in lines
            ],
        },
    )


_EVENT_FIELDS = {"kind", "detail", "system", "role", "field", "expected", "actual", "money_at_risk"}

__all__ = ["ACTOR", "UNREADABLE", "failure_of", "is_transient", "record_contract"]
