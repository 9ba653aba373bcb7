"""The simulated DocuSign account: envelopes, JWT-grant integrations, tokens and API limits."""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HOURLY_LIMIT = 3000
"""Default API calls per account per hour, reset at the top of the hour."""
BURST_LIMIT, BURST_WINDOW = 500, 30.0
"""Default burst allowance (production): calls per 30 seconds."""


class DocuSignFault(Exception):  # noqa: N818 - a refusal the routes answer, not a crash
    """A refusal answered with DocuSign's ``{errorCode, message}`` body."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"errorCode": code, "message": message}
        self.headers = headers or {}


def stamp(now: float) -> str:
    """A DocuSign timestamp: seven fractional digits and ``Z`` (``...19:00:00.0000000Z``)."""
    moment = dt.datetime.fromtimestamp(now, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(slots=True)
class Envelope:
    """One envelope: status, instants, custom fields linking it to a contract, signers."""

    id: str
    email_subject: str
    custom_fields: list[dict[str, Any]]
    signers: list[dict[str, Any]]
    created: float
    status: str = "sent"
    times: dict[str, float] = field(default_factory=dict)
    voided_reason: str | None = None

    def to_json(self, account_id: str, *, include_custom_fields: bool) -> dict[str, Any]:
        """The envelope as ``GET .../envelopes/{envelopeId}`` answers it."""
        uri = f"/envelopes/{self.id}"
        body: dict[str, Any] = {
            "envelopeId": self.id,
            "status": self.status,
            "emailSubject": self.email_subject,
            "createdDateTime": stamp(self.created),
            "statusChangedDateTime": stamp(max([self.created, *self.times.values()])),
            "envelopeUri": uri,
            "customFieldsUri": f"{uri}/custom_fields",
            "recipientsUri": f"{uri}/recipients",
            "documentsUri": f"{uri}/documents",
        }
        for name, at in self.times.items():
            body[f"{name}DateTime"] = stamp(at)
        if self.voided_reason:
            body["voidedReason"] = self.voided_reason
        if include_custom_fields:
            body["customFields"] = self.custom_fields_json()
        return body

    def custom_fields_json(self) -> dict[str, Any]:
        """``{textCustomFields, listCustomFields}``."""
        return {"textCustomFields": [dict(f) for f in self.custom_fields], "listCustomFields": []}


@dataclass
class DocuSignAccount:
    """One account's data and limits. Callers hold ``lock`` around reads and writes.

    Attributes:
        integrations: Integration key -> the RSA public key its JWT assertions are signed with.
        user_id: The impersonated user (``sub``) that granted consent.
        audience: The ``aud`` a JWT assertion must name (``account-d.docusign.com`` in demo).
        hourly_limit / burst_limit: API calls allowed per hour and per 30 seconds.
        clock: Unix seconds (tests drive it).
    """

    integrations: dict[str, rsa.RSAPublicKey]
    user_id: str = "4bab81d9-df25-45c5-ab9a-09b8ffb2bd09"
    account_id: str = "adbce049-7d35-4cca-834b-59da859a6c65"
    audience: str = "account-d.docusign.com"
    hourly_limit: int = HOURLY_LIMIT
    burst_limit: int = BURST_LIMIT
    token_lifetime: float = 3600.0
    clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """No envelopes or tokens; fresh allowances."""
        with self.lock:
            self.envelopes: dict[str, Envelope] = {}
            self.tokens: dict[str, float] = {}
            self.hour, self.used = -1, 0
            self.burst: list[float] = []

    def grant(self, assertion: str, *, host: str = "") -> str:
        """Check a JWT-grant assertion (RS256) and issue an access token.

        ``aud`` must name ``audience`` or the host the token request was sent to (the
        simulator's own host stands in for DocuSign's authentication server).

        Raises:
            DocuSignFault: ``invalid_grant`` (400) for a bad, expired or unknown assertion,
                carried as the OAuth error body by the route.
        """
        try:
            head, claims_text, signature = assertion.split(".")
            header, claims = json.loads(_b64url(head)), json.loads(_b64url(claims_text))
            key = self.integrations[str(claims.get("iss"))]
            key.verify(
                _b64url(signature),
                f"{head}.{claims_text}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (ValueError, KeyError, InvalidSignature, AttributeError):
            raise DocuSignFault(400, "invalid_grant", "no_valid_keys_or_signatures") from None
        now = self.clock()
        if header.get("alg") != "RS256" or claims.get("aud") not in (self.audience, host):
            raise DocuSignFault(400, "invalid_grant", "invalid audience or algorithm")
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] < now:
            raise DocuSignFault(400, "invalid_grant", "expired assertion")
        if claims.get("sub") != self.user_id:
            raise DocuSignFault(400, "consent_required", "consent_required")
        with self.lock:
            token = secrets.token_urlsafe(32)
            self.tokens[token] = now + self.token_lifetime
            return token

    def is_valid(self, token: str) -> bool:
        """True for a live access token."""
        with self.lock:
            return self.tokens.get(token, 0.0) > self.clock()

    def count_call(self) -> dict[str, str]:
        """Count one API call; the rate headers. Raises the limit fault when spent.

        Raises:
            DocuSignFault: ``HOURLY_APIINVOCATION_LIMIT_EXCEEDED`` or
                ``BURST_APIINVOCATION_LIMIT_EXCEEDED`` (status set by the simulator).
        """
        with self.lock:
            now = self.clock()
            hour = int(now // 3600)
            if hour != self.hour:
                self.hour, self.used = hour, 0
            self.burst = [t for t in self.burst if t > now - BURST_WINDOW]
            allowed = self.used < self.hourly_limit and len(self.burst) < self.burst_limit
            if allowed:
                self.used += 1
                self.burst.append(now)
            headers = {
                "X-RateLimit-Limit": str(self.hourly_limit),
                "X-RateLimit-Remaining": str(max(0, self.hourly_limit - self.used)),
                "X-RateLimit-Reset": str((hour + 1) * 3600),
                "X-BurstLimit-Limit": str(self.burst_limit),
                "X-BurstLimit-Remaining": str(max(0, self.burst_limit - len(self.burst))),
            }
            if allowed:
                return headers
            kind, limit = (
                ("HOURLY", self.hourly_limit)
                if self.used >= self.hourly_limit
                else ("BURST", self.burst_limit)
            )
            raise DocuSignFault(
                0,
                f"{kind}_APIINVOCATION_LIMIT_EXCEEDED",
                f"The maximum number of {kind.lower()} API invocations has been exceeded. "
                f"The {kind.lower()} limit is {limit}.",
                headers,
            )

    def create(
        self,
        *,
        contract_id: str,
        field_name: str,
        subject: str,
        signers: list[dict[str, Any]],
        envelope_id: str | None = None,
    ) -> Envelope:
        """A sent envelope whose text custom field ``field_name`` holds ``contract_id``."""
        with self.lock:
            now = self.clock()
            envelope = Envelope(
                id=envelope_id or str(uuid.uuid4()),
                email_subject=subject,
                custom_fields=[
                    {
                        "fieldId": str(10_000_000 + len(self.envelopes)),
                        "name": field_name,
                        "show": "false",
                        "required": "false",
                        "value": contract_id,
                    }
                ],
                signers=[{**s, "status": "sent"} for s in signers],
                created=now,
                times={"sent": now},
            )
            self.envelopes[envelope.id] = envelope
            return envelope

    def envelope(self, envelope_id: str) -> Envelope:
        """The envelope, or 400 ``ENVELOPE_DOES_NOT_EXIST``."""
        with self.lock:
            found = self.envelopes.get(envelope_id)
            if found is None:
                raise DocuSignFault(
                    400,
                    "ENVELOPE_DOES_NOT_EXIST",
                    "The envelope specified either does not exist or you have no rights to it.",
                )
            return found

    def move(self, envelope_id: str, status: str, *, reason: str | None = None) -> Envelope:
        """Move an envelope to ``status`` (delivered, completed, declined, voided)."""
        with self.lock:
            envelope = self.envelope(envelope_id)
            if envelope.status in ("completed", "declined", "voided"):
                raise DocuSignFault(
                    400, "ENVELOPE_INVALID_STATUS", f"The envelope is {envelope.status}."
                )
            now = self.clock()
            envelope.status, envelope.times[status] = status, now
            envelope.voided_reason = reason if status == "voided" else None
            for signer in envelope.signers:
                signer["status"] = status if status != "voided" else signer["status"]
                if status == "completed":
                    signer["signedDateTime"] = stamp(now)
            return envelope


def public_key(pem: str | bytes) -> rsa.RSAPublicKey:
    """Load an integration's RSA public key from PEM."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("an integration key must be RSA")
    return key


__all__ = [
    "BURST_LIMIT",
    "HOURLY_LIMIT",
    "DocuSignAccount",
    "DocuSignFault",
    "Envelope",
    "public_key",
    "stamp",
]
