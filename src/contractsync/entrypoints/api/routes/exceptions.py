"""``/exceptions``: list and read ExceptionItems (with ETags) and act on them with If-Match.

Resolving or dismissing an item a flow waits on tells that run at once, after the commit
(``services.decision_delivery``); retrying one replays what it names through the replay
service, as ``POST /replays`` does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.domain.exception_item import ExceptionItem, ExceptionStatus
from contractsync.domain.roles import OwnerRole
from contractsync.entrypoints.api.idempotency import idempotency_key_header
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.problems import ProblemError, not_found
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.routes.customers import RecordId
from contractsync.entrypoints.api.schemas.activity import (
    AssignRequest,
    DismissRequest,
    ExceptionResponse,
    ExceptionView,
    ResolveRequest,
    RetryResponse,
)
from contractsync.entrypoints.api.schemas.common import Page
from contractsync.entrypoints.api.security import Principal, require
from contractsync.errors import DomainError
from contractsync.ports.storage import UnitOfWork
from contractsync.services import exception_queue as queue
from contractsync.services.decision_delivery import deliver_decision
from contractsync.services.replay import ReplayTarget, replay

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1024,
        description="The item's ETag from GET /exceptions/{id}; required (428 without it, "
        "412 when the item changed since).",
    ),
]

_WRITE = [Depends(idempotency_key_header)]
_ACTION_RESPONSES = documented(400, 404, 409, 412, 428, etag=True)


def etag_of(item: ExceptionItem) -> str:
    """The strong ETag of an item's current content."""
    digest = hashlib.sha256(item.model_dump_json().encode("utf-8")).hexdigest()
    return f'"{digest[:32]}"'


def matches(if_match: str, etag: str) -> bool:
    """True when an If-Match value names ``etag`` (strong comparison) or is ``*``."""
    tags = [tag.strip() for tag in if_match.split(",")]
    return "*" in tags or etag in tags


