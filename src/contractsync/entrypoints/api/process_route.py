"""The route class of every ``/api/v1`` operation: authenticate, run once, mask prices.

Doing these in the route class, not in each handler, keeps them in one place: no route can
forget the API key check, the Idempotency-Key of a POST, or the pricing mask.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.idempotency import run_idempotently
from contractsync.entrypoints.api.masking import MaskPath, mask, pricing_paths
from contractsync.entrypoints.api.pagination import LINK_HEADER
from contractsync.entrypoints.api.problems import ProblemError, problem_responses
from contractsync.entrypoints.api.security import Principal, authenticate
from contractsync.errors import ContractSyncError

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ProcessRoute(APIRoute):
    """An ``APIRoute`` that authenticates, makes POSTs idempotent and masks prices.

    Order per request: the bearer key is checked (401) before anything else, so an
    unauthenticated caller learns nothing from validation errors; a POST with an
    Idempotency-Key is claimed, run and stored (or replayed); the JSON body of a successful
    answer has its priced fields nulled when the key lacks ``pricing:read``.
    """

    def get_route_handler(self) -> Handler:
        """Wrap FastAPI's handler with authentication, idempotency and masking."""
        handler = super().get_route_handler()
        model = self.response_model
        paths = (
            pricing_paths(model) if isinstance(model, type) and issubclass(model, BaseModel) else ()
        )

        async def route(request: Request) -> Response:
            container: ApiContainer = request.app.state.container
            principal = authenticate(request.headers.get("authorization"), container.api_keys)
            request.state.principal = principal

            async def run() -> Response:
                return _masked(await handler(request), paths, principal)

            if request.method == "POST":
                return await run_idempotently(request, principal, container, run)
            return await run()

        return route


def _masked(response: Response, paths: tuple[MaskPath, ...], principal: Principal) -> Response:
    if principal.can_see_prices or not paths or response.status_code >= 300:
        return response
    if response.headers.get("content-type") != "application/json":
        return response
    body = json.loads(bytes(response.body))
    masked = mask(body, paths)
    if isinstance(body, dict) and "masked_fields" in body:
        body["masked_fields"] = masked
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return JSONResponse(body, response.status_code, headers=headers)


def documented(
    *statuses: int, paged: bool = False, etag: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` of a process operation: its problems, and headers of its 200.

    Every operation documents 401 (with ``WWW-Authenticate``), 403, 422 and 503; ``statuses``
    adds the others it can answer (400 for a body that is not JSON, 404, 409, 412, 428).
    """
    entries = problem_responses(401, 403, 422, 503, *statuses)
    entries[401]["headers"] = {
        "WWW-Authenticate": {
            "description": "The Bearer challenge.",
            "schema": {"type": "string"},
        }
    }
    headers: dict[str, Any] = {}
    if paged:
        headers |= LINK_HEADER
    if etag:
        headers["ETag"] = {
            "description": "The item's version; send it as If-Match on its actions.",
            "schema": {"type": "string"},
        }
    if headers:
        entries[200] = {"description": "Successful Response", "headers": headers}
    return entries


def refusal(error: ContractSyncError, principal: Principal) -> ProblemError:
    """The 422 problem of a domain or data error met while computing money for ``principal``.

    Such messages quote prices of stored contracts, so a key without ``pricing:read`` gets
    the stable code and remediation only.
    """
    detail = error.message if principal.can_see_prices else "The request cannot be completed "
    if not principal.can_see_prices:
        detail += "(the reason quotes prices; it is shown to keys with pricing:read)."
    return ProblemError(422, error.code, detail, remediation=error.remediation)


__all__ = ["ProcessRoute", "documented", "refusal"]
