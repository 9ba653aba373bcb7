"""Translate httpx transport failures, telling 'never sent' apart from 'maybe committed'.

connect error or timeout, pool timeout, proxy error   -> TransientError (nothing reached the server)
read/write timeout, read/write/close error, dropped
connection, undecodable response                      -> AmbiguousCommitError on a write,
                                                         TransientError on a read
unsupported scheme, invalid URL, redirect loop        -> ConfigError
a request httpx itself refused to send                -> RejectedError (a bug on our side)
HTTPStatusError (from ``raise_for_status``)           -> classify_response's error
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from contractsync.adapters.http.classify import error_for
from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    RejectedError,
    TransientError,
)

# Raised before a single byte of the request left this process.
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
# Raised once the request was (at least partly) on the wire. A write timeout is counted here
# too: the kernel may already have handed the whole body to the server.
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.CloseError,
    httpx.RemoteProtocolError,
    httpx.DecodingError,
)
_MISCONFIGURED = (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects)


def _detail(system: str, exc: Exception, *, is_write: bool) -> dict[str, Any]:
    detail: dict[str, Any] = {"system": system, "exception": type(exc).__name__}
    detail["is_write"] = is_write
    request: httpx.Request | None = None
    if isinstance(exc, httpx.RequestError):
        try:
            request = exc.request
        except RuntimeError:  # raised by httpx when the error was built without a request
            request = None
    if request is not None:
        url = request.url.copy_with(query=None, fragment=None, username=None, password=None)
        detail.update(method=request.method, url=str(url))
    return detail


@contextmanager
def map_transport_errors(system: str, *, is_write: bool) -> Iterator[None]:
    """Run an HTTP call and translate any httpx exception it raises, chained with ``from``.

    Works around synchronous and asynchronous calls alike (``with`` around an ``await``).

    Args:
        system: The system's name as configured.
        is_write: The call changes remote state (POST, PUT, PATCH, DELETE that is not a pure read);
            a lost response then means the write may have landed.

    Yields:
        Nothing; the body of the ``with`` block makes the call.

    Raises:
        TransientError: The request never reached the server, or a read lost its response.
        AmbiguousCommitError: A write was sent but its response was lost; look the record up by
            its external ref before any retry (see ``resolve_ambiguous``).
        ConfigError: The configured URL cannot work (scheme, syntax, redirect loop).
        RejectedError: httpx refused to send the request we built.
        ContractSyncError: The classified error of an ``HTTPStatusError``.
    """
    try:
        yield
    except httpx.HTTPStatusError as exc:
        error = error_for(exc.response, system=system)
        if error is None:  # raise_for_status only raises for non-2xx, but stay total
            raise
        raise error from exc
    except _NEVER_SENT as exc:
        raise TransientError(
            f"Could not reach {system} ({type(exc).__name__}); nothing was sent.",
            code="remote.unreachable",
            detail=_detail(system, exc, is_write=is_write),
        ) from exc
    except _MAYBE_SENT as exc:
        detail = _detail(system, exc, is_write=is_write)
        if is_write:
            raise AmbiguousCommitError(
                f"The write to {system} was sent but its response was lost "
                f"({type(exc).__name__}); it may have been applied.",
                detail=detail,
            ) from exc
        raise TransientError(
            f"The read from {system} lost its response ({type(exc).__name__}).",
            code="remote.response_lost",
            detail=detail,
        ) from exc
    except _MISCONFIGURED as exc:
        raise ConfigError(
            f"The {system} URL cannot be used ({type(exc).__name__}).",
            code="config.remote_url_invalid",
            remediation=f"Check the {system} base URL in the settings, then restart.",
            detail=_detail(system, exc, is_write=is_write),
        ) from exc
    except httpx.LocalProtocolError as exc:
        raise RejectedError(
            f"The request to {system} was malformed and was not sent ({type(exc).__name__}).",
            code="remote.request_invalid",
            remediation="Report this as a contractsync bug with the detail of this error.",
            detail=_detail(system, exc, is_write=is_write),
        ) from exc


__all__ = ["map_transport_errors"]
