"""``POST /webhooks/{source}``: size limit, verify, parse, store, acknowledge, then dispatch."""

from __future__ import annotations

import logging
from typing import Annotated, Literal, NoReturn

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from contractsync.adapters.ingress import WebhookSource, parse_webhook
from contractsync.adapters.signatures import SignatureError
from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.metrics import ApiMetrics
from contractsync.entrypoints.api.problems import ProblemError, problem_responses
from contractsync.errors import DataError
from contractsync.services.ingress import accept_webhook, mark_dispatched, record_rejection

_log = logging.getLogger(__name__)


class WebhookReceipt(BaseModel):
    """What the sender is told once its webhook is durably stored (or known already)."""

    status: Literal["accepted", "duplicate", "quarantined"]
    id: str | None = None


_REQUEST_BODY = {
    "required": True,
    "description": "The event exactly as the sender signed it (JSON object; shape per source).",
    "content": {"application/json": {"schema": {"type": "object"}}},
}


async def read_limited_body(request: Request, limit: int) -> bytes:
    """Read the raw body, refusing more than ``limit`` bytes before reading any of it if declared.

    Raises:
        ProblemError: 413 when Content-Length or the streamed bytes exceed ``limit``; 400 when
            Content-Length is not a number.
    """
    too_large = ProblemError(
        413,
        "webhook.body_too_large",
        f"The body is larger than the {limit} bytes this endpoint accepts.",
        remediation="Send thin events (ids and types); the hub fetches the details.",
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ProblemError(
                400,
                "request.content_length_invalid",
                "The Content-Length header is not a number of bytes.",
                remediation="Send a valid Content-Length, or none with chunked encoding.",
            )
        if int(declared) > limit:
            raise too_large
    body = bytearray()
    # Chunked bodies declare nothing: count while reading and stop at the first excess byte.
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def webhook_router(container: ApiContainer, metrics: ApiMetrics) -> APIRouter:
    """The router serving ``POST /webhooks/{source}`` for the container's sources."""
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/webhooks/{source}",
        status_code=202,
        response_model=WebhookReceipt,
        summary="Receive one signed webhook",
        responses={
            200: {"model": WebhookReceipt, "description": "Already received: nothing new done."},
            202: {"description": "Stored (accepted, or quarantined for missing fields)."},
            **problem_responses(400, 401, 404, 413, 422, 500, 503),
        },
        openapi_extra={"requestBody": _REQUEST_BODY},
    )
    async def receive_webhook(
        source: Annotated[str, Path(max_length=64, description="A configured source name.")],
        request: Request,
    ) -> JSONResponse:
        """Verify, store and acknowledge one webhook; 2xx only once it is committed.

        Order: unknown source 404; size limit 413; signature 401 (audited, nothing stored);
        body 400/422; store (duplicate 200, accepted or quarantined 202); then the workflow is
        dispatched, and a failed dispatch still answers 202 (the sweep starts it later).
        """
        webhook_source = container.sources.get(source)
        if webhook_source is None:
            raise ProblemError(
                404,
                "webhook.source_unknown",
                f"No webhook source named {source!r} is configured.",
                remediation="Use a source listed under ingress.sources in the hub's settings.",
            )
        metrics.received.labels(source).inc()
        try:
            body = await read_limited_body(request, container.settings.ingress.max_body_bytes)
            verified = webhook_source.verifier.verify(request.headers, body)
            parsed = parse_webhook(webhook_source.shape, body, verified_id=verified.event_id)
        except SignatureError as error:
            await _reject(request, webhook_source, error)
        except (ProblemError, DataError) as error:
            metrics.rejected.labels(source, error.code).inc()
            raise
        acceptance = await run_in_threadpool(
            lambda: accept_webhook(
                container.uow_factory(),
                container.clock,
                source=source,
                parsed=parsed,
                headers=request.headers,
                body=body,
            )
        )
        if parsed.unknown_fields:
            metrics.unknown_fields.labels(source).inc()
            _log.info(
                "webhook %s/%s carries unknown fields %s",
                source,
                parsed.event_id,
                ", ".join(parsed.unknown_fields),
            )
        if acceptance.status == "duplicate":
            metrics.duplicates.labels(source).inc()
            return JSONResponse({"status": "duplicate", "id": acceptance.message_id}, 200)
        counter = metrics.quarantined if acceptance.status == "quarantined" else metrics.accepted
        counter.labels(source).inc()
        if acceptance.message is not None:
            message = acceptance.message
            try:
                await run_in_threadpool(
                    mark_dispatched, container.uow_factory(), container.dispatcher, message
                )
            # Committed already: whatever stopped the start, the sweep starts it later.
            except Exception as error:  # noqa: BLE001 - logged, counted, and swept
                metrics.dispatch_failures.labels(source).inc()
                _log.warning("dispatch of inbox message %s failed: %r", message.id, error)
        return JSONResponse({"status": acceptance.status, "id": acceptance.message_id}, 202)

    async def _reject(request: Request, source: WebhookSource, error: SignatureError) -> NoReturn:
        metrics.rejected.labels(source.name, error.code).inc()
        remote = request.client.host if request.client else None
        await run_in_threadpool(
            lambda: record_rejection(
                container.uow_factory(),
                container.clock,
                source=source.name,
                reason=error.code,
                remote=remote,
                detail=error.detail,
            )
        )
        raise ProblemError(
            401,
            error.code,
            error.message,
            remediation=error.remediation,
            headers={"WWW-Authenticate": f'Signature realm="webhooks", scheme="{source.scheme}"'},
        )

    return router


__all__ = ["WebhookReceipt", "read_limited_body", "webhook_router"]
