"""The operator API every simulator serves under ``/_sim``: reset, faults, scenarios, state.

=====================================  ====================================================
``GET    /_sim``                       vendor, scenarios (with body JSON Schemas), routes
``POST   /_sim/reset``                 forget all records, back to the run's fault plan
``GET    /_sim/state``                 every record, for assertions
``GET    /_sim/stats``                 requests seen and faults injected, by kind
``GET    /_sim/faults``                the current ``FaultPlan``
``PUT    /_sim/faults``                replace it (body: a ``FaultPlan``)
``PATCH  /_sim/faults``                merge fields into it (``{"server_error_rate": 0.2}``)
``POST   /_sim/faults/script``         force the next faults: ``{"faults": ["rate_limit"]}``
``POST   /_sim/scenarios/{name}``      run a vendor scenario driver (body per scenario)
``GET    /_sim/webhooks``              subscriptions, pending deliveries, attempt log
``POST   /_sim/webhooks/subscriptions``  ``{"url", "secret", "events": ["*"]}``
``DELETE /_sim/webhooks/subscriptions/{id}``
``POST   /_sim/webhooks/flush``        send due deliveries (``{"force": true}``: all now)
=====================================  ====================================================

Operator routes are never faulted, never counted against vendor limits, and need no auth:
a simulator is a local test double, never exposed beyond loopback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from contractsync.simulators.faults import OPERATOR_PREFIX, FaultKind, FaultPlan

if TYPE_CHECKING:
    from contractsync.simulators.app import Simulator


class ScriptBody(BaseModel):
    """Faults to force on the next matching requests, in order."""

    faults: list[FaultKind] = Field(min_length=1)


class SubscriptionBody(BaseModel):
    """A webhook target and the secret its deliveries are signed with."""

    url: str
    secret: str
    events: list[str] = Field(default_factory=lambda: ["*"])


class FlushBody(BaseModel):
    """Whether to send every pending delivery now, ignoring the retry schedule."""

    force: bool = False


def operator_router(sim: Simulator) -> APIRouter:
    """Build the ``/_sim`` routes for ``sim``.

    Args:
        sim: The simulator the routes operate.

    Returns:
        A router to include in the simulator's app.
    """
    router = APIRouter(prefix=OPERATOR_PREFIX, tags=["operator"])
    scenarios = {scenario.name: scenario for scenario in sim.scenarios()}

    @router.get("")
    async def describe() -> dict[str, Any]:
        return {
            "vendor": sim.vendor,
            "scenarios": {
                s.name: {"description": s.description, "body": s.body.model_json_schema()}
                for s in scenarios.values()
            },
            "faults": sim.injector.plan.model_dump(),
        }

    @router.post("/reset")
    async def reset() -> dict[str, str]:
        sim.reset()
        return {"status": "reset"}

    @router.get("/state")
    async def state() -> dict[str, Any]:
        return sim.dump_state()

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return {"requests": sim.injector.requests, "injected": dict(sim.injector.injected)}

    @router.get("/faults")
    async def get_faults() -> dict[str, Any]:
        return sim.injector.plan.model_dump()

    @router.put("/faults")
    async def put_faults(plan: FaultPlan) -> dict[str, Any]:
        sim.injector.replace(plan)
        return plan.model_dump()

    @router.patch("/faults")
    async def patch_faults(request: Request) -> dict[str, Any]:
        changes = await request.json()
        if not isinstance(changes, dict):
            raise HTTPException(422, "send a JSON object of FaultPlan fields")
        try:
            return sim.injector.update(changes).model_dump()
        except ValidationError as exc:
            raise HTTPException(422, exc.errors(include_url=False)) from None

    @router.post("/faults/script")
    async def script(body: ScriptBody) -> dict[str, Any]:
        sim.injector.force(*body.faults)
        return {"script": list(sim.injector.plan.script)}

    @router.post("/scenarios/{name}")
    async def run_scenario(name: str, request: Request) -> dict[str, Any]:
        scenario = scenarios.get(name)
        if scenario is None:
            raise HTTPException(404, f"no scenario {name!r}; known: {sorted(scenarios)}")
        raw = await request.body()
        try:
            body = scenario.body.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            raise HTTPException(422, exc.errors(include_url=False)) from None
        return scenario.run(body)

    @router.get("/webhooks")
    async def webhooks() -> dict[str, Any]:
        return sim.webhooks.report()

    @router.post("/webhooks/subscriptions", status_code=201)
    async def subscribe(body: SubscriptionBody) -> dict[str, Any]:
        subscription = sim.webhooks.subscribe(body.url, body.secret, body.events)
        return {"id": subscription.id, "url": subscription.url, "events": body.events}

    @router.delete("/webhooks/subscriptions/{subscription_id}", status_code=204)
    async def unsubscribe(subscription_id: str) -> None:
        if not sim.webhooks.unsubscribe(subscription_id):
            raise HTTPException(404, f"no subscription {subscription_id!r}")

    @router.post("/webhooks/flush")
    async def flush(body: FlushBody) -> dict[str, Any]:
        # Deliveries make blocking HTTP calls; keep them off the event loop.
        records = await run_in_threadpool(sim.webhooks.flush, force=body.force)
        return {
            "attempts": len(records),
            "delivered": sum(r.outcome == "delivered" for r in records),
        }

    return router


__all__ = ["FlushBody", "ScriptBody", "SubscriptionBody", "operator_router"]
