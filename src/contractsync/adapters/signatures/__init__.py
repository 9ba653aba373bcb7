"""Webhook signature schemes, one module each, behind one ``WebhookVerifier`` port.

Every verifier is pure, checks the raw body bytes before anything parses them, compares in
constant time, accepts several active keys (rotation) and raises ``SignatureError`` only.
The ingress picks one verifier per source:

    ``standard_webhooks``  StandardWebhooksVerifier  HMAC-SHA256, id + timestamp, ±300 s
    ``docusign``           DocuSignConnectVerifier   HMAC-SHA256 of the body, numbered headers
    ``ironclad``           IroncladVerifier          RSA over event id + body + nonce
"""

from contractsync.adapters.signatures.docusign_connect import DocuSignConnectVerifier
from contractsync.adapters.signatures.ironclad import IroncladVerifier
from contractsync.adapters.signatures.standard_webhooks import StandardWebhooksVerifier
from contractsync.adapters.signatures.verification import (
    SignatureError,
    SignatureFailure,
    VerifiedWebhook,
    WebhookVerifier,
)

__all__ = [
    "DocuSignConnectVerifier",
    "IroncladVerifier",
    "SignatureError",
    "SignatureFailure",
    "StandardWebhooksVerifier",
    "VerifiedWebhook",
    "WebhookVerifier",
]
