"""Webhook ingress adapters: per-source body shapes, strict parsing and the source registry.

The route verifies with the source's ``WebhookVerifier`` first, then reads the body with
``parse_webhook(source.shape, body, verified_id=...)``, then hands the ``ParsedWebhook`` to
``services.ingress.accept_webhook``.
"""

from contractsync.adapters.ingress.parsing import (
    BODY_MALFORMED,
    BODY_NOT_OBJECT,
    EVENT_ID_INVALID,
    parse_webhook,
)
from contractsync.adapters.ingress.shapes import DOCUSIGN, IRONCLAD, SHAPES, STANDARD, EventShape
from contractsync.adapters.ingress.sources import WebhookSource, build_verifier, shape_named

__all__ = [
    "BODY_MALFORMED",
    "BODY_NOT_OBJECT",
    "DOCUSIGN",
    "EVENT_ID_INVALID",
    "IRONCLAD",
    "SHAPES",
    "STANDARD",
    "EventShape",
    "WebhookSource",
    "build_verifier",
    "parse_webhook",
    "shape_named",
]
