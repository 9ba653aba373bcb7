"""Kantata OX REST over httpx: bearer auth, normalized answers, errors arrays, 429, paging.

Every response goes through ``adapters.http.classify_response``. Kantata's 429 carries no
documented ``Retry-After`` ([U]), so the configured wait is the floor. Reads and idempotent
writes are retried here on 5xx and lost connections (never on a throttle, which the caller's
queue must see); a create whose answer was lost is settled by the caller's lookup.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx

from contractsync.adapters.http import (
    RetryPolicy,
    classify_response,
    map_transport_errors,
    resolve_ambiguous,
)
from contractsync.adapters.kantata.config import KantataSettings
from contractsync.adapters.kantata.payloads import Normalized, api_errors
from contractsync.errors import ContractSyncError, TransientError

T = TypeVar("T")
THROTTLED = "remote.rate_limited"


class KantataClient:
    """One account's API under ``/api/v1``. Not thread-safe: one client per thread.

    Args:
        settings: Where the account is and the token.
        transport: An httpx transport (a simulator's in-process transport in tests).
        sleep: Waits between retries; inject a no-op in tests.
    """

    def __init__(
        self,
        settings: KantataSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.system = settings.system
        timeout = httpx.Timeout(settings.timeout_seconds, connect=settings.connect_timeout_seconds)
        self._http = httpx.Client(
            base_url=settings.api_url,
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {settings.token.get_secret_value()}"},
        )
        self._sleep = sleep
        self._policy = RetryPolicy(
            settings.read_attempts,
            settings.retry_base_seconds,
            max(5.0, settings.retry_base_seconds),
        )

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def send(self, method: str, path: str, *, is_write: bool, **kwargs: Any) -> Normalized:
        """One attempt at one request; the decoded normalized answer.

        Raises:
            TransientError: 429 (``retry_after`` at least the configured wait), 503, timeouts.
            AmbiguousCommitError: A write whose answer was lost.
            ConfigError: 401/403 (a bad token, or no Subscribed Events add-on).
            DataError: 400/404/422; ``detail["errors"]`` holds Kantata's errors array.
        """
        with map_transport_errors(self.system, is_write=is_write):
            response = self._http.request(method, path, **kwargs)
        throttled = response.status_code == 429
        try:
            classify_response(
                response,
                system=self.system,
                retry_after=self.settings.rate_limit_wait_seconds if throttled else None,
            )
        except ContractSyncError as error:
            errors = api_errors(response.json()) if response.content else []
            error.detail["errors"] = [e.model_dump() for e in errors]
            raise
        return Normalized.read(response.json())

    def _retried(self, call: Callable[[], T]) -> T:
        def once() -> T:
            try:
                return call()
            except TransientError as error:
                if error.code == THROTTLED:
                    raise _Throttled(error) from error
                raise

        try:
            return self._policy.run(once, sleep=self._sleep)
        except _Throttled as throttled:
            raise throttled.error from None

    def get(self, path: str, **params: Any) -> Normalized:
        """A GET, retried on 5xx and lost connections (a read is safe to repeat)."""
        return self._retried(lambda: self.send("GET", path, is_write=False, params=params))

    def get_all(
        self, path: str, key: str, **params: Any
    ) -> Iterator[tuple[dict[str, Any], Normalized]]:
        """Every object of ``key`` over all pages, with the page it came from (for includes)."""
        page = 1
        while True:
            answer = self.get(path, **params, page=page, per_page=self.settings.per_page)
            for row in answer.ordered(key):
                yield row, answer
            if page >= answer.meta.page_count:
                return
            page += 1

    def write(
        self,
        method: str,
        path: str,
        body: dict[str, Any],
        *,
        lookup: Callable[[], Normalized | None] | None = None,
    ) -> Normalized:
        """A write, retried on 5xx; a lost answer is settled by ``lookup`` before any rewrite.

        Args:
            method: POST or PUT.
            path: The resource path.
            body: The JSON body.
            lookup: Finds what the write would have made; None for idempotent writes (a PUT,
                a create_or_update), which are simply sent again.

        Raises:
            TransientError: A throttle, or 5xx past the attempts.
            AmbiguousCommitError: Two lost answers and still nothing found.
            DataError, ConfigError: As ``send``.
        """

        def attempt() -> Normalized:
            return self._retried(lambda: self.send(method, path, is_write=True, json=body))

        return resolve_ambiguous(attempt, lookup or (lambda: None), max_writes=3)


class _Throttled(Exception):  # noqa: N818 - a carrier that lets a throttle through the retries
    def __init__(self, error: TransientError) -> None:
        super().__init__(error.message)
        self.error = error


__all__ = ["THROTTLED", "KantataClient"]
