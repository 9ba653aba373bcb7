"""Reading Ironclad's thin workflow events once the ingress has verified and stored them.

The ingress source is ``{scheme: ironclad, shape: ironclad}``: the RSA signature is checked by
``adapters.signatures.IroncladVerifier`` and the event id is the signed
``X-Ironclad-Webhook-Event-Id`` header (the inbox's dedupe key). A stored body looks like::

    {"companyID": "605b...", "timestamp": "2024-12-06T20:52:19.625Z", "webhookID": "6753...",
     "payload": {"event": "workflow_approval_status_changed", "workflowID": "6753...",
                 "approvalID": "legal", "approvalName": "Legal", "status": "approved",
                 "userEmail": "", "userID": "6752..."}}

There is no ``workflow_approved`` event: each approver's approval is one
``workflow_approval_status_changed`` with ``status: approved``. The payload is thin, so the
workflow is always fetched (``IroncladContractSource.fetch_contract``) before acting: events
may be duplicated, arrive out of order, or describe a state that has moved on.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contractsync.adapters.ironclad.mapping import WORKFLOW
from contractsync.domain.identity import ExternalRef
from contractsync.errors import DataError

APPROVAL_CHANGED = "workflow_approval_status_changed"
COMPLETED = "workflow_completed"
LAUNCHED = "workflow_launched"
UPDATED = "workflow_updated"
ATTRIBUTE_UPDATED = "workflow_attribute_updated"
CANCELLED = "workflow_cancelled"
EVENT_TYPES = frozenset(
    {APPROVAL_CHANGED, COMPLETED, LAUNCHED, UPDATED, ATTRIBUTE_UPDATED, CANCELLED}
)
"""Workflow events this adapter understands (subscribe the webhook to these)."""


@dataclass(frozen=True, slots=True)
class WorkflowEvent:
    """Something happened to a workflow; fetch it before acting.

    Attributes:
        event_id: The signed event id (the inbox's dedupe key).
        event: Ironclad's event type (``workflow_completed`` ...).
        workflow: The workflow's ref (kind ``workflow``), the ContractSource's ref.
        approval_status: ``approved`` / ``pending`` on approval events, else None.
        approval_id: The approver role on approval events.
        occurred_at: Ironclad's ``timestamp``, if readable.
    """

    event_id: str
    event: str
    workflow: ExternalRef
    approval_status: str | None
    approval_id: str | None
    occurred_at: datetime | None

    @property
    def may_approve_contract(self) -> bool:
        """True when the contract may now be approved (an approval granted, or signed).

        Whether every approver has approved is only known from the fetched workflow.
        """
        return self.event == COMPLETED or (
            self.event == APPROVAL_CHANGED and self.approval_status == "approved"
        )

    @property
    def may_change_terms(self) -> bool:
        """True when the contract's terms may have changed (an amendment to plan)."""
        return self.event in (UPDATED, ATTRIBUTE_UPDATED)


def _invalid(message: str, field: str) -> DataError:
    return DataError(
        message,
        code="ironclad.event_invalid",
        remediation="The event stays in the inbox; check the Ironclad webhook's payload.",
        detail={"field": field},
    )


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"The Ironclad event has no {where}.", where)
    return value.strip()


def read_event(
    payload: Mapping[str, Any], *, event_id: str, system: str = "ironclad"
) -> WorkflowEvent:
    """Read a stored, verified event body.

    Args:
        payload: The decoded JSON object the ingress stored.
        event_id: The verified ``X-Ironclad-Webhook-Event-Id``.
        system: The configured system name, for the ref.

    Raises:
        DataError: ``ironclad.event_unsupported`` for another event type, or
            ``ironclad.event_invalid`` naming the missing field.
    """
    inner = payload.get("payload")
    if not isinstance(inner, Mapping):
        raise _invalid("The Ironclad event has no payload object.", "payload")
    event = _text(inner, "event", "payload.event")
    if event not in EVENT_TYPES:
        raise DataError(
            f"The Ironclad event type {event!r} is not one contractsync handles.",
            code="ironclad.event_unsupported",
            remediation=f"Subscribe the webhook to {', '.join(sorted(EVENT_TYPES))} only, "
            "or dismiss the exception item.",
            detail={"event_type": event[:128]},
        )
    occurred_at = None
    if isinstance(payload.get("timestamp"), str):
        try:
            occurred_at = datetime.fromisoformat(payload["timestamp"].replace("Z", "+00:00"))
        except ValueError:
            raise _invalid("The Ironclad event timestamp is not ISO 8601.", "timestamp") from None
    status = inner.get("status") if event == APPROVAL_CHANGED else None
    approval = inner.get("approvalID") if event == APPROVAL_CHANGED else None
    return WorkflowEvent(
        event_id=event_id,
        event=event,
        workflow=ExternalRef(
            system=system, kind=WORKFLOW, id=_text(inner, "workflowID", "payload.workflowID")
        ),
        approval_status=status if isinstance(status, str) else None,
        approval_id=approval if isinstance(approval, str) else None,
        occurred_at=occurred_at,
    )


def read_event_body(body: bytes, *, event_id: str, system: str = "ironclad") -> WorkflowEvent:
    """Read an event from the raw stored body (``InboxMessage.body``).

    Raises:
        DataError: The body is not a JSON object, or as ``read_event``.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("The Ironclad event body is not JSON.", "body") from None
    if not isinstance(payload, dict):
        raise _invalid("The Ironclad event body is not a JSON object.", "body")
    return read_event(payload, event_id=event_id, system=system)


__all__ = [
    "APPROVAL_CHANGED",
    "COMPLETED",
    "EVENT_TYPES",
    "LAUNCHED",
    "UPDATED",
    "WorkflowEvent",
    "read_event",
    "read_event_body",
]
