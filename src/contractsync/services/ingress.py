"""Webhook ingress use cases: store-then-ack, quarantine on schema drift, audit, sweep and purge."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from contractsync.domain.roles import OwnerRole, Severity
from contractsync.ports.clock import Clock
from contractsync.ports.storage import InboxMessage, InboxStatus, UnitOfWork
from contractsync.ports.workflows import WorkflowDispatcher
from contractsync.services.exception_queue import EVIDENCE_INBOX_MESSAGE, raise_exception

MIN_DEDUPE_DAYS = 14
"""Event ids are remembered at least this long: senders retry for days (Stripe 3, Std WH ~3)."""

REQUIRED_FIELD_MISSING = "ingress.required_field_missing"
"""ExceptionItem code for an authentic message that lacks a field the hub needs."""

# Header names holding credentials or signatures: proof of authenticity is checked once, on
# arrival, and is never kept (a stored signature plus the body would let anyone who reads the
# inbox replay it to a sender-facing endpoint that accepts the same key).
_SECRET_HEADER_WORDS = ("signature", "authorization", "verification", "cookie", "api-key", "token")

AcceptanceStatus = Literal["accepted", "duplicate", "quarantined"]


@dataclass(frozen=True, slots=True)
class ParsedWebhook:
    """An authentic webhook body read against its source's shape.

    Attributes:
        event_id: The sender's event id (with the source name, the dedupe key).
        event_type: The sender's event type, or ``unknown`` when the body lacks it.
        payload: The decoded JSON object.
        unknown_fields: Dotted paths of fields the shape does not know (schema drift).
        missing_fields: Dotted paths of required fields that are absent, null or empty.
    """

    event_id: str
    event_type: str
    payload: Mapping[str, Any]
    unknown_fields: tuple[str, ...] = ()
    missing_fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Acceptance:
    """What the ingress did with one webhook; the sender gets its 2xx only after this.

    Attributes:
        status: ``accepted`` (stored, to be dispatched), ``duplicate`` (seen before, nothing
            written) or ``quarantined`` (stored as FAILED with an ExceptionItem).
        message_id: The inbox id of the stored message (the earlier one for a duplicate).
        message: The stored message when it must now be dispatched, else ``None``.
    """

    status: AcceptanceStatus
    message_id: str | None
    message: InboxMessage | None = None


@dataclass(frozen=True, slots=True)
class SweepReport:
    """The outcome of one dispatch sweep.

    Attributes:
        dispatched: Inbox ids whose workflow was started (or found) by this sweep.
        failed: Inbox id and error name of each dispatch that failed; retried next sweep.
    """

    dispatched: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping with a message: lower-cased, credentials and signatures removed.

    Args:
        headers: The request headers as received.

    Returns:
        A new dict without any header whose name mentions a signature, authorization,
        verification, cookie, API key or token.
    """
    return {
        name.lower(): value
        for name, value in headers.items()
        if not any(word in name.lower() for word in _SECRET_HEADER_WORDS)
    }


def accept_webhook(
    uow: UnitOfWork,
    clock: Clock,
    *,
    source: str,
    parsed: ParsedWebhook,
    headers: Mapping[str, str],
    body: bytes,
) -> Acceptance:
    """Store one verified webhook in the inbox in one unit of work, then commit.

    A (source, event id) already in the inbox is a duplicate: nothing is written. A body
    missing a required field is stored as FAILED together with an ExceptionItem
    (``ingress.required_field_missing``, owned by the integration admin) in the same unit, so
    the message is neither lost nor processed. Unknown fields are recorded on the message.

    Args:
        uow: A unit of work that is not open yet; this function opens and commits it.
        clock: Gives the receive time.
        source: The configured source name.
        parsed: The verified, parsed body.
        headers: The request headers; signatures and credentials are dropped before storing.
        body: The raw body bytes, stored exactly as signed.

    Returns:
        The acceptance; ``message`` is set only when a workflow must now be dispatched.

    Raises:
        ContractSyncError: Whatever the storage raises; nothing is committed then.
    """
    is_quarantined = bool(parsed.missing_fields)
    error = (
        {"code": REQUIRED_FIELD_MISSING, "missing_fields": list(parsed.missing_fields)}
        if is_quarantined
        else None
    )
    message = InboxMessage(
        id=str(uuid.uuid4()),
        source=source,
        event_id=parsed.event_id,
        event_type=parsed.event_type,
        received_at=clock.now(),
        headers=storable_headers(headers),
        body=body,
        status=InboxStatus.FAILED if is_quarantined else InboxStatus.RECEIVED,
        unknown_fields=parsed.unknown_fields,
        error=error,
    )
    with uow:
        # The unique (source, event_id) decides, not a prior read: of two racing copies
        # exactly one insert succeeds, the other waits for its commit and finds it.
        if not uow.inbox.add(message):
            earlier = uow.inbox.find(source, parsed.event_id)
            return Acceptance("duplicate", earlier.id if earlier else None)
        if is_quarantined:
            _quarantine(uow, clock, message, parsed.missing_fields)
        uow.commit()
    if is_quarantined:
        return Acceptance("quarantined", message.id)
    return Acceptance("accepted", message.id, message)


