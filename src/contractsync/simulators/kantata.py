"""The Kantata OX simulator: workspaces, stories, time entries, external references, events.

Wire behaviour (``reference/vendors.md`` §5.1), under ``/api/v1`` with ``.json`` paths and
``Authorization: Bearer <token>`` (401 ``oauth`` error otherwise):

- ``GET|POST /workspaces.json``, ``GET|PUT /workspaces/{id}.json`` (create body
  ``{"workspace": {...}}``, ``title`` and ``creator_role`` required; ``search`` filter);
- ``GET|POST /stories.json``, ``GET|PUT /stories/{id}.json``: milestones are stories with
  ``story_type`` ``milestone``; bulk create of up to 300 with ``{"stories": [...]}``;
- ``GET|POST /time_entries.json``: bulk create of up to 100 with ``{"time_entries": [...]}``;
- ``POST /external_references/create_or_update.json`` and ``GET /external_references.json``
  (``subject_type`` required; ``subject_id``, ``service_name``, ``service_model``,
  ``service_model_ref`` filters);
- ``GET /subscribed_events.json`` (``created_after``, ``created_before``, ``event_types``,
  ``include=subject``): see ``kantata_events.py`` for duplicates, order, lag and retention.

Every answer is normalized (``count``, ``results``, objects by id, ``meta``), paged with
``page``/``per_page``; lists take ``only=`` and ``include=external_references``. Errors are
``{"errors": [...]}`` with 400/401/403/404/422/503, and **429** past the configured rates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response

from contractsync.simulators.app import Scenario, Simulator
from contractsync.simulators.faults import FaultResponses
from contractsync.simulators.kantata_account import KEYS, SUBJECTS, KantataAccount
from contractsync.simulators.kantata_events import EventDelivery, EventFeed, parse_time
from contractsync.simulators.kantata_scenarios import (
    KantataFaults,
    RateLimiter,
    SimClock,
    kantata_scenarios,
    too_many_requests,
)
from contractsync.simulators.kantata_wire import API_ROOT, KantataFault, normalized, paging

BULK_LIMITS = {"stories": 300, "time_entries": 100}
SINGULAR = {"workspaces": "workspace", "stories": "story", "time_entries": "time_entry"}
API_USER = 1
Answer = tuple[int, dict[str, str], Any]


class KantataSimulator(Simulator):
    """A Kantata OX account over HTTP. See the module docstring for the wire behaviour.

    Args:
        tokens: Bearer tokens accepted (default ``sim-token``).
        requests_per_minute: Overall rate limit per rolling minute (None: unlimited).
        endpoint_limits: Per-endpoint limits, e.g. ``{"POST workspaces": 10}``.
        rate_limit_retry_after: ``Retry-After`` sent with a 429 ([U]: None sends none).
        delivery: How the event feed duplicates, reorders and lags.
        **options: ``Simulator`` options (``faults`` ...).
    """

    vendor = "kantata"
    title = "Kantata OX simulator"

    def __init__(
        self,
        *,
        tokens: Sequence[str] = ("sim-token",),
        requests_per_minute: int | None = None,
        endpoint_limits: Mapping[str, int] | None = None,
        rate_limit_retry_after: float | None = None,
        delivery: EventDelivery | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.tokens = frozenset(tokens)
        self.clock = SimClock()
        self.feed = EventFeed(
            account_id=9001,
            delivery=delivery or EventDelivery(),
            draw=self.injector.draw,
            clock=self.clock,
        )
        self.account = KantataAccount(self.feed, self.clock, account_id=9001)
        self._limits = (requests_per_minute, dict(endpoint_limits or {}))
        self.limiter = RateLimiter(requests_per_minute, self._limits[1], self.clock)
        self.rate_limit_retry_after = rate_limit_retry_after

    def reset_state(self) -> None:
        """A fresh account, feed, clock and rate window."""
        self.account.reset()
        self.feed.reset()
        self.clock.offset = 0.0
        self.limiter.reset()
        self.limiter.per_minute, self.limiter.endpoints = self._limits[0], dict(self._limits[1])

    def dump_state(self) -> dict[str, Any]:
        """Records, links and every stored event copy."""
        return {**self.account.dump(), "subscribed_events": self.feed.dump()}

    def fault_responses(self) -> FaultResponses:
        """Kantata-shaped 503, 429 and 422."""
        return KantataFaults()

    def scenarios(self) -> Sequence[Scenario]:
        """Operator drivers: milestones, time, workspace edits, event delivery, clock, rates."""
        return kantata_scenarios(self.account, self.clock, self.limiter)

    # -- reading -----------------------------------------------------------------------

    def _included_refs(self, key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        refs = self.account.references_of(SUBJECTS[key], {r["id"] for r in rows})
        for row in rows:
            row["external_reference_ids"] = [x["id"] for x in refs if x["subject_id"] == row["id"]]
        return refs

    def _list(self, key: str, q: Mapping[str, str]) -> Answer:
        rows = self.account.rows(key)
        only = {i for i in q.get("only", "").split(",") if i}
        search = q.get("search", "").lower()
        rows = [
            r
            for r in rows
            if (not only or r["id"] in only)
            and (not q.get("workspace_id") or r.get("workspace_id") == q["workspace_id"])
            and (not search or search in f"{r.get('title', '')} {r.get('description', '')}".lower())
            and (
                key != "workspaces" or not r.get("archived") or q.get("include_archived") == "true"
            )
        ]
        return self._page(key, rows, q)

    def _page(self, key: str, rows: list[dict[str, Any]], q: Mapping[str, str]) -> Answer:
        page, per_page = paging(q)
        shown = rows[(page - 1) * per_page : page * per_page]
        included = {}
        if "external_references" in q.get("include", "").split(","):
            included["external_references"] = self._included_refs(key, shown)
        body = normalized(
            key, shown, page=page, per_page=per_page, total=len(rows), included=included
        )
        return 200, {}, body

    def _references(self, q: Mapping[str, str]) -> Answer:
        if q.get("subject_type") not in KEYS:
            raise KantataFault(
                400, "system", "subject_type is required and must be a supported type"
            )
        ids = {i for i in q.get("subject_id", "").split(",") if i}
        filters = ("service_name", "service_model", "service_model_ref", "external_status")
        rows = [
            r
            for r in self.account.references.values()
            if r["subject_type"] == q["subject_type"]
            and (not ids or r["subject_id"] in ids)
            and all(not q.get(f) or r.get(f) == q[f] for f in filters)
        ]
        return self._page("external_references", [dict(r) for r in rows], {**q, "include": ""})

    def _events(self, q: Mapping[str, str]) -> Answer:
        if not self.feed.delivery.enabled:
            raise KantataFault(403, "system", "The Subscribed Events add-on is not enabled")
        try:
            after = parse_time(q["created_after"]) if q.get("created_after") else None
            before = parse_time(q["created_before"]) if q.get("created_before") else None
        except ValueError:
            raise KantataFault(
                400, "system", "created_after/created_before must be ISO 8601"
            ) from None
        types = frozenset(t for t in q.get("event_types", "").split(",") if t) or None
        rows = self.feed.query(created_after=after, created_before=before, event_types=types)
        page, per_page = paging(q)
        shown = self.feed.shuffled(rows[(page - 1) * per_page : page * per_page])
        objects = [{**e.body, "id": e.id} for e in shown]
        included: dict[str, list[dict[str, Any]]] = {}
        if "subject" in q.get("include", "").split(","):
            for obj in objects:
                key = KEYS[obj["subject_type"]]
                subject = self.account.records[key].get(str(obj["subject_id"]))
                obj["subject_ref"] = {"key": key, "id": subject["id"]} if subject else None
                if subject:
                    included.setdefault(key, []).append(dict(subject))
        body = normalized(
            "subscribed_events",
            objects,
            page=page,
            per_page=per_page,
            total=len(rows),
            included=included,
        )
        for event in body["subscribed_events"].values():
            event.pop("id")  # the documented event object carries no id: it is the map key
        return 200, {}, body

    # -- writing -----------------------------------------------------------------------

    def _create(self, key: str, body: Any) -> Answer:
        if not isinstance(body, dict):
            raise KantataFault(400, "system", "The request body must be a JSON object")
        if key in BULK_LIMITS and isinstance(body.get(key), list):
            batch = body[key]
            if not batch or len(batch) > BULK_LIMITS[key]:
                message = f"Bulk create takes 1 to {BULK_LIMITS[key]} {key} per request"
                raise KantataFault(422, "validation", message, field=key)
            rows = self.account.create_many(key, batch, user_id=API_USER)
        elif isinstance(body.get(SINGULAR[key]), dict):
            rows = [self.account.create(key, body[SINGULAR[key]], user_id=API_USER)]
        else:
            raise KantataFault(
                400, "system", f"param is missing or the value is empty: {SINGULAR[key]}"
            )
        return 200, {}, normalized(key, rows)

    def _dispatch(self, method: str, path: str, q: Mapping[str, str], body: Any) -> Answer:
        if not path.endswith(".json"):
            raise KantataFault(404, "system", "Not found")
        parts = path.removesuffix(".json").split("/")
        key = parts[0]
        if parts == ["subscribed_events"] and method == "GET":
            return self._events(q)
        if parts == ["external_references"] and method == "GET":
            return self._references(q)
        if parts == ["external_references", "create_or_update"] and method == "POST":
            attrs = body.get("external_reference") if isinstance(body, dict) else None
            if not isinstance(attrs, dict):
                raise KantataFault(
                    400, "system", "param is missing or the value is empty: external_reference"
                )
            return (
                200,
                {},
                normalized("external_references", [self.account.create_or_update_reference(attrs)]),
            )
        if key not in SUBJECTS or len(parts) > 2:
            raise KantataFault(404, "system", "Not found")
        if len(parts) == 1:
            if method == "GET":
                return self._list(key, q)
            if method == "POST":
                return self._create(key, body)
        elif method == "GET":
            return 200, {}, normalized(key, [self.account.get(key, parts[1])])
        elif method == "PUT":
            attrs = body.get(SINGULAR[key]) if isinstance(body, dict) else None
            if not isinstance(attrs, dict):
                raise KantataFault(
                    400, "system", f"param is missing or the value is empty: {SINGULAR[key]}"
                )
            return (
                200,
                {},
                normalized(key, [self.account.update(key, parts[1], attrs, user_id=API_USER)]),
            )
        raise KantataFault(404, "system", "Not found")

    async def _serve(self, request: Request, path: str) -> Answer:
        token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token not in self.tokens:
            return 401, {}, KantataFault(401, "oauth", "Invalid OAuth 2 Request").body
        resource = path.removesuffix(".json").split("/")[0]
        if not self.limiter.allow(f"{request.method} {resource}"):
            fault = too_many_requests(self.rate_limit_retry_after)
            return fault.status, fault.headers, fault.body
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
            return self._dispatch(request.method, path, dict(request.query_params), body)
        except ValueError:
            return 400, {}, KantataFault(400, "system", "The request body is not valid JSON").body
        except KantataFault as fault:
            return fault.status, fault.headers, fault.body

    def vendor_routes(self) -> APIRouter:
        """Every resource under ``/api/v1``."""
        router = APIRouter()

        @router.api_route(f"{API_ROOT}/{{path:path}}", methods=["GET", "POST", "PUT", "DELETE"])
        async def api(request: Request, path: str) -> Response:
            status, headers, body = await self._serve(request, path)
            return Response(json.dumps(body), status, headers, media_type="application/json")

        return router


__all__ = ["KantataSimulator"]
