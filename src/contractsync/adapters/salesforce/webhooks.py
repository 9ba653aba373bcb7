"""Reading the org's events once the ingress has verified and stored them.

The org (or its simulator) sends CloudEvents-style JSON signed per Standard Webhooks, so the
ingress source is ``{scheme: standard_webhooks, shape: standard}`` and the stored payload
looks like::

    {"specversion": "1.0", "id": "evt_...", "type": "opportunity.won",
     "source": "urn:salesforce:org:00D...", "subject": "Opportunity/006...",
     "time": "2026-01-05T09:00:00Z",
     "data": {"sobject": "Opportunity", "Id": "006...", "AccountId": "001...",
              "StageName": "Closed Won", "changeType": "UPDATE"}}

The event is thin on purpose: the workflow fetches the opportunity
(``SalesforceCustomerDirectory.fetch_opportunity``) for its current state.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contractsync.domain.identity import ExternalRef
from contractsync.errors import DataError

OPPORTUNITY_WON = "opportunity.won"
EVENT_TYPES = frozenset({OPPORTUNITY_WON})
"""Event types this adapter understands."""


@dataclass(frozen=True, slots=True)
class OpportunityWon:
    """An opportunity reached Closed Won; fetch it before acting (the event may be stale).

    Attributes:
        event_id: The sender's event id (the ingress deduplicates on it).
        opportunity: The opportunity's ref.
        account: The account's ref, when the event names it.
        occurred_at: When the org says it happened, if it says.
    """

    event_id: str
    opportunity: ExternalRef
    account: ExternalRef | None
    occurred_at: datetime | None


def _invalid(message: str, field: str) -> DataError:
    return DataError(
        message,
        code="salesforce.event_invalid",
        remediation="Check the Salesforce outbound integration's payload; the event is kept "
        "in the inbox and can be retried once the sender is fixed.",
        detail={"field": field},
    )


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"The Salesforce event has no {where}.", where)
    return value.strip()


def read_event(payload: Mapping[str, Any], *, system: str = "salesforce") -> OpportunityWon:
    """Read a stored event payload.

    Args:
        payload: The decoded JSON object the ingress stored.
        system: The configured system name, for the refs.

    Returns:
        The typed event.

    Raises:
        DataError: ``salesforce.event_unsupported`` for another event type, or
            ``salesforce.event_invalid`` naming the missing field.
    """
    event_type = payload.get("type")
    if event_type not in EVENT_TYPES:
        raise DataError(
            f"The Salesforce event type {event_type!r} is not one contractsync handles.",
            code="salesforce.event_unsupported",
            remediation=f"Send only {', '.join(sorted(EVENT_TYPES))} to /webhooks/{system}, "
            "or dismiss the exception item.",
            detail={"event_type": str(event_type)[:128]},
        )
    event_id = _text(payload, "id", "id")
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise _invalid("The Salesforce event has no data object.", "data")
    account_id = data.get("AccountId")
    occurred_at = None
    if isinstance(payload.get("time"), str):
        try:
            occurred_at = datetime.fromisoformat(payload["time"].replace("Z", "+00:00"))
        except ValueError:
            raise _invalid(
                "The Salesforce event time is not an ISO 8601 instant.", "time"
            ) from None
    return OpportunityWon(
        event_id=event_id,
        opportunity=ExternalRef(system=system, kind="Opportunity", id=_text(data, "Id", "data.Id")),
        account=(
            ExternalRef(system=system, kind="Account", id=account_id)
            if isinstance(account_id, str) and account_id
            else None
        ),
        occurred_at=occurred_at,
    )


def read_event_body(body: bytes, *, system: str = "salesforce") -> OpportunityWon:
    """Read an event from the raw stored body (``InboxMessage.body``).

    Raises:
        DataError: The body is not a JSON object, or as ``read_event``.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("The Salesforce event body is not JSON.", "body") from None
    if not isinstance(payload, dict):
        raise _invalid("The Salesforce event body is not a JSON object.", "body")
    return read_event(payload, system=system)


__all__ = ["EVENT_TYPES", "OPPORTUNITY_WON", "OpportunityWon", "read_event", "read_event_body"]
