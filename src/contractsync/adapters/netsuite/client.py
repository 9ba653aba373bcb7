"""SuiteTalk REST over httpx: M2M tokens from a signed JWT, eid upserts, Location, paging, errors.

Every response goes through ``adapters.http.classify_response``; the NetSuite knowledge added
here: a concurrency refusal (429, or a configured ``o:errorCode`` under any status) is a
``TransientError`` with at least the configured wait; 401 ``INVALID_LOGIN`` means "get a new
token" (once); the new record's internal id is read from ``Location`` (writes answer 204).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Collection, Iterator
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from contractsync.adapters.http import RetryPolicy, classify_response, map_transport_errors
from contractsync.adapters.netsuite.config import NetSuiteSettings
from contractsync.adapters.netsuite.payloads import CollectionPage, Problem, TokenResponse
from contractsync.errors import ConfigError, DataError, TransientError

RECORDS = "/services/rest/record/v1"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
INVALID_LOGIN = "INVALID_LOGIN"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def client_assertion(settings: NetSuiteSettings, *, now: float) -> str:
    """The signed JWT the token endpoint expects (valid for 5 minutes).

    Raises:
        ConfigError: The private key cannot be read or does not suit the algorithm.
    """
    header = {"typ": "JWT", "alg": settings.algorithm, "kid": settings.certificate_id}
    claims = {
        "iss": settings.client_id,
        "scope": ",".join(settings.scopes),
        "aud": settings.token_url,
        "iat": int(now),
        "exp": int(now) + 300,
        "jti": uuid.uuid4().hex,
    }
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    try:
        key = serialization.load_pem_private_key(
            settings.private_key.get_secret_value().encode(), password=None
        )
    except ValueError:
        raise ConfigError(
            "The NetSuite private key is not a readable PEM key.",
            code="netsuite.private_key_invalid",
            remediation="Set the PEM private key of the certificate mapped to the integration.",
        ) from None
    data = signing_input.encode()
    if settings.algorithm == "ES256" and isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif settings.algorithm == "PS256" and isinstance(key, rsa.RSAPrivateKey):
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        signature = key.sign(data, pss, hashes.SHA256())
    else:
        raise ConfigError(
            f"The NetSuite private key does not suit {settings.algorithm}.",
            code="netsuite.private_key_invalid",
            remediation="Use an EC P-256 key with ES256 or an RSA key with PS256.",
        )
    return f"{signing_input}.{_b64(signature)}"


def location_id(response: httpx.Response) -> str | None:
    """The internal id at the end of a ``Location`` header, if there is one."""
    location = response.headers.get("Location", "")
    tail = location.rstrip("/").rsplit("/", 1)[-1]
    return tail or None


class NetSuiteClient:
    """One account's REST record service, authenticated lazily (M2M client credentials).

    Not thread-safe: use one client per thread.

    Args:
        settings: Where the account is and how to sign in.
        transport: An httpx transport (a simulator's in-process transport in tests).
        clock: Unix seconds, for the JWT claims.
        sleep: Waits between read retries; inject a no-op in tests.
    """

    def __init__(
        self,
        settings: NetSuiteSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.system = settings.system
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = httpx.Client(timeout=timeout, transport=transport, base_url=settings.rest_url)
        self._token: str | None = None
        self._clock = clock
        self._sleep = sleep

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def authenticate(self) -> None:
        """Exchange a fresh client assertion for an access token.

        Raises:
            ConfigError: The client, certificate id, key or scopes were refused.
            TransientError: The token endpoint could not be reached or failed transiently.
        """
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": client_assertion(self.settings, now=self._clock()),
        }
        with map_transport_errors(self.system, is_write=False):
            response = self._http.post(self.settings.token_url, data=form)
        if response.status_code in (400, 401, 403):
            reason = response.json().get("error", "") if response.content else ""
            raise ConfigError(
                f"{self.system} refused the integration's sign-in ({reason or response.status_code}).",
                code="netsuite.auth_refused",
                remediation="Check the NetSuite client id, certificate id, private key and "
                "scopes of the M2M setup, then restart.",
                detail={"status": response.status_code, "error": reason},
            )
        classify_response(response, system=self.system)
        self._token = TokenResponse.model_validate(response.json()).access_token.get_secret_value()

    def _send(self, method: str, path: str, *, is_write: bool, **kwargs: Any) -> httpx.Response:
        if self._token is None:
            self.authenticate()
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        with map_transport_errors(self.system, is_write=is_write):
            return self._http.request(method, path, headers=headers, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        is_write: bool,
        passthrough: Collection[int] = (),
        **kwargs: Any,
    ) -> httpx.Response:
        """Send one request and classify its answer.

        Args:
            method: The HTTP method.
            path: A path below the REST host, e.g. ``/services/rest/record/v1/customer``.
            is_write: The request changes data (a lost answer is then ambiguous).
            passthrough: Statuses returned to the caller unclassified (404 for a lookup).
            **kwargs: Passed to ``httpx.Client.request``.

        Returns:
            A 2xx response, or one whose status is in ``passthrough``.

        Raises:
            TransientError: 5xx, timeouts, or a concurrency refusal (``retry_after`` at least
                the configured wait).
            AmbiguousCommitError: A write whose answer was lost.
            ConfigError: The sign-in was refused (after one token refresh).
            DataError: NetSuite refused the content; ``detail["errors"]`` holds its details.
        """
        response = self._send(method, path, is_write=is_write, **kwargs)
        if response.status_code == 401:
            self.authenticate()  # M2M tokens have no refresh token: sign in again, once
            response = self._send(method, path, is_write=is_write, **kwargs)
        if response.status_code in passthrough:
            return response
        return self._classified(response)

    def _classified(self, response: httpx.Response) -> httpx.Response:
        problem = Problem.read(response)
        code = problem.code if problem else None
        is_limit = response.status_code == 429 or code in self.settings.concurrency_codes
        wait = self.settings.concurrency_wait_seconds if is_limit else None
        try:
            return classify_response(
                response,
                system=self.system,
                is_rate_limited=is_limit,
                retry_after=wait,
                vendor_code=code,
            )
        except (DataError, TransientError, ConfigError) as error:
            if problem is not None:
                error.detail["errors"] = [d.model_dump(by_alias=True) for d in problem.details]
            raise

    # -- records -----------------------------------------------------------------------

    def record_path(self, record_type: str, key: str | None = None) -> str:
        """``/services/rest/record/v1/{type}[/{key}]`` with the key URL-quoted (``eid:`` kept)."""
        path = f"{RECORDS}/{record_type}"
        return path if key is None else f"{path}/{quote(key, safe=':')}"

    def read(self, path: str, **kwargs: Any) -> httpx.Response:
        """A GET, retried on transient failures (a read changes nothing, so repeating is safe).

        Raises:
            TransientError: The last of ``read_attempts`` still failed transiently.
            DataError, ConfigError: As ``request``.
        """
        policy = RetryPolicy(
            self.settings.read_attempts,
            self.settings.read_retry_base_seconds,
            max(2.0, self.settings.read_retry_base_seconds),
        )
        return policy.run(
            lambda: self.request("GET", path, is_write=False, **kwargs), sleep=self._sleep
        )

    def get(self, record_type: str, key: str) -> dict[str, Any] | None:
        """One record with its sublists expanded, or None when NetSuite does not know it."""
        response = self.read(
            self.record_path(record_type, key),
            passthrough=(404,),
            params={"expandSubResources": "true"},
        )
        if response.status_code == 404:
            return None
        record: dict[str, Any] = response.json()
        return record

    def upsert(
        self, record_type: str, external_id: str, body: dict[str, Any], *, replace: str = ""
    ) -> str:
        """``PUT /{type}/eid:{externalId}``: create or update; return the internal id.

        Args:
            record_type: The record type.
            external_id: The record's external id (letters, digits, ``_`` and ``-``).
            body: The fields to write.
            replace: Sublists to replace rather than merge or append (``item,addressBook``).

        Raises:
            TransientError, AmbiguousCommitError, DataError, ConfigError: as ``request``.
        """
        params = {"replace": replace} if replace else None
        response = self.request(
            "PUT",
            self.record_path(record_type, f"eid:{external_id}"),
            is_write=True,
            json=body,
            params=params,
        )
        found = location_id(response)
        if found is None:  # [I] an upsert answering without Location: read it back by eid
            record = self.get(record_type, f"eid:{external_id}")
            if record is None:
                raise TransientError(f"The upserted {record_type} is not readable yet.")
            found = str(record["id"])
        return found

    def ids(self, record_type: str, q: str | None = None) -> Iterator[str]:
        """Every internal id of a collection (filtered by ``q``), page by page."""
        offset = 0
        while True:
            params: dict[str, Any] = {"limit": self.settings.page_size, "offset": offset}
            if q:
                params["q"] = q
            raw = self.read(self.record_path(record_type), params=params)
            page = CollectionPage.model_validate(raw.json())
            yield from (item.id for item in page.items)
            if not page.has_more or not page.items:
                return
            offset = page.offset + page.count


__all__ = ["NetSuiteClient", "client_assertion", "location_id"]