def _quarantine(
    uow: UnitOfWork, clock: Clock, message: InboxMessage, missing: Sequence[str]
) -> None:
    names = ", ".join(missing)
    raise_exception(
        uow,
        clock,
        code=REQUIRED_FIELD_MISSING,
        message=f"A {message.source} webhook ({message.event_type}, event {message.event_id}) "
        f"lacks the required field(s) {names}; it was stored but not processed.",
        owner=OwnerRole.INTEGRATION_ADMIN,
        severity=Severity.HIGH,
        remediation=f"Check the {message.source} webhook configuration (event format, API "
        "version) against the fields named here; once the sender is fixed, ask it to redeliver "
        "or correct the data and retry this item.",
        evidence={
            EVIDENCE_INBOX_MESSAGE: message.id,
            "source": message.source,
            "event_id": message.event_id,
            "missing_fields": list(missing),
        },
        dedupe_key=f"{REQUIRED_FIELD_MISSING}:{message.source}:{message.event_id}",
    )


def record_rejection(
    uow: UnitOfWork,
    clock: Clock,
    *,
    source: str,
    reason: str,
    remote: str | None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Audit a webhook refused for its signature; writes nothing but the audit entry.

    Args:
        uow: A unit of work that is not open yet; this function opens and commits it.
        clock: Gives the rejection time recorded in the payload.
        source: The source name the request was addressed to.
        reason: The stable error code (``webhook.signature_invalid`` ...).
        remote: The peer address, when known.
        detail: Safe context from the verifier (header names, clock offset); never key material.
    """
    with uow:
        uow.audit.append(
            actor=f"webhook:{source}",
            action="webhook.rejected",
            subject=f"webhook:{source}",
            payload={
                "reason": reason,
                "remote": remote,
                "rejected_at": clock.now().isoformat(),
                "detail": dict(detail or {}),
            },
        )
        uow.commit()


def mark_dispatched(uow: UnitOfWork, dispatcher: WorkflowDispatcher, message: InboxMessage) -> str:
    """Start the message's workflow, then record it as DISPATCHED (if it is still RECEIVED).

    Dispatch is idempotent per message (the workflow id comes from source and event id), so
    calling this twice, or after the sweep did, starts one workflow.

    Args:
        uow: A unit of work that is not open yet; this function opens and commits it.
        dispatcher: Starts the workflow.
        message: The stored message.

    Returns:
        The workflow id.

    Raises:
        Exception: Whatever the dispatcher raises; the message then stays RECEIVED and the
            sweep starts it later.
    """
    workflow_id = dispatcher.dispatch(message)
    with uow:
        # The workflow may already have moved the message on: the conditional move makes
        # this a no-op then, never a step backwards.
        uow.inbox.mark(
            message.id,
            InboxStatus.DISPATCHED,
            only_from={InboxStatus.RECEIVED},
            workflow_id=workflow_id,
        )
        uow.commit()
    return workflow_id


def dispatch_waiting(
    uow_factory: Callable[[], UnitOfWork],
    dispatcher: WorkflowDispatcher,
    clock: Clock,
    *,
    older_than: timedelta,
    limit: int = 500,
) -> SweepReport:
    """Start the workflows of messages stored but never dispatched (the process died between).

    Only messages still RECEIVED and older than ``older_than`` are picked, so a request that
    is between its commit and its own dispatch is left alone; were it picked anyway, the
    idempotent workflow id would make the second start a no-op.

    Args:
        uow_factory: Builds a fresh unit of work (one per transaction).
        dispatcher: Starts workflows.
        clock: Gives "now".
        older_than: How long a message must have waited to count as lost.
        limit: At most this many messages per sweep (the next sweep takes the rest).

    Returns:
        Which messages were dispatched and which dispatches failed (to be retried).
    """
    with uow_factory() as uow:
        waiting = list(uow.inbox.waiting(received_before=clock.now() - older_than, limit=limit))
    dispatched: list[str] = []
    failed: list[tuple[str, str]] = []
    for message in waiting:
        try:
            mark_dispatched(uow_factory(), dispatcher, message)
        # One message the engine refuses must not starve the rest; it is retried next sweep.
        except Exception as exc:  # noqa: BLE001 - recorded in the report and retried
            failed.append((message.id, type(exc).__name__))
        else:
            dispatched.append(message.id)
    return SweepReport(tuple(dispatched), tuple(failed))


def purge_inbox(uow: UnitOfWork, clock: Clock, *, keep_days: int) -> int:
    """Forget processed messages older than the dedupe horizon (never less than 14 days).

    Args:
        uow: A unit of work that is not open yet; this function opens and commits it.
        clock: Gives "now".
        keep_days: The dedupe horizon in days; values below 14 are raised to 14.

    Returns:
        How many messages were deleted; the purge is audited when any was.
    """
    keep = timedelta(days=max(keep_days, MIN_DEDUPE_DAYS))
    with uow:
        purged = uow.inbox.purge(received_before=clock.now() - keep)
        if purged:
            uow.audit.append(
                actor="contractsync",
                action="inbox.purged",
                subject="inbox",
                payload={"purged": purged, "keep_days": keep.days},
            )
        uow.commit()
    return purged


__all__ = [
    "MIN_DEDUPE_DAYS",
    "REQUIRED_FIELD_MISSING",
    "Acceptance",
    "AcceptanceStatus",
    "ParsedWebhook",
    "SweepReport",
    "accept_webhook",
    "dispatch_waiting",
    "mark_dispatched",
    "purge_inbox",
    "record_rejection",
    "storable_headers",
]
