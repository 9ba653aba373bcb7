"""``POST /contracts/{id}:renew`` and ``:terminate``: start the durable lifecycle runs (202).

The request is checked against the hub's records first (``services.lifecycle_requests``):
404 for a contract the hub does not hold, 409 when it is not in a state the action applies
to, a renewal would not end later, or the run of the renewed version exists for another change
(``renewal.version_taken``). Then the run is enqueued for a worker under an id
derived from the contract (and version), so a repeated request answers the same run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.idempotency import idempotency_key_header
from contractsync.entrypoints.api.problems import ProblemError
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.routes.customers import RecordId
from contractsync.entrypoints.api.schemas.lifecycle import (
    LifecycleRunResponse,
    RenewRequest,
    TerminateRequest,
)
from contractsync.entrypoints.api.security import Principal, require
from contractsync.errors import DomainError
from contractsync.ports.workflows import LifecycleRuns
from contractsync.services.lifecycle_requests import (
    LifecycleRequest,
    request_renewal,
    request_termination,
)

WRITE_SCOPE = "contracts:write"
"""The scope of the operator's contract lifecycle actions."""

_STATUS_OF_CODE = {
    "contract.unknown": 404,
    "contract.not_active": 409,
    "renewal.not_later": 409,
    "renewal.terminated": 409,
}
_RESPONSES = documented(400, 404, 409)
_WRITE = [Depends(idempotency_key_header)]


def contract_lifecycle_router(container: ApiContainer) -> APIRouter:
    """The router serving renewals and terminations requested by an operator."""
    router = APIRouter(tags=["contracts"], route_class=ProcessRoute)

    def runs() -> LifecycleRuns:
        if container.lifecycle is None:
            raise ProblemError(
                503,
                "lifecycle.unavailable",
                "This hub process does not start contract runs.",
                remediation="Use `contractsync contracts renew|terminate`, or the API of "
                "`contractsync serve`.",
                headers={"Retry-After": "60"},
            )
        return container.lifecycle

    @router.post(
        "/contracts/{contract_id}:renew",
        status_code=202,
        response_model=LifecycleRunResponse,
        operation_id="renewContract",
        summary="Renew a contract to a later end (starts its run)",
        responses=_RESPONSES,
        dependencies=_WRITE,
    )
    def renew(
        contract_id: RecordId,
        body: RenewRequest,
        principal: Annotated[Principal, require(WRITE_SCOPE)],
    ) -> LifecycleRunResponse:
        """Start the run applying the next version with the term ending at ``new_end``.

        The renewal is planned against the ERP and decided by the amendment policy like any
        amendment (it may wait for an owner). Audited.
        """
        lifecycle = runs()
        with container.uow_factory() as uow:
            done = _answering(
                lambda: request_renewal(
                    uow,
                    lifecycle,
                    container.clock,
                    contract_id,
                    new_end=body.new_end,
                    actor=principal.actor,
                )
            )
        return LifecycleRunResponse.model_validate(done.as_dict())

    @router.post(
        "/contracts/{contract_id}:terminate",
        status_code=202,
        response_model=LifecycleRunResponse,
        operation_id="terminateContract",
        summary="Terminate a contract (starts its run)",
        responses=_RESPONSES,
        dependencies=_WRITE,
    )
    def terminate(
        contract_id: RecordId,
        body: TerminateRequest,
        principal: Annotated[Principal, require(WRITE_SCOPE)],
    ) -> LifecycleRunResponse:
        """Start the run ending the contract and closing its project everywhere. Audited."""
        lifecycle = runs()
        with container.uow_factory() as uow:
            done = _answering(
                lambda: request_termination(
                    uow,
                    lifecycle,
                    container.clock,
                    contract_id,
                    reason=body.reason,
                    actor=principal.actor,
                )
            )
        return LifecycleRunResponse.model_validate(done.as_dict())

    return router


def _answering(request: Callable[[], LifecycleRequest]) -> LifecycleRequest:
    """Run ``request``; its refusals become 404 or 409 problems."""
    try:
        return request()
    except DomainError as error:
        status = _STATUS_OF_CODE.get(error.code)
        if status is None:
            raise
        raise ProblemError(
            status, error.code, error.message, remediation=error.remediation
        ) from error


__all__ = ["WRITE_SCOPE", "contract_lifecycle_router"]
