"""Webhook sources: a name, the verifier of its signature scheme and the shape of its body."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contractsync.adapters.ingress.shapes import SHAPES, EventShape
from contractsync.adapters.signatures import (
    DocuSignConnectVerifier,
    IroncladVerifier,
    StandardWebhooksVerifier,
    WebhookVerifier,
)
from contractsync.errors import ConfigError


@dataclass(frozen=True, slots=True)
class WebhookSource:
    """One sender served at ``POST /webhooks/<name>``.

    Attributes:
        name: The path segment and the inbox ``source``.
        scheme: The signature scheme's name (``standard_webhooks``, ``docusign_connect``,
            ``ironclad``), reported in ``WWW-Authenticate`` and metrics.
        verifier: Checks the raw request before anything reads the body.
        shape: How the verified body is read.
    """

    name: str
    scheme: str
    verifier: WebhookVerifier
    shape: EventShape


def build_verifier(
    scheme: str,
    keys: Sequence[str],
    *,
    tolerance_seconds: float,
    unix_time: Callable[[], float],
) -> WebhookVerifier:
    """Build the verifier for ``scheme`` with its active keys.

    Args:
        scheme: ``standard_webhooks``, ``docusign_connect`` or ``ironclad``.
        keys: The revealed keys: ``whsec_`` secrets, Connect HMAC keys or PEM public keys.
        tolerance_seconds: The timestamp window, for schemes that sign a timestamp.
        unix_time: The current Unix time in seconds (the hub clock, so tests control it).

    Returns:
        The verifier.

    Raises:
        ConfigError: An unknown scheme, or a key the scheme refuses (weak, malformed).
    """
    if scheme == "standard_webhooks":
        return StandardWebhooksVerifier(keys, clock=unix_time, tolerance=tolerance_seconds)
    if scheme == "docusign_connect":
        return DocuSignConnectVerifier(keys)
    if scheme == "ironclad":
        return IroncladVerifier(keys)
    raise ConfigError(
        f"unknown webhook signature scheme {scheme!r}",
        remediation="Use standard_webhooks, docusign_connect or ironclad.",
    )


def shape_named(name: str) -> EventShape:
    """The shipped shape called ``name``.

    Raises:
        ConfigError: No shape has that name.
    """
    try:
        return SHAPES[name]
    except KeyError:
        raise ConfigError(
            f"unknown webhook body shape {name!r}",
            remediation=f"Use one of {', '.join(sorted(SHAPES))}.",
        ) from None


__all__ = ["WebhookSource", "build_verifier", "shape_named"]
