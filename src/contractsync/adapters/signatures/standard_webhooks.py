"""Standard Webhooks 1.0 symmetric signatures (``v1``, HMAC-SHA256): verify inbound, sign outbound.

The scheme, per the spec (standard-webhooks/standard-webhooks ``spec/standard-webhooks.md``):

- headers ``webhook-id`` (same on every retry: the dedupe key), ``webhook-timestamp`` (integer
  Unix seconds of this attempt) and ``webhook-signature`` (space-separated ``v1,<base64>``
  entries; other versions such as the asymmetric ``v1a`` are ignored here);
- signed content ``{webhook-id}.{webhook-timestamp}.{raw body}``;
- secret ``whsec_<base64>``; the HMAC key is the decoded bytes (24 to 64 of them);
- timestamps more than 300 s in the past or the future are refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from contractsync.adapters.signatures.verification import (
    SignatureError,
    SignatureFailure,
    VerifiedWebhook,
    header_value,
    missing_headers,
)
from contractsync.errors import ConfigError

SCHEME = "standard_webhooks"
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
DEFAULT_TOLERANCE_SECONDS = 300.0

# Digits only: int() would also accept "+1", " 1" and "1_0", which a single flipped byte produces.
_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def parse_secret(secret: str) -> bytes:
    """Decode a ``whsec_`` secret into its HMAC key, refusing weak or malformed secrets.

    Args:
        secret: The secret as configured, ``whsec_`` followed by base64.

    Returns:
        The decoded key bytes.

    Raises:
        ConfigError: The prefix is missing, the base64 is invalid, or the key is shorter than
            24 or longer than 64 bytes. The message never repeats the secret.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigError(
            "A Standard Webhooks secret must start with 'whsec_'.",
            code="config.webhook_secret_invalid",
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except binascii.Error as exc:
        raise ConfigError(
            "A Standard Webhooks secret is not valid base64 after 'whsec_'.",
            code="config.webhook_secret_invalid",
        ) from exc
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise ConfigError(
            f"A Standard Webhooks secret decodes to {len(key)} bytes; it must be "
            f"{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes.",
            code="config.webhook_secret_weak",
            remediation="Generate a new secret (32 random bytes, base64, 'whsec_' prefix).",
        )
    return key


def generate_secret(num_bytes: int = 32) -> str:
    """Return a fresh random ``whsec_`` secret for an outbound subscription.

    Args:
        num_bytes: Key length in bytes, 24 to 64.

    Returns:
        The secret string, to be stored encrypted and shown to the subscriber once.

    Raises:
        ConfigError: ``num_bytes`` is outside 24 to 64.
    """
    secret = SECRET_PREFIX + base64.b64encode(secrets.token_bytes(num_bytes)).decode("ascii")
    parse_secret(secret)
    return secret


def _unix_seconds(timestamp: int | datetime) -> int:
    if isinstance(timestamp, datetime):
        if timestamp.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        return int(timestamp.timestamp())
    return int(timestamp)


def _digest(key: bytes, msg_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def signature(secret: str, msg_id: str, timestamp: int | datetime, body: bytes) -> str:
    """Compute one ``v1,<base64>`` signature entry.

    Args:
        secret: A ``whsec_`` secret.
        msg_id: The ``webhook-id`` value.
        timestamp: Unix seconds or an aware datetime (fractions are dropped).
        body: The exact body bytes that will be sent.

    Returns:
        The entry to place in ``webhook-signature``.

    Raises:
        ConfigError: The secret is malformed or weak.
        ValueError: ``timestamp`` is a naive datetime.
    """
    digest = _digest(parse_secret(secret), msg_id, str(_unix_seconds(timestamp)), body)
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(
    secret: str | Sequence[str], msg_id: str, timestamp: int | datetime, body: bytes
) -> dict[str, str]:
    """Build the three Standard Webhooks headers for an outbound delivery.

    Pass several secrets during a rotation: the header then carries one signature per secret,
    and a receiver that knows either key accepts the delivery.

    Args:
        secret: One ``whsec_`` secret, or several (old and new) during a rotation.
        msg_id: The event id; keep it identical across retries of one event.
        timestamp: The time of this attempt (Unix seconds or an aware datetime).
        body: The exact body bytes that will be sent.

    Returns:
        ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers.

    Raises:
        ConfigError: A secret is malformed or weak, or no secret was given.
        ValueError: ``timestamp`` is a naive datetime.
    """
    keys = [secret] if isinstance(secret, str) else list(secret)
    if not keys:
        raise ConfigError("No Standard Webhooks secret is configured for signing.")
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(_unix_seconds(timestamp)),
        SIGNATURE_HEADER: " ".join(signature(key, msg_id, timestamp, body) for key in keys),
    }


def _received_v1_signatures(header: str) -> list[bytes]:
    received = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            received.append(base64.b64decode(encoded, validate=True))
        except binascii.Error:
            continue
    return received


class StandardWebhooksVerifier:
    """Verifies Standard Webhooks ``v1`` signatures against one or more active secrets.

    Args:
        secrets: The active ``whsec_`` secrets (two during a rotation). Checked at construction.
        clock: Returns the current Unix time in seconds; injected so tests never sleep.
        tolerance: Seconds a timestamp may differ from the clock, in either direction.

    Raises:
        ConfigError: No secret, or a malformed or weak one.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        clock: Callable[[], float] = time.time,
        tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    ) -> None:
        if not secrets:
            raise ConfigError("No Standard Webhooks secret is configured for this source.")
        self._keys = [parse_secret(secret) for secret in secrets]
        self._clock = clock
        self._tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        """Verify the signature first, then the timestamp window.

        The order matters: a forger learns nothing about our clock from the error.

        Args:
            headers: The request headers as received.
            body: The raw body bytes as received.

        Returns:
            ``webhook-id`` as the event id and the signed timestamp.

        Raises:
            SignatureError: ``webhook.headers_missing``, ``webhook.headers_malformed``,
                ``webhook.signature_invalid`` or ``webhook.timestamp_out_of_tolerance``.
        """
        msg_id = header_value(headers, ID_HEADER)
        raw_timestamp = header_value(headers, TIMESTAMP_HEADER)
        sig_header = header_value(headers, SIGNATURE_HEADER)
        absent = [
            name
            for name, value in (
                (ID_HEADER, msg_id),
                (TIMESTAMP_HEADER, raw_timestamp),
                (SIGNATURE_HEADER, sig_header),
            )
            if not value
        ]
        if absent or msg_id is None or raw_timestamp is None or sig_header is None:
            raise missing_headers(SCHEME, absent)
        if not _TIMESTAMP.fullmatch(raw_timestamp):
            raise SignatureError(
                f"The {TIMESTAMP_HEADER} header is not an integer number of seconds.",
                reason=SignatureFailure.HEADERS_MALFORMED,
                scheme=SCHEME,
                detail={"headers": [TIMESTAMP_HEADER]},
            )
        sent_at = int(raw_timestamp)
        received = _received_v1_signatures(sig_header)
        if not received:
            raise SignatureError(
                f"The {SIGNATURE_HEADER} header carries no v1 signature.",
                reason=SignatureFailure.SIGNATURE_INVALID,
                scheme=SCHEME,
            )
        expected = [_digest(key, msg_id, str(sent_at), body) for key in self._keys]
        # compare_digest per pair: its time never depends on how many leading bytes match.
        if not any(hmac.compare_digest(e, r) for e in expected for r in received):
            raise SignatureError(
                "No webhook-signature entry matches the body with any configured secret.",
                reason=SignatureFailure.SIGNATURE_INVALID,
                scheme=SCHEME,
            )
        offset = sent_at - self._clock()
        if abs(offset) > self._tolerance:
            direction = "in the future" if offset > 0 else "old"
            raise SignatureError(
                f"The webhook timestamp is {abs(offset):.0f} s {direction}; "
                f"the tolerance is {self._tolerance:.0f} s.",
                reason=SignatureFailure.TIMESTAMP_OUT_OF_TOLERANCE,
                scheme=SCHEME,
                detail={"offset_seconds": round(offset)},
            )
        return VerifiedWebhook(event_id=msg_id, timestamp=datetime.fromtimestamp(sent_at, UTC))


__all__ = [
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "StandardWebhooksVerifier",
    "generate_secret",
    "parse_secret",
    "sign",
    "signature",
]
