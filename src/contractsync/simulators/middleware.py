"""The ASGI middleware that applies a ``FaultInjector``'s decisions around a vendor app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from contractsync.simulators.faults import (
    IN_PROCESS_SCOPE_KEY,
    ASGIApp,
    FaultInjector,
    FaultKind,
    FaultResponses,
    Message,
    Receive,
    Scope,
    Send,
    SimulatedDisconnect,
    drift,
)


async def _collect(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[Message, bytes]:
    """Run ``app`` and buffer its whole response."""
    start: Message = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return start, b"".join(chunks)


def _with_length(headers: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    kept = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    return [*kept, (b"content-length", str(length).encode())]


class FaultMiddleware:
    """ASGI middleware applying a ``FaultInjector``'s decisions around a vendor app.

    Args:
        app: The vendor's ASGI app.
        injector: The decisions.
        responses: The vendor's shapes of synthetic failures.
    """

    def __init__(self, app: ASGIApp, injector: FaultInjector, responses: FaultResponses) -> None:
        self.app = app
        self.injector = injector
        self.responses = responses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, faulted or not."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fault, latency = self.injector.decide(scope["method"], scope["path"])
        in_process = bool(scope.get("extensions", {}).get(IN_PROCESS_SCOPE_KEY))
        if latency and not in_process:
            await asyncio.sleep(latency)
        if fault == "timeout":
            if not in_process:
                await asyncio.sleep(self.injector.plan.timeout_seconds)
            raise SimulatedDisconnect("timeout")
        if fault in ("server_error", "rate_limit", "validation_error"):
            status, headers, body = self._synthetic(fault)
            await self._send_json(send, status, headers, body)
            return
        plan = self.injector.plan
        if fault is None and not plan.has_drift:
            await self.app(scope, receive, send)
            return
        start, body = await _collect(self.app, scope, receive)
        raw_headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        if plan.has_drift and body and _is_json(raw_headers):
            body = json.dumps(drift(json.loads(body), plan)).encode()
        raw_headers = _with_length(raw_headers, len(body))
        await send(
            {"type": "http.response.start", "status": start["status"], "headers": raw_headers}
        )
        if fault == "lost_response":
            # Half the body then a dropped connection: the client cannot tell whether the
            # write landed, which is the point.
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
            raise SimulatedDisconnect("lost_response")
        await send({"type": "http.response.body", "body": body})

    def _synthetic(self, fault: FaultKind) -> tuple[int, dict[str, str], Any]:
        if fault == "server_error":
            return self.responses.server_error()
        if fault == "rate_limit":
            return self.responses.rate_limited(self.injector.plan.retry_after_seconds)
        return self.responses.validation_error()

    @staticmethod
    async def _send_json(send: Send, status: int, headers: dict[str, str], body: Any) -> None:
        payload = json.dumps(body).encode()
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw = _with_length([(b"content-type", b"application/json"), *raw], len(payload))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})


def _is_json(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and b"json" in v for k, v in headers)


__all__ = ["FaultMiddleware"]
