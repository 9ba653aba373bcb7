"""``GET /customers`` and ``GET /customers/{customer_id}``: customers from the canonical records."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from contractsync.bootstrap import ApiContainer
from contractsync.entrypoints.api.pagination import Paging, cut
from contractsync.entrypoints.api.problems import not_found
from contractsync.entrypoints.api.process_route import ProcessRoute, documented
from contractsync.entrypoints.api.schemas.common import Page
from contractsync.entrypoints.api.schemas.parties import CustomerResponse, CustomerView
from contractsync.entrypoints.api.security import require
from contractsync.ports.views import StoredRecord

RecordId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="A canonical id.")
]
"""A canonical record id in a path (the domain's Identifier)."""

_READ = require("customers:read")


def customer_view(record: StoredRecord) -> CustomerView:
    """The DTO of a stored customer record."""
    return CustomerView.model_validate(
        {**record.document, "version": record.version, "updated_at": record.updated_at}
    )


def customers_router(container: ApiContainer) -> APIRouter:
    """The router serving the customer list and customer reads."""
    router = APIRouter(tags=["customers"], route_class=ProcessRoute)

    @router.get(
        "/customers",
        response_model=Page[CustomerView],
        operation_id="listCustomers",
        summary="List customers",
        responses=documented(paged=True),
        dependencies=[_READ],
    )
    def list_customers(
        request: Request,
        response: Response,
        page: Paging,
    ) -> Page[CustomerView]:
        """Customers by id, a page at a time."""
        after = page.position("customers")
        with container.uow_factory() as uow:
            rows = uow.views.records("customer", after=after, limit=page.limit + 1)
        items, next_cursor = cut(
            rows,
            page,
            listing="customers",
            position_of=lambda row: row.id,
            request=request,
            response=response,
        )
        return Page[CustomerView](items=[customer_view(r) for r in items], next_cursor=next_cursor)

    @router.get(
        "/customers/{customer_id}",
        response_model=CustomerResponse,
        operation_id="getCustomer",
        summary="Read one customer",
        responses=documented(404),
        dependencies=[_READ],
    )
    def get_customer(customer_id: RecordId) -> CustomerResponse:
        """The customer's current version, with its refs."""
        with container.uow_factory() as uow:
            history = uow.views.history("customer", customer_id)
        if not history:
            raise not_found("customer", customer_id)
        last = history[-1]
        return CustomerResponse.model_validate(
            {**last.document, "version": last.version, "updated_at": last.recorded_at}
        )

    return router


__all__ = ["RecordId", "customer_view", "customers_router"]
