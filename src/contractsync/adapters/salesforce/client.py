"""Salesforce REST over httpx: client-credentials tokens, one refresh on 401, classified errors.

Every response goes through ``adapters.http.classify_response``; the only Salesforce
knowledge added here is which answers are not what they seem: 403 ``REQUEST_LIMIT_EXCEEDED``
is a rate limit (retry later), 401 ``INVALID_SESSION_ID`` means "get a new token" (once),
and the statuses a caller handles itself (300 for several external-id matches, 404 for a
lookup) are passed back untouched.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

import httpx

from contractsync.adapters.http import classify_response, error_for, map_transport_errors
from contractsync.adapters.salesforce.config import SalesforceSettings
from contractsync.adapters.salesforce.payloads import QueryPage, TokenResponse, api_errors
from contractsync.errors import ConfigError, DataError

RATE_LIMITED = "REQUEST_LIMIT_EXCEEDED"
SESSION_INVALID = "INVALID_SESSION_ID"
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


class SalesforceClient:
    """One org's REST API, authenticated lazily with the client-credentials flow.

    Not thread-safe: use one client per thread. ``api_usage`` holds the last
    ``Sforce-Limit-Info`` seen as (used, limit).

    Args:
        settings: Where the org is and how to authenticate.
        system: The configured system name, carried in errors.
        transport: An httpx transport (a simulator's in-process transport in tests).
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        *,
        system: str = "salesforce",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.system = system
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = httpx.Client(timeout=timeout, transport=transport)
        self._token: str | None = None
        self._base = str(settings.instance_url).rstrip("/")
        self.api_usage: tuple[int, int] | None = None

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def authenticate(self) -> None:
        """Get a fresh access token.

        Raises:
            ConfigError: The connected app's id or secret was refused.
            TransientError: The token endpoint could not be reached or failed transiently.
        """
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
        }
        with map_transport_errors(self.system, is_write=False):
            response = self._http.post(self.settings.token_url, data=form)
        if response.status_code in (400, 401) and self._error_code(response) != RATE_LIMITED:
            # OAuth answers a refused client with 400 invalid_client: a settings problem.
            error = error_for(response, system=self.system)
            raise ConfigError(
                f"{self.system} refused the connected app's credentials.",
                code="salesforce.auth_refused",
                remediation="Check the Salesforce client id and secret (and that the connected "
                "app allows the client-credentials flow with a run-as user), then restart.",
                detail=error.detail if error else {},
            )
        self._classified(response)
        token = TokenResponse.model_validate(response.json())
        # Base first: a concurrent step that sees the token must see its instance too.
        self._base = token.instance_url.rstrip("/")
        self._token = token.access_token.get_secret_value()

    def _send(self, method: str, url: str, *, is_write: bool, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            self.authenticate()
        # Copied, not popped: after a token refresh the same kwargs are sent again.
        extra = {k: v for k, v in kwargs.items() if k != "headers"}
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.get("headers", {})}
        with map_transport_errors(self.system, is_write=is_write):
            response = self._http.request(method, url, headers=headers, **extra)
        usage = _USAGE.search(response.headers.get("Sforce-Limit-Info", ""))
        if usage:
            self.api_usage = (int(usage.group(1)), int(usage.group(2)))
        return response

    def request(
        self,
        method: str,
        path: str,
        *,
        is_write: bool,
        passthrough: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request below the instance URL and classify its answer.

        Args:
            method: The HTTP method.
            path: A path such as ``/services/data/v62.0/sobjects/Account/``.
            is_write: The request changes data (a lost answer is then ambiguous).
            passthrough: Statuses returned to the caller unclassified (300, 404 ...).
            **kwargs: Passed to ``httpx.Client.request`` (``json``, ``params``, ``headers``).

        Returns:
            A 2xx response, or one whose status is in ``passthrough``.

        Raises:
            TransientError: 5xx, timeouts, or 403 ``REQUEST_LIMIT_EXCEEDED`` (retry later;
                ``retry_after`` is the configured wait).
            AmbiguousCommitError: A write whose answer was lost.
            ConfigError: Credentials refused (after one token refresh) or a permission lacks.
            DataError: Salesforce refused the content; ``detail["errors"]`` has its array.
        """
        url = f"{self._base}{path}"
        response = self._send(method, url, is_write=is_write, **kwargs)
        if response.status_code == 401 and self._error_code(response) == SESSION_INVALID:
            # Client-credentials tokens have no refresh token: ask for a new one, once.
            self.authenticate()
            response = self._send(method, f"{self._base}{path}", is_write=is_write, **kwargs)
        if response.status_code in passthrough:
            return response
        return self._classified(response)

    def _classified(self, response: httpx.Response) -> httpx.Response:
        code = self._error_code(response)
        is_limit = response.status_code == 403 and code == RATE_LIMITED
        try:
            return classify_response(
                response,
                system=self.system,
                is_rate_limited=is_limit,
                retry_after=self.settings.rate_limit_wait_seconds if is_limit else None,
                vendor_code=code,
            )
        except DataError as error:
            error.detail["errors"] = [e.model_dump(by_alias=True) for e in self._errors(response)]
            raise

    @staticmethod
    def _errors(response: httpx.Response) -> list[Any]:
        try:
            return api_errors(response.json())
        except ValueError:
            return []

    def _error_code(self, response: httpx.Response) -> str | None:
        if response.status_code < 400:
            return None
        errors = self._errors(response)
        return errors[0].error_code if errors else None

    def get_json(self, path: str, *, passthrough: Collection[int] = (), **kwargs: Any) -> Any:
        """GET ``path`` and decode the JSON (``None`` for a passed-through 404)."""
        response = self.request("GET", path, is_write=False, passthrough=passthrough, **kwargs)
        return None if response.status_code == 404 else response.json()

    def query(self, soql: str, *, batch_size: int | None = None) -> QueryPage:
        """Run a SOQL query and return its first batch."""
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else {}
        return QueryPage.model_validate(
            self.get_json(f"{self.settings.data_path}/query", params={"q": soql}, headers=headers)
        )

    def query_more(self, next_records_url: str) -> QueryPage:
        """The batch after a ``nextRecordsUrl``."""
        if not next_records_url.startswith("/services/data/"):
            raise DataError(
                "The listing cursor is not a Salesforce query locator.",
                code="salesforce.cursor_invalid",
                remediation="Start the listing again without a cursor.",
            )
        return QueryPage.model_validate(self.get_json(next_records_url))

    def limits(self) -> Mapping[str, Any]:
        """The org's ``/limits`` resource."""
        limits: Mapping[str, Any] = self.get_json(f"{self.settings.data_path}/limits")
        return limits


__all__ = ["RATE_LIMITED", "SESSION_INVALID", "SalesforceClient"]
