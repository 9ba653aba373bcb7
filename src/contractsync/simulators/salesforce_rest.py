"""The Salesforce REST resources under ``/services/data/vXX.X``, as plain calls composite can reuse.

``SalesforceRest.dispatch(method, path, query, body)`` answers one request (already
authenticated and counted) with ``SfResponse``: sObject create/read/update/delete, upsert and
read by external id, SOQL query with ``nextRecordsUrl`` paging, limits, and composite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contractsync.simulators.salesforce_org import SalesforceOrg
from contractsync.simulators.salesforce_schema import SOBJECTS, SalesforceFault, spec_of
from contractsync.simulators.salesforce_soql import parse

MIN_VERSION, MAX_VERSION = 31.0, 68.0
"""API versions the simulator serves; others answer 404 as a retired version would."""
UPSERT_200_SINCE = 46.0
"""From this version an upsert that updates answers 200 with ``created: false`` (204 before)."""

_VERSION = re.compile(r"^/v(\d{2})\.(\d)(/.*)?$")


@dataclass(slots=True)
class SfResponse:
    """One answer: status, JSON body (None for no body) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def fault_response(fault: SalesforceFault) -> SfResponse:
    """The error array of a refused request."""
    return SfResponse(fault.status, fault.body)


def versions() -> list[dict[str, str]]:
    """``GET /services/data/``: every served version."""
    out = []
    for major in range(int(MIN_VERSION), int(MAX_VERSION) + 1):
        out.append(
            {"label": f"v{major}", "url": f"/services/data/v{major}.0", "version": f"{major}.0"}
        )
    return out


