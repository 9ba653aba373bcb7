"""Ironclad's webhook management API: ``POST|GET /webhooks``, ``/webhooks/{id}``, the verification key.

A registration becomes one subscription of the simulator's ``OutboundWebhooks`` (which
delivers, retries and disables on 410); the registration's ``status`` reads the
subscription's state back, so a 410 shows as ``disabledBySystem``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response

from contractsync.simulators.ironclad_company import (
    IroncladCompany,
    IroncladFault,
    WebhookRegistration,
    iso,
)
from contractsync.simulators.webhooks_out import OutboundWebhooks

EVENT_TYPES = frozenset(
    {
        "*",
        "workflow_launched",
        "workflow_updated",
        "workflow_cancelled",
        "workflow_completed",
        "workflow_approval_status_changed",
        "workflow_attribute_updated",
        "workflow_paused",
        "workflow_resumed",
        "workflow_step_updated",
        "workflow_signature_packet_fully_signed",
        "record_contract_status_changed",
    }
)
"""The event types the simulator accepts (a subset of the OpenAPI enum it can emit or ignore)."""

Serve = Callable[[Request, str | None, Callable[[str], Awaitable[Any]]], Awaitable[Response]]


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"null")
    except ValueError:
        raise IroncladFault(400, "INVALID_PARAM", "The body is not JSON", "body") from None
    if not isinstance(body, dict):
        raise IroncladFault(400, "INVALID_PARAM", "The body must be a JSON object", "body")
    return body


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise IroncladFault(400, "MISSING_PARAM", "events must list at least one event", "events")
    unknown = [e for e in value if e not in EVENT_TYPES]
    if unknown:
        raise IroncladFault(400, "INVALID_PARAM", f"unknown event {unknown[0]!r}", "events")
    return [str(e) for e in value]


class IroncladWebhookApi:
    """Webhook registrations of one company, delivered by ``outbound``.

    Args:
        company: The company whose registrations these are.
        outbound: The simulator's delivery queue.
    """

    def __init__(self, company: IroncladCompany, outbound: OutboundWebhooks) -> None:
        self.company = company
        self.outbound = outbound

    def status(self, hook: WebhookRegistration) -> str:
        """``enabled``, ``disabled`` (by a user) or ``disabledBySystem`` (a 410 answer)."""
        subscription = self.outbound.subscriptions.get(hook.subscription_id)
        if hook.status == "enabled" and (subscription is None or not subscription.is_enabled):
            return "disabledBySystem"
        return hook.status

    def _failures(self, url: str) -> int:
        count = 0
        for record in reversed(self.outbound.log):
            if record.url != url:
                continue
            if record.outcome == "delivered":
                break
            count += 1
        return count

    def model(self, hook: WebhookRegistration) -> dict[str, Any]:
        """A ``WebhookModel``."""
        return {
            "id": hook.id,
            "events": list(hook.events),
            "targetURL": hook.target_url,
            "companyId": self.company.company_id,
            "status": self.status(hook),
            "statusLastUpdatedAt": iso(hook.updated_at),
            "statusLastUpdatedBy": hook.updated_by,
            "consecutiveFailureCount": self._failures(hook.target_url),
        }

    def first_for(self, event: str) -> WebhookRegistration | None:
        """The first enabled registration that wants ``event`` (its id goes in ``webhookID``)."""
        with self.company.lock:
            return next(
                (
                    h
                    for h in self.company.webhooks.values()
                    if self.status(h) == "enabled" and ("*" in h.events or event in h.events)
                ),
                None,
            )

    def _hook(self, hook_id: str) -> WebhookRegistration:
        hook = self.company.webhooks.get(hook_id)
        if hook is None:
            raise IroncladFault(404, "NOT_FOUND", f"Webhook {hook_id} not found", "id")
        return hook

    async def create(self, request: Request, user: str) -> Response:
        """``POST /webhooks``: 201 and the ``WebhookModel``; one registration per target URL."""
        body = await _json_body(request)
        events = _events(body.get("events"))
        url = body.get("targetURL")
        if not isinstance(url, str) or not url.startswith("https://"):
            raise IroncladFault(400, "INVALID_PARAM", "targetURL must be an HTTPS URL", "targetURL")
        status = body.get("status", "enabled")
        if status not in ("enabled", "disabled"):
            raise IroncladFault(400, "INVALID_PARAM", "status is enabled or disabled", "status")
        with self.company.lock:
            if any(h.target_url == url for h in self.company.webhooks.values()):
                raise IroncladFault(
                    400, "INVALID_PARAM", "A webhook for this targetURL already exists", "targetURL"
                )
            subscription = self.outbound.subscribe(url, "", events)
            subscription.is_enabled = status == "enabled"
            hook = WebhookRegistration(
                id=self.company.new_id(),
                events=events,
                target_url=url,
                status=status,
                subscription_id=subscription.id,
                updated_at=self.company.clock(),
                updated_by=user,
            )
            self.company.webhooks[hook.id] = hook
            model = self.model(hook)
        return Response(json.dumps(model), 201, media_type="application/json")

    async def update(self, request: Request, hook_id: str, user: str) -> dict[str, Any]:
        """``PATCH /webhooks/{id}``: change ``events`` and/or ``status``."""
        body = await _json_body(request)
        with self.company.lock:
            hook = self._hook(hook_id)
            subscription = self.outbound.subscriptions[hook.subscription_id]
            if "events" in body:
                hook.events = _events(body["events"])
                subscription.events = frozenset(hook.events)
            if "status" in body:
                if body["status"] not in ("enabled", "disabled"):
                    raise IroncladFault(
                        400, "INVALID_PARAM", "status is enabled or disabled", "status"
                    )
                hook.status = str(body["status"])
                subscription.is_enabled = hook.status == "enabled"
                hook.updated_at, hook.updated_by = self.company.clock(), user
            return self.model(hook)

    def delete(self, hook_id: str) -> Response:
        """``DELETE /webhooks/{id}``: 204."""
        with self.company.lock:
            hook = self._hook(hook_id)
            del self.company.webhooks[hook_id]
            self.outbound.unsubscribe(hook.subscription_id)
        return Response(status_code=204)

    def listing(self, request: Request) -> dict[str, Any]:
        """``GET /webhooks``: ``{page, pageSize, list}`` (no ``count``, as documented)."""
        page = int(request.query_params.get("page", "0") or 0)
        size = min(100, max(1, int(request.query_params.get("pageSize", "20") or 20)))
        with self.company.lock:
            hooks = list(self.company.webhooks.values())[page * size : (page + 1) * size]
            return {"page": page, "pageSize": size, "list": [self.model(h) for h in hooks]}

    def add_routes(
        self, router: APIRouter, api: str, serve: Serve, verification_key: Callable[[], str]
    ) -> None:
        """Add the webhook routes under ``api`` to ``router``; ``serve`` authenticates."""

        def sync(call: Callable[[], Any]) -> Callable[[str], Awaitable[Any]]:
            async def handler(user: str) -> Any:
                return call()

            return handler

        @router.post(f"{api}/webhooks")
        async def create(request: Request) -> Response:
            return await serve(request, None, lambda user: self.create(request, user))

        @router.get(f"{api}/webhooks")
        async def listing(request: Request) -> Response:
            return await serve(request, None, sync(lambda: self.listing(request)))

        # Declared before /webhooks/{id} so that the literal path wins.
        @router.get(f"{api}/webhooks/verification-key")
        async def key(request: Request) -> Response:
            pem = verification_key()
            return await serve(
                request, None, sync(lambda: Response(pem, 200, media_type="text/plain"))
            )

        @router.get(f"{api}/webhooks/{{hook_id}}")
        async def one(request: Request, hook_id: str) -> Response:
            return await serve(request, None, sync(lambda: self.model(self._hook(hook_id))))

        @router.patch(f"{api}/webhooks/{{hook_id}}")
        async def update(request: Request, hook_id: str) -> Response:
            return await serve(request, None, lambda user: self.update(request, hook_id, user))

        @router.delete(f"{api}/webhooks/{{hook_id}}")
        async def delete(request: Request, hook_id: str) -> Response:
            return await serve(request, None, sync(lambda: self.delete(hook_id)))


__all__ = ["EVENT_TYPES", "IroncladWebhookApi"]
