"""The FastAPI application: webhook ingress, health and metrics, problem+json everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from contractsync import __version__
from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.metrics import ApiMetrics, LatencyMiddleware
from contractsync.entrypoints.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers
from contractsync.entrypoints.api.routes.health import health_router
from contractsync.entrypoints.api.routes.process import process_router
from contractsync.entrypoints.api.routes.webhooks import webhook_router


def create_app(container: ApiContainer) -> FastAPI:
    """Build the API over ``container`` (from ``bootstrap.build_api``); nothing connects yet.

    Args:
        container: Settings, unit-of-work factory, webhook sources, dispatcher and clock.

    Returns:
        The application; its metrics registry is ``app.state.metrics.registry``.
    """
    app = FastAPI(
        title="contractsync",
        version=__version__,
        summary="Contract-to-cash sync hub: webhook ingress and process API.",
    )
    metrics = ApiMetrics()
    app.state.container = container
    app.state.metrics = metrics
    install_problem_handlers(app)
    app.include_router(webhook_router(container, metrics))
    app.include_router(health_router(container, metrics))
    app.include_router(process_router(container))
    app.add_middleware(LatencyMiddleware, metrics=metrics)
    app.openapi = lambda: _openapi_with_problem_media_type(app)  # type: ignore[method-assign]
    return app


def _openapi_with_problem_media_type(app: FastAPI) -> dict[str, Any]:
    # FastAPI files every documented response under application/json; errors are problem+json.
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if str(status)[0] in "45" and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")
        app.openapi_schema = schema
    return app.openapi_schema


__all__ = ["create_app"]
