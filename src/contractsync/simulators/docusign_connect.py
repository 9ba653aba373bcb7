"""DocuSign Connect from the simulator: JSON SIM messages, HMAC headers, retryCount, republishing.

A Connect configuration is an outbound subscription whose secret is the JSON list of its HMAC
keys: every delivery carries ``X-DocuSign-Signature-1..N`` (one per key, base64 HMAC-SHA256 of
the exact body) and ``x-authorization-digest: HMACSHA256``. ``retryCount`` is rewritten on
each attempt (0 first, then 1, 2 ...): the body, and so the signatures, change on a retry
while the dedupe identity (envelope, event, ``generatedDateTime``) stays.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any

from contractsync.adapters.signatures.docusign_connect import sign
from contractsync.simulators.docusign_account import Envelope, stamp
from contractsync.simulators.webhooks_out import OutboundEvent, OutboundWebhooks, Signer

ENVELOPE_EVENTS = frozenset(
    {
        "envelope-sent",
        "envelope-delivered",
        "envelope-completed",
        "envelope-declined",
        "envelope-voided",
    }
)
CONFIGURATION_ID = 10140648


def connect_keys(secret: str) -> list[str]:
    """The HMAC keys of a configuration: a JSON list, or one plain key."""
    if secret.startswith("["):
        keys = json.loads(secret)
        return [str(key) for key in keys]
    return [secret]


def connect_signer(secret: str) -> Signer:
    """Numbered ``X-DocuSign-Signature-N`` headers, one per configured key."""
    keys = connect_keys(secret)

    def signer(event_id: str, body: bytes, timestamp: int) -> Mapping[str, str]:
        return {**sign(keys, body), "x-authorization-digest": "HMACSHA256"}

    return signer


def message(
    event: str, envelope: Envelope, *, account_id: str, user_id: str, generated: float
) -> dict[str, Any]:
    """A JSON SIM message about ``envelope`` (``retryCount`` 0; deliveries rewrite it)."""
    summary = envelope.to_json(account_id, include_custom_fields=True)
    summary["recipients"] = {"signers": [dict(s) for s in envelope.signers]}
    return {
        "event": event,
        "apiVersion": "v2.1",
        "uri": f"/restapi/v2.1/accounts/{account_id}/envelopes/{envelope.id}",
        "retryCount": 0,
        "configurationId": CONFIGURATION_ID,
        "generatedDateTime": stamp(generated),
        "data": {
            "accountId": account_id,
            "userId": user_id,
            "envelopeId": envelope.id,
            "envelopeSummary": summary,
        },
    }


class ConnectWebhooks(OutboundWebhooks):
    """Outbound webhooks whose body carries the attempt number as ``retryCount``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._attempt_of = threading.local()

    def _attempt(self, delivery: Any) -> Any:
        # The base class serialises the body after counting the attempt; remember which one.
        self._attempt_of.number = delivery.attempt + 1
        return super()._attempt(delivery)

    def _body(self, event: OutboundEvent) -> bytes:
        number = getattr(self._attempt_of, "number", 1)
        retried = OutboundEvent(
            id=event.id, type=event.type, payload={**event.payload, "retryCount": number - 1}
        )
        return super()._body(retried)


__all__ = [
    "CONFIGURATION_ID",
    "ENVELOPE_EVENTS",
    "ConnectWebhooks",
    "connect_keys",
    "connect_signer",
    "message",
]
