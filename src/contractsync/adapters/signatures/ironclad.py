"""Ironclad webhook signatures: an RSA signature over event id, body and nonce, checked with PEM keys.

The scheme (developer.ironcladapp.com/reference/webhook-verification, reference/vendors.md §2.3):

- ``X-Ironclad-Webhook-Event-Id`` carries the event id (our dedupe key) [confirmed];
- ``X-Ironclad-Webhook-Verification`` carries a JSON object
  ``{"nonce", "signAlgorithm", "signature", "encoding"}`` [confirmed];
- the signed data is event id + ``JSON.stringify(body)`` + nonce, in that order [confirmed]. Ironclad
  sends compact JSON, so the raw body bytes are what was signed; we verify those and never
  re-serialise [inferred];
- ``signAlgorithm`` is an RSA SHA-256 variant (``RSA-SHA256`` / ``sha256``) and ``encoding`` is
  ``base64`` [inferred]: both are checked against allow-lists we configure, never trusted blindly;
- the padding is PKCS#1 v1.5, Node's default for ``crypto.createVerify`` with an RSA key
  [unconfirmed; configurable];
- the public key comes from ``GET /webhooks/verification-key`` (PEM); several may be configured so
  that a key rotation drops no delivery;
- no timestamp is signed, so there is no tolerance window: replays are stopped by the event-id
  dedupe alone.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from contractsync.adapters.signatures.verification import (
    SignatureError,
    SignatureFailure,
    VerifiedWebhook,
    header_value,
    missing_headers,
)
from contractsync.errors import ConfigError

SCHEME = "ironclad"
EVENT_ID_HEADER = "X-Ironclad-Webhook-Event-Id"
VERIFICATION_HEADER = "X-Ironclad-Webhook-Verification"
DEFAULT_ALGORITHMS: Mapping[str, type[hashes.HashAlgorithm]] = {
    "RSA-SHA256": hashes.SHA256,
    "sha256": hashes.SHA256,
    "SHA256": hashes.SHA256,
    "RSA-SHA512": hashes.SHA512,
    "sha512": hashes.SHA512,
}
DEFAULT_ALGORITHM = "RSA-SHA256"
DEFAULT_ENCODING = "base64"
MIN_KEY_BITS = 2048
Padding = Literal["pkcs1v15", "pss"]


def load_public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Load one Ironclad verification key.

    Args:
        pem: The PEM text returned by ``GET /webhooks/verification-key``.

    Returns:
        The RSA public key.

    Raises:
        ConfigError: The text is not a PEM public key, not RSA, or shorter than 2048 bits.
    """
    data = pem.encode("ascii") if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise ConfigError(
            "An Ironclad webhook verification key is not a PEM public key.",
            code="config.webhook_key_invalid",
            remediation="Paste the text returned by GET /public/api/v1/webhooks/verification-key.",
        ) from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(
            "An Ironclad webhook verification key is not an RSA key.",
            code="config.webhook_key_invalid",
        )
    if key.key_size < MIN_KEY_BITS:
        raise ConfigError(
            f"An Ironclad webhook verification key has {key.key_size} bits; "
            f"at least {MIN_KEY_BITS} are required.",
            code="config.webhook_secret_weak",
        )
    return key


def _padding(kind: Padding, digest: hashes.HashAlgorithm, *, signing: bool) -> Any:
    if kind == "pss":
        # Node signs PSS with the maximum salt and verifies with an automatic one.
        salt = padding.PSS.MAX_LENGTH if signing else padding.PSS.AUTO
        return padding.PSS(mgf=padding.MGF1(digest), salt_length=salt)
    return padding.PKCS1v15()


def sign(
    private_key: rsa.RSAPrivateKey,
    event_id: str,
    body: bytes,
    *,
    nonce: str,
    algorithm: str = DEFAULT_ALGORITHM,
    rsa_padding: Padding = "pkcs1v15",
) -> dict[str, str]:
    """Build the headers Ironclad would send; used by the Ironclad simulator and by tests.

    Args:
        private_key: The RSA signing key.
        event_id: The webhook event id.
        body: The exact compact-JSON body bytes that will be sent.
        nonce: A fresh random string for this delivery.
        algorithm: The ``signAlgorithm`` to announce (a key of ``DEFAULT_ALGORITHMS``).
        rsa_padding: ``pkcs1v15`` or ``pss``.

    Returns:
        The event-id and verification headers.
    """
    digest = DEFAULT_ALGORITHMS[algorithm]()
    signed = event_id.encode() + body + nonce.encode()
    raw = private_key.sign(signed, _padding(rsa_padding, digest, signing=True), digest)
    verification = {
        "nonce": nonce,
        "signAlgorithm": algorithm,
        "signature": base64.b64encode(raw).decode("ascii"),
        "encoding": DEFAULT_ENCODING,
    }
    return {EVENT_ID_HEADER: event_id, VERIFICATION_HEADER: json.dumps(verification)}


