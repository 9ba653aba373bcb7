"""DocuSign Connect HMAC signatures: base64 HMAC-SHA256 of the raw body in numbered headers.

The scheme (developers.docusign.com/platform/webhooks/connect/validate, reference/vendors.md §1.2):

- Connect computes ``base64(HMAC-SHA256(key_utf8, raw body))`` once per active Connect key and
  sends it in ``X-DocuSign-Signature-1``, ``X-DocuSign-Signature-2``, ... (up to 100 keys);
- the request is authentic when any header matches any key we hold;
- nothing else is signed: **no timestamp and no nonce**, so there is no replay window. A replayed
  delivery verifies forever; only the ingress dedupe on the event id stops a second effect, which
  is why the event id is derived from signed body fields (envelope, event, recipient, generated
  time) and never from an unsigned header.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence

from contractsync.adapters.signatures.verification import (
    SignatureError,
    SignatureFailure,
    VerifiedWebhook,
    header_value,
    missing_headers,
)
from contractsync.errors import ConfigError, DataError

SCHEME = "docusign_connect"
HEADER_PREFIX = "X-DocuSign-Signature-"
MAX_KEYS = 100
MIN_KEY_BYTES = 32


def _digest(key: str, body: bytes) -> bytes:
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()


def sign(keys: str | Sequence[str], body: bytes) -> dict[str, str]:
    """Build the numbered signature headers Connect would send for ``body``.

    Used by the DocuSign simulator and by tests; the hub never sends Connect messages.

    Args:
        keys: One Connect HMAC key or several, in header order.
        body: The exact body bytes that will be sent.

    Returns:
        ``X-DocuSign-Signature-1`` ... one header per key.
    """
    key_list = [keys] if isinstance(keys, str) else list(keys)
    return {
        f"{HEADER_PREFIX}{number}": base64.b64encode(_digest(key, body)).decode("ascii")
        for number, key in enumerate(key_list, start=1)
    }


def connect_event_id(body: bytes) -> str:
    """Derive a dedupe key from a verified JSON SIM body.

    The key is ``envelopeId:event`` plus ``recipientId`` and ``generatedDateTime`` when present.
    ``retryCount`` is deliberately left out: it changes on every redelivery of the same event.

    Args:
        body: The verified raw body.

    Returns:
        The event id.

    Raises:
        DataError: The body is not JSON SIM or lacks ``event`` or ``data.envelopeId``.
    """
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(
            "The DocuSign Connect message is not JSON; configure the Connect "
            "configuration for JSON SIM delivery.",
            code="webhook.event_id_missing",
        ) from exc
    data = message.get("data") if isinstance(message, dict) else None
    if not isinstance(data, dict) or not data.get("envelopeId") or not message.get("event"):
        raise DataError(
            "The DocuSign Connect message lacks 'event' or 'data.envelopeId'.",
            code="webhook.event_id_missing",
            detail={"scheme": SCHEME},
        )
    parts = [str(data["envelopeId"]), str(message["event"])]
    parts += [str(value) for value in (data.get("recipientId"), message.get("generatedDateTime"))]
    return ":".join(part for part in parts if part not in ("", "None"))


class DocuSignConnectVerifier:
    """Verifies DocuSign Connect HMAC signatures against one or more Connect keys.

    Args:
        keys: The active Connect HMAC keys (as shown once in eSignature Admin), 1 to 100.
        event_id_of: Derives the dedupe key from the verified body; defaults to
            ``connect_event_id`` (JSON SIM).

    Raises:
        ConfigError: No key, more than 100 keys, or a key shorter than 32 bytes.
    """

    def __init__(
        self,
        keys: Sequence[str],
        *,
        event_id_of: Callable[[bytes], str] = connect_event_id,
    ) -> None:
        if not keys:
            raise ConfigError("No DocuSign Connect HMAC key is configured for this source.")
        if len(keys) > MAX_KEYS:
            raise ConfigError(f"DocuSign Connect allows at most {MAX_KEYS} HMAC keys.")
        if any(len(key.encode("utf-8")) < MIN_KEY_BYTES for key in keys):
            raise ConfigError(
                f"A DocuSign Connect HMAC key is shorter than {MIN_KEY_BYTES} bytes; "
                "copy the whole key from eSignature Admin > Connect > Connect Keys.",
                code="config.webhook_secret_weak",
            )
        self._keys = list(keys)
        self._event_id_of = event_id_of

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        """Verify the body against every numbered signature header and every key.

        Args:
            headers: The request headers as received.
            body: The raw body bytes as received (line endings included, as DocuSign signs them).

        Returns:
            The derived event id; ``timestamp`` is ``None`` because the scheme signs none.

        Raises:
            SignatureError: ``webhook.headers_missing`` when no numbered header is present,
                ``webhook.signature_invalid`` when none matches.
            DataError: The authentic body carries no usable event id.
        """
        present = [
            value
            for number in range(1, MAX_KEYS + 1)
            if (value := header_value(headers, f"{HEADER_PREFIX}{number}"))
        ]
        if not present:
            raise missing_headers(SCHEME, [f"{HEADER_PREFIX}1"])
        received = []
        for value in present:
            try:
                received.append(base64.b64decode(value.strip(), validate=True))
            except binascii.Error:
                continue
        expected = [_digest(key, body) for key in self._keys]
        if not any(hmac.compare_digest(e, r) for e in expected for r in received):
            raise SignatureError(
                "No X-DocuSign-Signature header matches the body with any configured key.",
                reason=SignatureFailure.SIGNATURE_INVALID,
                scheme=SCHEME,
                detail={"signatures_received": len(received)},
            )
        return VerifiedWebhook(event_id=self._event_id_of(body), timestamp=None)


__all__ = ["DocuSignConnectVerifier", "connect_event_id", "sign"]
