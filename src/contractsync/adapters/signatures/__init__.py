"""Webhook signature schemes, one module each, behind one ``WebhookVerifier`` port.

Every verifier is pure, checks the raw body bytes before anything parses them, compares in
constant time, accepts several active keys (rotation) and raises ``SignatureError`` only.
"""

from contractsync.adapters.signatures.standard_webhooks import StandardWebhooksVerifier
from contractsync.adapters.signatures.verification import (
    SignatureError,
    SignatureFailure,
    VerifiedWebhook,
    WebhookVerifier,
)

__all__ = [
    "SignatureError",
    "SignatureFailure",
    "StandardWebhooksVerifier",
    "VerifiedWebhook",
    "WebhookVerifier",
]
