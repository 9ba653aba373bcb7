"""The one place that turns Tryton JSON-RPC and HTTP failures into the contractsync error tree.

JSON-RPC ``error`` member                   -> error
["UserError", [msg, desc, domain]]          -> DataError (a value failed validation)
                                               or TransientError (a number or code race)
                                               or RejectedError (a business rule refused)
["UserWarning", [name, msg, desc]]          -> RejectedError (must be acknowledged)
["ConcurrencyException", msg]               -> ConflictError (the _timestamp was stale)
["LoginException", [...]]                   -> ConfigError
[str(exc), traceback]                       -> TransientError if the database was busy,
                                               else RejectedError (a server-side bug)
HTTP 401 on login / 404 / 403               -> ConfigError
HTTP 429, 5xx, connection refused           -> TransientError
timeout or dropped connection after a write -> AmbiguousCommitError
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from contractsync.errors import (
    AmbiguousCommitError,
    ConfigError,
    ConflictError,
    ContractSyncError,
    DataError,
    RejectedError,
    TransientError,
)

# Tryton serialises every UserError subclass under the one name "UserError", so the
# validation errors (bad values the source system sent) are told apart by their message.
_VALIDATION = re.compile(
    r"A value is required for field|is not one of the allowed options|"
    r"is not valid according to its domain|must be unique|is not valid|"
    r"has too many|exceeds|forbidden characters|invalid chars|digits|"
    r"is not a valid|must be positive|size of",
    re.IGNORECASE,
)
# A unique number or code taken by a concurrent write: Tryton numbers project works from
# ir.sequence, and on SQLite two concurrent creates can draw the same number; a party code
# (the hub's customer id) is taken when another attempt of the same upsert got there first.
# Either way a retry settles it: search-before-create finds the record the other write
# made, or the create draws the next number.
_NUMBER_RACE = re.compile(r"^The (?:number|code) on \w[\w ]* must be unique", re.IGNORECASE)
_BUSY = re.compile(r"database is locked|could not serialize|deadlock detected", re.IGNORECASE)


def from_rpc_error(error: Any, *, method: str) -> ContractSyncError:
    """Translate the ``error`` member of a JSON-RPC reply.

    Args:
        error: The decoded ``error`` value Tryton returned.
        method: The JSON-RPC method that failed (kept in ``detail``, never its parameters).

    Returns:
        The contractsync error to raise; Tryton's own message is its user message.
    """
    kind = error[0] if isinstance(error, list | tuple) and error else None
    args = error[1] if isinstance(error, list | tuple) and len(error) > 1 else None
    detail: dict[str, Any] = {"method": method, "tryton_error": kind}
    if kind == "UserError" and isinstance(args, list | tuple):
        message, description = str(args[0]), str(args[1] or "")
        domain = args[2] if len(args) > 2 else None
        detail["description"] = description
        if _NUMBER_RACE.search(message):
            return TransientError(
                f"Another write took this number or code at the same time: {message}",
                code="tryton.number_taken",
                detail=detail,
            )
        if domain is not None or _VALIDATION.search(message):
            return DataError(message, code="tryton.validation", detail=detail)
        return RejectedError(message, code="tryton.rejected", detail=detail)
    if kind == "UserWarning" and isinstance(args, list | tuple):
        detail["warning"] = str(args[0])
        return RejectedError(
            str(args[1]),
            code="tryton.warning",
            remediation="Acknowledge the Tryton warning named in the detail, then retry.",
            detail=detail,
        )
    if kind == "ConcurrencyException":
        return ConflictError(
            f"The Tryton record was modified in the meanwhile: {args}",
            code="tryton.concurrent_edit",
            detail=detail,
        )
    if kind == "LoginException":
        return ConfigError(
            "Tryton asked for more login information than a password.",
            code="tryton.login_incomplete",
            detail=detail,
        )
    text = str(kind)
    detail["tryton_error"] = "server_exception"
    if _BUSY.search(text):
        return TransientError(
            f"The Tryton database was busy: {text}", code="tryton.busy", detail=detail
        )
    return RejectedError(
        f"Tryton failed on {method}: {text}",
        code="tryton.server_error",
        remediation="Read the trytond log: a configuration or setup record is probably missing.",
        detail=detail,
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def from_status(response: httpx.Response, *, method: str) -> ContractSyncError:
    """Translate a non-200 HTTP reply (Tryton's protocol errors carry no JSON body).

    Args:
        response: The HTTP response.
        method: The JSON-RPC method that was called.

    Returns:
        The contractsync error to raise.
    """
    status = response.status_code
    detail: dict[str, Any] = {"method": method, "status": status}
    if status == 401:
        return ConfigError(
            "Tryton refused the login: wrong user or password.",
            code="tryton.bad_credentials",
            remediation="Check the Tryton user and password in the settings.",
            detail=detail,
        )
    if status == 404:
        return ConfigError(
            "The Tryton database does not exist on that server.",
            code="tryton.database_not_found",
            remediation="Check the database name, or provision it with `contractsync erp tryton init`.",
            detail=detail,
        )
    if status == 403:
        return ConfigError(
            f"Tryton does not allow {method} over RPC.",
            code="tryton.forbidden",
            remediation="Check the Tryton version and that the needed modules are activated.",
            detail=detail,
        )
    if status == 429 or status >= 500:
        return TransientError(
            f"Tryton is unavailable (HTTP {status}).",
            code="tryton.rate_limited" if status == 429 else "tryton.unavailable",
            retry_after=_retry_after(response),
            detail=detail,
        )
    return RejectedError(
        f"Tryton refused {method} (HTTP {status}).", code="tryton.protocol", detail=detail
    )


def from_transport(exc: httpx.TransportError, *, method: str, write: bool) -> ContractSyncError:
    """Translate a network failure, deciding whether a write may have been applied.

    Args:
        exc: The httpx transport error.
        method: The JSON-RPC method that was called.
        write: Whether the call changes data in Tryton.

    Returns:
        ``AmbiguousCommitError`` when a write had left and its reply was lost, else
        ``TransientError`` (nothing reached the server, or only a read was lost).
    """
    detail: dict[str, Any] = {"method": method, "transport_error": type(exc).__name__}
    never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
    if write and not never_sent:
        return AmbiguousCommitError(
            f"The reply to Tryton {method} was lost; the write may have been applied.",
            code="tryton.ambiguous_commit",
            detail=detail,
        )
    return TransientError(
        f"Tryton could not be reached for {method}: {type(exc).__name__}.",
        code="tryton.unreachable",
        detail=detail,
    )
