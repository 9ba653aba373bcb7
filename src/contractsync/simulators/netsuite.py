"""The NetSuite simulator: SuiteTalk REST records, eid upserts, async jobs, M2M auth, concurrency.

Wire behaviour (``reference/vendors.md`` §4):

- ``POST /services/rest/auth/oauth2/v1/token``: client credentials with a JWT assertion
  (``netsuite_access.py``); a missing or dead token on the API answers 401 ``INVALID_LOGIN``.
- ``/services/rest/record/v1/{customer|job|projecttask|billingSchedule|salesOrder|invoice}``:
  ``POST`` creates → **204 + Location**; ``GET /{id}`` or ``/eid:{externalId}`` reads
  (sublists as links unless ``expandSubResources=true``); ``PATCH`` → 204, omitted fields
  unchanged, ``null`` clears, keyed sublists merge, unkeyed ones append, ``?replace=name``
  replaces; **``PUT /{type}/eid:{externalId}`` upserts** (204 + Location, [I]: configurable);
  ``GET /{type}?limit&offset&q`` pages ``{links, count, hasMore, items, offset,
  totalResults}``. ``accountingPeriod`` is read-only.
- Errors are RFC 7807 with ``o:errorDetails[{detail, o:errorCode, o:errorPath}]``.
- An account-wide concurrency limit (default 5) across all clients: one request more gets
  **429** with an ``o:errorDetails`` body whose code is configurable ([U]).
- ``Prefer: respond-async`` → 202 + ``Location: /services/rest/async/v1/job/{id}``; a reused
  ``X-NetSuite-Idempotency-Key`` → 400 "Conflict" ``IDEMPOTENCY_ERROR`` with the first job's
  ``Location``.

Operator scenarios: ``edit_record``, ``create_record``, ``close_period``,
``set_concurrency_limit``, ``expire_tokens``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response

from contractsync.simulators.app import Scenario, Simulator
from contractsync.simulators.faults import FaultResponses
from contractsync.simulators.netsuite_access import ConcurrencyGate, OAuthRefusal, TokenIssuer
from contractsync.simulators.netsuite_async import AsyncJobs
from contractsync.simulators.netsuite_records import NetSuiteAccount
from contractsync.simulators.netsuite_scenarios import (
    NetSuiteFaults,
    concurrency_refusal,
    netsuite_scenarios,
)
from contractsync.simulators.netsuite_wire import (
    ASYNC_ROOT,
    RECORD_ROOT,
    TOKEN_PATH,
    NetSuiteFault,
    collection,
    paging,
    problem,
    record_url,
)

Answer = tuple[int, dict[str, str], Any]
DEFAULT_CLIENTS: Mapping[str, frozenset[str]] = {"sim-client": frozenset({"sim-certificate"})}
_INVALID_LOGIN = (
    "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite UI."
)


def _response(answer: Answer) -> Response:
    status, headers, body = answer
    if body is None:
        return Response(status_code=status, headers=headers)
    media = (
        "application/vnd.oracle.resource+json; type=error" if status >= 400 else "application/json"
    )
    return Response(json.dumps(body), status, headers, media_type=media)


class NetSuiteSimulator(Simulator):
    """A NetSuite account over SuiteTalk REST. See the module docstring for the wire behaviour.

    Args:
        concurrency_limit: Requests in flight allowed across all clients.
        concurrency_error_code: ``o:errorCode`` of the concurrency 429 ([U]).
        concurrency_retry_after: ``Retry-After`` seconds sent with it, or None ([U]).
        service_time_ms: How long each API request holds its concurrency slot.
        idempotency_retention_seconds: How long an idempotency key is remembered ([U]).
        upsert_status: Status of a successful ``PUT .../eid:X`` ([I]: 204 + Location).
        closed_period_code: ``o:errorCode`` of a posting into a closed period ([U]).
        clients: Client id -> certificate ids allowed to sign assertions.
        subsidiaries: Subsidiary id -> name. ``currencies``, ``items``: likewise.
        clock: Unix seconds.
        **options: ``Simulator`` options (``faults`` ...).
    """

    vendor = "netsuite"
    title = "NetSuite simulator"

    def __init__(
        self,
        *,
        concurrency_limit: int = 5,
        concurrency_error_code: str = "CONCURRENCY_LIMIT_EXCEEDED",
        concurrency_retry_after: float | None = None,
        service_time_ms: float = 0.0,
        idempotency_retention_seconds: float | None = 24 * 3600.0,
        upsert_status: int = 204,
        closed_period_code: str = "PERIOD_CLOSED",
        clients: Mapping[str, frozenset[str]] | None = None,
        subsidiaries: Mapping[str, str] | None = None,
        currencies: Mapping[str, str] | None = None,
        items: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.account = NetSuiteAccount(
            subsidiaries=subsidiaries,
            currencies=currencies,
            items=items,
            closed_period_code=closed_period_code,
            clock=clock,
        )
        self.tokens = TokenIssuer(clients or DEFAULT_CLIENTS, clock)
        self.jobs = AsyncJobs(key_retention_seconds=idempotency_retention_seconds, clock=clock)
        self._initial_limit = concurrency_limit
        self.gate = ConcurrencyGate(concurrency_limit)
        self.concurrency_error_code = concurrency_error_code
        self.concurrency_retry_after = concurrency_retry_after
        self.service_time = service_time_ms / 1000.0
        self.upsert_status = upsert_status

    def reset_state(self) -> None:
        """A fresh account: no records, tokens or jobs; the initial concurrency limit."""
        self.account.reset()
        self.tokens.reset()
        self.jobs.reset()
        self.gate.reset(self._initial_limit)

    def dump_state(self) -> dict[str, Any]:
        """Records, closed periods and the concurrency counters."""
        return {**self.account.dump(), "concurrency": self.gate.report()}

    def fault_responses(self) -> FaultResponses:
        """NetSuite-shaped 500, concurrency 429 and ``INVALID_CONTENT`` 400."""
        return NetSuiteFaults(self.concurrency_error_code, self.concurrency_retry_after)

    def scenarios(self) -> Sequence[Scenario]:
        """Operator drivers: edit or create records, close periods, concurrency, tokens."""
        return netsuite_scenarios(self.account, self.gate, self.tokens)

    # -- records -----------------------------------------------------------------------

    def _records(
        self, method: str, path: str, query: Mapping[str, str], body: Any, base: str
    ) -> Answer:
        parts = [p for p in path.split("/") if p]
        if not parts or len(parts) > 2:
            raise NetSuiteFault(404, "INVALID_RECORD_TYPE", f"Unknown resource /{path}.")
        record_type, key = parts[0], (parts[1] if len(parts) == 2 else None)
        replace = {n for n in query.get("replace", "").split(",") if n}
        if method == "GET" and key is None:
            limit, offset = paging(query)
            ids = self.account.ids(record_type, query.get("q"))
            shown = {k: v for k, v in query.items() if k not in ("limit", "offset")}
            return (
                200,
                {},
                collection(base, record_type, ids, limit=limit, offset=offset, query=shown),
            )
        if method == "GET" and key is not None:
            expand = query.get("expandSubResources", "").lower() == "true"
            return 200, {}, self.account.render(base, record_type, key, expand=expand)
        if record_type == "accountingPeriod":
            raise NetSuiteFault(405, "METHOD_NOT_ALLOWED", "accountingPeriod is read-only here.")
        if not isinstance(body, dict):
            raise NetSuiteFault(400, "INVALID_CONTENT", "The request body must be a JSON object.")
        if method == "POST" and key is None:
            record_id = self.account.create(record_type, body)
            return 204, {"Location": record_url(base, record_type, record_id)}, None
        if method == "PATCH" and key is not None:
            record_id = self.account.update(record_type, key, body, replace=replace)
            return 204, {"Location": record_url(base, record_type, record_id)}, None
        if method == "PUT" and key is not None and key.startswith("eid:"):
            record_id, _ = self.account.upsert(record_type, key[4:], body, replace=replace)
            return self.upsert_status, {"Location": record_url(base, record_type, record_id)}, None
        if method == "PUT":
            raise NetSuiteFault(
                400,
                "INVALID_REQUEST",
                "PUT is only supported with an external ID: /{type}/eid:{id}.",
            )
        raise NetSuiteFault(405, "METHOD_NOT_ALLOWED", f"{method} is not allowed on /{path}.")

    async def _serve(self, request: Request, path: str) -> Answer:
        if not self.tokens.is_valid(request.headers.get("authorization", "")):
            return 401, {}, problem(401, "INVALID_LOGIN", _INVALID_LOGIN)
        if not self.gate.enter():
            return concurrency_refusal(self.concurrency_error_code, self.concurrency_retry_after)
        try:
            if self.service_time:
                await asyncio.sleep(self.service_time)
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                return (
                    400,
                    {},
                    problem(400, "INVALID_CONTENT", "The request body is not valid JSON."),
                )
            base = str(request.base_url).rstrip("/")
            query = dict(request.query_params)
            is_async = "respond-async" in request.headers.get("prefer", "")
            if is_async and request.method in ("POST", "PUT", "PATCH"):
                return self._async(request, path, query, body, base)
            try:
                return self._records(request.method, path, query, body, base)
            except NetSuiteFault as fault:
                return fault.status, fault.headers, fault.body
        finally:
            self.gate.leave()

    def _async(
        self, request: Request, path: str, query: Mapping[str, str], body: Any, base: str
    ) -> Answer:
        try:
            job_id = self.jobs.claim(request.headers.get("x-netsuite-idempotency-key"))
        except NetSuiteFault as fault:
            return fault.status, fault.headers, fault.body
        try:
            status, headers, result = self._records(request.method, path, query, body, base)
        except NetSuiteFault as fault:
            status, headers, result = fault.status, fault.headers, fault.body
        self.jobs.finish(job_id, status, headers, result)
        headers = {
            "Location": f"{base}{self.jobs.job_path(job_id)}",
            "Preference-Applied": "respond-async",
        }
        return 202, headers, None

    def _job(self, parts: list[str], base: str) -> Answer:
        if len(parts) == 2 and parts[0] == "job":
            return 200, {}, self.jobs.describe(base, parts[1])
        if len(parts) == 4 and parts[2] == "task":
            return 200, {}, self.jobs.describe_task(base, parts[1], parts[3])
        if len(parts) == 5 and parts[4] == "result":
            self.jobs.describe_task(base, parts[1], parts[3])
            job = self.jobs.get(parts[1])
            return job.status, job.headers, job.body
        raise NetSuiteFault(404, "NONEXISTENT_ID", "Unknown async resource.")

    def vendor_routes(self) -> APIRouter:
        """The token endpoint, the record service and the async job service."""
        router = APIRouter()

        @router.post(TOKEN_PATH)
        async def token(request: Request) -> Response:
            # Parsed by hand: Starlette's form parser needs python-multipart, not a dependency.
            form = dict(parse_qsl((await request.body()).decode()))
            token_url = str(request.url.replace(query=""))
            try:
                return _response((200, {}, self.tokens.exchange(form, token_url)))
            except OAuthRefusal as refusal:
                return Response(
                    json.dumps(refusal.body), refusal.status, media_type="application/json"
                )

        @router.api_route(
            f"{RECORD_ROOT}/{{path:path}}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"]
        )
        async def records(request: Request, path: str) -> Response:
            return _response(await self._serve(request, path))

        @router.get(f"{ASYNC_ROOT}/{{path:path}}")
        async def jobs(request: Request, path: str) -> Response:
            if not self.tokens.is_valid(request.headers.get("authorization", "")):
                return _response((401, {}, problem(401, "INVALID_LOGIN", _INVALID_LOGIN)))
            try:
                answer = self._job(
                    [p for p in path.split("/") if p], str(request.base_url).rstrip("/")
                )
            except NetSuiteFault as fault:
                answer = (fault.status, fault.headers, fault.body)
            return _response(answer)

        return router


__all__ = ["DEFAULT_CLIENTS", "NetSuiteSimulator"]
