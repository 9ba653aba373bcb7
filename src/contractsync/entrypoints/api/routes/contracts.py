"""``GET /contracts``, ``/contracts/{id}`` and ``/contracts/{id}/versions`` from the records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.problems import not_found
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.routes.customers import RecordId
from contractsync.entrypoints.api.schemas.common import Page
from contractsync.entrypoints.api.schemas.contracts import (
    ContractResponse,
    ContractVersionView,
    ContractView,
)
from contractsync.entrypoints.api.security import require

_READ = require("contracts:read")


def contracts_router(container: ApiContainer) -> APIRouter:
    """The router serving contract lists, reads and version histories."""
    router = APIRouter(tags=["contracts"], route_class=ProcessRoute)

    @router.get(
        "/contracts",
        response_model=Page[ContractView],
        operation_id="listContracts",
        summary="List contracts (current versions)",
        responses=documented(paged=True),
        dependencies=[_READ],
    )
    def list_contracts(
        request: Request,
        response: Response,
        page: Paging,
        customer_id: Annotated[
            str | None,
            Query(
                pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
                description="Only this customer's contracts.",
            ),
        ] = None,
    ) -> Page[ContractView]:
        """Contracts by id, a page at a time."""
        after = page.position("contracts")
        where = None if customer_id is None else ("customer_id", customer_id)
        with container.uow_factory() as uow:
            rows = uow.views.records("contract", after=after, limit=page.limit + 1, where=where)
        items, next_cursor = cut(
            rows,
            page,
            listing="contracts",
            position_of=lambda row: row.id,
            request=request,
            response=response,
        )
        views = [ContractView.model_validate(row.document) for row in items]
        return Page[ContractView](items=views, next_cursor=next_cursor)

    @router.get(
        "/contracts/{contract_id}",
        response_model=ContractResponse,
        operation_id="getContract",
        summary="Read one contract (current version)",
        responses=documented(404),
        dependencies=[_READ],
    )
    def get_contract(contract_id: RecordId) -> ContractResponse:
        """The contract's current version."""
        with container.uow_factory() as uow:
            history = uow.views.history("contract", contract_id)
        if not history:
            raise not_found("contract", contract_id)
        last = history[-1]
        return ContractResponse.model_validate({**last.document, "updated_at": last.recorded_at})

    @router.get(
        "/contracts/{contract_id}/versions",
        response_model=Page[ContractVersionView],
        operation_id="listContractVersions",
        summary="List every version of a contract, oldest first",
        responses=documented(404, paged=True),
        dependencies=[_READ],
    )
    def list_versions(
        contract_id: RecordId, request: Request, response: Response, page: Paging
    ) -> Page[ContractVersionView]:
        """Every stored version with when and why it was stored, a page at a time."""
        after = page.position(f"versions:{contract_id}", of=int) or 0
        with container.uow_factory() as uow:
            history = uow.views.history("contract", contract_id)
        if not history:
            raise not_found("contract", contract_id)
        rows = [v for v in history if v.version > after][: page.limit + 1]
        items, next_cursor = cut(
            rows,
            page,
            listing=f"versions:{contract_id}",
            position_of=lambda row: row.version,
            request=request,
            response=response,
        )
        views = [
            ContractVersionView(
                version=v.version,
                recorded_at=v.recorded_at,
                cause=v.cause,
                contract=ContractView.model_validate(v.document),
            )
            for v in items
        ]
        return Page[ContractVersionView](items=views, next_cursor=next_cursor)

    return router


__all__ = ["contracts_router"]
