"""Reading DocuSign Connect JSON SIM events once the ingress has verified and stored them.

The ingress source is ``{scheme: docusign_connect, shape: docusign}``: the HMAC headers are
checked by ``adapters.signatures.DocuSignConnectVerifier``, whose event id is derived from
signed body fields (envelope, event, ``generatedDateTime``; never ``retryCount``, which grows
on every redelivery), so a repeated delivery is stored once. A stored body looks like::

    {"event": "envelope-completed", "apiVersion": "v2.1", "retryCount": 0,
     "configurationId": 10140648, "generatedDateTime": "2026-04-29T19:00:00.0000000Z",
     "data": {"accountId": "...", "userId": "...", "envelopeId": "...",
              "envelopeSummary": {"status": "completed", "completedDateTime": "...",
                                  "customFields": {"textCustomFields": [
                                      {"name": "contractId", "value": "SOW-2025-0142"}]}}}}

The summary is optional per event type, so the contract id may be absent: the workflow then
fetches the envelope (``DocuSignSignatureSource.fetch_signature``) before acting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contractsync.adapters.docusign.mapping import ENVELOPE
from contractsync.adapters.docusign.payloads import CustomFields, instant
from contractsync.domain.identity import ExternalRef
from contractsync.errors import DataError

EVENT_TYPES = frozenset(
    {
        "envelope-sent",
        "envelope-delivered",
        "envelope-completed",
        "envelope-declined",
        "envelope-voided",
    }
)
"""Envelope events this adapter understands."""


@dataclass(frozen=True, slots=True)
class SignatureEvent:
    """An envelope changed status.

    Attributes:
        event_id: The verifier's dedupe key (envelope, event, generated time).
        event: The Connect event (``envelope-completed`` ...).
        envelope: The envelope's ref, the SignatureSource's ref.
        contract_id: The contract id from the summary's custom field, when the summary has it.
        completed_at: ``completedDateTime`` of a completed envelope, when present.
        retry_count: Connect's ``retryCount`` (0 on the first delivery).
    """

    event_id: str
    event: str
    envelope: ExternalRef
    contract_id: str | None
    completed_at: datetime | None
    retry_count: int

    @property
    def is_completed(self) -> bool:
        """True when every signer has signed: the contract may be approved."""
        return self.event == "envelope-completed"


def _invalid(message: str, field: str) -> DataError:
    return DataError(
        message,
        code="docusign.event_invalid",
        remediation="The event stays in the inbox; check the Connect configuration (JSON SIM, "
        "REST v2.1 event data).",
        detail={"field": field},
    )


def read_event(
    payload: Mapping[str, Any],
    *,
    event_id: str,
    system: str = "docusign",
    contract_field: str = "contractId",
) -> SignatureEvent:
    """Read a stored, verified JSON SIM body.

    Raises:
        DataError: ``docusign.event_unsupported`` for another event, or
            ``docusign.event_invalid`` naming the missing field.
    """
    event = payload.get("event")
    if event not in EVENT_TYPES:
        raise DataError(
            f"The DocuSign Connect event {event!r} is not one contractsync handles.",
            code="docusign.event_unsupported",
            remediation="Publish only envelope events to this endpoint, or dismiss the item.",
            detail={"event_type": str(event)[:128]},
        )
    data = payload.get("data")
    if not isinstance(data, Mapping):
        raise _invalid("The Connect message has no data object.", "data")
    envelope_id = data.get("envelopeId")
    if not isinstance(envelope_id, str) or not envelope_id:
        raise _invalid("The Connect message has no data.envelopeId.", "data.envelopeId")
    summary = data.get("envelopeSummary")
    summary = summary if isinstance(summary, Mapping) else {}
    contract_id = None
    if isinstance(summary.get("customFields"), Mapping):
        contract_id = CustomFields.model_validate(summary["customFields"]).value_of(contract_field)
    completed_at = None
    if isinstance(summary.get("completedDateTime"), str):
        try:
            completed_at = instant(summary["completedDateTime"])
        except ValueError:
            raise _invalid(
                "completedDateTime is not an instant.", "data.envelopeSummary.completedDateTime"
            ) from None
    retry = payload.get("retryCount")
    return SignatureEvent(
        event_id=event_id,
        event=str(event),
        envelope=ExternalRef(system=system, kind=ENVELOPE, id=envelope_id),
        contract_id=contract_id,
        completed_at=completed_at,
        retry_count=int(retry) if isinstance(retry, int | str) and str(retry).isdigit() else 0,
    )


def read_event_body(
    body: bytes, *, event_id: str, system: str = "docusign", contract_field: str = "contractId"
) -> SignatureEvent:
    """Read an event from the raw stored body (``InboxMessage.body``).

    Raises:
        DataError: The body is not a JSON object, or as ``read_event``.
    """
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("The Connect message is not JSON.", "body") from None
    if not isinstance(payload, dict):
        raise _invalid("The Connect message is not a JSON object.", "body")
    return read_event(payload, event_id=event_id, system=system, contract_field=contract_field)


__all__ = ["EVENT_TYPES", "SignatureEvent", "read_event", "read_event_body"]