def _malformed(message: str) -> SignatureError:
    return SignatureError(
        message,
        reason=SignatureFailure.HEADERS_MALFORMED,
        scheme=SCHEME,
        detail={"headers": [VERIFICATION_HEADER]},
    )


def _decode(signature: str, encoding: str) -> bytes | None:
    try:
        if encoding == "hex":
            return bytes.fromhex(signature)
        return base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return None


class IroncladVerifier:
    """Verifies Ironclad webhook RSA signatures against one or more PEM public keys.

    Args:
        public_keys: The active verification keys (PEM), several during a rotation.
        event_id_header: Header carrying the event id.
        verification_header: Header carrying the JSON verification object.
        algorithms: Accepted ``signAlgorithm`` values and their hash; anything else is refused.
        encodings: Accepted ``encoding`` values (``base64``, ``hex``).
        rsa_padding: ``pkcs1v15`` (Node's default) or ``pss``.

    Raises:
        ConfigError: No key, or a key that is not a 2048-bit-or-larger RSA public key.
    """

    def __init__(
        self,
        public_keys: Sequence[str | bytes],
        *,
        event_id_header: str = EVENT_ID_HEADER,
        verification_header: str = VERIFICATION_HEADER,
        algorithms: Mapping[str, type[hashes.HashAlgorithm]] = DEFAULT_ALGORITHMS,
        encodings: Sequence[str] = ("base64", "hex"),
        rsa_padding: Padding = "pkcs1v15",
    ) -> None:
        if not public_keys:
            raise ConfigError("No Ironclad webhook verification key is configured.")
        self._keys = [load_public_key(pem) for pem in public_keys]
        self._event_id_header = event_id_header
        self._verification_header = verification_header
        self._algorithms = dict(algorithms)
        self._encodings = tuple(encodings)
        self._padding = rsa_padding

    def _verification(self, raw: str) -> dict[str, Any]:
        try:
            verification = json.loads(raw)
        except json.JSONDecodeError:
            raise _malformed(f"The {self._verification_header} header is not JSON.") from None
        if not isinstance(verification, dict):
            raise _malformed(f"The {self._verification_header} header is not a JSON object.")
        for field in ("nonce", "signature"):
            if not isinstance(verification.get(field), str) or not verification[field]:
                raise _malformed(f"The {self._verification_header} header lacks '{field}'.")
        return verification

    def verify(self, headers: Mapping[str, str], body: bytes) -> VerifiedWebhook:
        """Verify event id + raw body + nonce against every configured key.

        Args:
            headers: The request headers as received.
            body: The raw body bytes as received.

        Returns:
            The event id; ``timestamp`` is ``None`` because the scheme signs none.

        Raises:
            SignatureError: ``webhook.headers_missing``, ``webhook.headers_malformed`` (not JSON,
                a field missing, an algorithm or encoding outside the allow-lists) or
                ``webhook.signature_invalid``.
        """
        event_id = header_value(headers, self._event_id_header)
        raw = header_value(headers, self._verification_header)
        absent = [
            name
            for name, value in ((self._event_id_header, event_id), (self._verification_header, raw))
            if not value
        ]
        if absent or event_id is None or raw is None:
            raise missing_headers(SCHEME, absent)
        verification = self._verification(raw)
        algorithm = str(verification.get("signAlgorithm") or DEFAULT_ALGORITHM)
        encoding = str(verification.get("encoding") or DEFAULT_ENCODING)
        if algorithm not in self._algorithms:
            raise _malformed(f"signAlgorithm {algorithm[:40]!r} is not an accepted algorithm.")
        if encoding not in self._encodings:
            raise _malformed(f"encoding {encoding[:40]!r} is not an accepted encoding.")
        signature = _decode(verification["signature"], encoding)
        signed = event_id.encode() + body + str(verification["nonce"]).encode()
        digest = self._algorithms[algorithm]()
        for key in self._keys:
            if signature is None:
                break
            try:
                key.verify(
                    signature, signed, _padding(self._padding, digest, signing=False), digest
                )
            except InvalidSignature:
                continue
            return VerifiedWebhook(event_id=event_id, timestamp=None)
        raise SignatureError(
            "The Ironclad signature does not match the event id, body and nonce "
            "with any configured verification key.",
            reason=SignatureFailure.SIGNATURE_INVALID,
            scheme=SCHEME,
        )


__all__ = [
    "EVENT_ID_HEADER",
    "VERIFICATION_HEADER",
    "IroncladVerifier",
    "load_public_key",
    "sign",
]
