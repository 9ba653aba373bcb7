"""``/healthz`` (the process is up), ``/readyz`` (the database is usable) and ``/metrics``."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.metrics import ApiMetrics
from contractsync.entrypoints.api.problems import problem_response, problem_responses
from contractsync.errors import ConfigError

# Readiness is probed without authentication: say which check failed, never where the database is.
_NOT_READY = {
    "database.unreachable": "The hub database cannot be reached.",
    "database.not_migrated": "The hub database is not at this release's schema revision.",
}


class HealthStatus(BaseModel):
    """A probe's answer."""

    status: Literal["ok", "ready"]


def health_router(container: ApiContainer, metrics: ApiMetrics) -> APIRouter:
    """The router serving the liveness, readiness and metrics endpoints."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", response_model=HealthStatus, summary="Liveness")
    async def healthz() -> HealthStatus:
        """Answer 200 while the process serves requests; checks nothing else."""
        return HealthStatus(status="ok")

    @router.get(
        "/readyz",
        response_model=HealthStatus,
        summary="Readiness",
        responses=problem_responses(503),
    )
    async def readyz(request: Request) -> HealthStatus | JSONResponse:
        """Answer 200 when the hub database is reachable and migrated, else 503 problem+json."""
        try:
            await run_in_threadpool(container.check_ready)
        except ConfigError as error:
            return problem_response(
                request,
                status=503,
                code=error.code,
                detail=_NOT_READY.get(error.code, "The hub database is not ready."),
                remediation=error.remediation,
                headers={"Retry-After": "5"},
            )
        return HealthStatus(status="ready")

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics text."}},
    )
    async def metrics_text() -> Response:
        """The Prometheus text exposition of the API's metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return router


__all__ = ["HealthStatus", "health_router"]
