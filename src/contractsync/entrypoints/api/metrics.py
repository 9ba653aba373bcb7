"""Prometheus metrics of the API: webhook outcomes by source and reason, request latency."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Webhooks are acknowledged in milliseconds; the tail shows database lock waits.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class ApiMetrics:
    """The API's metrics, in a registry of their own (one per app, so tests never collide).

    Attributes:
        registry: What ``/metrics`` exposes.
        received: Webhooks that reached a known source, by source.
        accepted: Webhooks stored for processing, by source.
        quarantined: Webhooks stored as FAILED with an ExceptionItem, by source.
        duplicates: Webhooks seen before (acknowledged, nothing stored), by source.
        rejected: Webhooks refused, by source and reason (the error code).
        unknown_fields: Webhooks carrying fields their shape does not know, by source.
        dispatch_failures: Stored webhooks whose workflow could not be started (the sweep
            retries them), by source.
        latency: Request duration by method, route template and status.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = self._counter("webhooks_received", "Webhooks received", ["source"])
        self.accepted = self._counter("webhooks_accepted", "Webhooks accepted", ["source"])
        self.quarantined = self._counter(
            "webhooks_quarantined", "Webhooks stored but lacking required fields", ["source"]
        )
        self.duplicates = self._counter(
            "webhooks_duplicate", "Webhooks already in the inbox", ["source"]
        )
        self.rejected = self._counter("webhooks_rejected", "Webhooks refused", ["source", "reason"])
        self.unknown_fields = self._counter(
            "webhooks_unknown_fields", "Webhooks carrying unknown fields", ["source"]
        )
        self.dispatch_failures = self._counter(
            "webhooks_dispatch_failures", "Workflow starts that failed after commit", ["source"]
        )
        self.latency = Histogram(
            "contractsync_http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route", "status"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

    def _counter(self, name: str, documentation: str, labels: list[str]) -> Counter:
        return Counter(f"contractsync_{name}", documentation, labels, registry=self.registry)


class LatencyMiddleware:
    """Pure ASGI middleware timing every HTTP request into ``ApiMetrics.latency``.

    The route label is the matched route's template (``/webhooks/{source}``), never the raw
    path, so an attacker probing paths cannot grow the number of series.

    Args:
        app: The wrapped application.
        metrics: Where the durations go.
    """

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request and record it once the response has started."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.latency.labels(scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


__all__ = ["ApiMetrics", "LatencyMiddleware"]