def exceptions_router(container: ApiContainer) -> APIRouter:
    """The router serving the exception queue."""
    router = APIRouter(tags=["exceptions"], route_class=ProcessRoute)

    @router.get(
        "/exceptions",
        response_model=Page[ExceptionView],
        operation_id="listExceptions",
        summary="List exception items, oldest first",
        responses=documented(paged=True),
        dependencies=[require("exceptions:read")],
    )
    def list_exceptions(
        request: Request,
        response: Response,
        page: Paging,
        status: Annotated[list[ExceptionStatus] | None, Query()] = None,
        owner: Annotated[OwnerRole | None, Query()] = None,
        contract_id: Annotated[
            str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
        ] = None,
    ) -> Page[ExceptionView]:
        """Items by creation time then id, filtered by status (any of), owner and contract."""
        after = page.position("exceptions")
        with container.uow_factory() as uow:
            rows = uow.exceptions.list(
                status=status or (),
                owner=owner,
                contract_id=contract_id,
                limit=page.limit + 1,
                after=after,
            )
        items, next_cursor = cut(
            rows,
            page,
            listing="exceptions",
            position_of=lambda item: item.id,
            request=request,
            response=response,
        )
        views = [ExceptionView.model_validate(i.model_dump(mode="json")) for i in items]
        return Page[ExceptionView](items=views, next_cursor=next_cursor)

    @router.get(
        "/exceptions/{item_id}",
        response_model=ExceptionResponse,
        operation_id="getException",
        summary="Read one exception item (with its ETag)",
        responses=documented(404, etag=True),
        dependencies=[require("exceptions:read")],
    )
    def get_exception(item_id: RecordId, response: Response) -> ExceptionResponse:
        """The item; its ``ETag`` is what its actions need as ``If-Match``."""
        with container.uow_factory() as uow:
            item = uow.exceptions.get(item_id)
        if item is None:
            raise not_found("exception", item_id)
        response.headers["ETag"] = etag_of(item)
        return ExceptionResponse.model_validate(item.model_dump(mode="json"))

    def act(
        item_id: str,
        if_match: str | None,
        response: Response,
        action: Callable[[UnitOfWork], Any],
    ) -> tuple[ExceptionItem, Any]:
        with container.uow_factory() as uow:
            item = _matching(uow, item_id, if_match)
            outcome = action(uow)
            changed = uow.exceptions.get(item_id)
            # Every action appends exactly one history step: more means someone else acted
            # between our read and the service's.
            if changed is None or changed.history[:-1] != item.history:
                raise _stale(item_id)
            uow.commit()
        response.headers["ETag"] = etag_of(changed)
        return changed, outcome

    @router.post(
        "/exceptions/{item_id}:assign",
        response_model=ExceptionResponse,
        operation_id="assignException",
        summary="Assign an exception item",
        responses=_ACTION_RESPONSES,
        dependencies=_WRITE,
    )
    def assign(
        item_id: RecordId,
        body: AssignRequest,
        response: Response,
        principal: Annotated[Principal, require("exceptions:write")],
        if_match: IfMatch = None,
    ) -> ExceptionResponse:
        """Give the item to ``assignee``; audited."""
        item, _ = act(
            item_id,
            if_match,
            response,
            lambda uow: queue.assign(
                uow, container.clock, item_id, to=body.assignee, actor=principal.actor
            ),
        )
        return ExceptionResponse.model_validate(item.model_dump(mode="json"))

    @router.post(
        "/exceptions/{item_id}:retry",
        response_model=RetryResponse,
        operation_id="retryException",
        summary="Retry an exception item",
        responses=_ACTION_RESPONSES,
        dependencies=_WRITE,
    )
    def retry(
        item_id: RecordId,
        response: Response,
        principal: Annotated[Principal, require("exceptions:write")],
        if_match: IfMatch = None,
    ) -> RetryResponse:
        """Replay what the item names once, as ``POST /replays`` with kind ``exception``.

        A failed run is forked from its failed step, a message that never ran is started
        (the item is then marked retried, audited); a succeeded one is left alone; one still
        running is 409 ``replay.already_running``. An item a flow waits on names no run to
        replay: resolve or dismiss it instead (422 ``exception.nothing_to_retry``).
        """
        if container.replay_tools is None:
            raise ProblemError(
                503,
                "replay.unavailable",
                "This hub process does not run replays.",
                remediation="Use `contractsync exceptions retry`, or the API of "
                "`contractsync serve`.",
                headers={"Retry-After": "60"},
            )
        with container.uow_factory() as uow:
            _matching(uow, item_id, if_match)
        try:
            done = replay(
                container.replay_tools(), ReplayTarget("exception", item_id), actor=principal.actor
            )
        except DomainError as error:
            if error.code == "replay.not_found":
                raise ProblemError(
                    404, error.code, error.message, remediation=error.remediation
                ) from error
            raise
        with container.uow_factory() as uow:
            item = uow.exceptions.get(item_id)
        if item is None:
            raise not_found("exception", item_id)
        response.headers["ETag"] = etag_of(item)
        started = done.new_workflow_id
        fields = item.model_dump(mode="json") | {
            "outcome": done.outcome,
            "reason": done.plan.reason,
            "rerun": None if started is None else {"kind": "workflow", "id": started},
        }
        return RetryResponse.model_validate(fields)

    @router.post(
        "/exceptions/{item_id}:resolve",
        response_model=ExceptionResponse,
        operation_id="resolveException",
        summary="Resolve an exception item",
        responses=_ACTION_RESPONSES,
        dependencies=_WRITE,
    )
    def resolve(
        item_id: RecordId,
        body: ResolveRequest,
        response: Response,
        principal: Annotated[Principal, require("exceptions:write")],
        if_match: IfMatch = None,
    ) -> ExceptionResponse:
        """Close the item as fixed, with corrected data for the waiting flow if any.

        A flow run waiting on the item is told once the change is committed, and goes on at
        once; if telling it fails the item stays resolved and the run notices at its next
        poll (the failure is logged).
        """
        item, _ = act(
            item_id,
            if_match,
            response,
            lambda uow: queue.resolve(
                uow,
                container.clock,
                item_id,
                actor=principal.actor,
                note=body.note,
                corrected_data=body.corrected_data,
            ),
        )
        deliver_decision(container.decisions, item)
        return ExceptionResponse.model_validate(item.model_dump(mode="json"))

    @router.post(
        "/exceptions/{item_id}:dismiss",
        response_model=ExceptionResponse,
        operation_id="dismissException",
        summary="Dismiss an exception item",
        responses=_ACTION_RESPONSES,
        dependencies=_WRITE,
    )
    def dismiss(
        item_id: RecordId,
        body: DismissRequest,
        response: Response,
        principal: Annotated[Principal, require("exceptions:write")],
        if_match: IfMatch = None,
    ) -> ExceptionResponse:
        """Close the item without a fix; the reason is audited.

        A flow run waiting on the item is told once the change is committed (see resolve).
        """
        item, _ = act(
            item_id,
            if_match,
            response,
            lambda uow: queue.dismiss(
                uow, container.clock, item_id, actor=principal.actor, reason=body.reason
            ),
        )
        deliver_decision(container.decisions, item)
        return ExceptionResponse.model_validate(item.model_dump(mode="json"))

    return router


def _matching(uow: UnitOfWork, item_id: str, if_match: str | None) -> ExceptionItem:
    """The item, if ``if_match`` names its current ETag (428 without, 404, 412 when stale)."""
    if if_match is None:
        raise ProblemError(
            428,
            "precondition.required",
            "Actions on an exception item need If-Match.",
            remediation="GET the item, then send its ETag as If-Match.",
        )
    item = uow.exceptions.get(item_id)
    if item is None:
        raise not_found("exception", item_id)
    if not matches(if_match, etag_of(item)):
        raise _stale(item_id)
    return item


def _stale(item_id: str) -> ProblemError:
    return ProblemError(
        412,
        "precondition.failed",
        f"Exception item {item_id} changed since the ETag given in If-Match.",
        remediation="GET the item again, check it, and retry with its new ETag.",
    )


__all__ = ["IfMatch", "etag_of", "exceptions_router", "matches"]