class SalesforceRest:
    """The versioned REST resources of one org.

    Args:
        org: The org the resources read and write.
    """

    def __init__(self, org: SalesforceOrg) -> None:
        self.org = org

    def dispatch(
        self, method: str, path: str, query: Mapping[str, str], body: Any, *, batch_size: int = 2000
    ) -> SfResponse:
        """Answer one request below ``/services/data``.

        Args:
            method: The HTTP method (``POST`` with ``_HttpMethod=PATCH`` counts as PATCH).
            path: The path after ``/services/data``, e.g. ``/v62.0/sobjects/Account/001...``.
            query: The query parameters.
            body: The decoded JSON body, or None.
            batch_size: Query batch size asked for (``Sforce-Query-Options: batchSize=N``).

        Returns:
            The response; refusals carry Salesforce's error array.
        """
        match = _VERSION.match(path)
        if match is None:
            return fault_response(
                SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
            )
        version = float(f"{match.group(1)}.{match.group(2)}")
        if not MIN_VERSION <= version <= MAX_VERSION:
            return fault_response(
                SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
            )
        if method == "POST" and query.get("_HttpMethod") == "PATCH":
            method = "PATCH"
        parts = [p for p in (match.group(3) or "/").split("/") if p]
        try:
            return self._route(method, version, parts, query, body, batch_size)
        except SalesforceFault as fault:
            return fault_response(fault)

    def _route(
        self,
        method: str,
        version: float,
        parts: list[str],
        query: Mapping[str, str],
        body: Any,
        batch_size: int,
    ) -> SfResponse:
        base = f"/services/data/v{version:.1f}"
        head = parts[0] if parts else ""
        if not parts and method == "GET":
            return SfResponse(
                200,
                {
                    "sobjects": f"{base}/sobjects",
                    "query": f"{base}/query",
                    "limits": f"{base}/limits",
                    "composite": f"{base}/composite",
                },
            )
        if head == "limits" and method == "GET":
            remaining = self.org.api_limit - self.org.api_used
            return SfResponse(
                200, {"DailyApiRequests": {"Max": self.org.api_limit, "Remaining": remaining}}
            )
        if head in ("query", "queryAll") and method == "GET":
            return self._query(base, parts[1:], query, batch_size)
        if head == "composite" and len(parts) == 1 and method == "POST":
            from contractsync.simulators.salesforce_composite import run_composite

            return run_composite(self, base, body)
        if head == "sobjects":
            return self._sobjects(method, version, base, parts[1:], query, body)
        raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")

    @staticmethod
    def _record(
        base: str, sobject: str, record: Mapping[str, Any], fields: list[str] | None = None
    ) -> dict[str, Any]:
        shown = {k: v for k, v in record.items() if fields is None or k in fields or k == "Id"}
        return {
            "attributes": {"type": sobject, "url": f"{base}/sobjects/{sobject}/{record['Id']}"},
            **shown,
        }

    def _sobjects(
        self,
        method: str,
        version: float,
        base: str,
        parts: list[str],
        query: Mapping[str, str],
        body: Any,
    ) -> SfResponse:
        if not parts:
            if method != "GET":
                raise SalesforceFault(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are GET",
                )
            return SfResponse(
                200,
                {"sobjects": [{"name": n, "keyPrefix": s.key_prefix} for n, s in SOBJECTS.items()]},
            )
        spec = spec_of(parts[0])
        if len(parts) == 1:
            if method == "GET":
                return SfResponse(
                    200, {"objectDescribe": {"name": spec.name, "keyPrefix": spec.key_prefix}}
                )
            if method != "POST":
                raise SalesforceFault(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are GET,POST",
                )
            record = self.org.create(spec.name, _object(body))
            return SfResponse(
                201,
                {"id": record["Id"], "success": True, "errors": []},
                {"Location": f"{base}/sobjects/{spec.name}/{record['Id']}"},
            )
        fields = query.get("fields")
        wanted = [f.strip() for f in fields.split(",")] if fields else None
        if len(parts) == 2:
            record_id = parts[1]
            if method == "GET":
                return SfResponse(
                    200, self._record(base, spec.name, self.org.get(spec.name, record_id), wanted)
                )
            if method == "PATCH":
                self.org.update(spec.name, record_id, _object(body))
                return SfResponse(204)
            if method == "DELETE":
                self.org.delete(spec.name, record_id)
                return SfResponse(204)
            raise SalesforceFault(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE",
            )
        if len(parts) == 3:
            return self._by_external_id(
                method, version, base, spec.name, parts[1], parts[2], wanted, body
            )
        raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")

    def _by_external_id(
        self,
        method: str,
        version: float,
        base: str,
        sobject: str,
        field_name: str,
        value: str,
        wanted: list[str] | None,
        body: Any,
    ) -> SfResponse:
        def urls(rows: Sequence[Mapping[str, Any]]) -> list[str]:
            return [f"{base}/sobjects/{sobject}/{row['Id']}" for row in rows]

        if method == "GET":
            matches = self.org.find_by(sobject, field_name, value)
            if not matches:
                raise SalesforceFault(404, "NOT_FOUND", "The requested resource does not exist")
            if len(matches) > 1:
                return SfResponse(300, urls(matches))
            return SfResponse(200, self._record(base, sobject, matches[0], wanted))
        if method != "PATCH":
            raise SalesforceFault(
                405,
                "METHOD_NOT_ALLOWED",
                f"HTTP Method '{method}' not allowed. Allowed are GET,PATCH",
            )
        outcome = self.org.upsert(sobject, field_name, value, _object(body))
        if outcome.record is None:
            # [U] in the public docs: the 300 body lists the matching records' URLs.
            return SfResponse(300, urls(outcome.matches))
        result: dict[str, Any] = {"id": outcome.record["Id"], "success": True, "errors": []}
        if version >= UPSERT_200_SINCE:
            result["created"] = outcome.is_created
        if outcome.is_created:
            return SfResponse(
                201, result, {"Location": f"{base}/sobjects/{sobject}/{outcome.record['Id']}"}
            )
        return SfResponse(200, result) if version >= UPSERT_200_SINCE else SfResponse(204)

    def _query(
        self, base: str, parts: list[str], query: Mapping[str, str], batch_size: int
    ) -> SfResponse:
        if parts:
            rows, locator, total = self.org.next_batch(parts[0])
        else:
            text = query.get("q")
            if not text:
                raise SalesforceFault(400, "MALFORMED_QUERY", "A query string has to be specified")
            parsed = parse(text)
            selected = parsed.run(self.org.all_records(parsed.spec.name))
            rows = [
                self._record(base, parsed.spec.name, row, list(parsed.fields)) for row in selected
            ]
            if "Id" not in parsed.fields:
                for row in rows:
                    row.pop("Id", None)
            total = len(rows)
            rows, locator = self.org.open_cursor(rows, batch_size)
        answer: dict[str, Any] = {"totalSize": total, "done": locator is None, "records": rows}
        if locator is not None:
            answer["nextRecordsUrl"] = f"{base}/query/{locator}"
        return SfResponse(200, answer)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise SalesforceFault(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


__all__ = [
    "MAX_VERSION",
    "MIN_VERSION",
    "UPSERT_200_SINCE",
    "SalesforceRest",
    "SfResponse",
    "fault_response",
    "versions",
]
