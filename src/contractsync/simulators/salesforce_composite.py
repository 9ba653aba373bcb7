"""``POST /composite`` for the Salesforce simulator: up to 25 subrequests, ``@{ref.field}`` references.

The top-level answer is always 200 with ``compositeResponse`` (one entry per subrequest, in
order); the call counts as one API request. With ``allOrNone`` the first failure rolls every
write back and the other subrequests answer ``PROCESSING_HALTED`` (the exact text is [U] in
the public docs). A reference to a failed or unknown subrequest fails that subrequest.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from contractsync.simulators.salesforce_schema import SalesforceFault

if TYPE_CHECKING:
    from contractsync.simulators.salesforce_rest import SalesforceRest, SfResponse

MAX_SUBREQUESTS = 25
_REFERENCE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_PATH_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
_FORBIDDEN_HEADERS = {"accept", "authorization", "content-type"}
HALTED = [
    {
        "errorCode": "PROCESSING_HALTED",
        "message": "The transaction was rolled back since another operation in the same "
        "transaction failed.",
    }
]


def _lookup(results: dict[str, Any], ref: str, path: str) -> Any:
    if ref not in results:
        raise KeyError(ref)
    value = results[ref]
    for name, index in _PATH_STEP.findall(path):
        value = value[int(index)] if index else value[name]
    return value


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    """Replace every ``@{ref.path}`` in strings of ``value`` with the referenced value."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return _lookup(results, whole.group(1), whole.group(2))
        return _REFERENCE.sub(lambda m: str(_lookup(results, m.group(1), m.group(2))), value)
    if isinstance(value, list):
        return [_resolve(item, results) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, results) for key, item in value.items()}
    return value


def _entry(
    ref: str, status: int, body: Any, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "body": body,
        "httpHeaders": headers or {},
        "httpStatusCode": status,
        "referenceId": ref,
    }


def run_composite(rest: SalesforceRest, base: str, body: Any) -> SfResponse:
    """Run a composite request against ``rest``.

    Args:
        rest: The org's REST resources.
        base: ``/services/data/vXX.X`` of the composite call.
        body: ``{"allOrNone": bool, "compositeRequest": [{method, url, referenceId, body?}]}``.

    Returns:
        200 with ``compositeResponse``, or 400 with an error array for a malformed request.
    """
    from contractsync.simulators.salesforce_rest import SfResponse, fault_response

    requests = body.get("compositeRequest") if isinstance(body, dict) else None
    if not isinstance(requests, list) or not requests:
        return fault_response(
            SalesforceFault(400, "JSON_PARSER_ERROR", "compositeRequest must be a non-empty array")
        )
    if len(requests) > MAX_SUBREQUESTS:
        return fault_response(
            SalesforceFault(
                400,
                "LIMIT_EXCEEDED",
                f"The composite request has {len(requests)} subrequests; the limit is {MAX_SUBREQUESTS}",
            )
        )
    all_or_none = bool(body.get("allOrNone", False))
    org = rest.org
    with org.lock:
        snapshot = copy.deepcopy(org.records)
        listener, notices = org.listener, []
        org.listener = lambda *change: notices.append(change)
        try:
            entries, failed = _run(rest, requests, all_or_none)
        finally:
            org.listener = listener
        if all_or_none and failed is not None:
            org.records = snapshot
            entries = [
                e if i == failed else _entry(e["referenceId"], 400, HALTED)
                for i, e in enumerate(entries)
            ]
            notices.clear()
    for change in notices:
        if listener is not None:
            listener(*change)
    return SfResponse(200, {"compositeResponse": entries})


def _run(
    rest: SalesforceRest, requests: list[Any], all_or_none: bool
) -> tuple[list[dict[str, Any]], int | None]:
    results: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    failed: int | None = None
    for index, sub in enumerate(requests):
        ref = str(sub.get("referenceId", "")) if isinstance(sub, dict) else ""
        if failed is not None and all_or_none:
            entries.append(_entry(ref, 400, HALTED))
            continue
        status, answer, headers = _one(rest, sub, results)
        entries.append(_entry(ref, status, answer, headers))
        if status < 400:
            results[ref] = answer
        elif failed is None:
            failed = index
    return entries, failed


def _one(
    rest: SalesforceRest, sub: Any, results: dict[str, Any]
) -> tuple[int, Any, dict[str, str]]:
    if not isinstance(sub, dict) or not {"method", "url", "referenceId"} <= sub.keys():
        return (
            400,
            [
                {
                    "errorCode": "JSON_PARSER_ERROR",
                    "message": "method, url and referenceId are required",
                }
            ],
            {},
        )
    headers = sub.get("httpHeaders") or {}
    if any(name.lower() in _FORBIDDEN_HEADERS for name in headers):
        return (
            400,
            [
                {
                    "errorCode": "INVALID_HEADER_TYPE",
                    "message": "Accept, Authorization and Content-Type are not allowed in subrequests",
                }
            ],
            {},
        )
    try:
        url = _resolve(sub["url"], results)
        payload = _resolve(sub.get("body"), results)
    except (KeyError, IndexError, TypeError):
        message = (
            f"Invalid reference specified. No value for {sub['url']} found in the earlier results."
        )
        return 400, [{"errorCode": "PROCESSING_HALTED", "message": message}], {}
    path, _, raw_query = str(url).partition("?")
    if not path.startswith("/services/data"):
        return (
            400,
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            {},
        )
    query = dict(parse_qsl(raw_query))
    response = rest.dispatch(
        str(sub["method"]).upper(), path.removeprefix("/services/data"), query, payload
    )
    return response.status, response.body, response.headers


__all__ = ["HALTED", "MAX_SUBREQUESTS", "run_composite"]
