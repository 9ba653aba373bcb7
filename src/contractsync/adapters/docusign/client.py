"""DocuSign eSignature REST over httpx: JWT grant, userinfo, classified errors and API limits.

Every response goes through ``adapters.http.classify_response``; the DocuSign knowledge added
here: ``HOURLY_APIINVOCATION_LIMIT_EXCEEDED`` and ``BURST_APIINVOCATION_LIMIT_EXCEEDED`` are
rate limits whatever the status (429 or 400, unconfirmed), retried at ``X-RateLimit-Reset``
(the top of the hour) or after the 30-second burst window; ``USER_AUTHENTICATION_FAILED``
means "get a new token" (once); a refused assertion or missing consent is a settings problem.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from contractsync.adapters.docusign.config import DocuSignSettings
from contractsync.adapters.docusign.payloads import ErrorBody, TokenResponse, UserInfo
from contractsync.adapters.http import classify_response, map_transport_errors
from contractsync.errors import ConfigError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
HOURLY_LIMIT = "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"
BURST_LIMIT = "BURST_APIINVOCATION_LIMIT_EXCEEDED"
AUTH_FAILED = "USER_AUTHENTICATION_FAILED"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def assertion(settings: DocuSignSettings, *, now: float) -> str:
    """The RS256 JWT the JWT grant exchanges for a token (valid for one hour).

    Raises:
        ConfigError: The private key is not an RSA PEM key.
    """
    try:
        key = serialization.load_pem_private_key(
            settings.private_key.get_secret_value().encode(), password=None
        )
    except ValueError as exc:
        raise ConfigError(
            "The DocuSign private key is not a PEM private key.",
            code="docusign.private_key_invalid",
            remediation="Paste the integration's RSA private key (PEM) into the settings.",
        ) from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError("The DocuSign private key is not an RSA key.")
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iss": settings.integration_key,
        "sub": settings.user_id,
        "aud": settings.audience,
        "iat": int(now),
        "exp": int(now) + 3600,
        "scope": settings.scopes,
        "jti": uuid.uuid4().hex,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


class DocuSignClient:
    """One account's eSignature REST API, authenticated lazily; shared by concurrent steps.

    Threads may share a client: one of them authenticates while the others wait for the
    token and account base together.

    Args:
        settings: The integration, user and account.
        system: The configured system name, carried in errors.
        transport: An httpx transport (a simulator's in-process transport in tests).
        clock: Unix seconds (JWT times and limit resets).
    """

    def __init__(
        self,
        settings: DocuSignSettings,
        *,
        system: str = "docusign",
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.system = system
        self._clock = clock
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._token: str | None = None
        self._base: str | None = None
        # One client serves concurrent workflow steps: a token is published only together
        # with the account base it belongs to, and only one thread asks for a new one.
        self._auth_lock = threading.Lock()
        self.remaining: int | None = None

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def _refused(self, response: httpx.Response) -> ConfigError:
        try:
            reason = str(response.json().get("error", ""))
        except ValueError:
            reason = ""
        return ConfigError(
            f"{self.system} refused the JWT grant ({reason or response.status_code}).",
            code="docusign.auth_refused",
            remediation="Check the integration key, the impersonated user id, the RSA key "
            "pair and that the user granted consent (signature impersonation), then restart.",
            detail={"status": response.status_code, "reason": reason},
        )

    def authenticate(self) -> None:
        """Exchange a fresh assertion for a token; find the account's base URI once.

        Raises:
            ConfigError: The grant was refused, or the account is not the user's.
            TransientError: The authentication server is unreachable or failing.
        """
        form = {"grant_type": JWT_GRANT, "assertion": assertion(self.settings, now=self._clock())}
        with map_transport_errors(self.system, is_write=False):
            response = self._http.post(self.settings.token_url, data=form)
        if response.status_code in (400, 401):
            raise self._refused(response)
        classify_response(response, system=self.system)
        token = TokenResponse.model_validate(response.json()).access_token.get_secret_value()
        if self._base is None:
            self._base = self._account_base(token)
        self._token = token

    def _account_base(self, token: str) -> str:
        # userinfo is itself rate-limited: it is read once per client and cached.
        with map_transport_errors(self.system, is_write=False):
            response = self._http.get(
                self.settings.userinfo_url, headers={"Authorization": f"Bearer {token}"}
            )
        classify_response(response, system=self.system)
        accounts = UserInfo.model_validate(response.json()).accounts
        wanted = self.settings.account_id
        account = next(
            (a for a in accounts if (a.account_id == wanted if wanted else a.is_default)), None
        )
        if account is None:
            raise ConfigError(
                f"The DocuSign user has no account {wanted or '(default)'}.",
                code="docusign.account_unknown",
                remediation="Set account_id to one of the user's accounts, then restart.",
                detail={"accounts": [a.account_id for a in accounts]},
            )
        return f"{account.base_uri.rstrip('/')}/restapi/v2.1/accounts/{account.account_id}"

    def _send(self, path: str, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            with self._auth_lock:
                if self._token is None:
                    self.authenticate()
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        with map_transport_errors(self.system, is_write=False):
            response = self._http.get(f"{self._base}{path}", headers=headers, **kwargs)
        remaining = response.headers.get("X-RateLimit-Remaining", "")
        self.remaining = int(remaining) if remaining.isdigit() else self.remaining
        return response

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` below the account and decode it.

        Raises:
            TransientError: a spent hourly or burst allowance (``retry_after`` set), 5xx,
                timeouts.
            ConfigError: credentials refused after one new token.
            DataError: DocuSign refused the request or does not know the envelope;
                ``detail["vendor_code"]`` has its ``errorCode``.
        """
        response = self._send(path, **kwargs)
        if response.status_code == 401 and self._code(response) == AUTH_FAILED:
            self.authenticate()  # an expired token: one new one, then the verdict stands
            response = self._send(path, **kwargs)
        code = self._code(response)
        wait = None
        if code == HOURLY_LIMIT:
            reset = response.headers.get("X-RateLimit-Reset", "")
            wait = max(1.0, float(reset) - self._clock()) if reset.isdigit() else 60.0
        elif code == BURST_LIMIT:
            wait = self.settings.burst_wait_seconds
        classify_response(
            response,
            system=self.system,
            is_rate_limited=wait is not None,
            retry_after=wait,
            vendor_code=code,
        )
        return response.json()

    @staticmethod
    def _code(response: httpx.Response) -> str | None:
        if response.status_code < 400:
            return None
        try:
            return ErrorBody.model_validate(response.json()).error_code
        except ValueError:
            return None


__all__ = ["AUTH_FAILED", "BURST_LIMIT", "HOURLY_LIMIT", "DocuSignClient", "assertion"]
