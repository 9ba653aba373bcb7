"""What every webhook signature scheme shares: the verifier port, its result and its one error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from contractsync.errors import RejectedError


class SignatureFailure(StrEnum):
    """Why a webhook was refused; the error code is ``webhook.<value>``."""

    HEADERS_MISSING = "headers_missing"
    HEADERS_MALFORMED = "headers_malformed"
    SIGNATURE_INVALID = "signature_invalid"
    TIMESTAMP_OUT_OF_TOLERANCE = "timestamp_out_of_tolerance"


_REMEDIATIONS = {
    SignatureFailure.HEADERS_MISSING: (
        "Check that the sender is configured to sign its webhooks and that no proxy strips headers."
    ),
    SignatureFailure.HEADERS_MALFORMED: (
        "Check that the sender speaks the signature scheme configured for this source."
    ),
    SignatureFailure.SIGNATURE_INVALID: (
        "Check that the signing key configured for this source matches the sender's current key "
        "and that nothing rewrites the body in transit; if neither, treat the request as forged."
    ),
    SignatureFailure.TIMESTAMP_OUT_OF_TOLERANCE: (
        "Check the clocks of both hosts (NTP); a stale timestamp on a valid signature is a replay."
    ),
}


class SignatureError(RejectedError):
    """A webhook failed verification; the ingress answers 401 and stores no work.

    The message names what is wrong (which header, how far off the clock) but never carries
    the expected signature, a received signature or any key material.

    Args:
        message: What is wrong, safe to show and log.
        reason: The kind of failure; it sets ``code`` to ``webhook.<reason>``.
        scheme: The signature scheme that refused the request (``standard_webhooks`` ...).
        detail: Extra safe context (header names, offsets in seconds).
    """

    default_code = "webhook.signature_invalid"

    def __init__(
        self,
        message: str,
        *,
        reason: SignatureFailure,
        scheme: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message,
            code=f"webhook.{reason.value}",
            remediation=_REMEDIATIONS[reason],
            detail={"scheme": scheme, "reason": reason.value, **(detail or {})},
        )
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    """The facts a verified webhook proves about itself.

    Attributes:
        event_id: The sender's event identifier, the ingress dedupe key with the source name.
        timestamp: The signed send time (UTC) when the scheme signs one, else ``None``.
    """

    event_id: str
    timestamp: datetime | None


class WebhookVerifier(Protocol):
    """Checks one source's webhook signature scheme against the raw request.

    Implementations are pure (no I/O), compare in constant time, accept any of several
    configured keys (rotation) and look headers up case-insensitively.
    """

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        """Verify a request before anything parses its body.

        Args:
            headers: The request headers, exactly as received.
            body: The raw request body bytes, exactly as received.

        Returns:
            The event id and signed timestamp of the authentic request.

        Raises:
            SignatureError: The request is not authentic, is stale, or lacks the scheme's headers.
        """
        ...


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Return a header's value by case-insensitive name, or ``None`` when absent.

    Args:
        headers: Any mapping of header names to values (a plain dict or a case-insensitive one).
        name: The header name in any case.

    Returns:
        The value as received, or ``None``.
    """
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, candidate in headers.items():
        if key.lower() == wanted:
            return candidate
    return None


def missing_headers(scheme: str, names: list[str]) -> SignatureError:
    """Build the error for required headers that are absent or empty.

    Args:
        scheme: The signature scheme name.
        names: The header names that are missing.

    Returns:
        A ``webhook.headers_missing`` error naming the headers.
    """
    return SignatureError(
        f"The webhook lacks the header(s) {', '.join(names)}.",
        reason=SignatureFailure.HEADERS_MISSING,
        scheme=scheme,
        detail={"headers": names},
    )


__all__ = [
    "SignatureError",
    "SignatureFailure",
    "VerifiedWebhook",
    "WebhookVerifier",
    "header_value",
    "missing_headers",
]
