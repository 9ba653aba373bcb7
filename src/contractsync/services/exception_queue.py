"""Exception queue use cases: raise, assign, retry, resolve and dismiss ExceptionItems.

Every use case runs inside the caller's open unit of work and does not commit: the item,
its audit entry and its outbox event are written together when the caller commits, so a
state change is never without its audit entry or event. Saves use optimistic locking: a
concurrent change makes the save raise ConflictError (re-read and decide again).

SLA due time, from the moment the item is raised (times in UTC; no holiday calendar):

======== ============================================================
critical 4 hours
high     1 business day: the next Monday-to-Friday day, same time
medium   3 calendar days
low      10 calendar days
======== ============================================================
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from contractsync.domain.events import BusinessEvent, EventType
from contractsync.domain.exception_item import ExceptionItem
from contractsync.domain.identity import ExternalRef
from contractsync.domain.money import Money
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import DomainError
from contractsync.ports.clock import Clock
from contractsync.ports.storage import UnitOfWork

EVIDENCE_WORKFLOW = "workflow_id"
"""Evidence key naming the workflow a retry re-runs."""
EVIDENCE_INBOX_MESSAGE = "inbox_message_id"
"""Evidence key naming the inbound message a retry re-processes."""

_SATURDAY = 5


def sla_due(severity: Severity, raised_at: datetime) -> datetime:
    """When an item of ``severity`` raised at ``raised_at`` must be handled (module table)."""
    if severity is Severity.CRITICAL:
        return raised_at + timedelta(hours=4)
    if severity is Severity.HIGH:
        due = raised_at + timedelta(days=1)
        while due.weekday() >= _SATURDAY:
            due += timedelta(days=1)
        return due
    return raised_at + timedelta(days=3 if severity is Severity.MEDIUM else 10)


@dataclass(frozen=True)
class Rerun:
    """What a retry asks the engine to run again: a workflow, or an inbound message."""

    kind: Literal["workflow", "inbox_message"]
    id: str


def raise_exception(
    uow: UnitOfWork,
    clock: Clock,
    *,
    code: str,
    message: str,
    owner: OwnerRole,
    severity: Severity = Severity.MEDIUM,
    remediation: str,
    evidence: dict[str, Any] | None = None,
    contract_id: str | None = None,
    money_at_risk: Money | None = None,
    dedupe_key: str | None = None,
    subject: ExternalRef | None = None,
    actor: str = "contractsync",
) -> ExceptionItem:
    """Put a new item in the queue, audited and announced as ``exception.raised``.

    If ``dedupe_key`` belongs to an item that is still open, that item is returned and
    nothing else is written (the same problem found twice is one item).
    """
    now = clock.now()
    item = ExceptionItem(
        id=f"EX-{uuid.uuid4().hex[:16].upper()}",
        code=code,
        message=message,
        owner=owner,
        severity=severity,
        money_at_risk=money_at_risk,
        sla_due=sla_due(severity, now),
        contract_id=contract_id,
        subject=subject,
        remediation=remediation,
        evidence=evidence or {},
        created_at=now,
    )
    stored = uow.exceptions.add(item, dedupe_key=dedupe_key)
    if stored.id != item.id:
        return stored
    _audit(uow, item, actor=actor, action="raised", was=None)
    uow.outbox.add(_event(EventType.EXCEPTION_RAISED, item, at=now))
    return item


def assign(uow: UnitOfWork, clock: Clock, item_id: str, *, to: str, actor: str) -> ExceptionItem:
    """Give the item to ``to``; audited.

    Raises:
        DomainError: if there is no such item; IllegalTransitionError if it is closed.
        ConflictError: if it changed meanwhile.
    """
    item = _load(uow, item_id)
    changed = item.assign(to, actor=actor, at=clock.now())
    return _save(uow, changed, item, actor=actor, action="assigned", assignee=to)


def retry(uow: UnitOfWork, clock: Clock, item_id: str, *, actor: str) -> Rerun:
    """Mark the item retried (audited) and return what the engine must run again.

    The item's evidence names it: ``workflow_id`` (preferred) or ``inbox_message_id``.

    Raises:
        DomainError: if there is no such item or its evidence names nothing to re-run;
            IllegalTransitionError if it is closed.
        ConflictError: if it changed meanwhile.
    """
    item = _load(uow, item_id)
    rerun = _rerun_of(item)
    _save(uow, item.retry(actor=actor, at=clock.now()), item, actor=actor, action="retried")
    return rerun


def reopen(uow: UnitOfWork, clock: Clock, item_id: str, *, actor: str, note: str) -> ExceptionItem:
    """Re-open a retried item whose retry failed again; audited.

    Raises:
        DomainError: if there is no such item; IllegalTransitionError unless it is retried.
        ConflictError: if it changed meanwhile.
    """
    item = _load(uow, item_id)
    changed = item.reopen(actor=actor, at=clock.now(), note=note)
    return _save(uow, changed, item, actor=actor, action="reopened", note=note)


def resolve(
    uow: UnitOfWork,
    clock: Clock,
    item_id: str,
    *,
    actor: str,
    note: str,
    corrected_data: dict[str, Any] | None = None,
) -> ExceptionItem:
    """Close the item as fixed; audited and announced as ``exception.resolved``.

    ``corrected_data`` is kept in the item's evidence and carried by the event, so the
    flow that waits on the item can apply it.

    Raises:
        DomainError: if there is no such item; IllegalTransitionError if it is closed.
        ConflictError: if it changed meanwhile.
    """
    item = _load(uow, item_id)
    now = clock.now()
    changed = item.resolve(actor=actor, at=now, note=note)
    if corrected_data is not None:
        evidence = {**changed.evidence, "corrected_data": corrected_data}
        changed = changed.model_copy(update={"evidence": evidence})
    saved = _save(
        uow, changed, item, actor=actor, action="resolved", note=note, corrected_data=corrected_data
    )
    extra = {"outcome": "resolved", "note": note, "corrected_data": corrected_data}
    uow.outbox.add(_event(EventType.EXCEPTION_RESOLVED, saved, at=now, **extra))
    return saved


def dismiss(
    uow: UnitOfWork, clock: Clock, item_id: str, *, actor: str, reason: str
) -> ExceptionItem:
    """Close the item without a fix; audited and announced as ``exception.resolved``.

    The event's ``outcome`` is ``dismissed`` (the event catalogue has one closing event).

    Raises:
        DomainError: if there is no such item; IllegalTransitionError if it is closed or
            ``reason`` is blank.
        ConflictError: if it changed meanwhile.
    """
    item = _load(uow, item_id)
    now = clock.now()
    changed = item.dismiss(actor=actor, at=now, reason=reason)
    saved = _save(uow, changed, item, actor=actor, action="dismissed", reason=reason)
    extra = {"outcome": "dismissed", "note": reason, "corrected_data": None}
    uow.outbox.add(_event(EventType.EXCEPTION_RESOLVED, saved, at=now, **extra))
    return saved


def _load(uow: UnitOfWork, item_id: str) -> ExceptionItem:
    item = uow.exceptions.get(item_id)
    if item is None:
        raise DomainError(
            f"there is no exception item {item_id}",
            code="exception.not_found",
            remediation="List the items with `contractsync exceptions list` and use one of "
            "their ids.",
            detail={"id": item_id},
        )
    return item


def _rerun_of(item: ExceptionItem) -> Rerun:
    workflow = item.evidence.get(EVIDENCE_WORKFLOW)
    if isinstance(workflow, str) and workflow:
        return Rerun(kind="workflow", id=workflow)
    message = item.evidence.get(EVIDENCE_INBOX_MESSAGE)
    if isinstance(message, str) and message:
        return Rerun(kind="inbox_message", id=message)
    raise DomainError(
        f"exception item {item.id} names no workflow or inbound message to run again",
        code="exception.nothing_to_retry",
        remediation="Resolve it with corrected data, or dismiss it with a reason.",
        detail={"id": item.id},
    )


def _save(
    uow: UnitOfWork,
    changed: ExceptionItem,
    was: ExceptionItem,
    *,
    actor: str,
    action: str,
    **details: Any,
) -> ExceptionItem:
    uow.exceptions.save(changed, expected=was)
    _audit(uow, changed, actor=actor, action=action, was=was, **details)
    return changed


def _audit(
    uow: UnitOfWork,
    item: ExceptionItem,
    *,
    actor: str,
    action: str,
    was: ExceptionItem | None,
    **details: Any,
) -> None:
    payload = {
        "id": item.id,
        "code": item.code,
        "from": None if was is None else was.status.value,
        "to": item.status.value,
        **details,
    }
    uow.audit.append(
        actor=actor, action=f"exception.{action}", subject=f"exception:{item.id}", payload=payload
    )


def _event(kind: EventType, item: ExceptionItem, *, at: datetime, **extra: Any) -> BusinessEvent:
    data = {
        "id": item.id,
        "code": item.code,
        "owner": item.owner.value,
        "severity": item.severity.value,
        "status": item.status.value,
        "contract_id": item.contract_id,
        "money_at_risk": None
        if item.money_at_risk is None
        else item.money_at_risk.model_dump(mode="json"),
        "sla_due": item.sla_due.isoformat(),
        **extra,
    }
    return BusinessEvent(
        id=f"{kind.value}:{item.id}",
        type=kind,
        subject=f"exception:{item.id}",
        correlation_id=item.contract_id or f"exception:{item.id}",
        occurred_at=at,
        data=data,
    )
