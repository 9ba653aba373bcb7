"""The one table that turns an HTTP status into the contractsync error tree.

2xx                               -> the response, unchanged
408 425 429 500 502 503 504 5xx   -> TransientError (retry_after from Retry-After or a hint)
any status the adapter flags      -> TransientError (e.g. Salesforce 403 REQUEST_LIMIT_EXCEEDED)
409 412                           -> ConflictError
400 404 422                       -> DataError
401 403                           -> ConfigError
501 and every other status        -> RejectedError
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from contractsync.adapters.http.redaction import safe_excerpt
from contractsync.errors import (
    ConfigError,
    ConflictError,
    ContractSyncError,
    DataError,
    RejectedError,
    TransientError,
)

_TRANSIENT_4XX = {408: "remote.timeout", 425: "remote.too_early", 429: "remote.rate_limited"}
_CODES = {
    400: "remote.bad_request",
    401: "remote.unauthorized",
    403: "remote.forbidden",
    404: "remote.not_found",
    409: "remote.conflict",
    412: "remote.precondition_failed",
    422: "remote.unprocessable",
    501: "remote.not_implemented",
}


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Read a ``Retry-After`` header: delay-seconds or an HTTP-date.

    Args:
        value: The header value, or ``None`` when absent.
        now: The current Unix time, to turn an HTTP-date into a delay.

    Returns:
        Seconds to wait (0 for a date already past), or ``None`` when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110: every HTTP-date is GMT, asctime's included.
            when = when.replace(tzinfo=UTC)
        return max(0.0, when.timestamp() - now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _location(response: httpx.Response) -> dict[str, Any]:
    try:
        request = response.request
    except RuntimeError:  # a Response built by hand has no request
        return {}
    # The query string can carry keys or tokens, so only scheme, host and path are kept.
    url = request.url.copy_with(query=None, fragment=None, username=None, password=None)
    return {"method": request.method, "url": str(url)}


def _body(response: httpx.Response) -> bytes:
    try:
        return response.read()
    except (RuntimeError, httpx.StreamError):
        # An unread async stream (the adapter should ``aread()`` first) or a closed one.
        return b""


def _max(*values: float | None) -> float | None:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def error_for(
    response: httpx.Response,
    *,
    system: str,
    retry_after: float | None = None,
    is_rate_limited: bool = False,
    vendor_code: str | None = None,
    clock: Callable[[], float] = time.time,
) -> ContractSyncError | None:
    """Build the error a response stands for, without raising it.

    Args:
        response: The remote system's response (its body is read if not yet read).
        system: The system's name as configured (``salesforce``, ``netsuite`` ...).
        retry_after: A vendor-specific wait hint in seconds (e.g. from ``X-RateLimit-Reset``);
            the larger of it and ``Retry-After`` wins.
        is_rate_limited: The adapter recognised a rate limit behind a non-429 status.
        vendor_code: The vendor's own error code, kept in ``detail``.
        clock: Returns the current Unix time; used for HTTP-date ``Retry-After`` values.

    Returns:
        ``None`` for a 2xx response, else the classified error.
    """
    status = response.status_code
    if 200 <= status < 300:
        return None
    detail: dict[str, Any] = {"system": system, "status": status, **_location(response)}
    if vendor_code:
        detail["vendor_code"] = vendor_code
    detail["body_excerpt"] = safe_excerpt(_body(response))
    seen = f"{system} answered HTTP {status} {response.reason_phrase}".rstrip()
    if is_rate_limited or status in _TRANSIENT_4XX or (status >= 500 and status != 501):
        wait = _max(
            parse_retry_after(response.headers.get("Retry-After"), now=clock()), retry_after
        )
        code = "remote.rate_limited" if is_rate_limited else _TRANSIENT_4XX.get(status)
        after = f" after {wait:.0f} s" if wait is not None else " with backoff"
        return TransientError(
            f"{seen}; the call will be retried.",
            retry_after=wait,
            code=code or "remote.unavailable",
            remediation=f"Nothing to do: the call to {system} is retried{after}.",
            detail=detail,
        )
    code = _CODES.get(status, "remote.rejected")
    if status in (409, 412):
        return ConflictError(
            f"{seen}: the record changed since it was read.", code=code, detail=detail
        )
    if status in (400, 404, 422):
        what = "does not know the record" if status == 404 else "refused the data"
        return DataError(
            f"{seen}: {system} {what}.",
            code=code,
            remediation=f"Correct the record as {system} explains in the detail, then retry.",
            detail=detail,
        )
    if status in (401, 403):
        return ConfigError(
            f"{seen}: the credentials were refused or lack a permission.",
            code=code,
            remediation=(
                f"Check the {system} credentials and the integration user's permissions or "
                "scopes in the settings, then restart."
            ),
            detail=detail,
        )
    return RejectedError(
        f"{seen}: {system} refused the request.",
        code=code,
        remediation=f"Read {system}'s reason in the detail; retrying unchanged will not help.",
        detail=detail,
    )


def classify_response(
    response: httpx.Response,
    *,
    system: str,
    retry_after: float | None = None,
    is_rate_limited: bool = False,
    vendor_code: str | None = None,
    clock: Callable[[], float] = time.time,
) -> httpx.Response:
    """Return a 2xx response unchanged; raise the classified error for anything else.

    Adapters call this on every response they do not handle themselves (e.g. Salesforce's 300
    for an ambiguous external id, or a 401 answered by refreshing the token once).

    Args:
        response: The remote system's response.
        system: The system's name as configured.
        retry_after: A vendor-specific wait hint in seconds; ``Retry-After`` may raise it.
        is_rate_limited: The adapter recognised a rate limit behind a non-429 status
            (Salesforce 403 ``REQUEST_LIMIT_EXCEEDED``, NetSuite 400 ``SSS_REQUEST_LIMIT_EXCEEDED``).
        vendor_code: The vendor's own error code, kept in ``detail``.
        clock: Returns the current Unix time.

    Returns:
        The response, when its status is 2xx.

    Raises:
        TransientError: 408, 425, 429, 5xx other than 501, or a flagged rate limit.
        ConflictError: 409 or 412.
        DataError: 400, 404 or 422.
        ConfigError: 401 or 403.
        RejectedError: Any other status, 501 included.
    """
    error = error_for(
        response,
        system=system,
        retry_after=retry_after,
        is_rate_limited=is_rate_limited,
        vendor_code=vendor_code,
        clock=clock,
    )
    if error is not None:
        raise error
    return response


__all__ = ["classify_response", "error_for", "parse_retry_after"]
