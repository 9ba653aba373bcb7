"""Ironclad's public API over httpx: client-credentials tokens or an API key, classified errors.

Every response goes through ``adapters.http.classify_response``; the Ironclad knowledge added
here: a 429 is retried after ``Retry-After`` or, when Ironclad sends none, the configured
wait (buckets are per minute); a 400 about ``x-as-user-email`` is a settings problem, not bad
data; a 401 with an OAuth token gets one fresh token. JSON numbers are decoded as ``Decimal``
so that amounts stay exact.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any

import httpx

from contractsync.adapters.http import classify_response, map_transport_errors
from contractsync.adapters.ironclad.config import IroncladSettings
from contractsync.adapters.ironclad.payloads import (
    ErrorBody,
    TokenResponse,
    WorkflowModel,
    WorkflowPage,
)
from contractsync.errors import ConfigError, DataError

ACTING_USER_PARAMS = frozenset({"x-as-user-email", "x-as-user-id"})


def decode(content: bytes) -> Any:
    """Decode a JSON body, numbers with a fraction as ``Decimal`` (never float)."""
    return json.loads(content, parse_float=Decimal)


class IroncladClient:
    """One company's public API, authenticated lazily. Not thread-safe: one per thread.

    Args:
        settings: Where Ironclad is and how to authenticate.
        system: The configured system name, carried in errors.
        transport: An httpx transport (a simulator's in-process transport in tests).
    """

    def __init__(
        self,
        settings: IroncladSettings,
        *,
        system: str = "ironclad",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.system = system
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._token: str | None = None

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def authenticate(self) -> None:
        """Get a client-credentials token (a no-op with a legacy API key).

        Raises:
            ConfigError: The client id or secret was refused.
            TransientError: The token endpoint is unreachable or failing.
        """
        if not self.settings.uses_oauth:
            return
        secret = self.settings.client_secret
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id or "",
            "client_secret": secret.get_secret_value() if secret else "",
            "scope": self.settings.scope,
        }
        with map_transport_errors(self.system, is_write=False):
            response = self._http.post(self.settings.token_url, data=form)
        if response.status_code in (400, 401):
            raise ConfigError(
                f"{self.system} refused the OAuth client credentials.",
                code="ironclad.auth_refused",
                remediation="Check the Ironclad client id and secret (a client-credentials "
                "app with the workflow read scopes), then restart.",
                detail={"status": response.status_code},
            )
        classify_response(response, system=self.system)
        self._token = TokenResponse.model_validate(
            decode(response.content)
        ).access_token.get_secret_value()

    def _headers(self) -> dict[str, str]:
        if self.settings.uses_oauth:
            if self._token is None:
                self.authenticate()
            bearer = self._token or ""
        else:
            key = self.settings.api_key
            bearer = key.get_secret_value() if key else ""
        headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
        if self.settings.as_user_email:
            headers["x-as-user-email"] = self.settings.as_user_email
        return headers

    def _send(self, method: str, path: str, *, is_write: bool, **kwargs: Any) -> httpx.Response:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        with map_transport_errors(self.system, is_write=is_write):
            return self._http.request(
                method, f"{self.settings.api_url}{path}", headers=headers, **kwargs
            )

    def request(
        self,
        method: str,
        path: str,
        *,
        is_write: bool,
        passthrough: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request below the API root and classify its answer.

        Raises:
            TransientError: 429 (``retry_after`` from ``Retry-After`` or the configured wait),
                5xx, timeouts.
            AmbiguousCommitError: A write whose answer was lost.
            ConfigError: Credentials refused (after one token refresh), or the acting user
                (``x-as-user-email``) missing or unknown.
            DataError: Ironclad refused the request or does not know the record;
                ``detail["vendor_code"]`` and ``detail["param"]`` say why.
        """
        response = self._send(method, path, is_write=is_write, **kwargs)
        if response.status_code == 401 and self.settings.uses_oauth:
            # Tokens expire; a client-credentials client simply asks for a new one, once.
            self.authenticate()
            response = self._send(method, path, is_write=is_write, **kwargs)
        if response.status_code in passthrough:
            return response
        return self._classified(response)

    def _classified(self, response: httpx.Response) -> httpx.Response:
        error = self._error(response)
        if response.status_code == 400 and error.param in ACTING_USER_PARAMS:
            raise ConfigError(
                f"{self.system} refused the acting user: {error.message or error.code}.",
                code="ironclad.acting_user_refused",
                remediation="Set as_user_email to an active Ironclad user's email, then restart.",
                detail={"vendor_code": error.code, "param": error.param},
            )
        hint = None
        if response.status_code == 429 and "Retry-After" not in response.headers:
            hint = self.settings.rate_limit_wait_seconds
        try:
            return classify_response(
                response, system=self.system, retry_after=hint, vendor_code=error.code
            )
        except DataError as exc:
            exc.detail["param"] = error.param
            raise

    @staticmethod
    def _error(response: httpx.Response) -> ErrorBody:
        if response.status_code < 400:
            return ErrorBody()
        try:
            return ErrorBody.model_validate(decode(response.content))
        except ValueError:
            return ErrorBody()

    def get_json(self, path: str, **kwargs: Any) -> Any:
        """GET ``path`` and decode the JSON body (numbers as ``Decimal``)."""
        return decode(self.request("GET", path, is_write=False, **kwargs).content)

    def workflow(self, workflow_id: str) -> WorkflowModel:
        """``GET /workflows/{id}``."""
        return WorkflowModel.model_validate(self.get_json(f"/workflows/{workflow_id}"))

    def workflows(self, *, page: int, page_size: int, statuses: Sequence[str]) -> WorkflowPage:
        """``GET /workflows?page=&pageSize=&status=``."""
        params = {"page": page, "pageSize": page_size, "status": ",".join(statuses)}
        return WorkflowPage.model_validate(self.get_json("/workflows", params=params))

    def verification_key(self) -> str:
        """``GET /webhooks/verification-key``: the PEM key webhooks are signed with."""
        return self.request("GET", "/webhooks/verification-key", is_write=False).text


__all__ = ["IroncladClient", "decode"]
