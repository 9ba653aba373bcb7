"""Idempotency-Key on POST: the first answer is stored per API key and replayed for retries.

Semantics (after Stripe's idempotency keys):

- the first request with a key claims it, runs, and its status and body are stored;
- the same key with the same method, path and body gets the stored answer again, with
  ``Idempotent-Replayed: true``, and nothing runs twice;
- the same key with another body or path is refused: 422 ``idempotency.key_reused``;
- while the first request still runs, the same key gets 409 ``idempotency.in_flight``;
- a request that fails (an error problem) is not stored: a retry with its key runs again.

Keys are scoped to the API key, kept ``api.idempotency_hours`` (at least 24 h), and a claim
left unfinished for :data:`ABANDONED_AFTER` (its process died) is taken over.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.problems import ProblemError
from contractsync.entrypoints.api.security import Principal
from contractsync.ports.storage import IdempotencyRecord, canonical_json

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
ABANDONED_AFTER = timedelta(minutes=5)
"""How long an unfinished claim blocks its key before another request may take it over."""

_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(_KEY_PATTERN)
# Headers of the first answer that a replay must carry too.
_KEPT_HEADERS = ("etag", "location", "link")


def idempotency_key_header(
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            pattern=_KEY_PATTERN,
            description="Any unique value (a UUID) to make a retry of this POST safe: the "
            "first answer is stored 24 h and replayed; another body with it gets 422.",
        ),
    ] = None,
) -> str | None:
    """Document and validate the Idempotency-Key header (a FastAPI dependency)."""
    return key


def request_hash(method: str, path: str, body: bytes) -> str:
    """SHA-256 of what makes two requests "the same": method, path and body.

    A JSON body is hashed in canonical form (sorted keys, no spaces), so the same document
    serialised differently by a retrying client is still the same request.
    """
    try:
        content = canonical_json(json.loads(body)) if body.strip() else ""
    except ValueError:
        content = body.decode("utf-8", "replace")
    return hashlib.sha256(f"{method}\n{path}\n{content}".encode()).hexdigest()


async def run_idempotently(
    request: Request,
    principal: Principal,
    container: ApiContainer,
    call: Callable[[], Awaitable[Response]],
) -> Response:
    """Run ``call`` at most once per (API key, Idempotency-Key); without the header, just run it.

    Raises:
        ProblemError: 409 while the key's first request runs; 422 when the key was used
            with another request.
    """
    key = request.headers.get(HEADER)
    if key is None or not _KEY.match(key):
        # A malformed key is refused by the route's header validation, before anything runs.
        return await call()
    body = await request.body()
    digest = request_hash(request.method, request.url.path, body)
    hours = container.settings.api.idempotency_hours
    found = await run_in_threadpool(_claim, container, principal.name, key, digest, hours)
    if found is not None:
        return _answer_from(found, digest)
    try:
        response = await call()
    except BaseException:
        await run_in_threadpool(_release, container, principal.name, key)
        raise
    stored = {
        "body": json.loads(bytes(response.body)) if response.body else None,
        "headers": {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers},
    }
    await run_in_threadpool(_complete, container, principal.name, key, response.status_code, stored)
    return response


def _answer_from(found: IdempotencyRecord, digest: str) -> Response:
    if found.request_hash != digest:
        raise ProblemError(
            422,
            "idempotency.key_reused",
            "This Idempotency-Key was used with another request.",
            remediation="Use a new key for a new request; reuse a key only to retry the "
            "very same request.",
        )
    if found.is_in_flight or found.response is None or found.status_code is None:
        raise ProblemError(
            409,
            "idempotency.in_flight",
            "A request with this Idempotency-Key is still running.",
            remediation="Wait a moment, then retry with the same key to get its answer.",
            headers={"Retry-After": "1"},
        )
    headers = {**found.response.get("headers", {}), REPLAYED_HEADER: "true"}
    return JSONResponse(found.response.get("body"), found.status_code, headers=headers)


def _claim(
    container: ApiContainer, scope: str, key: str, digest: str, hours: int
) -> IdempotencyRecord | None:
    now = container.clock.now()
    with container.uow_factory() as uow:
        found = uow.idempotency.claim(
            scope,
            key,
            request_hash=digest,
            abandoned_before=now - ABANDONED_AFTER,
            expired_before=now - timedelta(hours=hours),
        )
        uow.commit()
    return found


def _complete(
    container: ApiContainer, scope: str, key: str, status: int, response: dict[str, Any]
) -> None:
    with container.uow_factory() as uow:
        uow.idempotency.complete(scope, key, status_code=status, response=response)
        uow.commit()


def _release(container: ApiContainer, scope: str, key: str) -> None:
    with container.uow_factory() as uow:
        uow.idempotency.release(scope, key)
        uow.commit()


__all__ = [
    "ABANDONED_AFTER",
    "HEADER",
    "REPLAYED_HEADER",
    "idempotency_key_header",
    "request_hash",
    "run_idempotently",
]
