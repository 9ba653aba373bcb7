"""``POST /replays``: replay a message, run or ExceptionItem once, or say what it would do."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.idempotency import idempotency_key_header
from contractsync.entrypoints.api.problems import ProblemError
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.schemas.activity import ReplayRequest, ReplayResponse
from contractsync.entrypoints.api.security import Principal, require
from contractsync.errors import DomainError
from contractsync.services.replay import replay
from contractsync.services.replay_plans import ReplayTarget, plan


def replays_router(container: ApiContainer) -> APIRouter:
    """The router serving replays."""
    router = APIRouter(tags=["replay"], route_class=ProcessRoute)

    @router.post(
        "/replays",
        response_model=ReplayResponse,
        operation_id="replay",
        summary="Replay a message, a workflow run or an exception item",
        responses=documented(400, 404, 409),
        dependencies=[Depends(idempotency_key_header)],
    )
    def post_replay(
        body: ReplayRequest, principal: Annotated[Principal, require("replay:write")]
    ) -> ReplayResponse:
        """Plan the replay now; unless ``dry_run``, do it (audited, at most one run started).

        A failed run is forked from its failed step, a message that never ran is started,
        a succeeded one is left alone; one still running is 409 ``replay.already_running``.
        """
        if container.replay_tools is None:
            raise ProblemError(
                503,
                "replay.unavailable",
                "This hub process does not run replays.",
                remediation="Use `contractsync replay`, or the API of `contractsync serve`.",
                headers={"Retry-After": "60"},
            )
        tools = container.replay_tools()
        target = ReplayTarget(body.kind, body.id)
        try:
            if body.dry_run:
                fields = plan(tools, target).as_dict() | {"dry_run": True}
            else:
                done = replay(tools, target, actor=principal.actor)
                fields = done.as_dict() | {"dry_run": False}
        except DomainError as error:
            if error.code == "replay.not_found":
                raise ProblemError(
                    404, error.code, error.message, remediation=error.remediation
                ) from error
            raise
        return ReplayResponse.model_validate(fields)

    return router


__all__ = ["replays_router"]
