"""Who may call the NetSuite simulator and how many at once: M2M tokens and the concurrency gate.

OAuth 2.0 client credentials (``reference/vendors.md`` §4.5): the client posts a JWT
assertion whose header names ``alg`` (PS256/384/512, ES256/384/512) and ``kid`` (the
certificate id of the M2M mapping) and whose claims carry ``iss`` (client id), ``scope``,
``aud`` (the token URL), ``iat`` and ``exp`` (at most 60 minutes later). The simulator checks
that structure; it does not verify the signature (no key exchange with a local double).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

ALGORITHMS = frozenset({"PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
SCOPES = frozenset({"restlets", "rest_webservices", "suite_analytics"})
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_LIFETIME = 3600
MAX_ASSERTION_LIFETIME = 3600


class OAuthRefusal(Exception):  # noqa: N818 - an OAuth error answer, not a program error
    """An OAuth error answer: 400 (or 401) ``{"error": ..., "error_description": ...}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.body = {"error": error, "error_description": description}


def _segment(text: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise OAuthRefusal("invalid_request", "The client assertion is not a JWT.") from None
    if not isinstance(decoded, dict):
        raise OAuthRefusal("invalid_request", "The client assertion is not a JWT.")
    return decoded


class TokenIssuer:
    """Checks client assertions and issues bearer tokens.

    Args:
        clients: Client id -> certificate ids (``kid``) mapped to it in the M2M setup.
        clock: Unix seconds.
    """

    def __init__(
        self, clients: Mapping[str, frozenset[str]], clock: Callable[[], float] = time.time
    ) -> None:
        self.clients = dict(clients)
        self.clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}

    def reset(self) -> None:
        """Forget every token."""
        with self._lock:
            self._tokens.clear()

    def expire_all(self) -> int:
        """Expire every token; return how many there were."""
        with self._lock:
            count = len(self._tokens)
            self._tokens.clear()
            return count

    def exchange(self, form: Mapping[str, str], token_url: str) -> dict[str, Any]:
        """Answer the token endpoint's form.

        Returns:
            ``{"access_token", "expires_in", "token_type"}``.

        Raises:
            OAuthRefusal: A wrong grant, a malformed assertion, an unknown client or key,
                a wrong audience or scope, or an expired or too-long-lived assertion.
        """
        if form.get("grant_type") != "client_credentials":
            raise OAuthRefusal("unsupported_grant_type", "Use grant_type=client_credentials.")
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise OAuthRefusal(
                "invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}."
            )
        parts = str(form.get("client_assertion", "")).split(".")
        if len(parts) != 3 or not all(parts):
            raise OAuthRefusal("invalid_request", "The client assertion is not a signed JWT.")
        header, claims = _segment(parts[0]), _segment(parts[1])
        self._check(header, claims, token_url)
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = self.clock() + TOKEN_LIFETIME
        return {"access_token": token, "expires_in": str(TOKEN_LIFETIME), "token_type": "bearer"}

    def _check(self, header: Mapping[str, Any], claims: Mapping[str, Any], token_url: str) -> None:
        if header.get("alg") not in ALGORITHMS:
            raise OAuthRefusal("invalid_request", f"alg must be one of {sorted(ALGORITHMS)}.")
        kids = self.clients.get(str(claims.get("iss")))
        if kids is None or header.get("kid") not in kids:
            raise OAuthRefusal("invalid_client", "Unknown client or certificate id.", status=401)
        if str(claims.get("aud", "")).rstrip("/") != token_url.rstrip("/"):
            raise OAuthRefusal("invalid_request", "aud must be the token endpoint URL.")
        scopes = {s.strip() for s in str(claims.get("scope", "")).split(",") if s.strip()}
        if not scopes or not scopes <= SCOPES or "rest_webservices" not in scopes:
            raise OAuthRefusal("invalid_scope", "scope must include rest_webservices.")
        try:
            issued, expires = float(claims["iat"]), float(claims["exp"])
        except (KeyError, TypeError, ValueError):
            raise OAuthRefusal("invalid_request", "iat and exp are required numbers.") from None
        now = self.clock()
        if expires <= now or expires - issued > MAX_ASSERTION_LIFETIME or issued > now + 60:
            raise OAuthRefusal("invalid_grant", "The assertion is expired or lives too long.")

    def is_valid(self, authorization: str) -> bool:
        """True for ``Bearer <token>`` naming a live token."""
        token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            expires = self._tokens.get(token)
        return expires is not None and expires > self.clock()


class ConcurrencyGate:
    """The account-wide concurrency limit: at most ``limit`` requests in flight at once.

    Args:
        limit: Requests allowed in flight across every client (developer accounts: 5).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0
        self.peak = 0
        self.rejected = 0
        self._lock = threading.Lock()

    def reset(self, limit: int) -> None:
        """A new limit and zero counters; requests in flight keep their slots."""
        with self._lock:
            self.limit = limit
            self.peak = self.in_flight
            self.rejected = 0

    def enter(self) -> bool:
        """Take a slot; False (and counted as rejected) when all are in use."""
        with self._lock:
            if self.in_flight >= self.limit:
                self.rejected += 1
                return False
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return True

    def leave(self) -> None:
        """Give the slot back."""
        with self._lock:
            self.in_flight -= 1

    def report(self) -> dict[str, int]:
        """Limit, in flight, peak and rejected so far."""
        with self._lock:
            return {
                "limit": self.limit,
                "in_flight": self.in_flight,
                "peak": self.peak,
                "rejected": self.rejected,
            }


__all__ = [
    "ALGORITHMS",
    "ASSERTION_TYPE",
    "SCOPES",
    "ConcurrencyGate",
    "OAuthRefusal",
    "TokenIssuer",
]
