"""What the inbox workflow records: a message loaded, processed, or failed into an ExceptionItem.

Each function opens, writes and commits one unit of work, so the workflow can run each as
one step. Status moves are conditional (``Inbox.mark(only_from=...)``): a message is never
moved back from PROCESSED, and a late DISPATCHED mark from the ingress never hides an
outcome. A failure leaves a FAILED message *and* an ExceptionItem whose evidence names the
message and the run, so ``contractsync exceptions retry`` can replay it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.roles import OwnerRole, Severity
from contractsync.errors import (
    ConfigError,
    ContractSyncError,
    DataError,
    RejectedError,
    TransientError,
)
from contractsync.ports.clock import Clock
from contractsync.ports.storage import InboxMessage, InboxStatus, UnitOfWork
from contractsync.services import exception_queue as queue

NO_HANDLER = "no handler"
"""The reason recorded on a message no flow handles (processed, counted, never dropped)."""

HANDLER_FAILED = "inbox.handler_failed"
"""ExceptionItem code when the error's own code is not a valid item code."""

EXCEPTION_ID = "exception_id"
"""Key of a FAILED message's ``error`` naming the ExceptionItem raised for it."""

_OPEN_STATUSES = frozenset({InboxStatus.RECEIVED, InboxStatus.DISPATCHED, InboxStatus.FAILED})
_ITEM_CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")
_SEVERITY: dict[type[ContractSyncError], Severity] = {
    DataError: Severity.MEDIUM,
    RejectedError: Severity.HIGH,
    ConfigError: Severity.HIGH,
    TransientError: Severity.HIGH,
}


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """Why a message could not be processed, in storable (secret-free) terms.

    Attributes:
        error: The error the handler raised (a TransientError once retries ran out).
        step: The name of the step that failed, when one did.
        retries_exhausted: True when a retried step gave up.
    """

    error: ContractSyncError
    step: str | None = None
    retries_exhausted: bool = False

    @property
    def owner(self) -> OwnerRole:
        """Who must act: the owner the error names in ``detail["owner"]``, else the admin.

        Adapters and services that know whose data is wrong (finance for a VAT id, legal
        for a clause) say so in the error; everything else (a remote refusal, settings,
        an outage that outlasted the retries) is the integration admin's.
        """
        named = self.error.detail.get("owner")
        if isinstance(named, str) and named in OwnerRole._value2member_map_:
            return OwnerRole(named)
        return OwnerRole.INTEGRATION_ADMIN

    @property
    def severity(self) -> Severity:
        """DataError medium; refusals, settings and exhausted retries high; anything else critical."""
        for kind, severity in _SEVERITY.items():
            if isinstance(self.error, kind):
                return severity
        return Severity.CRITICAL

    def as_dict(self) -> dict[str, Any]:
        """The JSON-ready record kept on the message and in the item's evidence."""
        return {
            **self.error.as_dict(),
            "step": self.step,
            "retries_exhausted": self.retries_exhausted,
        }


def load_message(uow: UnitOfWork, message_id: str) -> InboxMessage:
    """Read the stored message a run processes.

    Raises:
        DataError: ``inbox.message_missing`` when it is not in the inbox (purged, or a run
            started by hand with a wrong id).
    """
    with uow:
        message = uow.inbox.get(message_id)
    if message is None:
        raise DataError(
            f"inbox message {message_id} does not exist",
            code="inbox.message_missing",
            remediation="Check the message id; purged messages cannot be processed again.",
            detail={"inbox_message_id": message_id},
        )
    return message


def record_processed(
    uow: UnitOfWork,
    clock: Clock,
    message: InboxMessage,
    *,
    workflow_id: str,
    reason: str | None = None,
) -> bool:
    """Mark the message PROCESSED by ``workflow_id``; resolve the item of an earlier failure.

    Returns:
        True if the message moved (False: it was PROCESSED already).
    """
    with uow:
        current = uow.inbox.get(message.id) or message
        moved = uow.inbox.mark(
            message.id,
            InboxStatus.PROCESSED,
            only_from=_OPEN_STATUSES,
            workflow_id=workflow_id,
            error=None if reason is None else {"reason": reason},
        )
        item_id = (current.error or {}).get(EXCEPTION_ID)
        item = uow.exceptions.get(item_id) if isinstance(item_id, str) else None
        if moved and item is not None and not item.is_closed:
            queue.resolve(
                uow,
                clock,
                item.id,
                actor="contractsync",
                note=f"processed by {workflow_id} after a replay",
            )
        uow.commit()
    return moved


def record_failure(
    uow: UnitOfWork,
    clock: Clock,
    message: InboxMessage,
    *,
    workflow_id: str,
    failure: HandlerFailure,
) -> ExceptionItem:
    """Mark the message FAILED and raise (or re-open) its ExceptionItem, in one unit.

    The item is deduplicated per message: a replay that fails again re-opens the item it
    was retried from instead of raising a second one. Its evidence carries the inbox id
    and the run's workflow id, which is what a replay needs.

    Returns:
        The item now open for the failure.
    """
    error = failure.error
    item_code = error.code if _ITEM_CODE.match(error.code) else HANDLER_FAILED
    what = f"The {message.source} event {message.event_id} ({message.event_type})"
    with uow:
        item = queue.raise_exception(
            uow,
            clock,
            code=item_code,
            message=f"{what} could not be processed: {error.message}",
            owner=failure.owner,
            severity=failure.severity,
            remediation=f"{error.remediation} Then replay it: contractsync exceptions retry "
            "<this item>.",
            evidence={
                queue.EVIDENCE_INBOX_MESSAGE: message.id,
                queue.EVIDENCE_WORKFLOW: workflow_id,
                "source": message.source,
                "event_id": message.event_id,
                "event_type": message.event_type,
                "failure": failure.as_dict(),
            },
            dedupe_key=f"inbox.failed:{message.source}:{message.event_id}",
        )
        if item.status is ExceptionStatus.RETRIED:
            item = queue.reopen(
                uow, clock, item.id, actor="contractsync", note=f"{workflow_id}: {error.message}"
            )
        uow.inbox.mark(
            message.id,
            InboxStatus.FAILED,
            only_from=_OPEN_STATUSES,
            workflow_id=workflow_id,
            error={**failure.as_dict(), EXCEPTION_ID: item.id, "workflow_id": workflow_id},
        )
        uow.commit()
    return item


__all__ = [
    "EXCEPTION_ID",
    "HANDLER_FAILED",
    "NO_HANDLER",
    "HandlerFailure",
    "load_message",
    "record_failure",
    "record_processed",
]
